//! The decision: a request (operation on a resource), an optional token,
//! the keyring, the revocation set, the registry and the policy become
//! allow or deny with a reason code. The gateway and `tessera check` run
//! exactly this: [`decide_with`] is the one decision sequence (verify,
//! deny a refused credential, authorize), [`authorize`] the revocation,
//! registry and policy part of it. A member token's rights are read from
//! the registry there (`member.rs`), for the requested resource only.

mod admin;
mod decide;
mod member;
mod policy;
mod reason;
mod run;
mod share;
pub mod visible;

pub use admin::{
    authorize_admin, authorize_member_admin, member_may_call, ADMIN_POLICY, MEMBER_ADMIN_POLICY,
    MEMBER_ROUTES,
};
pub use decide::{authorize, decide, decide_with, is_revoked, verify, Context, Request};
pub use member::{MemberGrounds, TableGrounds};
pub use policy::{Policy, PolicyError, RunLimits, DEFAULT_POLICY};
pub use reason::{Decision, Explanation, Reason};
pub use share::member_operations;
