//! `GET /v1/me`: what the presented token can see and do, worked out by
//! running the real decision for every candidate — each registered
//! workspace (a ValidGraph project) and each operation — never by reading
//! the token's facts, so attenuation, roles, assignments and revocation
//! count exactly as they do at the front doors.

use std::collections::BTreeSet;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::authorize::{Reason, Request};
use crate::model::{Id, Operation, Resource, TokenKind};

use super::credential::credential;
use super::error::ApiError;
use super::state::Gateway;

/// The most projects one answer lists (`limit` may ask for fewer).
pub const MAX_ME_PROJECTS: usize = 100;

/// `?limit=&cursor=`: a page of the registered workspaces, after `cursor`.
#[derive(Debug, Default, Deserialize)]
pub struct MeQuery {
    /// How many workspaces to consider (at most [`MAX_ME_PROJECTS`]).
    pub limit: Option<usize>,
    /// The last workspace id of the previous page.
    pub cursor: Option<Id>,
}

/// One visible project.
#[derive(Debug, Serialize)]
pub struct MeProject {
    /// The workspace id.
    pub id: Id,
    /// Its display name.
    pub name: Option<String>,
    /// The member's role there (member tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The operations the token is allowed on the workspace.
    pub operations: Vec<&'static str>,
    /// The same in ValidGraph's words ([`features`]).
    pub can_access: Vec<&'static str>,
}

/// The answer of `GET /v1/me`.
#[derive(Debug, Serialize)]
pub struct Me {
    /// The token's kind (`member`, `guest`, `api_key`, `admin`).
    pub kind: Option<String>,
    /// The member's user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The visible projects of this page.
    pub projects: Vec<MeProject>,
    /// How many are listed.
    pub total_projects_visible: usize,
    /// Every feature reachable in a listed project.
    pub can_access: Vec<&'static str>,
    /// A guest's or API key's own scope, as `kind:id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A guest's or API key's operations (its rights').
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    /// When the token expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<Utc>>,
    /// The cursor of the next page, when there are more workspaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<Id>,
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

/// `GET /v1/me`: 401 without a valid token; otherwise the token's kind,
/// user and, except for admin tokens, the projects it may act on.
pub async fn me(
    State(gw): State<Gateway>,
    headers: HeaderMap,
    Query(query): Query<MeQuery>,
) -> Result<Json<Me>, ApiError> {
    let now = Utc::now();
    let token = credential(&headers);
    let registry = gw.registry();
    let decider = gw.decider();
    let ask = |resource: Resource, operation: Operation| {
        let request = Request {
            operation,
            resource,
        };
        let token = token.clone();
        async move { decider.check(token.as_deref(), &request, now, false).await }
    };
    // One decision on a probe resource verifies the token (a credential
    // problem is the 401) and reads back its claims; what it allows is
    // never used.
    let probe = Id::new("me").map_err(|_| ApiError::Internal("probe id".into()))?;
    let first = ask(Resource::workspace(probe), Operation::Read).await;
    if let Some(reason) = first.reason.filter(|r| r.is_credential_problem()) {
        return Err(ApiError::Denied(reason));
    }
    let claims = first.claims.ok_or(ApiError::Denied(Reason::MissingToken))?;
    let kind: Option<TokenKind> = claims.kind.as_deref().and_then(|k| k.parse().ok());
    let limit = query
        .limit
        .unwrap_or(MAX_ME_PROJECTS)
        .clamp(1, MAX_ME_PROJECTS);
    let mut projects = Vec::new();
    let mut next_cursor = None;
    let mut all = BTreeSet::new();
    if kind != Some(TokenKind::Admin) {
        let after = query.cursor.clone();
        let page: Vec<&Id> = registry
            .workspaces
            .iter()
            .filter(|ws| after.as_ref().is_none_or(|c| *ws > c))
            .collect();
        for (i, ws) in page.iter().enumerate() {
            if i == limit {
                next_cursor = Some(page[i - 1].clone());
                break;
            }
            let mut allowed = Vec::new();
            for op in Operation::EVERY {
                if ask(Resource::workspace((*ws).clone()), op).await.allowed {
                    allowed.push(op);
                }
            }
            if allowed.is_empty() {
                continue;
            }
            let can_access = features(&allowed);
            all.extend(can_access.iter().copied());
            let role = claims
                .user
                .as_deref()
                .and_then(|u| Id::new(u).ok())
                .and_then(|u| registry.people.role_at(ws, &u, now))
                .map(|r| r.as_str().to_owned());
            projects.push(MeProject {
                id: (*ws).clone(),
                name: registry.workspace_names.get(*ws).cloned(),
                role,
                operations: allowed.iter().map(|o| o.as_str()).collect(),
                can_access,
            });
        }
    }
    let member = kind == Some(TokenKind::Member);
    let scope = claims
        .rights
        .first()
        .filter(|_| !member)
        .map(|r| format!("{}:{}", r.kind, r.id));
    let operations = if member {
        Vec::new()
    } else {
        claims.rights.iter().map(|r| r.operation.clone()).collect()
    };
    Ok(Json(Me {
        total_projects_visible: projects.len(),
        can_access: ["validation_history", "export", "reports"]
            .into_iter()
            .filter(|f| all.contains(f))
            .collect(),
        kind: claims.kind,
        user: claims.user,
        projects,
        scope,
        operations,
        expires_at: claims.expires_at,
        next_cursor,
    }))
}
