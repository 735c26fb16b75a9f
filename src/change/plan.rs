//! What an operator asks, resolved into changes against the state they
//! will land on.

use std::collections::HashMap;

use crate::model::{Id, ViewSettings};

use super::apply::decode_revocation_id;
use super::{Change, ChangeError, Target};

/// What an operator asks to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeTarget {
    /// A ledger token, and every token attenuated from it.
    TokenId(String),
    /// Revocation ids.
    RevocationIds(Vec<Vec<u8>>),
    /// Every ledger token issued for a view.
    View(Id),
}

/// The revocations `target` asks for, one [`Change::Revoke`] per id, each
/// naming the ledger token whose authority block it is.
pub fn plan_revoke<T: Target>(
    state: &T,
    target: &RevokeTarget,
    reason: Option<&str>,
) -> Result<Vec<Change>, T::Error> {
    let ledger = state.ledger_entries()?;
    let owners: HashMap<&str, &Id> = ledger
        .iter()
        .filter_map(|e| Some((e.revocation_ids.first()?.as_str(), &e.token_id)))
        .collect();
    let hex_ids: Vec<String> = match target {
        RevokeTarget::TokenId(token_id) => {
            let entry = ledger
                .iter()
                .find(|e| e.token_id.as_str() == token_id)
                .ok_or_else(|| ChangeError::UnknownToken(token_id.chars().take(80).collect()))?;
            entry.revocation_ids.clone()
        }
        RevokeTarget::RevocationIds(ids) => ids.iter().map(hex::encode).collect(),
        RevokeTarget::View(view) => ledger
            .iter()
            .filter(|e| e.is_for_view(view))
            .flat_map(|e| e.revocation_ids.iter().cloned())
            .collect(),
    };
    let mut changes = Vec::with_capacity(hex_ids.len());
    for hex_id in hex_ids {
        decode_revocation_id(&hex_id)?;
        let owner = owners.get(hex_id.as_str()).map(|id| (*id).clone());
        changes.push(Change::Revoke {
            revocation_id: hex_id,
            token_id: owner,
            reason: reason.map(str::to_owned),
        });
    }
    Ok(changes)
}

/// Registering `table` in `workspace` (and the workspace).
pub fn plan_table(table: &Id, workspace: &Id) -> Vec<Change> {
    vec![
        Change::PutWorkspace {
            workspace: workspace.clone(),
        },
        Change::PutTable {
            table: table.clone(),
            workspace: workspace.clone(),
        },
    ]
}

/// Registering or updating `view`: `placement` (table, workspace) places it
/// (required for a new view; its table and workspace are registered too),
/// `settings` change named settings.
pub fn plan_view<T: Target>(
    state: &T,
    view: &Id,
    placement: Option<(&Id, &Id)>,
    settings: &[(&str, bool)],
) -> Result<Vec<Change>, T::Error> {
    // Every name is checked first: an unknown setting is the request's
    // fault, whatever the view.
    for (name, value) in settings {
        ViewSettings::default()
            .set(name, *value)
            .map_err(ChangeError::Setting)?;
    }
    let existing = state.view(view)?;
    let (mut changes, table, mut current) = match (existing, placement) {
        (existing, Some((table, workspace))) => (
            plan_table(table, workspace),
            table.clone(),
            existing.map(|e| e.settings).unwrap_or_default(),
        ),
        (Some(e), None) => (Vec::new(), e.table, e.settings),
        (None, None) => return Err(ChangeError::UnknownView(view.clone()).into()),
    };
    for (name, value) in settings {
        current.set(name, *value).map_err(ChangeError::Setting)?;
    }
    changes.push(Change::PutView {
        view: view.clone(),
        table,
        settings: current,
    });
    Ok(changes)
}

/// The change giving `view` its creator (`creator`, else the one it has)
/// and visibility (`personal` when so, else not; the `locked` part is the
/// view's setting, planned by [`plan_view`]); none when nothing changes.
pub fn plan_view_owner<T: Target>(
    state: &T,
    view: &Id,
    creator: Option<&Id>,
    visibility: Option<crate::model::Visibility>,
) -> Result<Vec<Change>, T::Error> {
    let current = state.view_owner(view)?.unwrap_or_default();
    let owner = crate::model::ViewOwner {
        creator: creator.cloned().or_else(|| current.creator.clone()),
        personal: visibility.map_or(current.personal, |v| {
            v == crate::model::Visibility::Personal
        }),
    };
    if owner == current {
        return Ok(Vec::new());
    }
    Ok(vec![Change::PutViewOwner {
        view: view.clone(),
        owner,
    }])
}
