//! The share lists the console shows: a view's active shares (the view
//! share routes), a workspace's (`/workspaces/{ws}/shares`), each row
//! with its label, permissions, maker, dates and state, and where a
//! revocation returns to.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::api::shares::MADE_BY_ADMIN;
use crate::api::{AuditLog, ShareList, TokenList, TokenRow};
use crate::change::Change;
use crate::model::{Id, Operation, TokenState};

use super::session::{refusal, Signed};
use super::Console;

/// Where a revocation returns to: a view's page or a workspace's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Back {
    /// `view:{id}`
    View(Id),
    /// `workspace:{id}`
    Workspace(Id),
}

impl fmt::Display for Back {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Back::View(id) => write!(f, "view:{id}"),
            Back::Workspace(id) => write!(f, "workspace:{id}"),
        }
    }
}

impl Back {
    /// `view:{id}` or `workspace:{id}`; anything else returns home.
    pub(super) fn parse(text: Option<&str>) -> Option<Back> {
        let (kind, id) = text?.split_once(':')?;
        let id = Id::new(id).ok()?;
        match kind {
            "view" => Some(Back::View(id)),
            "workspace" => Some(Back::Workspace(id)),
            _ => None,
        }
    }

    /// The console page, with `done` said on it.
    pub(super) fn location(back: Option<&Back>, done: &str) -> String {
        match back {
            Some(Back::View(id)) => format!("/console/views/{id}?done={done}"),
            Some(Back::Workspace(id)) => format!("/console/workspaces/{id}?done={done}"),
            None => "/console".to_owned(),
        }
    }
}

/// One share as the lists show it.
#[derive(Debug, Serialize)]
pub(super) struct ShareRow {
    pub(super) token_id: String,
    pub(super) label: Option<String>,
    pub(super) view: Option<String>,
    pub(super) permissions: String,
    pub(super) created: String,
    pub(super) expires: String,
    pub(super) last_used: String,
    pub(super) created_by: String,
    pub(super) state: &'static str,
    pub(super) active: bool,
    #[serde(skip)]
    pub(super) created_at: Option<DateTime<Utc>>,
}

pub(super) fn joined(ops: &BTreeSet<Operation>) -> String {
    ops.iter()
        .map(|o| o.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn state_name(state: TokenState) -> &'static str {
    match state {
        TokenState::Active => "active",
        TokenState::Expired => "expired",
        TokenState::Revoked => "revoked",
    }
}

impl ShareRow {
    /// The row of one of a view's links as `GET /views/{view}/shares` lists it.
    pub(super) fn of_view(view: &Id, row: crate::api::ShareRow) -> ShareRow {
        ShareRow {
            token_id: row.token_id.to_string(),
            label: row.label,
            view: Some(view.to_string()),
            permissions: joined(&row.permissions),
            created: when(Some(row.created_at), ""),
            expires: when(row.expires_at, "never"),
            last_used: when(row.last_used, "never"),
            created_by: row.created_by,
            state: state_name(row.state),
            active: row.state == TokenState::Active,
            created_at: Some(row.created_at),
        }
    }
}

pub(super) fn when(at: Option<DateTime<Utc>>, none: &str) -> String {
    at.map_or_else(
        || none.to_owned(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

impl From<TokenRow> for ShareRow {
    fn from(row: TokenRow) -> Self {
        let e = row.entry;
        let ops: BTreeSet<Operation> = e.rights.iter().map(|r| r.operation).collect();
        let view = e
            .rights
            .iter()
            .find(|r| r.resource.kind == crate::model::ResourceKind::View)
            .map(|r| r.resource.id.to_string());
        ShareRow {
            token_id: e.token_id.to_string(),
            label: e.label,
            view,
            permissions: joined(&ops),
            created: when(Some(e.created_at), ""),
            expires: when(e.expires_at, "never"),
            last_used: when(e.last_used_at, "never"),
            created_by: String::new(),
            state: state_name(row.state),
            active: row.state == TokenState::Active,
            created_at: Some(e.created_at),
        }
    }
}

/// The rows of a ledger answer, newest first.
pub(super) fn share_rows(list: TokenList) -> Vec<ShareRow> {
    let mut tokens = list.tokens;
    tokens.sort_by_key(|t| std::cmp::Reverse(t.entry.created_at));
    tokens.into_iter().map(ShareRow::from).collect()
}

/// The guest shares of `ws` (`GET /admin/v1/workspaces/{ws}/shares`, who
/// made each from `GET /admin/v1/workspaces/{ws}/audit`), or no rows and
/// the admin API's code when it refuses (the page says so). `Err` is the
/// answer instead, when the session is over.
pub(super) async fn listed(
    console: &Console,
    signed: &Signed,
    headers: &HeaderMap,
    ws: &Id,
) -> Result<(Vec<ShareRow>, Option<String>), Response> {
    let path = format!("/workspaces/{ws}/shares");
    match console.get::<TokenList>(signed.token(), &path).await {
        Ok(list) => {
            let by = creators(console, signed, &format!("/workspaces/{ws}/audit")).await;
            let mut rows = share_rows(list);
            for row in &mut rows {
                row.created_by = by.get(&row.token_id).cloned().unwrap_or_default();
            }
            Ok((rows, None))
        }
        Err(r) if r.ends_session() => Err(refusal(console, headers, r).await),
        Err(r) => Ok((Vec::new(), Some(r.code))),
    }
}

/// The shares of `view`: its active links from
/// `GET /admin/v1/views/{view}/shares` (the admin token's, or a member's
/// holding `share` there), with, when the admin API lets the caller read
/// the ledger (the admin token), the view's revoked and expired links
/// after them; newest first. A link the admin token made names its
/// issuing token when the audit log is readable. No rows and the admin
/// API's code when it refuses; `Err` is the answer when the session is over.
pub(super) async fn listed_for_view(
    console: &Console,
    signed: &Signed,
    headers: &HeaderMap,
    view: &Id,
) -> Result<(Vec<ShareRow>, Option<String>), Response> {
    let path = format!("/views/{view}/shares");
    let list = match console.get::<ShareList>(signed.token(), &path).await {
        Ok(list) => list,
        Err(r) if r.ends_session() => return Err(refusal(console, headers, r).await),
        Err(r) => return Ok((Vec::new(), Some(r.code))),
    };
    let mut rows: Vec<ShareRow> = list
        .shares
        .into_iter()
        .map(|row| ShareRow::of_view(view, row))
        .collect();
    let ledger = format!("/tokens?view={view}&kind=guest");
    if let Ok(all) = console.get::<TokenList>(signed.token(), &ledger).await {
        let past = share_rows(all)
            .into_iter()
            .filter(|r| !r.active && !rows.iter().any(|a| a.token_id == r.token_id));
        rows.extend(past.collect::<Vec<_>>());
    }
    let by = creators(console, signed, "/audit").await;
    for row in &mut rows {
        if row.created_by.is_empty() || row.created_by == MADE_BY_ADMIN {
            if let Some(token) = by.get(&row.token_id) {
                row.created_by.clone_from(token);
            }
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    Ok((rows, None))
}

/// Who issued each token, from the `issued` events of the audit log at
/// `path` (none when the admin API refuses it).
async fn creators(console: &Console, signed: &Signed, path: &str) -> BTreeMap<String, String> {
    let Ok(log) = console.get::<AuditLog>(signed.token(), path).await else {
        return BTreeMap::new();
    };
    log.events
        .into_iter()
        .filter_map(|e| match e.change {
            Change::TokenIssued { entry } => {
                Some((entry.token_id.to_string(), e.actor.to_string()))
            }
            _ => None,
        })
        .collect()
}
