//! What a token can see (`GET /v1/me`'s core): the registry's candidates —
//! each workspace (a ValidGraph project), then each of its views — paged
//! by a cursor, and for each the real decision ([`authorize`]) on every
//! operation. Nothing is read from the token's facts (biscuit's
//! `query_all` would see attenuation blocks' untrusted facts): a candidate
//! is visible exactly when a single decision allows something on it.
//! Pure: the caller passes `now` and bounds the page.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::model::{Id, Operation, Registry, Resource, ResourceKind};
use crate::token::VerifiedToken;

use super::decide::{authorize, Context, Request};
use super::reason::Reason;

/// One candidate the token may act on, with the operations allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sight {
    /// The workspace or view.
    pub resource: Resource,
    /// The operations a single decision allows on it, in
    /// [`Operation::EVERY`]'s order (never empty).
    pub operations: Vec<Operation>,
}

/// Where a candidate sorts, and the cursor that resumes after it: its
/// workspace, and the view (none for the workspace itself, which sorts
/// before its views). Written `ws` or `ws/view`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    /// The workspace.
    pub workspace: Id,
    /// The view, for a view.
    pub view: Option<Id>,
}

impl Cursor {
    /// The cursor of a candidate in `workspace`.
    fn of(workspace: &Id, resource: &Resource) -> Cursor {
        Cursor {
            workspace: workspace.clone(),
            view: (resource.kind == ResourceKind::View).then(|| resource.id.clone()),
        }
    }

    /// Reads `ws` or `ws/view`; `None` when a part is not an id.
    pub fn parse(text: &str) -> Option<Cursor> {
        let (ws, view) = match text.split_once('/') {
            Some((ws, view)) => (ws, Some(Id::new(view).ok()?)),
            None => (text, None),
        };
        Some(Cursor {
            workspace: Id::new(ws).ok()?,
            view,
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.view {
            Some(view) => write!(f, "{}/{view}", self.workspace),
            None => write!(f, "{}", self.workspace),
        }
    }
}

/// A page of candidates: the resources to decide on and the cursor of the
/// next page, when more follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The candidates, at most the page's limit.
    pub candidates: Vec<Resource>,
    /// Where the next page starts after, when another page follows.
    pub next: Option<Cursor>,
}

/// The candidates in their one order, each with its cursor: each
/// workspace (by id) followed by the views of its tables (by view id).
pub fn candidates(registry: &Registry) -> Vec<(Cursor, Resource)> {
    let mut views: BTreeMap<&Id, Vec<&Id>> = BTreeMap::new();
    for (view, entry) in &registry.views {
        if let Some(ws) = registry.tables.get(&entry.table) {
            views.entry(ws).or_default().push(view);
        }
    }
    let mut out = Vec::new();
    for ws in &registry.workspaces {
        let resource = Resource::workspace(ws.clone());
        out.push((Cursor::of(ws, &resource), resource));
        for v in views.get(ws).map(Vec::as_slice).unwrap_or_default() {
            let resource = Resource::view((*v).clone());
            out.push((Cursor::of(ws, &resource), resource));
        }
    }
    out
}

/// The page of at most `limit` (at least one) candidates that sort after
/// `after` (from the start when none; a cursor whose candidate is gone
/// resumes where it would sort).
pub fn page(registry: &Registry, after: Option<&Cursor>, limit: usize) -> Page {
    let all = candidates(registry);
    let start = after.map_or(0, |c| all.partition_point(|(key, _)| key <= c));
    let limit = limit.max(1);
    let rest = all.get(start..).unwrap_or_default();
    let taken = &rest[..rest.len().min(limit)];
    Page {
        candidates: taken.iter().map(|(_, r)| r.clone()).collect(),
        next: (rest.len() > limit)
            .then(|| taken.last().map(|(key, _)| key.clone()))
            .flatten(),
    }
}

/// Every candidate on which a single decision allows some operation, with
/// those operations. A credential problem any decision reports (an
/// expiry an attenuation block set, a revocation) is returned as `Err`:
/// the token is refused, not shown an empty sight.
pub fn look(
    ctx: &Context<'_>,
    token: Option<&VerifiedToken>,
    candidates: &[Resource],
    now: DateTime<Utc>,
) -> Result<Vec<Sight>, Reason> {
    let mut out = Vec::new();
    for resource in candidates {
        let mut operations = Vec::new();
        for operation in Operation::EVERY {
            let request = Request {
                operation,
                resource: resource.clone(),
            };
            let decision = authorize(ctx, token, &request, now);
            match decision.reason {
                None => operations.push(operation),
                Some(r) if token.is_some() && r.is_credential_problem() => return Err(r),
                Some(_) => {}
            }
        }
        if !operations.is_empty() {
            out.push(Sight {
                resource: resource.clone(),
                operations,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ViewEntry, ViewSettings};

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    /// ws_a ⊃ t_a ⊃ {v_a1, v_a2}; ws_b ⊃ t_b ⊃ v_b1.
    fn registry() -> Registry {
        let mut r = Registry::default();
        for (ws, t, views) in [
            ("ws_a", "t_a", &["v_a2", "v_a1"][..]),
            ("ws_b", "t_b", &["v_b1"]),
        ] {
            r.workspaces.insert(id(ws));
            r.tables.insert(id(t), id(ws));
            for v in views {
                let entry = ViewEntry {
                    table: id(t),
                    settings: ViewSettings::default(),
                };
                r.views.insert(id(v), entry);
            }
        }
        r
    }

    #[test]
    fn candidates_are_each_workspace_then_its_views_and_pages_cover_them_once() {
        let r = registry();
        let names: Vec<String> = candidates(&r).iter().map(|c| c.1.id.to_string()).collect();
        assert_eq!(names, ["ws_a", "v_a1", "v_a2", "ws_b", "v_b1"]);
        for limit in 1..=6 {
            let mut seen = Vec::new();
            let mut after = None;
            for _ in 0..10 {
                let p = page(&r, after.as_ref(), limit);
                assert!(p.candidates.len() <= limit);
                seen.extend(p.candidates.iter().map(|c| c.id.to_string()));
                match p.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen, names, "limit {limit}");
        }
        // A cursor naming a view that is gone resumes where it would sort.
        let gone = Cursor::parse("ws_a/v_a15").unwrap();
        assert_eq!(gone.to_string(), "ws_a/v_a15");
        let p = page(&r, Some(&gone), 10);
        assert_eq!(p.candidates[0], Resource::view(id("v_a2")));
        // A bare workspace id (the first form of the cursor) resumes after
        // the workspace itself, at its views.
        let p = page(&r, Cursor::parse("ws_a").as_ref(), 1);
        assert_eq!(p.candidates, [Resource::view(id("v_a1"))]);
        assert_eq!(p.next.map(|c| c.to_string()).as_deref(), Some("ws_a/v_a1"));
        assert_eq!(Cursor::parse("ws_a/"), None);
    }
}
