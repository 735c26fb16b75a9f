//! The admin API's decision: an admin token, unrevoked, within its own
//! checks, for `read` or `manage` on `resource("admin", "api")`.

use std::time::SystemTime;

use biscuit_auth::builder::{date, fact, string};
use chrono::{DateTime, Utc};

use crate::model::{Operation, RevocationSet};
use crate::token::VerifiedToken;

use super::decide::is_revoked;
use super::policy::Policy;
use super::reason::{Decision, Reason};
use super::run::run;

/// The policy the admin API runs: an admin token, within its own checks
/// (expiry, attenuations such as read-only).
pub const ADMIN_POLICY: &str = "allow if kind(\"admin\");\ndeny if true;";

/// Decides an admin API request: `operation` is `read` for reads and
/// `manage` for changes, on `resource("admin", "api")`. Only a verified,
/// unrevoked token of kind admin passes; its own checks still apply, so an
/// admin token attenuated to `read` is a read-only admin token.
pub fn authorize_admin(
    admin_policy: &Policy,
    revocations: &RevocationSet,
    token: &VerifiedToken,
    operation: Operation,
    now: DateTime<Utc>,
) -> Decision {
    if is_revoked(token, revocations) {
        return Decision::deny(Reason::Revoked, Some(token.claims().clone()));
    }
    let facts = vec![
        fact("time", &[date(&SystemTime::from(now))]),
        fact("operation", &[string(operation.as_str())]),
        fact("resource", &[string("admin"), string("api")]),
    ];
    run(admin_policy, Some(token), facts, Reason::WrongKind, false)
}

/// The policy a member token runs on the admin API's management routes:
/// a member token naming its user, within its own checks. Who may make
/// which change is then decided from the registry
/// (`model::access::manage`), never from the token.
pub const MEMBER_ADMIN_POLICY: &str = "allow if kind(\"member\"), user($user);\ndeny if true;";

/// The management routes a member token may call (method, route template
/// under `/admin/v1`): a workspace's members and groups, registering a
/// table, a table's access and permissions, a view's shares and embeds
/// (where the handler requires `share` on the view). Every other admin route takes
/// an admin token only (a member token there: `wrong_kind`).
pub const MEMBER_ROUTES: &[(&str, &str)] = &[
    ("GET", "/workspaces/{ws}/members"),
    ("GET", "/workspaces/{ws}/members/{user}"),
    ("PUT", "/workspaces/{ws}/members/{user}"),
    ("DELETE", "/workspaces/{ws}/members/{user}"),
    ("GET", "/workspaces/{ws}/groups"),
    ("GET", "/workspaces/{ws}/groups/{group}"),
    ("PUT", "/workspaces/{ws}/groups/{group}"),
    ("DELETE", "/workspaces/{ws}/groups/{group}"),
    ("PUT", "/tables/{id}"),
    ("GET", "/tables/{id}/access"),
    ("PUT", "/tables/{id}/access"),
    ("GET", "/tables/{id}/permissions"),
    ("PUT", "/tables/{id}/permissions"),
    ("POST", "/members"),
    ("PUT", "/members/{user}/projects"),
    ("POST", "/views/{view}/shares"),
    ("GET", "/views/{view}/shares"),
    ("DELETE", "/views/{view}/shares/{token}"),
    ("POST", "/views/{view}/embeds"),
    ("GET", "/views/{view}/embeds"),
    ("DELETE", "/views/{view}/embeds/{token}"),
    ("GET", "/workspaces/{ws}/shares"),
    ("GET", "/workspaces/{ws}/audit"),
];

/// True when a member token may call `method` on `path` (with or without
/// the `/admin/v1` prefix): it fits one of [`MEMBER_ROUTES`], where a
/// `{…}` part fits any one non-empty path segment.
pub fn member_may_call(method: &str, path: &str) -> bool {
    let path = path.strip_prefix("/admin/v1").unwrap_or(path);
    let fits = |template: &str| {
        let (mut want, mut have) = (template.split('/'), path.split('/'));
        loop {
            match (want.next(), have.next()) {
                (None, None) => return true,
                (Some(w), Some(h)) if w.starts_with('{') && !h.is_empty() => {}
                (Some(w), Some(h)) if w == h => {}
                _ => return false,
            }
        }
    };
    MEMBER_ROUTES.iter().any(|(m, t)| *m == method && fits(t))
}

/// Decides a member token on a management route: verified (by the
/// caller), unrevoked, of kind member with a user, within its own checks
/// (`operation` is `read` for reads and `manage` for changes, on
/// `resource("admin", "api")`), so a member token attenuated to `read`
/// only reads.
pub fn authorize_member_admin(
    member_policy: &Policy,
    revocations: &RevocationSet,
    token: &VerifiedToken,
    operation: Operation,
    now: DateTime<Utc>,
) -> Decision {
    authorize_admin(member_policy, revocations, token, operation, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_management_routes_take_member_tokens() {
        assert!(member_may_call("PUT", "/admin/v1/tables/t_1/access"));
        assert!(member_may_call("GET", "/workspaces/ws_1/members"));
        assert!(member_may_call("DELETE", "/workspaces/ws_1/members/u_2"));
        assert!(!member_may_call("GET", "/admin/v1/tables/t_1"));
        assert!(!member_may_call("DELETE", "/admin/v1/tables/t_1/access"));
        assert!(!member_may_call("PUT", "/admin/v1/tables//access"));
        assert!(!member_may_call("PUT", "/admin/v1/tables/t_1/access/x"));
        assert!(!member_may_call("POST", "/admin/v1/tokens"));
        assert!(!member_may_call("PUT", "/admin/v1/users/u_1"));
        assert!(!member_may_call("POST", "/admin/v1/members/u_1/tokens"));
    }
}
