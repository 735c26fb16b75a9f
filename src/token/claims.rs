//! Claims: what a token says in Tessera's vocabulary (authority facts,
//! the earliest expiry, labels), and [`describe`], everything a token says
//! readable without any key.

use biscuit_auth::format::schema;
use biscuit_auth::UnverifiedBiscuit;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::decoded::{decode_blocks, DecodedBlock, DecodedToken};
use super::error::TokenError;
use super::expiry::expiry_of;
use crate::model::{Id, Operation, Resource, Right};

/// What a token's authority block says in Tessera's vocabulary, plus the
/// effective expiry over all blocks. Fields are `None` for a foreign biscuit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Claims {
    /// `tessera(N)`: the vocabulary version.
    pub vocabulary: Option<i64>,
    /// `token_id(…)`: the ledger id.
    pub token_id: Option<String>,
    /// `kind(…)`.
    pub kind: Option<String>,
    /// `workspace(…)`.
    pub workspace: Option<String>,
    /// `user(…)`, when the token names one.
    pub user: Option<String>,
    /// `shared_by(…)`: the member who made this guest link, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_by: Option<String>,
    /// `embed(…)`: the embed mode of a link made for a page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed: Option<String>,
    /// `right(kind, id, op)` facts.
    pub rights: Vec<RightClaim>,
    /// The earliest expiry any block states.
    pub expires_at: Option<DateTime<Utc>>,
    /// Every block's label, authority first.
    pub labels: Vec<String>,
}

/// One `right(kind, id, operation)` fact as written, whether or not its
/// terms are in Tessera's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RightClaim {
    /// Resource kind.
    pub kind: String,
    /// Resource id.
    pub id: String,
    /// Operation.
    pub operation: String,
}

impl RightClaim {
    /// The right as a model value, when its terms are in the vocabulary.
    pub fn to_right(&self) -> Option<Right> {
        Some(Right {
            resource: Resource {
                kind: self.kind.parse().ok()?,
                id: Id::new(&self.id).ok()?,
            },
            operation: self.operation.parse::<Operation>().ok()?,
        })
    }
}

/// One block as `inspect` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockDescription {
    /// 0 for the authority block.
    pub index: usize,
    /// The block's label (biscuit context), if any.
    pub context: Option<String>,
    /// Facts, in Datalog.
    pub facts: Vec<String>,
    /// Rules, in Datalog.
    pub rules: Vec<String>,
    /// Checks, in Datalog.
    pub checks: Vec<String>,
    /// The block's revocation id, hex.
    pub revocation_id: String,
}

/// Everything a token says, readable without any key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Description {
    /// The claims in Tessera's vocabulary.
    #[serde(flatten)]
    pub claims: Claims,
    /// The root key id that should verify it.
    pub root_key_id: Option<u32>,
    /// Revocation ids of every block, hex, authority first.
    pub revocation_ids: Vec<String>,
    /// Every block.
    pub blocks: Vec<BlockDescription>,
}

/// Reads every block of a token, without any key.
pub fn describe(unverified: &UnverifiedBiscuit) -> Result<Description, TokenError> {
    let bytes = unverified
        .to_vec()
        .map_err(|_| TokenError::Malformed("unreadable token"))?;
    let decoded = decode_blocks(&bytes)?;
    let revocation_ids: Vec<String> = unverified
        .revocation_identifiers()
        .iter()
        .map(hex::encode)
        .collect();
    Ok(Description {
        claims: claims_of(&decoded),
        root_key_id: unverified.root_key_id(),
        blocks: decoded
            .blocks
            .iter()
            .zip(decoded.printed_blocks()?)
            .enumerate()
            .map(|(index, (b, [facts, rules, checks]))| BlockDescription {
                index,
                context: b.proto.context.clone(),
                facts,
                rules,
                checks,
                revocation_id: revocation_ids.get(index).cloned().unwrap_or_default(),
            })
            .collect(),
        revocation_ids,
    })
}

/// The claims: the authority block's vocabulary facts, the earliest expiry
/// any block states, every block's label.
pub(super) fn claims_of(token: &DecodedToken) -> Claims {
    let mut claims = Claims::default();
    if let Some(authority) = token.blocks.first() {
        read_authority_claims(token, authority, &mut claims);
    }
    for block in &token.blocks {
        for check in &block.proto.checks {
            if let Some(at) = expiry_of(check, |i| token.symbol(block, i)) {
                claims.expires_at = Some(claims.expires_at.map_or(at, |e| e.min(at)));
            }
        }
        if let Some(label) = &block.proto.context {
            claims.labels.push(label.clone());
        }
    }
    claims
}

fn read_authority_claims(token: &DecodedToken, block: &DecodedBlock, claims: &mut Claims) {
    use schema::term::Content::{Integer, String as Str};
    let text = |i: &u64| token.symbol(block, *i).to_owned();
    // A term's content, for slice patterns.
    macro_rules! t {
        ($p:pat) => {
            schema::Term { content: Some($p) }
        };
    }
    for f in &block.proto.facts {
        match (
            token.symbol(block, f.predicate.name),
            f.predicate.terms.as_slice(),
        ) {
            ("tessera", [t!(Integer(v))]) => claims.vocabulary = Some(*v),
            ("token_id", [t!(Str(s))]) => claims.token_id = Some(text(s)),
            ("kind", [t!(Str(s))]) => claims.kind = Some(text(s)),
            ("workspace", [t!(Str(s))]) => claims.workspace = Some(text(s)),
            ("user", [t!(Str(s))]) => claims.user = Some(text(s)),
            ("shared_by", [t!(Str(s))]) => claims.shared_by = Some(text(s)),
            ("embed", [t!(Str(s))]) => claims.embed = Some(text(s)),
            ("right", [t!(Str(kind)), t!(Str(id)), t!(Str(operation))]) => {
                claims.rights.push(RightClaim {
                    kind: text(kind),
                    id: text(id),
                    operation: text(operation),
                })
            }
            _ => {}
        }
    }
}
