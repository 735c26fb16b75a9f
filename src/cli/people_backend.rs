//! The members commands' two backends: the local store (as the operator,
//! [`Actor::Cli`]: only the rules that hold whoever asks) and a running
//! gateway's admin API (`--server`), answering with the same API bodies.

use anyhow::{anyhow, Result};
use chrono::{DateTime, Utc};

use crate::api::people::share_access;
use crate::api::{
    AccessInfo, GroupBody, GroupInfo, MemberBody, MemberInfo, MemberList, MemberToken,
    MemberTokenBody, PermissionsInfo, UserBody, UserInfo,
};
use crate::change::{Actor, Change, ChangeError};
use crate::gateway::config::TokenTtl;
use crate::model::access::vocab::{SchemaPermissions, ShareSettings};
use crate::model::access::{TableAccess, TableSharing, WorkspaceRole};
use crate::model::{parse_expiry, Id, IssueRequest, Registry, TokenKind};
use crate::store::Store;

use super::backend::Backend;
use super::hints;

/// Commits one change on the local store, as the CLI.
fn apply(store: &Store, change: Change, now: DateTime<Utc>) -> Result<Registry> {
    store
        .apply(&change, &Actor::Cli, now)
        .map_err(hints::store)?;
    Ok(store.registry()?)
}

impl Backend {
    /// Registers or renames a user.
    pub(crate) fn put_user(
        &self,
        user: &Id,
        body: UserBody,
        now: DateTime<Utc>,
    ) -> Result<UserInfo> {
        match self {
            Backend::Local { store, .. } => {
                let change = Change::PutUser {
                    user: user.clone(),
                    email: body.email,
                    name: body.name,
                };
                let registry = apply(store, change, now)?;
                UserInfo::of(&registry, user)
                    .ok_or_else(|| anyhow::Error::from(ChangeError::UnknownUser(user.clone())))
            }
            Backend::Remote(r) => r.call("PUT", &format!("/users/{user}"), &body),
        }
    }

    /// Removes a user everywhere.
    pub(crate) fn remove_user(&self, user: &Id, now: DateTime<Utc>) -> Result<()> {
        match self {
            Backend::Local { store, .. } => {
                if !store.registry()?.people.users.contains_key(user) {
                    return Err(anyhow::Error::from(ChangeError::UnknownUser(user.clone())));
                }
                apply(store, Change::RemoveUser { user: user.clone() }, now).map(drop)
            }
            Backend::Remote(r) => r.send_empty("DELETE", &format!("/users/{user}")),
        }
    }

    /// Gives `user` `role` in `ws`.
    pub(crate) fn set_member(
        &self,
        ws: &Id,
        user: &Id,
        role: WorkspaceRole,
        now: DateTime<Utc>,
    ) -> Result<MemberInfo> {
        match self {
            Backend::Local { store, .. } => {
                let change = Change::PutMember {
                    workspace: ws.clone(),
                    user: user.clone(),
                    role,
                };
                apply(store, change, now)?;
                Ok(MemberInfo {
                    workspace: ws.clone(),
                    user: user.clone(),
                    role,
                })
            }
            Backend::Remote(r) => r.call(
                "PUT",
                &format!("/workspaces/{ws}/members/{user}"),
                &MemberBody::new(role),
            ),
        }
    }

    /// Takes `user` out of `ws`.
    pub(crate) fn remove_member(&self, ws: &Id, user: &Id, now: DateTime<Utc>) -> Result<()> {
        match self {
            Backend::Local { store, .. } => {
                let change = Change::RemoveMember {
                    workspace: ws.clone(),
                    user: user.clone(),
                };
                apply(store, change, now).map(drop)
            }
            Backend::Remote(r) => {
                r.send_empty("DELETE", &format!("/workspaces/{ws}/members/{user}"))
            }
        }
    }

    /// The members of `ws` and their roles.
    pub(crate) fn members(&self, ws: &Id) -> Result<MemberList> {
        match self {
            Backend::Local { store, .. } => {
                let registry = store.registry()?;
                if !registry.workspaces.contains(ws) {
                    return Err(anyhow!(
                        "workspace {ws} is not registered (tessera workspace set {ws})"
                    ));
                }
                let team = registry.people.team(ws).cloned().unwrap_or_default();
                Ok(MemberList::of(ws, &team))
            }
            Backend::Remote(r) => r.get(&format!("/workspaces/{ws}/members")),
        }
    }

    /// Sets the group `group` of `ws`.
    pub(crate) fn put_group(
        &self,
        ws: &Id,
        group: &Id,
        body: GroupBody,
        now: DateTime<Utc>,
    ) -> Result<GroupInfo> {
        match self {
            Backend::Local { store, .. } => {
                let change = Change::PutGroup {
                    workspace: ws.clone(),
                    group: group.clone(),
                    name: body.name,
                    members: body.members,
                };
                let registry = apply(store, change, now)?;
                registry
                    .people
                    .team(ws)
                    .and_then(|team| GroupInfo::of(ws, team, group))
                    .ok_or_else(|| anyhow!("group {group} does not exist in workspace {ws}"))
            }
            Backend::Remote(r) => r.call("PUT", &format!("/workspaces/{ws}/groups/{group}"), &body),
        }
    }

    /// Removes the group `group` of `ws`.
    pub(crate) fn remove_group(&self, ws: &Id, group: &Id, now: DateTime<Utc>) -> Result<()> {
        match self {
            Backend::Local { store, .. } => {
                let change = Change::RemoveGroup {
                    workspace: ws.clone(),
                    group: group.clone(),
                };
                apply(store, change, now).map(drop)
            }
            Backend::Remote(r) => {
                r.send_empty("DELETE", &format!("/workspaces/{ws}/groups/{group}"))
            }
        }
    }

    /// Sets `table`'s access locally (its author kept); the sharing after.
    fn set_local_access(
        store: &Store,
        table: &Id,
        access: TableAccess,
        now: DateTime<Utc>,
    ) -> Result<TableSharing> {
        let current = store.registry()?.sharing_of(table).into_owned();
        let change = Change::PutTableSharing {
            table: table.clone(),
            sharing: TableSharing {
                author: current.author,
                access,
            },
        };
        Ok(apply(store, change, now)?.sharing_of(table).into_owned())
    }

    /// Sets `table`'s access in TinyTables' words.
    pub(crate) fn set_access(
        &self,
        table: &Id,
        settings: &ShareSettings,
        now: DateTime<Utc>,
    ) -> Result<AccessInfo> {
        match self {
            Backend::Local { store, .. } => {
                let access = share_access(settings)
                    .map_err(|_| anyhow!("--person is only taken with --mode specific"))?;
                let sharing = Backend::set_local_access(store, table, access, now)?;
                Ok(AccessInfo::of(table, &sharing))
            }
            Backend::Remote(r) => r.call("PUT", &format!("/tables/{table}/access"), settings),
        }
    }

    /// Sets `table`'s access in Schema Builder's words.
    pub(crate) fn set_permissions(
        &self,
        table: &Id,
        permissions: &SchemaPermissions,
        now: DateTime<Utc>,
    ) -> Result<PermissionsInfo> {
        match self {
            Backend::Local { store, .. } => {
                let sharing =
                    Backend::set_local_access(store, table, permissions.to_access(), now)?;
                Ok(PermissionsInfo::of(table, &sharing))
            }
            Backend::Remote(r) => {
                r.call("PUT", &format!("/tables/{table}/permissions"), permissions)
            }
        }
    }

    /// Issues a member token for `user`, expiring at `expires` (default:
    /// 12 h locally, the gateway's `member_token_ttl` through it).
    pub(crate) fn issue_member(
        &self,
        user: &Id,
        expires: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<MemberToken> {
        match self {
            Backend::Local { .. } => {
                let expires_at = match expires.as_deref() {
                    Some(text) => parse_expiry(text, now)?,
                    None => TokenTtl::MEMBER_DEFAULT
                        .expiry(now)
                        .ok_or_else(|| anyhow!("the default expiry overflows"))?,
                };
                let request = IssueRequest {
                    user: Some(user.clone()),
                    expires_at: Some(expires_at),
                    ..IssueRequest::new(TokenKind::Member, None)
                };
                let (token, entry) = self.issue(&request, now)?;
                Ok(MemberToken {
                    token: token.expose().to_owned(),
                    token_id: entry.token_id,
                    expires_at: entry.expires_at,
                })
            }
            Backend::Remote(r) => r.call(
                "POST",
                &format!("/members/{user}/tokens"),
                &MemberTokenBody { expires },
            ),
        }
    }
}
