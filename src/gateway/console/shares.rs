//! Sharing a view with a guest and taking shares back: the share form
//! (presets or checkboxes, an expiry date, a label) issues through
//! `POST /admin/v1/views/{view}/shares` and shows the link once; a view's
//! active shares are `GET /admin/v1/views/{view}/shares`; revoking one
//! (`DELETE /admin/v1/views/{view}/shares/{id}`) or every listed link of a
//! view goes through a confirmation page. These routes take the admin
//! token and a member holding `share` on the view alike: the admin API
//! decides. The workspace-wide list (`GET /admin/v1/tokens`) stays the
//! admin token's.

use std::collections::BTreeSet;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::api::{RevokedAnswer, ShareBody, ShareList, SharedLink, TokenList, TokenRow};
use crate::model::{Id, Operation, TokenState};

use super::client::Refused;
use super::render::{error_page, missing, page, see_other};
use super::session::{posted_for, refusal, signed_for, Signed};
use super::Console;

use super::share_list::{joined, state_name, when};
pub(super) use super::share_list::{Back, ShareRow};

/// The share form.
#[derive(Deserialize)]
pub(super) struct ShareForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    preset: String,
    #[serde(default)]
    read: Option<String>,
    #[serde(default)]
    write: Option<String>,
    #[serde(default)]
    create: Option<String>,
    #[serde(default)]
    delete: Option<String>,
    #[serde(default)]
    export: Option<String>,
    #[serde(default)]
    expires: String,
    #[serde(default)]
    label: String,
}

impl ShareForm {
    /// The operations the preset (or, for `custom`, the checkboxes) grant.
    fn operations(&self) -> Option<BTreeSet<Operation>> {
        use Operation::{Create, Delete, Export, Read, Write};
        let ops: BTreeSet<Operation> = match self.preset.as_str() {
            "read-only" => [Read].into(),
            "editor" => [Read, Write, Create].into(),
            "auditor" => [Read, Export].into(),
            "custom" => [
                (&self.read, Read),
                (&self.write, Write),
                (&self.create, Create),
                (&self.delete, Delete),
                (&self.export, Export),
            ]
            .into_iter()
            .filter_map(|(on, op)| on.is_some().then_some(op))
            .collect(),
            _ => return None,
        };
        (!ops.is_empty()).then_some(ops)
    }

    /// The expiry date as the end of that day (UTC), RFC 3339.
    fn expiry(&self) -> Result<Option<String>, ()> {
        let day = self.expires.trim();
        if day.is_empty() {
            return Ok(None);
        }
        let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| ())?;
        let end = date.and_hms_opt(23, 59, 59).ok_or(())?.and_utc();
        Ok(Some(end.to_rfc3339()))
    }
}

/// `POST /console/views/{view}/shares`: issues a guest token for the view
/// and shows its link, once.
pub(super) async fn create(
    State(console): State<Console>,
    Path(view): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ShareForm>,
) -> Response {
    let (signed, view) = match posted_for(&console, &headers, form.csrf.as_deref(), &view).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    if signed.view(&console, &view).is_none() {
        return missing();
    }
    let Some(ops) = form.operations() else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "no_operations",
            "Choose a preset or at least one permission.",
        );
    };
    let Ok(expires) = form.expiry() else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_expiry",
            "The expiry is not a date.",
        );
    };
    let label = form.label.trim();
    let label = (!label.is_empty()).then(|| label.to_owned());
    let body = ShareBody {
        preset: None,
        allow: Some(ops.iter().map(|o| o.as_str().to_owned()).collect()),
        expires,
        label: label.clone(),
    };
    let path = format!("/views/{view}/shares");
    let issued = console
        .call::<SharedLink>(signed.token(), Method::POST, &path, Some(&body))
        .await;
    let issued = match issued {
        Ok(i) => i,
        Err(r) => return refusal(&console, &headers, r).await,
    };
    let row = ShareRow {
        token_id: issued.token_id.to_string(),
        label,
        view: Some(view.to_string()),
        permissions: joined(&issued.permissions),
        created: String::new(),
        expires: when(issued.expires_at, "never"),
        last_used: when(None, "never"),
        created_by: issued.created_by,
        state: state_name(TokenState::Active),
        active: true,
        created_at: None,
    };
    let r = page(
        StatusCode::CREATED,
        "shared.html",
        minijinja::context! {
            title => "Share link", signed_in => true, csrf => signed.csrf.token(),
            view => view.as_str(), share_link => issued.link, share => row,
        },
    );
    signed.finish(&console, r)
}

/// `?back=` on the confirmation pages.
#[derive(Deserialize, Default)]
pub(super) struct BackQuery {
    #[serde(default)]
    back: Option<String>,
}

/// `GET /console/shares/{token_id}/revoke`: asks before revoking.
pub(super) async fn confirm_revoke(
    State(console): State<Console>,
    Path(token_id): Path<String>,
    Query(q): Query<BackQuery>,
    headers: HeaderMap,
) -> Response {
    let (signed, token_id) = match signed_for(&console, &headers, &token_id).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let back = Back::parse(q.back.as_deref());
    let row = match &back {
        // A view's share: found in the view's list, which the admin API
        // shows to whoever may revoke it.
        Some(Back::View(view)) => {
            let path = format!("/views/{view}/shares");
            match console.get::<ShareList>(signed.token(), &path).await {
                Ok(list) => list
                    .shares
                    .into_iter()
                    .find(|s| s.token_id == token_id)
                    .map(|s| ShareRow::of_view(view, s)),
                Err(r) => return refusal(&console, &headers, r).await,
            }
        }
        Some(Back::Workspace(ws)) => {
            match workspace_share(&console, &signed, ws, &token_id).await {
                Ok(found) => found.map(ShareRow::from),
                Err(r) => return refusal(&console, &headers, r).await,
            }
        }
        None => match console
            .get::<TokenList>(signed.token(), "/tokens?kind=guest")
            .await
        {
            Ok(list) => list
                .tokens
                .into_iter()
                .find(|t| t.entry.token_id == token_id)
                .map(ShareRow::from),
            Err(r) => return refusal(&console, &headers, r).await,
        },
    };
    let Some(row) = row else {
        return missing();
    };
    let r = page(
        StatusCode::OK,
        "confirm.html",
        minijinja::context! {
            title => "Revoke this share?", signed_in => true, csrf => signed.csrf.token(),
            action => format!("/console/shares/{token_id}/revoke"),
            question => "Revoke this share? Its link stops working at once; this cannot be undone.",
            button => "Revoke share", share => row,
            back => back.as_ref().map(ToString::to_string),
            cancel => Back::location(back.as_ref(), "none"),
        },
    );
    signed.finish(&console, r)
}

/// A revocation form: the CSRF token and where to return.
#[derive(Deserialize)]
pub(super) struct RevokeForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    back: Option<String>,
}

/// The guest link `token_id` of `ws`, from `GET /admin/v1/workspaces/{ws}/shares`.
async fn workspace_share(
    console: &Console,
    signed: &Signed,
    ws: &Id,
    token_id: &Id,
) -> Result<Option<TokenRow>, Refused> {
    let path = format!("/workspaces/{ws}/shares");
    let list = console.get::<TokenList>(signed.token(), &path).await?;
    Ok(list
        .tokens
        .into_iter()
        .find(|t| t.entry.token_id == *token_id))
}

/// `POST /console/shares/{token_id}/revoke`: a view's share (`back` is
/// `view:{id}`, or a member's from its workspace's list) through
/// `DELETE /admin/v1/views/{view}/shares/{id}`, any other through
/// `DELETE /admin/v1/tokens/{id}` (the admin token's).
pub(super) async fn revoke(
    State(console): State<Console>,
    Path(token_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<RevokeForm>,
) -> Response {
    let (signed, token_id) =
        match posted_for(&console, &headers, form.csrf.as_deref(), &token_id).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    let back = Back::parse(form.back.as_deref());
    let api_path = match &back {
        Some(Back::View(view)) => format!("/views/{view}/shares/{token_id}"),
        Some(Back::Workspace(ws)) if signed.caller.user().is_some() => {
            let row = match workspace_share(&console, &signed, ws, &token_id).await {
                Ok(row) => row,
                Err(r) => return refusal(&console, &headers, r).await,
            };
            let Some(view) = row.and_then(|r| ShareRow::from(r).view) else {
                return missing();
            };
            format!("/views/{view}/shares/{token_id}")
        }
        _ => format!("/tokens/{token_id}"),
    };
    let answer = console
        .call::<RevokedAnswer>(signed.token(), Method::DELETE, &api_path, None::<&()>)
        .await;
    match answer {
        Ok(_) => see_other(&Back::location(back.as_ref(), "revoked")),
        Err(r) => refusal(&console, &headers, r).await,
    }
}

/// `GET /console/views/{view}/revoke-all`: asks before revoking every link.
pub(super) async fn confirm_revoke_all(
    State(console): State<Console>,
    Path(view): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (signed, view) = match signed_for(&console, &headers, &view).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let back = Back::View(view.clone());
    let r = page(
        StatusCode::OK,
        "confirm.html",
        minijinja::context! {
            title => "Revoke every link?", signed_in => true, csrf => signed.csrf.token(),
            action => format!("/console/views/{view}/revoke-all"),
            question => format!("Revoke every active link of view {view}? Every one stops working at once."),
            button => "Revoke all links", back => back.to_string(),
            cancel => Back::location(Some(&back), "none"),
        },
    );
    signed.finish(&console, r)
}

/// `POST /console/views/{view}/revoke-all`: every link
/// `GET /admin/v1/views/{view}/shares` lists, each revoked through
/// `DELETE /admin/v1/views/{view}/shares/{id}`.
pub(super) async fn revoke_all(
    State(console): State<Console>,
    Path(view): Path<String>,
    headers: HeaderMap,
    Form(form): Form<RevokeForm>,
) -> Response {
    let (signed, view) = match posted_for(&console, &headers, form.csrf.as_deref(), &view).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let path = format!("/views/{view}/shares");
    let list = match console.get::<ShareList>(signed.token(), &path).await {
        Ok(list) => list,
        Err(r) => return refusal(&console, &headers, r).await,
    };
    for share in list.shares {
        let one = format!("/views/{view}/shares/{}", share.token_id);
        let answer = console
            .call::<RevokedAnswer>(signed.token(), Method::DELETE, &one, None::<&()>)
            .await;
        if let Err(r) = answer {
            return refusal(&console, &headers, r).await;
        }
    }
    see_other(&Back::location(Some(&Back::View(view)), "revoked_all"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_checkboxes_grant_what_they_say() {
        let form = |preset: &str| ShareForm {
            csrf: None,
            preset: preset.into(),
            read: None,
            write: None,
            create: None,
            delete: None,
            export: Some("on".into()),
            expires: "2030-01-31".into(),
            label: String::new(),
        };
        let names = |f: &ShareForm| {
            f.operations()
                .map(|o| o.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(","))
        };
        assert_eq!(names(&form("editor")).as_deref(), Some("read,write,create"));
        assert_eq!(names(&form("read-only")).as_deref(), Some("read"));
        assert_eq!(names(&form("auditor")).as_deref(), Some("read,export"));
        assert_eq!(names(&form("custom")).as_deref(), Some("export"));
        assert_eq!(names(&form("owner")), None);
        assert_eq!(
            form("editor").expiry(),
            Ok(Some("2030-01-31T23:59:59+00:00".into()))
        );
        assert_eq!(
            Back::parse(Some("view:v_1")),
            Some(Back::View(Id::new("v_1").unwrap()))
        );
        assert_eq!(Back::parse(Some("https://evil.example/")), None);
    }
}
