//! The admin API's OpenAPI 3.1 document, generated from the code: each
//! handler's `#[utoipa::path]` (its route, parameters, body and every
//! status it answers) and the [`crate::api`] bodies' `ToSchema` derives.
//! What every route shares is added here once ([`Shared`]): the admin
//! bearer scheme, and the 401, 403, 408 and 500 answers of the guard and
//! the envelope, all in the one error body ([`ErrorBody`]). Served at
//! `GET /admin/v1/openapi.json`; `tessera openapi` prints the same text.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{self, ContentBuilder, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::api::ErrorAnswer;

/// The name of the admin bearer scheme in the document.
pub const BEARER_SCHEME: &str = "admin_bearer";

/// Every error answer: the API's [`ErrorAnswer`] and the request id the
/// envelope adds.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// The error code and message.
    #[serde(flatten)]
    pub answer: ErrorAnswer,
    /// The request id (also in the `x-request-id` header).
    pub request_id: String,
}

/// The document's shape: every admin handler and `GET /v1/me`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera admin API",
        description = "Issue and list tokens, revoke, register workspaces, tables and views, \
                       manage members and table access, read the audit log; and `GET /v1/me`."
    ),
    paths(
        super::tokens::issue,
        super::tokens::list_tokens,
        super::tokens::revoke_token,
        super::tokens::revoke_ids,
        super::tokens::revoke_view,
        super::tokens::audit,
        super::tokens::decide,
        super::registry::get_workspace,
        super::registry::put_workspace,
        super::registry::get_table,
        super::registry::put_table,
        super::registry::get_view,
        super::registry::put_view,
        super::people::get_user,
        super::people::put_user,
        super::people::remove_user,
        super::people::list_members,
        super::people::get_member,
        super::people::put_member,
        super::people::remove_member,
        super::people::list_groups,
        super::people::get_group,
        super::people::put_group,
        super::people::remove_group,
        super::people::issue_member,
        super::projects::invite,
        super::projects::put_projects,
        super::access::get_access,
        super::access::put_access,
        super::access::get_permissions,
        super::access::put_permissions,
        openapi_json,
        super::attenuations::attenuate,
        super::shares::create_share,
        super::shares::list_shares,
        super::shares::revoke_share,
        super::shares::create_embed,
        super::shares::list_embeds,
        super::shares::revoke_embed,
        super::workspace_lists::list_workspace_shares,
        super::workspace_lists::workspace_audit,
        crate::fleet::admin::status,
        crate::fleet::snapshot::snapshot_now,
        crate::gateway::me::me,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Shared)
)]
struct AdminApi;

/// What every route shares, added to each operation once.
struct Shared;

/// The statuses every route can answer besides its own, and why.
const SHARED_ANSWERS: [(&str, &str); 4] = [
    (
        "401",
        "no credential, or one that does not verify, is expired or revoked",
    ),
    (
        "403",
        "the token may not make this request (an admin token is needed, or a member token's own rules refuse it)",
    ),
    (
        "408",
        "the request took longer than the configured timeout",
    ),
    ("500", "something failed inside (the detail is logged)"),
];

impl Modify for Shared {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An admin token (`tessera issue admin`); member tokens reach the \
                         management routes only. `GET /v1/me` takes any token.",
                    ))
                    .build(),
            ),
        );
        doc.security = Some(vec![openapi::security::SecurityRequirement::new::<
            &str,
            [&str; 0],
            &str,
        >(BEARER_SCHEME, [])]);
        let error = RefOr::Ref(openapi::Ref::from_schema_name("Error"));
        for item in doc.paths.paths.values_mut() {
            for operation in operations(item) {
                for (status, description) in SHARED_ANSWERS {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| {
                            ResponseBuilder::new()
                                .description(description)
                                .content(
                                    "application/json",
                                    ContentBuilder::new().schema(Some(error.clone())).build(),
                                )
                                .into()
                        });
                }
            }
        }
    }
}

/// Every operation of a path item.
fn operations(item: &mut openapi::PathItem) -> impl Iterator<Item = &mut openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
        item.head.as_mut(),
        item.options.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The admin API's OpenAPI 3.1 document.
pub fn document() -> openapi::OpenApi {
    let mut doc = AdminApi::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The document as pretty JSON, as `tessera openapi` prints it.
pub fn document_json() -> String {
    document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"openapi\", \"message\": \"{e}\"}}"))
}

/// `GET /admin/v1/openapi.json`: this document.
#[utoipa::path(get, path = "/admin/v1/openapi.json", tag = "meta", responses((status = 200, description = "this document (OpenAPI 3.1)", content_type = "application/json", body = Object)))]
pub(super) async fn openapi_json() -> Response {
    let mut response = document_json().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_answers_the_shared_statuses_in_the_error_body() {
        let doc = document();
        assert!(doc.to_json().unwrap().contains("\"openapi\":\"3.1.0\""));
        let mut item = doc.paths.paths["/admin/v1/tokens"].clone();
        assert_eq!(operations(&mut item).count(), 2, "GET and POST /tokens");
        let issue = item.post.as_ref().unwrap();
        for (status, _) in SHARED_ANSWERS {
            assert!(issue.responses.responses.contains_key(status), "{status}");
        }
        assert!(issue.responses.responses.contains_key("201"));
    }
}
