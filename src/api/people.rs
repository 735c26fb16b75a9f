//! The admin API's bodies for members (`/admin/v1/users`, a workspace's
//! members and groups, a table's access in TinyTables' and Schema
//! Builder's words, member tokens). Words of a closed vocabulary (roles,
//! levels, modes, permissions) are read as strings first, so a word
//! outside it answers its own code (`unknown_role`, …), not serde's.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::access::vocab::{SchemaPermissions, ShareMode, ShareSettings};
use crate::model::access::{
    Level, Mode, Permission, Refusal, TableAccess, TableSharing, Team, WorkspaceRole,
};
use crate::model::{Id, Registry};

use super::error::Invalid;

/// `PUT /users/{user}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    /// The email address.
    #[schema(format = Email)]
    pub email: String,
    /// The display name.
    pub name: String,
}

/// The answer to `GET`/`PUT /users/{user}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserInfo {
    /// The user.
    pub id: Id,
    /// The email address.
    pub email: String,
    /// The display name.
    pub name: String,
    /// Workspace → the user's role there.
    pub workspaces: BTreeMap<Id, WorkspaceRole>,
}

/// `PUT /workspaces/{ws}/members/{user}`: the role, as a word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    /// `owner`, `admin`, `member` or `viewer`.
    #[schema(value_type = WorkspaceRole)]
    pub role: String,
}

impl MemberBody {
    /// A body setting `role`.
    pub fn new(role: WorkspaceRole) -> Self {
        MemberBody {
            role: role.as_str().to_owned(),
        }
    }

    /// The role (`unknown_role` for any other word).
    pub fn role(&self) -> Result<WorkspaceRole, Invalid> {
        Ok(self.role.parse()?)
    }
}

/// One member of a workspace and its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemberInfo {
    /// The workspace.
    pub workspace: Id,
    /// The user.
    pub user: Id,
    /// Its role.
    pub role: WorkspaceRole,
}

/// The answer to `GET /workspaces/{ws}/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemberList {
    /// The workspace.
    pub workspace: Id,
    /// Its members, by user id.
    pub members: Vec<MemberInfo>,
}

/// `PUT /workspaces/{ws}/groups/{group}`: its name and all its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    /// The display name.
    pub name: String,
    /// The member users (members of the workspace; a repeated one counts once).
    #[serde(default)]
    #[schema(value_type = Vec<Id>)]
    pub members: BTreeSet<Id>,
}

/// The answer to `GET`/`PUT /workspaces/{ws}/groups/{group}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupInfo {
    /// The workspace.
    pub workspace: Id,
    /// The group.
    pub id: Id,
    /// The display name.
    pub name: String,
    /// The member users.
    pub members: BTreeSet<Id>,
}

/// The answer to `GET /workspaces/{ws}/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupList {
    /// The workspace.
    pub workspace: Id,
    /// Its groups, by id.
    pub groups: Vec<GroupInfo>,
}

/// The answer to `GET`/`PUT /tables/{table}/access`: TinyTables' words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessInfo {
    /// The table.
    pub table: Id,
    /// Its author, when known.
    pub author: Option<Id>,
    /// `mode`, `people`, `exact`.
    #[serde(flatten)]
    pub settings: ShareSettings,
}

/// The answer to `GET`/`PUT /tables/{table}/permissions`: Schema Builder's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PermissionsInfo {
    /// The table.
    pub table: Id,
    /// Its author, when known.
    pub author: Option<Id>,
    /// `schema` and `records`.
    #[serde(flatten)]
    pub permissions: SchemaPermissions,
}

/// `POST /members/{user}/tokens`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberTokenBody {
    /// A duration (`12h`) or an RFC 3339 instant (default: the gateway's
    /// `member_token_ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// The answer to `POST /members/{user}/tokens`: the token, once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemberToken {
    /// The token text. Secret: never logged, not shown by `Debug`.
    pub token: String,
    /// Its ledger id.
    pub token_id: Id,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for MemberToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberToken")
            .field("token_id", &self.token_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A body that must be a JSON object (serde reads a struct from an array
/// of its fields too).
fn object(body: &[u8]) -> Result<Value, Invalid> {
    let value: Value = serde_json::from_slice(body).map_err(Invalid::Body)?;
    if !value.is_object() {
        let e = <serde_json::Error as serde::de::Error>::custom("expected a JSON object");
        return Err(Invalid::Body(e));
    }
    Ok(value)
}

/// TinyTables' share modes.
const SHARE_MODES: [&str; 3] = ["private", "workspace", "specific"];

/// The `str` at `key` of `value`, when it is one.
fn word<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// The array at `key` of `value` (empty when absent or not an array).
fn items<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Reads a `PUT /tables/{t}/access` body: a mode or level outside
/// TinyTables' words answers `unknown_mode` / `unknown_level`.
pub fn parse_share_settings(body: &[u8]) -> Result<ShareSettings, Invalid> {
    let value = object(body)?;
    if let Some(mode) = word(&value, "mode") {
        if !SHARE_MODES.contains(&mode) {
            return Err(Invalid::ShareMode(mode.chars().take(80).collect()));
        }
    }
    for person in items(&value, "people") {
        if let Some(level) = word(person, "level") {
            level.parse::<Level>()?;
        }
    }
    serde_json::from_value(value).map_err(Invalid::Body)
}

/// Reads a `PUT /tables/{t}/permissions` body: a mode or permission
/// outside Schema Builder's words answers `unknown_mode` /
/// `unknown_permission`.
pub fn parse_schema_permissions(body: &[u8]) -> Result<SchemaPermissions, Invalid> {
    let value = object(body)?;
    for scope in ["schema", "records"].iter().filter_map(|k| value.get(k)) {
        if let Some(mode) = word(scope, "mode") {
            mode.parse::<Mode>()?;
        }
        for entry in items(scope, "users").chain(items(scope, "groups")) {
            for permission in items(entry, "permissions").filter_map(Value::as_str) {
                permission.parse::<Permission>()?;
            }
        }
    }
    serde_json::from_value(value).map_err(Invalid::Body)
}

impl UserInfo {
    /// The user `id` of `registry` with its roles, when registered.
    pub fn of(registry: &Registry, id: &Id) -> Option<UserInfo> {
        let user = registry.people.users.get(id)?;
        Some(UserInfo {
            id: id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            workspaces: registry
                .people
                .memberships(id)
                .map(|(ws, role)| (ws.clone(), role))
                .collect(),
        })
    }
}

impl MemberList {
    /// Every member of `team` (the people of `workspace`) with its role.
    pub fn of(workspace: &Id, team: &Team) -> MemberList {
        MemberList {
            workspace: workspace.clone(),
            members: team
                .roles
                .iter()
                .map(|(user, role)| MemberInfo {
                    workspace: workspace.clone(),
                    user: user.clone(),
                    role: *role,
                })
                .collect(),
        }
    }
}

impl GroupInfo {
    /// The group `id` of `team` (the people of `workspace`), when it exists.
    pub fn of(workspace: &Id, team: &Team, id: &Id) -> Option<GroupInfo> {
        let group = team.groups.get(id)?;
        Some(GroupInfo {
            workspace: workspace.clone(),
            id: id.clone(),
            name: group.name.clone(),
            members: group.members.clone(),
        })
    }
}

impl AccessInfo {
    /// `table`'s sharing in TinyTables' words.
    pub fn of(table: &Id, sharing: &TableSharing) -> AccessInfo {
        AccessInfo {
            table: table.clone(),
            author: sharing.author.clone(),
            settings: ShareSettings::from_access(&sharing.access),
        }
    }
}

impl PermissionsInfo {
    /// `table`'s sharing in Schema Builder's words.
    pub fn of(table: &Id, sharing: &TableSharing) -> PermissionsInfo {
        PermissionsInfo {
            table: table.clone(),
            author: sharing.author.clone(),
            permissions: SchemaPermissions::from_access(&sharing.access),
        }
    }
}

/// The access a TinyTables setting means; named people only with `specific`.
pub fn share_access(settings: &ShareSettings) -> Result<TableAccess, Refusal> {
    if settings.mode != ShareMode::Specific && !settings.people.is_empty() {
        return Err(Refusal::EntriesNeedRestricted);
    }
    Ok(settings.to_access())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<impl fmt::Debug, Invalid>) -> &'static str {
        r.expect_err("refused").code()
    }

    #[test]
    fn words_outside_each_vocabulary_answer_their_own_code() {
        let share = |v: Value| parse_share_settings(v.to_string().as_bytes());
        assert_eq!(
            code(share(serde_json::json!({ "mode": "everyone" }))),
            "unknown_mode"
        );
        let level = serde_json::json!({ "mode": "specific", "people": [{ "user": "u_1", "level": "god" }] });
        assert_eq!(code(share(level)), "unknown_level");
        assert_eq!(code(share(serde_json::json!({ "mode": 3 }))), "bad_request");
        let people = serde_json::json!({ "mode": "specific", "people": [{ "group": "g_1", "level": "full" }] });
        assert_eq!(share(people).unwrap().people.len(), 1);

        let schema = |v: Value| parse_schema_permissions(v.to_string().as_bytes());
        let public = serde_json::json!({ "mode": "public" });
        let mode = serde_json::json!({ "schema": { "mode": "open" }, "records": public });
        assert_eq!(code(schema(mode)), "unknown_mode");
        let entry = serde_json::json!({ "mode": "restricted", "groups": [{ "id": "g_1", "permissions": ["fly"] }] });
        let permission = serde_json::json!({ "schema": public, "records": entry });
        assert_eq!(code(schema(permission)), "unknown_permission");
        let bad_id = serde_json::json!({ "mode": "restricted", "users": [{ "id": "bad id", "permissions": ["read"] }] });
        assert_eq!(
            code(schema(
                serde_json::json!({ "schema": public, "records": bad_id })
            )),
            "bad_request"
        );
        assert_eq!(
            code(
                MemberBody {
                    role: "emperor".into()
                }
                .role()
            ),
            "unknown_role"
        );
        assert_eq!(
            MemberBody::new(WorkspaceRole::Admin).role().unwrap(),
            WorkspaceRole::Admin
        );
    }

    #[test]
    fn a_member_token_answer_hides_its_token_from_debug() {
        let answer = MemberToken {
            token: "EoQBCS0secret".into(),
            token_id: Id::new("tk_1").unwrap(),
            expires_at: None,
        };
        let shown = format!("{answer:?}");
        assert!(
            shown.contains("tk_1") && !shown.contains("secret"),
            "{shown}"
        );
    }

    #[test]
    fn named_people_need_the_specific_mode() {
        let mut settings = ShareSettings::from_mode(ShareMode::Workspace);
        assert_eq!(share_access(&settings), Ok(TableAccess::default()));
        settings
            .people
            .push(crate::model::access::vocab::PersonAccess {
                person: crate::model::access::vocab::Person::User(Id::new("u_1").unwrap()),
                level: Level::Viewer,
            });
        assert_eq!(share_access(&settings), Err(Refusal::EntriesNeedRestricted));
        settings.mode = ShareMode::Specific;
        assert!(share_access(&settings).is_ok());
    }
}
