//! Guest links made by a member and embed links, at decision time. A link
//! whose authority block says `shared_by(user)` works only while that user
//! holds, in the registry now, `share` and the operation asked on the
//! requested resource (read as for a member token, for that resource only,
//! `member.rs`): a role change, a removal or a table mode change ends it at
//! the next decision, with its own reason. A link saying `embed(mode)`
//! only reads.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::model::{Id, Operation, Registry, Resource};
use crate::token::Claims;

use super::member;
use super::reason::Reason;

/// What `user` may do on `resource` now, from the registry, exactly as a
/// member token of that user would be given it (`member_right` facts):
/// what a member may hand on in a share.
pub fn member_operations(
    registry: &Registry,
    user: &Id,
    resource: &Resource,
    now: DateTime<Utc>,
) -> BTreeSet<Operation> {
    let Some(workspace) = registry.workspace_of(resource) else {
        return BTreeSet::new();
    };
    member::grounds(registry, user, resource, &workspace, now).operations
}

/// An embed link asks for anything but `read`: refused before the policy
/// runs (`embed_read_only`).
pub(super) fn embed_refusal(claims: &Claims, operation: Operation) -> Option<Reason> {
    (claims.embed.is_some() && operation != Operation::Read).then_some(Reason::EmbedReadOnly)
}

/// For an allowed request on a link a member made: `sharer_lost_right`
/// unless the member still holds `share` and `operation` on `resource`.
/// A `shared_by` that is not an id holds nothing.
pub(super) fn sharer_refusal(
    registry: &Registry,
    claims: &Claims,
    operation: Operation,
    resource: &Resource,
    now: DateTime<Utc>,
) -> Option<Reason> {
    let sharer = claims.shared_by.as_deref()?;
    let held = match Id::new(sharer) {
        Ok(user) => member_operations(registry, &user, resource, now),
        Err(_) => BTreeSet::new(),
    };
    let holds = held.contains(&Operation::Share) && held.contains(&operation);
    (!holds).then_some(Reason::SharerLostRight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{self, Change, Memory};
    use crate::model::access::WorkspaceRole;

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    fn registry(role: Option<WorkspaceRole>) -> Registry {
        let mut changes = vec![
            Change::PutWorkspace {
                workspace: id("ws_1"),
            },
            Change::PutTable {
                table: id("t_1"),
                workspace: id("ws_1"),
            },
            Change::PutView {
                view: id("v_1"),
                table: id("t_1"),
                settings: Default::default(),
            },
            Change::PutUser {
                user: id("u_1"),
                email: "u1@example.com".into(),
                name: "U".into(),
            },
        ];
        if let Some(role) = role {
            changes.push(Change::PutMember {
                workspace: id("ws_1"),
                user: id("u_1"),
                role,
            });
        }
        let mut memory = Memory::default();
        for c in &changes {
            change::apply(&mut memory, c, chrono::DateTime::UNIX_EPOCH).unwrap();
        }
        memory.registry
    }

    fn shared_by(user: &str) -> Claims {
        Claims {
            shared_by: Some(user.to_owned()),
            ..Claims::default()
        }
    }

    #[test]
    fn a_link_lives_while_its_maker_holds_share_and_the_operation() {
        let view = Resource::view(id("v_1"));
        let member = registry(Some(WorkspaceRole::Member));
        let claims = shared_by("u_1");
        assert_eq!(
            sharer_refusal(&member, &claims, Operation::Write, &view, Utc::now()),
            None
        );
        for reg in [registry(Some(WorkspaceRole::Viewer)), registry(None)] {
            assert_eq!(
                sharer_refusal(&reg, &claims, Operation::Read, &view, Utc::now()),
                Some(Reason::SharerLostRight)
            );
        }
        let bogus = shared_by("not an id");
        assert_eq!(
            sharer_refusal(&member, &bogus, Operation::Read, &view, Utc::now()),
            Some(Reason::SharerLostRight)
        );
        assert_eq!(
            sharer_refusal(
                &member,
                &Claims::default(),
                Operation::Read,
                &view,
                Utc::now()
            ),
            None
        );
    }

    #[test]
    fn an_embed_only_reads() {
        let embed = Claims {
            embed: Some("public".into()),
            ..Claims::default()
        };
        assert_eq!(embed_refusal(&embed, Operation::Read), None);
        assert_eq!(
            embed_refusal(&embed, Operation::Export),
            Some(Reason::EmbedReadOnly)
        );
        assert_eq!(embed_refusal(&Claims::default(), Operation::Write), None);
    }
}
