//! What a decision answers: allowed or denied with a [`Reason`] code (the
//! codes users, logs and metrics see), the token's claims and, on request,
//! how it was reached.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::token::{Claims, TokenError};

use super::member::MemberGrounds;

/// Why a request was denied: the reason codes users, logs and metrics see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No credential was presented and the request needs one.
    MissingToken,
    /// The token text is not a token.
    Malformed,
    /// Signed by an unknown or retired root key.
    UnknownKey,
    /// A signature does not verify.
    BadSignature,
    /// A block's expiry check failed.
    Expired,
    /// A block's revocation id is revoked.
    Revoked,
    /// The token holds no right for this operation on this resource.
    NoRight,
    /// A view setting forbids the operation ("the view setting wins").
    ViewSetting,
    /// The resource, or one of its containers, is not in the registry.
    UnknownResource,
    /// A check in the token (an attenuation) failed.
    CheckFailed,
    /// The authorizer hit its run limits (facts, iterations or time).
    Limits,
    /// The request path is not in canonical form (gateway).
    BadPath,
    /// No route of the route table matches the request (gateway).
    UnknownRoute,
    /// Forwarded request headers came from a peer that is not trusted (gateway).
    UntrustedPeer,
    /// The token is valid but not accepted on this surface (a guest token on the admin API).
    WrongKind,
    /// The forwarded request is described twice (X-Forwarded-* and X-Original-*,
    /// or one header repeated): a client may have supplied one of them (gateway).
    AmbiguousForward,
    /// The request asks for another method than its own (`X-HTTP-Method-Override`,
    /// `X-Method-Override`, `X-HTTP-Method` or a `_method` query parameter):
    /// the upstream could act on a method that was never decided (gateway).
    MethodOverride,
    /// An unsafe request authenticated by the share-session cookie did not come
    /// from an allowed origin (`Sec-Fetch-Site`, `Origin`): cross-site forgery (gateway).
    CrossSite,
    /// A guest link made by a member whose registry rights on the view no
    /// longer hold `share` or the operation asked (role change, removal,
    /// table mode change): the link stops working.
    SharerLostRight,
    /// An embed link asked for anything but reading.
    EmbedReadOnly,
    /// A sort or filter query parameter in a public or filtered embed.
    EmbedSortFilter,
    /// A sort or filter query parameter naming a column the view hides.
    EmbedHiddenColumn,
    /// The view is personal: only its creator (a member token naming that
    /// user) sees it (TinyTables' view visibility).
    PersonalView,
}

impl Reason {
    /// Every reason, for metrics and docs.
    pub const ALL: [Reason; 23] = [
        Reason::MissingToken,
        Reason::Malformed,
        Reason::UnknownKey,
        Reason::BadSignature,
        Reason::Expired,
        Reason::Revoked,
        Reason::NoRight,
        Reason::ViewSetting,
        Reason::UnknownResource,
        Reason::CheckFailed,
        Reason::Limits,
        Reason::BadPath,
        Reason::UnknownRoute,
        Reason::UntrustedPeer,
        Reason::WrongKind,
        Reason::AmbiguousForward,
        Reason::MethodOverride,
        Reason::CrossSite,
        Reason::SharerLostRight,
        Reason::EmbedReadOnly,
        Reason::EmbedSortFilter,
        Reason::EmbedHiddenColumn,
        Reason::PersonalView,
    ];

    /// The snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::MissingToken => "missing_token",
            Reason::Malformed => "malformed",
            Reason::UnknownKey => "unknown_key",
            Reason::BadSignature => "bad_signature",
            Reason::Expired => "expired",
            Reason::Revoked => "revoked",
            Reason::NoRight => "no_right",
            Reason::ViewSetting => "view_setting",
            Reason::UnknownResource => "unknown_resource",
            Reason::CheckFailed => "check_failed",
            Reason::Limits => "limits",
            Reason::BadPath => "bad_path",
            Reason::UnknownRoute => "unknown_route",
            Reason::UntrustedPeer => "untrusted_peer",
            Reason::WrongKind => "wrong_kind",
            Reason::AmbiguousForward => "ambiguous_forward",
            Reason::MethodOverride => "method_override",
            Reason::CrossSite => "cross_site",
            Reason::SharerLostRight => "sharer_lost_right",
            Reason::EmbedReadOnly => "embed_read_only",
            Reason::EmbedSortFilter => "embed_sort_filter",
            Reason::EmbedHiddenColumn => "embed_hidden_column",
            Reason::PersonalView => "personal_view",
        }
    }

    /// True when the reason means "no valid credential" (HTTP 401) rather
    /// than "valid credential, not allowed here" (HTTP 403).
    pub fn is_credential_problem(self) -> bool {
        matches!(
            self,
            Reason::MissingToken
                | Reason::Malformed
                | Reason::UnknownKey
                | Reason::BadSignature
                | Reason::Expired
                | Reason::Revoked
        )
    }

    /// A sentence for people, without any token material.
    pub fn message(self) -> &'static str {
        match self {
            Reason::MissingToken => "this request needs a token",
            Reason::Malformed => "the token is not a valid Tessera token",
            Reason::UnknownKey => "the token is signed by an unknown or retired key",
            Reason::BadSignature => "the token's signature does not verify",
            Reason::Expired => "the token has expired",
            Reason::Revoked => "the token has been revoked",
            Reason::NoRight => "the token does not allow this operation on this resource",
            Reason::ViewSetting => "the view's settings do not allow this operation",
            Reason::UnknownResource => "no such resource",
            Reason::CheckFailed => "a restriction in the token does not allow this request",
            Reason::Limits => "the token is too expensive to evaluate",
            Reason::BadPath => "the request path is not in canonical form",
            Reason::UnknownRoute => "no route allows this request",
            Reason::UntrustedPeer => {
                "forwarded request headers are only accepted from trusted peers"
            }
            Reason::WrongKind => "this kind of token is not accepted here",
            Reason::AmbiguousForward => {
                "the forwarded request is described more than once (X-Forwarded-* and X-Original-*)"
            }
            Reason::MethodOverride => {
                "method overrides (X-HTTP-Method-Override, X-Method-Override, X-HTTP-Method, _method) are refused"
            }
            Reason::CrossSite => {
                "a change made with the share-session cookie must come from an allowed origin"
            }
            Reason::SharerLostRight => {
                "the member who made this link no longer holds share or this operation on the view"
            }
            Reason::EmbedReadOnly => "an embed only reads",
            Reason::EmbedSortFilter => "this embed allows no sorting or filtering",
            Reason::EmbedHiddenColumn => "this embed may not sort or filter by a hidden column",
            Reason::PersonalView => "the view is personal: only its creator sees it",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.code())
    }
}

impl From<&TokenError> for Reason {
    fn from(e: &TokenError) -> Self {
        match e {
            TokenError::UnknownKey(_) => Reason::UnknownKey,
            TokenError::BadSignature => Reason::BadSignature,
            TokenError::TooExpensive(_) => Reason::Limits,
            _ => Reason::Malformed,
        }
    }
}

/// How the decision was reached, for `--explain` and debugging.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Explanation {
    /// The facts the request contributed, in Datalog.
    pub facts: Vec<String>,
    /// The policy that matched, in Datalog, when one did.
    pub policy: Option<String>,
    /// Checks that failed, with their block.
    pub failed_checks: Vec<String>,
    /// For a member token: what the registry gave its user on the
    /// requested resource, and why (role, table modes, entries, groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub member: Option<MemberGrounds>,
}

/// The outcome of one decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    /// Allowed or not.
    pub allowed: bool,
    /// Why not, when denied.
    pub reason: Option<Reason>,
    /// What the token claims, when it verified.
    #[schema(value_type = Option<Object>)]
    pub claims: Option<Claims>,
    /// How the decision was reached.
    #[serde(default)]
    pub explanation: Explanation,
}

impl Decision {
    /// A denial for `reason`, with the token's claims when it verified.
    pub fn deny(reason: Reason, claims: Option<Claims>) -> Self {
        Decision {
            allowed: false,
            reason: Some(reason),
            claims,
            explanation: Explanation::default(),
        }
    }
}
