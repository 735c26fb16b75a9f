//! Embeds at the front doors: an allowed request made with an embed link
//! (`embed(mode)` in its authority block) is refused when its query asks
//! what the mode forbids — any sort or filter in a public or filtered
//! embed, a sort or filter naming a column the view hides in an
//! interactive one — as the route table's `query` rules read the query.
//! Checked after the (cached) decision, on every request: the decision
//! cache does not key on the query.

use std::sync::Arc;

use crate::authorize::Reason;
use crate::model::{EmbedMode, EmbedRefusal, Id, Registry};
use crate::routes::RouteTable;
use crate::token::Claims;

use super::identity::Allowed;

/// Why the query of an allowed embed request is refused, if it is. An
/// embed mode this build does not know is read as `public`, the strictest;
/// a query that cannot be read is `bad_path`.
pub(super) fn refusal(
    routes: &RouteTable,
    registry: impl FnOnce() -> Arc<Registry>,
    method: &str,
    raw_path: &str,
    allowed: &Allowed,
) -> Option<Reason> {
    let claims = allowed.decision.claims.as_ref()?;
    query_refusal(
        routes,
        registry,
        method,
        raw_path,
        claims,
        &allowed.request.resource.id,
    )
}

/// [`refusal`] for a decision's `claims` on `resource` (the view): the
/// same check `policy test` runs after an allowed decision.
pub(crate) fn query_refusal<R: std::ops::Deref<Target = Registry>>(
    routes: &RouteTable,
    registry: impl FnOnce() -> R,
    method: &str,
    raw_path: &str,
    claims: &Claims,
    resource: &Id,
) -> Option<Reason> {
    let mode = claims
        .embed
        .as_deref()?
        .parse()
        .unwrap_or(EmbedMode::Public);
    let uses = match routes.query_uses(method, raw_path) {
        Ok(uses) => uses,
        Err(_) => return Some(Reason::BadPath),
    };
    if uses.is_empty() {
        return None;
    }
    let registry = registry();
    let none = Default::default();
    let hidden = registry.hidden_columns.get(resource).unwrap_or(&none);
    mode.refusal(&uses, hidden).map(|r| match r {
        EmbedRefusal::SortOrFilter(_) => Reason::EmbedSortFilter,
        EmbedRefusal::HiddenColumn(_) => Reason::EmbedHiddenColumn,
    })
}
