//! Who may change whom: the checks every management change passes, the
//! same for the global admin token and for a member token (the member's
//! user is the actor): only a table's author or a workspace owner/admin
//! changes its permissions, nobody grants above their own level, nobody
//! changes their own role, the last owner stays. The checks that hold
//! whoever asks ([`Manager::Operator`]) are also run when a change is
//! applied, so no path around the admin API can break them.

use super::super::id::Id;
use super::directory::Team;
use super::effective::{team_table_rights, TableRights};
use super::role::WorkspaceRole;
use super::table::{Mode, Scope, TableSharing};

/// Who asks for a management change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manager<'a> {
    /// The global admin token (or the local CLI): only the checks that
    /// hold whoever asks.
    Operator,
    /// A member token's user.
    User(&'a Id),
}

/// Why a management change is refused; [`Refusal::code`] is the reason
/// code on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The acting user is not an owner or admin of the workspace.
    #[error("only an owner or admin of the workspace may do this")]
    NotWorkspaceAdmin,
    /// The acting user is neither the table's author nor an owner/admin.
    #[error(
        "only the table's author or an owner or admin of its workspace may change its permissions"
    )]
    NotAuthorOrAdmin,
    /// A user changing their own role.
    #[error("nobody may change their own role")]
    OwnRole,
    /// Granting (or changing someone at) a level above the actor's own.
    #[error("nobody may grant a level above their own")]
    AboveOwnLevel,
    /// Removing or demoting the workspace's last owner.
    #[error("the workspace's last owner cannot be removed or demoted")]
    LastOwner,
    /// An entry or group member who is not a member of the workspace.
    #[error("user {0} is not a member of this workspace")]
    NotInWorkspace(Id),
    /// An entry naming a group the workspace does not have.
    #[error("group {0} does not exist in this workspace")]
    UnknownGroup(Id),
    /// Entries on a scope that is not restricted would be ignored.
    #[error("entries are only taken for a restricted (specific people) scope")]
    EntriesNeedRestricted,
}

impl Refusal {
    /// The reason code on the wire.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotWorkspaceAdmin => "not_workspace_admin",
            Refusal::NotAuthorOrAdmin => "not_author_or_admin",
            Refusal::OwnRole => "own_role",
            Refusal::AboveOwnLevel => "above_own_level",
            Refusal::LastOwner => "last_owner",
            Refusal::NotInWorkspace(_) => "not_in_workspace",
            Refusal::UnknownGroup(_) => "unknown_group",
            Refusal::EntriesNeedRestricted => "entries_need_restricted",
        }
    }

    /// True for a refusal of who asks (403), false for bad input (400).
    pub fn is_forbidden(&self) -> bool {
        matches!(
            self,
            Refusal::NotWorkspaceAdmin
                | Refusal::NotAuthorOrAdmin
                | Refusal::OwnRole
                | Refusal::AboveOwnLevel
                | Refusal::LastOwner
        )
    }
}

fn manager_role(team: &Team, user: &Id) -> Result<WorkspaceRole, Refusal> {
    match team.role(user) {
        Some(role) if role.manages_members() => Ok(role),
        _ => Err(Refusal::NotWorkspaceAdmin),
    }
}

/// Checks setting `user`'s role in the workspace of `team` to `role`
/// (`None`: removing them from it).
pub fn check_role_change(
    team: &Team,
    manager: &Manager<'_>,
    user: &Id,
    role: Option<WorkspaceRole>,
) -> Result<(), Refusal> {
    let current = team.role(user);
    if let Manager::User(actor) = manager {
        let own = manager_role(team, actor)?;
        if *actor == user {
            return Err(Refusal::OwnRole);
        }
        if current.is_some_and(|c| c > own) || role.is_some_and(|r| r > own) {
            return Err(Refusal::AboveOwnLevel);
        }
    }
    let demotes_owner = current == Some(WorkspaceRole::Owner) && role != Some(WorkspaceRole::Owner);
    if demotes_owner && team.owner_count() <= 1 {
        return Err(Refusal::LastOwner);
    }
    Ok(())
}

/// Checks putting (`members: Some`) or removing (`None`) a group of the
/// workspace of `team`.
pub fn check_group_change(
    team: &Team,
    manager: &Manager<'_>,
    members: Option<&std::collections::BTreeSet<Id>>,
) -> Result<(), Refusal> {
    if let Manager::User(actor) = manager {
        manager_role(team, actor)?;
    }
    match members
        .into_iter()
        .flatten()
        .find(|m| team.role(m).is_none())
    {
        Some(outsider) => Err(Refusal::NotInWorkspace(outsider.clone())),
        None => Ok(()),
    }
}

fn check_scope_entries(team: &Team, scope: &Scope) -> Result<(), Refusal> {
    let has_entries = !scope.users.is_empty() || !scope.groups.is_empty();
    if has_entries && scope.mode != Mode::Restricted {
        return Err(Refusal::EntriesNeedRestricted);
    }
    if let Some(outsider) = scope.named_users().find(|u| team.role(u).is_none()) {
        return Err(Refusal::NotInWorkspace(outsider.clone()));
    }
    match scope.named_groups().find(|g| !team.groups.contains_key(*g)) {
        Some(group) => Err(Refusal::UnknownGroup(group.clone())),
        None => Ok(()),
    }
}

/// Checks replacing the sharing of a table whose workspace's people are
/// `team`, today `current`, with `next` (its author and access).
pub fn check_sharing_change(
    team: &Team,
    current: &TableSharing,
    manager: &Manager<'_>,
    next: &TableSharing,
) -> Result<(), Refusal> {
    for scope in next.access.scopes() {
        check_scope_entries(team, scope)?;
    }
    if let Some(author) = &next.author {
        if team.role(author).is_none() && current.author.as_ref() != Some(author) {
            return Err(Refusal::NotInWorkspace(author.clone()));
        }
    }
    let Manager::User(actor) = manager else {
        return Ok(());
    };
    let own: TableRights = team_table_rights(Some(team), current, actor);
    let is_author = current.author.as_ref() == Some(*actor);
    if !is_author && !own.role.is_some_and(|r| r.reaches_every_table()) {
        return Err(Refusal::NotAuthorOrAdmin);
    }
    if next.author != current.author && !own.role.is_some_and(|r| r.reaches_every_table()) {
        return Err(Refusal::NotAuthorOrAdmin);
    }
    let access = &next.access;
    let within = access
        .structure
        .widest_entry()
        .is_within(own.structure.rights)
        && access.records.widest_entry().is_within(own.records.rights);
    if within {
        Ok(())
    } else {
        Err(Refusal::AboveOwnLevel)
    }
}
