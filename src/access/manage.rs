//! Who may change whom: the checks every management change passes, the
//! same for the global admin token and for a member token (the member's
//! user is the actor): only a table's author or a workspace owner/admin
//! changes its permissions, nobody grants above their own level, nobody
//! changes their own role, the last owner stays.

use super::directory::Directory;
use super::effective::{table_rights, TableRights};
use super::role::WorkspaceRole;
use super::table::{Mode, Scope, TableAccess, TableSharing};
use crate::model::Id;

/// Who asks for a management change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manager<'a> {
    /// The global admin token: every check but the last-owner rule is met.
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
    /// A user id the registry does not know.
    #[error("unknown user {0}")]
    UnknownUser(Id),
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
            Refusal::UnknownUser(_) => "unknown_user",
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

fn manager_role(
    directory: &Directory,
    workspace: &Id,
    user: &Id,
) -> Result<WorkspaceRole, Refusal> {
    match directory.role(workspace, user) {
        Some(role) if role.manages_members() => Ok(role),
        _ => Err(Refusal::NotWorkspaceAdmin),
    }
}

/// Checks setting `user`'s role in `workspace` to `role` (`None`: removing
/// them from it).
pub fn check_role_change(
    directory: &Directory,
    workspace: &Id,
    manager: &Manager<'_>,
    user: &Id,
    role: Option<WorkspaceRole>,
) -> Result<(), Refusal> {
    if !directory.users.contains_key(user) {
        return Err(Refusal::UnknownUser(user.clone()));
    }
    let current = directory.role(workspace, user);
    if let Manager::User(actor) = manager {
        let own = manager_role(directory, workspace, actor)?;
        if *actor == user {
            return Err(Refusal::OwnRole);
        }
        if current.is_some_and(|c| c > own) || role.is_some_and(|r| r > own) {
            return Err(Refusal::AboveOwnLevel);
        }
    }
    let demotes_owner = current == Some(WorkspaceRole::Owner) && role != Some(WorkspaceRole::Owner);
    let owners = directory.team(workspace).map_or(0, |t| t.owner_count());
    if demotes_owner && owners <= 1 {
        return Err(Refusal::LastOwner);
    }
    Ok(())
}

/// Checks putting a group of `workspace` with `members`.
pub fn check_group_change(
    directory: &Directory,
    workspace: &Id,
    manager: &Manager<'_>,
    members: &[Id],
) -> Result<(), Refusal> {
    if let Manager::User(actor) = manager {
        manager_role(directory, workspace, actor)?;
    }
    match members
        .iter()
        .find(|m| directory.role(workspace, m).is_none())
    {
        Some(outsider) => Err(Refusal::NotInWorkspace(outsider.clone())),
        None => Ok(()),
    }
}

fn check_scope_entries(
    directory: &Directory,
    workspace: &Id,
    scope: &Scope,
) -> Result<(), Refusal> {
    let has_entries = !scope.users.is_empty() || !scope.groups.is_empty();
    if has_entries && scope.mode != Mode::Restricted {
        return Err(Refusal::EntriesNeedRestricted);
    }
    if let Some(outsider) = scope
        .named_users()
        .find(|u| directory.role(workspace, u).is_none())
    {
        return Err(Refusal::NotInWorkspace(outsider.clone()));
    }
    let team = directory.team(workspace);
    let known = |g: &Id| team.is_some_and(|t| t.groups.contains_key(g));
    match scope.named_groups().find(|g| !known(g)) {
        Some(group) => Err(Refusal::UnknownGroup(group.clone())),
        None => Ok(()),
    }
}

/// Checks replacing the access of a table of `workspace`, today shared as
/// `current`, with `access`.
pub fn check_access_change(
    directory: &Directory,
    workspace: &Id,
    current: &TableSharing,
    manager: &Manager<'_>,
    access: &TableAccess,
) -> Result<(), Refusal> {
    for scope in access.scopes() {
        check_scope_entries(directory, workspace, scope)?;
    }
    let Manager::User(actor) = manager else {
        return Ok(());
    };
    let own: TableRights = table_rights(directory, workspace, current, actor);
    let is_author = current.author.as_ref() == Some(*actor);
    if !is_author && !own.role.is_some_and(|r| r.reaches_every_table()) {
        return Err(Refusal::NotAuthorOrAdmin);
    }
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
