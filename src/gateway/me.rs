//! `GET /v1/me`: what the presented token can see and do. The token is
//! verified directly (the configured keys, then the revocation set); then
//! the real decision runs for every operation on each registry candidate
//! of the page — each workspace (a ValidGraph project), then its views —
//! never by reading the token's facts, so attenuation, roles, assignments
//! and their expiry, view visibility and revocation count exactly as they
//! do at the front doors. A page decides on at most `me_page_size`
//! candidates (`?limit=` asks for fewer; `?cursor=` resumes).

use std::collections::BTreeSet;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::api::Invalid;
use crate::authorize::visible::{self, Cursor, Sight};
use crate::authorize::Reason;
use crate::model::{Id, Operation, Registry, ResourceKind, TokenKind};
use crate::token::Claims;

use super::credential::credential;
use super::error::ApiError;
use super::state::Gateway;

/// The default page size (`me_page_size`), kept for its first users.
pub const MAX_ME_PROJECTS: usize = 100;

/// `?limit=&cursor=`: a page of the registered workspaces, after `cursor`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeQuery {
    /// How many candidates to consider (at most the configured page size).
    pub limit: Option<usize>,
    /// The previous page's `next_cursor` (`ws` or `ws/view`).
    pub cursor: Option<String>,
}

/// One visible project.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeProject {
    /// The workspace id.
    pub id: Id,
    /// Its display name.
    pub name: Option<String>,
    /// The member's role there (member tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The operations the token is allowed on the workspace.
    #[schema(value_type = Vec<String>)]
    pub operations: Vec<&'static str>,
    /// The same in ValidGraph's words ([`features`]).
    #[schema(value_type = Vec<String>)]
    pub can_access: Vec<&'static str>,
}

/// One visible view.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeView {
    /// The view id.
    pub id: Id,
    /// Its table.
    pub table: Id,
    /// Its workspace.
    pub project: Id,
    /// The operations the token is allowed on the view.
    #[schema(value_type = Vec<String>)]
    pub operations: Vec<&'static str>,
}

/// The answer of `GET /v1/me`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// The token's kind (`member`, `guest`, `api_key`, `admin`; none
    /// without a token).
    pub kind: Option<String>,
    /// The member's user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The visible projects of this page.
    pub projects: Vec<MeProject>,
    /// How many are listed.
    pub total_projects_visible: usize,
    /// Every feature reachable in a listed project.
    #[schema(value_type = Vec<String>)]
    pub can_access: Vec<&'static str>,
    /// The visible views of this page.
    pub views: Vec<MeView>,
    /// A guest's or API key's own scope, as `kind:id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A guest's or API key's operations (its rights').
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    /// When the token expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<Utc>>,
    /// The cursor of the next page, when more candidates follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// ValidGraph's feature words for allowed operations: `read` →
/// `validation_history` and `reports`, `export` → `export`; other
/// operations have no feature word (they are in `operations`).
pub fn features(operations: &[Operation]) -> Vec<&'static str> {
    let mut out = Vec::new();
    if operations.contains(&Operation::Read) {
        out.push("validation_history");
    }
    if operations.contains(&Operation::Export) {
        out.push("export");
    }
    if operations.contains(&Operation::Read) {
        out.push("reports");
    }
    out
}

/// `GET /v1/me`: without a token, what anyone sees (the public views, no
/// kind); with a valid token, its kind, user and the projects and views of
/// this page it may act on; 401 for a token that is not valid.
#[utoipa::path(get, path = "/v1/me", tag = "me", params(MeQuery), security((), ("admin_bearer" = [])), responses((status = 200, description = "what the token can see and do", body = Me), (status = 400, description = "the query is not valid", body = super::admin::openapi::ErrorBody)))]
pub async fn me(
    State(gw): State<Gateway>,
    headers: HeaderMap,
    query: Result<Query<MeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let decider = gw.decider();
    let registry = gw.registry();
    let page = query
        .map_err(|e| Invalid::Query(e.body_text()))
        .and_then(|Query(query)| page_of(&gw, &registry, &query));
    let Some(text) = credential(&headers) else {
        // No token: what anyone may see (public views only).
        let page = page?;
        let sight = decider.look(None, page.candidates, now).await;
        let sight = sight.map_err(ApiError::Denied)?;
        let mut me = answer(&registry, &Claims::default(), None, &sight, now);
        me.next_cursor = page.next.map(|c| c.to_string());
        return Ok(Json(me).into_response());
    };
    let token = decider
        .verify_token(&text)
        .await
        .map_err(|e| ApiError::Denied(Reason::from(&e)))?;
    if decider.is_revoked(&token) {
        return Err(ApiError::Denied(Reason::Revoked));
    }
    let claims = token.claims().clone();
    if claims.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::Denied(Reason::Expired));
    }
    // The credential first: a bad token is the 401 whatever the query.
    let page = page?;
    let kind: Option<TokenKind> = claims.kind.as_deref().and_then(|k| k.parse().ok());
    // Every kind runs the decisions: an admin token holds no data right,
    // but reads public views as anyone does.
    let sight = decider.look(Some(token), page.candidates, now).await;
    let sight = sight.map_err(ApiError::Denied)?;
    let mut me = answer(&registry, &claims, kind, &sight, now);
    me.next_cursor = page.next.map(|c| c.to_string());
    Ok(Json(me).into_response())
}

/// The page of candidates `query` asks for: after its cursor, at most its
/// limit (itself at most the configured page size).
fn page_of(gw: &Gateway, registry: &Registry, query: &MeQuery) -> Result<visible::Page, Invalid> {
    let after = match query.cursor.as_deref() {
        Some(text) => {
            Some(Cursor::parse(text).ok_or_else(|| Invalid::Query("cursor: not a cursor".into()))?)
        }
        None => None,
    };
    let size = gw.config().me_page_size.max(1);
    let limit = query.limit.unwrap_or(size).clamp(1, size);
    Ok(visible::page(registry, after.as_ref(), limit))
}

/// The answer for a verified token from what its decisions allowed.
fn answer(
    registry: &Registry,
    claims: &Claims,
    kind: Option<TokenKind>,
    sight: &[Sight],
    now: chrono::DateTime<Utc>,
) -> Me {
    let user = claims.user.as_deref().and_then(|u| Id::new(u).ok());
    let mut all = BTreeSet::new();
    let projects: Vec<MeProject> = sight
        .iter()
        .filter(|s| s.resource.kind == ResourceKind::Workspace)
        .map(|s| {
            let ws = &s.resource.id;
            let can_access = features(&s.operations);
            all.extend(can_access.iter().copied());
            MeProject {
                id: ws.clone(),
                name: registry.workspace_names.get(ws).cloned(),
                role: user
                    .as_ref()
                    .and_then(|u| registry.people.role_at(ws, u, now))
                    .map(|r| r.as_str().to_owned()),
                operations: s.operations.iter().map(|o| o.as_str()).collect(),
                can_access,
            }
        })
        .collect();
    let member = kind == Some(TokenKind::Member);
    Me {
        total_projects_visible: projects.len(),
        can_access: ["validation_history", "export", "reports"]
            .into_iter()
            .filter(|f| all.contains(f))
            .collect(),
        kind: claims.kind.clone(),
        user: claims.user.clone(),
        projects,
        views: views(registry, sight),
        scope: claims
            .rights
            .first()
            .filter(|_| !member)
            .map(|r| format!("{}:{}", r.kind, r.id)),
        operations: if member {
            Vec::new()
        } else {
            claims.rights.iter().map(|r| r.operation.clone()).collect()
        },
        expires_at: claims.expires_at,
        next_cursor: None,
    }
}

/// The visible views among `sight`, with their table and workspace.
fn views(registry: &Registry, sight: &[Sight]) -> Vec<MeView> {
    sight
        .iter()
        .filter(|s| s.resource.kind == ResourceKind::View)
        .filter_map(|s| {
            let table = registry.views.get(&s.resource.id)?.table.clone();
            Some(MeView {
                id: s.resource.id.clone(),
                project: registry.tables.get(&table)?.clone(),
                table,
                operations: s.operations.iter().map(|o| o.as_str()).collect(),
            })
        })
        .collect()
}
