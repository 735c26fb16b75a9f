//! The console's audit log page: `GET /admin/v1/audit` (the admin
//! token's), or with `?workspace=` a workspace's
//! `GET /admin/v1/workspaces/{ws}/audit` (also its owners' and admins'),
//! newest first, filtered by kind of event, view and time range, fifty to
//! a page.

use std::collections::BTreeSet;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::api::{AuditEvent, AuditLog};
use crate::change::Change;
use crate::model::Id;

use super::render::{error_page, missing, page};
use super::session::{refusal, signed_in};
use super::Console;

/// Events on one page.
const PAGE_SIZE: usize = 50;

/// The kinds of event the filter offers.
const KINDS: &[&str] = &[
    "issued",
    "revoked",
    "settings_changed",
    "members_changed",
    "user_changed",
    "access_changed",
    "keys_initialised",
    "key_rotated",
    "key_retired",
];

/// The filters, as the form sends them (empty means any).
#[derive(Debug, Default, Deserialize, Serialize)]
pub(super) struct AuditFilter {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    view: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    workspace: String,
    #[serde(default)]
    page: Option<usize>,
}

impl AuditFilter {
    fn day(text: &str, end: bool) -> Option<DateTime<Utc>> {
        let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
        let time = if end {
            date.and_hms_opt(23, 59, 59)
        } else {
            date.and_hms_opt(0, 0, 0)
        };
        Some(time?.and_utc())
    }

    /// The events that pass, newest first. A view matches its settings
    /// changes, the tokens issued for it and their revocations.
    fn apply(&self, events: Vec<AuditEvent>) -> Vec<AuditEvent> {
        let view = Id::new(self.view.trim()).ok();
        let view_tokens: BTreeSet<Id> = match &view {
            Some(v) => events
                .iter()
                .filter_map(|e| match &e.change {
                    Change::TokenIssued { entry } if entry.is_for_view(v) => {
                        Some(entry.token_id.clone())
                    }
                    _ => None,
                })
                .collect(),
            None => BTreeSet::new(),
        };
        let (from, to) = (Self::day(&self.from, false), Self::day(&self.to, true));
        let mut kept: Vec<AuditEvent> = events
            .into_iter()
            .filter(|e| self.kind.is_empty() || e.event == self.kind)
            .filter(|e| from.is_none_or(|f| e.at >= f) && to.is_none_or(|t| e.at <= t))
            .filter(|e| match &view {
                None => self.view.trim().is_empty(),
                Some(v) => match &e.change {
                    Change::PutView { view, .. } => view == v,
                    _ => e.token_id.as_ref().is_some_and(|t| view_tokens.contains(t)),
                },
            })
            .collect();
        kept.reverse();
        kept
    }
}

#[derive(Serialize)]
struct EventRow {
    seq: u64,
    at: String,
    event: String,
    token_id: Option<String>,
    actor: String,
    detail: String,
}

/// `GET /console/audit?kind=&view=&from=&to=&page=`.
pub(super) async fn audit(
    State(console): State<Console>,
    Query(filter): Query<AuditFilter>,
    headers: HeaderMap,
) -> Response {
    let signed = match signed_in(&console, &headers).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let source = match Id::new(filter.workspace.trim()) {
        Ok(ws) => format!("/workspaces/{ws}/audit"),
        Err(_) if filter.workspace.trim().is_empty() => "/audit".to_owned(),
        Err(_) => return missing(),
    };
    let log = match console.get::<AuditLog>(signed.token(), &source).await {
        Ok(l) => l,
        Err(r) if r.code == "wrong_kind" => {
            return signed.finish(
                &console,
                error_page(
                    r.status,
                    &r.code,
                    "The whole audit log is read with the admin token; a member token reads \
                     its workspace's: open the workspace and follow its audit log link.",
                ),
            )
        }
        Err(r) => return refusal(&console, &headers, r).await,
    };
    let kept = filter.apply(log.events);
    let pages = kept.len().div_ceil(PAGE_SIZE).max(1);
    let current = filter.page.unwrap_or(1).clamp(1, pages);
    let events: Vec<EventRow> = kept
        .into_iter()
        .skip((current - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|e| EventRow {
            seq: e.seq,
            at: e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            event: e.event,
            token_id: e.token_id.map(|t| t.to_string()),
            actor: e.actor.to_string(),
            detail: e.detail,
        })
        .collect();
    let page_link = |n: usize| {
        let mut q = url_query(&filter);
        q.push_str(&format!("page={n}"));
        format!("/console/audit?{q}")
    };
    let r = page(
        StatusCode::OK,
        "audit.html",
        minijinja::context! {
            title => "Audit log", signed_in => true, csrf => signed.csrf.token(),
            kinds => KINDS, filter, events, page => current, pages,
            previous => (current > 1).then(|| page_link(current - 1)),
            next => (current < pages).then(|| page_link(current + 1)),
        },
    );
    signed.finish(&console, r)
}

/// The filter as a query string prefix (`kind=…&`), percent-encoded.
fn url_query(filter: &AuditFilter) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.');
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s.trim(), KEEP).to_string();
    [
        ("kind", &filter.kind),
        ("view", &filter.view),
        ("from", &filter.from),
        ("to", &filter.to),
        ("workspace", &filter.workspace),
    ]
    .iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| format!("{k}={}&", enc(v)))
    .collect()
}
