//! Tokens: issue (a [`Grant`] becomes a signed biscuit), attenuate (a
//! [`Restriction`] becomes an appended block of checks), decode the text
//! form, verify signatures by root key id, and describe what a token says.
//!
//! The text form is `tsr_` followed by the biscuit's URL-safe base64 without
//! padding. Every function here accepts the text with or without the prefix
//! and with or without padding, and also the compact form share links use
//! (`tsz_`, see [`compact`]): the same biscuit, deflated with a dictionary.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::SystemTime;

use base64::Engine;
use biscuit_auth::builder::{
    self, date, fact, int, pred, rule, string, var, BlockBuilder, Check, CheckKind, Convert,
    Expression, Op, Term,
};
use biscuit_auth::datalog::SymbolTable;
use biscuit_auth::format::{convert, schema};
use biscuit_auth::{Biscuit, KeyPair, UnverifiedBiscuit};
use chrono::{DateTime, Utc};
use prost::Message;
use rand::{CryptoRng, RngCore};
use serde::Serialize;

use crate::keys::{PrivateKeyring, PublicKeyring};
use crate::model::{
    Grant, Id, LedgerEntry, ModelError, Operation, Resource, ResourceKind, Restriction, Right,
    TokenKind,
};

pub mod compact;
pub use compact::COMPACT_PREFIX;
mod cost;
pub use cost::TermBounds;

/// The prefix of every token Tessera prints, so secret scanners can find them.
pub const TOKEN_PREFIX: &str = "tsr_";

/// The version of the Datalog vocabulary tokens carry: `tessera(1)`.
pub const VOCABULARY_VERSION: i64 = 1;

/// The largest token Tessera reads by default, in bytes of text.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token could not be issued, attenuated, read or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token: bad base64, bad protobuf, too large, or not a biscuit.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// Signed by a root key this keyring does not hold (or has retired).
    #[error("token is signed by an unknown or retired root key (key id {0:?})")]
    UnknownKey(Option<u32>),
    /// A signature does not verify: forged, altered, truncated or spliced.
    #[error("token signature does not verify")]
    BadSignature,
    /// The token is sealed and cannot be attenuated further.
    #[error("token is sealed and cannot be attenuated")]
    Sealed,
    /// The grant or restriction is not valid.
    #[error(transparent)]
    Invalid(#[from] ModelError),
    /// The token carries more than the limits allow (blocks, facts, rules,
    /// checks, a query whose joins could explode, or expressions that could
    /// take too long to evaluate).
    #[error("token is too expensive to evaluate: {0}")]
    TooExpensive(&'static str),
    /// biscuit-auth refused to build the block (should not happen for valid input).
    #[error("could not build the token block")]
    Build,
}

/// A bearer token's text. Secret: its `Debug` shows nothing of it, and the
/// text is zeroized when the value is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(zeroize::Zeroizing<String>);

impl SecretToken {
    /// Wraps token text received from an issuer (the admin API).
    pub(crate) fn from_issued(text: String) -> Self {
        SecretToken(zeroize::Zeroizing::new(text))
    }

    /// The token text, to hand to its holder. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(..)")
    }
}

/// A freshly issued token and what the ledger records about it.
#[derive(Debug)]
pub struct Issued {
    /// The token text (secret): shown once to whoever asked for it.
    pub token: SecretToken,
    /// The ledger entry (id, scope, rights, expiry, revocation ids; never the token).
    pub entry: LedgerEntry,
}

fn time_term(at: DateTime<Utc>) -> Term {
    date(&SystemTime::from(at))
}

/// `check if time($t), $t <= at`: the one form of expiry Tessera writes.
fn expiry_check(at: DateTime<Utc>) -> Check {
    let query = builder::constrained_rule(
        "query",
        &[] as &[Term],
        &[pred("time", &[var("t")])],
        &[Expression {
            ops: vec![
                Op::Value(var("t")),
                Op::Value(time_term(at)),
                Op::Binary(builder::Binary::LessOrEqual),
            ],
        }],
    );
    Check {
        queries: vec![query],
        kind: CheckKind::One,
    }
}

/// The expiry a check states, when it is the `time($t), $t <= date` (or `<`) form.
fn expiry_of<'a>(check: &schema::Check, symbol: impl Fn(u64) -> &'a str) -> Option<DateTime<Utc>> {
    use schema::op::Content::{Binary, Value};
    use schema::op_binary::Kind::{LessOrEqual, LessThan};
    use schema::term::Content::{Date, Variable};
    if check.kind.unwrap_or_default() != schema::check::Kind::One as i32 {
        return None;
    }
    let [query] = check.queries.as_slice() else {
        return None;
    };
    let [time] = query.body.as_slice() else {
        return None;
    };
    let [schema::Term {
        content: Some(Variable(t)),
    }] = time.terms.as_slice()
    else {
        return None;
    };
    let [expression] = query.expressions.as_slice() else {
        return None;
    };
    fn value(op: &schema::Op) -> Option<&schema::term::Content> {
        match &op.content {
            Some(Value(schema::Term { content })) => content.as_ref(),
            _ => None,
        }
    }
    match expression.ops.as_slice() {
        [variable, date, schema::Op {
            content: Some(Binary(op)),
        }] if symbol(time.name) == "time"
            && (op.kind == LessOrEqual as i32 || op.kind == LessThan as i32) =>
        {
            match (value(variable), value(date)) {
                (Some(Variable(v)), Some(Date(secs))) if v == t => {
                    DateTime::from_timestamp(i64::try_from(*secs).ok()?, 0)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// True when `check_source` (one printed check) is an expiry check.
pub fn is_expiry_check(check_source: &str) -> bool {
    if nesting_depth(check_source) > MAX_NESTING {
        return false;
    }
    let mut symbols = SymbolTable::new();
    guard_parser(|| BlockBuilder::new().code(format!("{check_source};")))
        .and_then(Result::ok)
        .and_then(|b| {
            let check =
                convert::token_check_to_proto_check(&b.checks.first()?.convert(&mut symbols));
            expiry_of(&check, |i| symbols.get_symbol(i).unwrap_or_default())
        })
        .is_some()
}

/// Deepest parenthesis nesting Datalog text may have before it reaches
/// biscuit-auth's parser, which recurses once per level with no limit (a
/// stack overflow aborts the process; found by fuzzing).
pub(crate) const MAX_NESTING: usize = 64;

/// The deepest parenthesis nesting in `text`.
pub(crate) fn nesting_depth(text: &str) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0;
    for b in text.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Runs biscuit-auth's Datalog parser on text that may come from outside;
/// `None` if it panicked. biscuit-auth 6.0 panics (`expect("invalid public
/// key")`) on a `trusting` scope whose key bytes are not a valid point
/// (found by fuzzing): such text is refused like any other parse error.
pub(crate) fn guard_parser<T>(parse: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)).ok()
}

fn single_query_check(queries: Vec<builder::Rule>) -> Check {
    Check {
        queries,
        kind: CheckKind::One,
    }
}

fn build_error(_: biscuit_auth::error::Token) -> TokenError {
    TokenError::Build
}

/// Signs `grant` with the keyring's active key. `rng` makes the token id and
/// the block key pair; `now` validates the expiry.
pub fn issue_with_rng<R: RngCore + CryptoRng>(
    grant: &Grant,
    keyring: &PrivateKeyring,
    now: DateTime<Utc>,
    rng: &mut R,
) -> Result<Issued, TokenError> {
    grant.validate(now)?;
    if grant.kind != TokenKind::Admin && grant.workspace.is_none() {
        return Err(TokenError::Invalid(ModelError::MissingField {
            kind: grant.kind.as_str(),
            field: "a workspace",
        }));
    }
    let mut id_bytes = [0u8; 8];
    rng.fill_bytes(&mut id_bytes);
    let token_id = Id::new(&format!("tk_{}", hex::encode(id_bytes)))?;

    let mut block = BlockBuilder::new()
        .fact(fact("tessera", &[int(VOCABULARY_VERSION)]))
        .and_then(|b| b.fact(fact("token_id", &[string(token_id.as_str())])))
        .and_then(|b| b.fact(fact("kind", &[string(grant.kind.as_str())])))
        .map_err(build_error)?;
    if let Some(ws) = &grant.workspace {
        block = block
            .fact(fact("workspace", &[string(ws.as_str())]))
            .map_err(build_error)?;
    }
    for right in &grant.rights {
        block = block
            .fact(fact(
                "right",
                &[
                    string(right.resource.kind.as_str()),
                    string(right.resource.id.as_str()),
                    string(right.operation.as_str()),
                ],
            ))
            .map_err(build_error)?;
    }
    if let Some(at) = grant.expires_at {
        block = block.check(expiry_check(at)).map_err(build_error)?;
    }
    if let Some(label) = &grant.label {
        block = block.context(label.clone());
    }
    let active = keyring.active();
    let biscuit = Biscuit::builder()
        .merge(block)
        .root_key_id(active.id())
        .build_with_rng(active.keypair(), SymbolTable::new(), rng)
        .map_err(build_error)?;
    Ok(Issued {
        token: encode(&biscuit.to_vec().map_err(build_error)?),
        entry: LedgerEntry {
            token_id,
            kind: grant.kind,
            workspace: grant.workspace.clone(),
            scope: grant.scope().cloned(),
            rights: grant.rights.clone(),
            expires_at: grant.expires_at,
            label: grant.label.clone(),
            created_at: now,
            root_key_id: active.id(),
            revocation_ids: biscuit
                .revocation_identifiers()
                .iter()
                .map(hex::encode)
                .collect(),
            revoked_at: None,
            revoke_reason: None,
            last_used_at: None,
        },
    })
}

/// The block of checks a restriction appends.
fn restriction_block(restriction: &Restriction) -> Result<BlockBuilder, TokenError> {
    let mut block = BlockBuilder::new();
    if let Some(ops) = &restriction.operations {
        let queries = ops
            .iter()
            .map(|op| {
                rule(
                    "query",
                    &[] as &[Term],
                    &[pred("operation", &[string(op.as_str())])],
                )
            })
            .collect();
        block = block
            .check(single_query_check(queries))
            .map_err(build_error)?;
    }
    if let Some(resource) = &restriction.resource {
        let mut queries = vec![rule(
            "query",
            &[] as &[Term],
            &[pred(
                "resource",
                &[string(resource.kind.as_str()), string(resource.id.as_str())],
            )],
        )];
        let container = [string(resource.kind.as_str()), string(resource.id.as_str())];
        if resource.kind != ResourceKind::View {
            // What the table or workspace contains directly…
            queries.push(rule(
                "query",
                &[] as &[Term],
                &[
                    pred("resource", &[var("k"), var("x")]),
                    pred(
                        "parent",
                        &[
                            var("k"),
                            var("x"),
                            container[0].clone(),
                            container[1].clone(),
                        ],
                    ),
                ],
            ));
        }
        if resource.kind == ResourceKind::Workspace {
            // …and the views of a workspace's tables.
            queries.push(rule(
                "query",
                &[] as &[Term],
                &[
                    pred("resource", &[string("view"), var("v")]),
                    pred(
                        "parent",
                        &[string("view"), var("v"), string("table"), var("t")],
                    ),
                    pred(
                        "parent",
                        &[
                            string("table"),
                            var("t"),
                            container[0].clone(),
                            container[1].clone(),
                        ],
                    ),
                ],
            ));
        }
        block = block
            .check(single_query_check(queries))
            .map_err(build_error)?;
    }
    if let Some(at) = restriction.expires_at {
        block = block.check(expiry_check(at)).map_err(build_error)?;
    }
    if let Some(label) = &restriction.label {
        block = block.context(label.clone());
    }
    Ok(block)
}

/// Appends a block of checks that narrows `token` by `restriction`. Needs no
/// key: anyone holding a token can make a weaker copy of it.
pub fn attenuate_with_rng<R: RngCore + CryptoRng>(
    token: &str,
    restriction: &Restriction,
    now: DateTime<Utc>,
    max_token_bytes: usize,
    rng: &mut R,
) -> Result<SecretToken, TokenError> {
    restriction.validate(now)?;
    let unverified = decode(token, max_token_bytes)?;
    let block = restriction_block(restriction)?;
    let keypair = KeyPair::new_with_rng(builder::Algorithm::Ed25519, rng);
    let appended = unverified
        .append_with_keypair(&keypair, block)
        .map_err(|e| match e {
            biscuit_auth::error::Token::AppendOnSealed
            | biscuit_auth::error::Token::AlreadySealed => TokenError::Sealed,
            _ => TokenError::Build,
        })?;
    // The copy keeps the form it was given in.
    let bytes = appended.to_vec().map_err(build_error)?;
    if is_compact(token) {
        encode_compact(&bytes)
    } else {
        Ok(encode(&bytes))
    }
}

fn encode(bytes: &[u8]) -> SecretToken {
    SecretToken::from_issued(format!("{TOKEN_PREFIX}{}", base64_text(bytes)))
}

fn encode_compact(bytes: &[u8]) -> Result<SecretToken, TokenError> {
    Ok(SecretToken::from_issued(format!(
        "{COMPACT_PREFIX}{}",
        base64_text(&compact::deflate(bytes)?)
    )))
}

fn base64_text(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn is_compact(text: &str) -> bool {
    text.trim().starts_with(COMPACT_PREFIX)
}

/// The shorter of a token's two text forms (plain `tsr_` or compact `tsz_`):
/// what share links carry. The token itself is unchanged.
pub fn shortest_text(text: &str, max_token_bytes: usize) -> Result<SecretToken, TokenError> {
    let bytes = decode_bytes(text, max_token_bytes)?;
    let plain = encode(&bytes);
    let compact = encode_compact(&bytes)?;
    Ok(if compact.0.len() < plain.0.len() {
        compact
    } else {
        plain
    })
}

/// The raw bytes of a token's text form (prefix and padding optional; the
/// compact form inflated).
pub fn decode_bytes(text: &str, max_token_bytes: usize) -> Result<Vec<u8>, TokenError> {
    let text = text.trim();
    if text.len() > max_token_bytes {
        return Err(TokenError::Malformed("token is larger than the limit"));
    }
    if let Some(body) = text.strip_prefix(COMPACT_PREFIX) {
        // Admit a compact token exactly when its plain form would fit.
        let plain_limit = max_token_bytes.saturating_sub(TOKEN_PREFIX.len()) / 4 * 3;
        return compact::inflate(&base64_bytes(body)?, plain_limit);
    }
    base64_bytes(text.strip_prefix(TOKEN_PREFIX).unwrap_or(text))
}

fn base64_bytes(body: &str) -> Result<Vec<u8>, TokenError> {
    let body = body.trim_end_matches('=');
    if body.is_empty() {
        return Err(TokenError::Malformed("empty token"));
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenError::Malformed("not URL-safe base64"))
}

/// Parses a token's text form without checking any signature.
pub fn decode(text: &str, max_token_bytes: usize) -> Result<UnverifiedBiscuit, TokenError> {
    let bytes = decode_bytes(text, max_token_bytes)?;
    UnverifiedBiscuit::from(&bytes).map_err(|_| TokenError::Malformed("not a biscuit token"))
}

/// A token whose every signature verified against the keyring. Only a
/// verified token can be authorized.
///
/// Its `Debug` is written by hand: biscuit-auth's derived `Debug` on a
/// `Biscuit` prints every block and the next block's private key, which
/// would let whoever reads a log line append blocks to this token.
#[derive(Clone)]
pub struct VerifiedToken {
    biscuit: Biscuit,
    claims: Claims,
    expiry_checks: Vec<(u32, u32)>,
}

impl fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("token_id", &self.claims.token_id)
            .field("blocks", &self.biscuit.block_count())
            .finish_non_exhaustive()
    }
}

impl VerifiedToken {
    /// The verified biscuit.
    pub fn biscuit(&self) -> &Biscuit {
        &self.biscuit
    }
    /// What its authority block says.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }
    /// True when check `check` of block `block` is an expiry check
    /// (`time($t), $t <= date`): a failure there means `expired`.
    pub fn is_expiry_check_at(&self, block: u32, check: u32) -> bool {
        self.expiry_checks.contains(&(block, check))
    }
    /// Every block's revocation id, authority first.
    pub fn revocation_ids(&self) -> Vec<Vec<u8>> {
        self.biscuit.revocation_identifiers()
    }
}

/// Checks every signature of `unverified` against the key its root key id
/// names, then admits the token under the default [`TokenLimits`].
pub fn verify(
    unverified: UnverifiedBiscuit,
    keyring: &PublicKeyring,
) -> Result<VerifiedToken, TokenError> {
    verify_with_limits(unverified, keyring, &TokenLimits::default())
}

/// [`verify`] with explicit limits.
pub fn verify_with_limits(
    unverified: UnverifiedBiscuit,
    keyring: &PublicKeyring,
    limits: &TokenLimits,
) -> Result<VerifiedToken, TokenError> {
    let bytes = unverified
        .to_vec()
        .map_err(|_| TokenError::Malformed("unreadable token"))?;
    verify_parsed(unverified, &bytes, keyring, limits, TermBounds::REQUEST)
}

/// Decodes and verifies a token's text form in one go: the hot path, which
/// reads the bytes once for biscuit and once for the claims. Admission
/// assumes the default policy's facts; see [`verify_text_with_ambient`].
pub fn verify_text(
    text: &str,
    max_token_bytes: usize,
    keyring: &PublicKeyring,
    limits: &TokenLimits,
) -> Result<VerifiedToken, TokenError> {
    verify_text_with_ambient(text, max_token_bytes, keyring, limits, TermBounds::REQUEST)
}

/// [`verify_text`] for a verifier whose own facts (the policy's and the
/// request's) hold terms up to `ambient`: the token's checks can bind those
/// too, so admission bounds its expressions' cost with them.
pub fn verify_text_with_ambient(
    text: &str,
    max_token_bytes: usize,
    keyring: &PublicKeyring,
    limits: &TokenLimits,
    ambient: TermBounds,
) -> Result<VerifiedToken, TokenError> {
    let bytes = decode_bytes(text, max_token_bytes)?;
    let unverified = UnverifiedBiscuit::from(&bytes)
        .map_err(|_| TokenError::Malformed("not a biscuit token"))?;
    verify_parsed(unverified, &bytes, keyring, limits, ambient)
}

fn verify_parsed(
    unverified: UnverifiedBiscuit,
    bytes: &[u8],
    keyring: &PublicKeyring,
    limits: &TokenLimits,
    ambient: TermBounds,
) -> Result<VerifiedToken, TokenError> {
    if unverified.block_count() > limits.max_blocks {
        return Err(TokenError::TooExpensive("too many blocks"));
    }
    let key_id = unverified.root_key_id();
    let biscuit = unverified.verify(keyring).map_err(|e| match e {
        biscuit_auth::error::Format::UnknownPublicKey => TokenError::UnknownKey(key_id),
        biscuit_auth::error::Format::Signature(_)
        | biscuit_auth::error::Format::SealedSignature
        | biscuit_auth::error::Format::InvalidSignatureSize(_)
        | biscuit_auth::error::Format::SignatureDeserializationError(_)
        | biscuit_auth::error::Format::BlockSignatureDeserializationError(_) => {
            TokenError::BadSignature
        }
        _ => TokenError::Malformed("token could not be verified"),
    })?;
    let decoded = decode_blocks(bytes)?;
    admit(&decoded, limits, ambient)?;
    let expiry_checks = decoded
        .blocks
        .iter()
        .zip(0u32..)
        .flat_map(|(b, block)| {
            let decoded = &decoded;
            b.proto
                .checks
                .iter()
                .zip(0u32..)
                .filter(move |(c, _)| expiry_of(c, |i| decoded.symbol(b, i)).is_some())
                .map(move |(_, check)| (block, check))
        })
        .collect();
    Ok(VerifiedToken {
        biscuit,
        claims: claims_of(&decoded),
        expiry_checks,
    })
}

/// What a token may carry, checked once at verification, before any Datalog
/// runs. biscuit-auth checks its run limits only between rounds, so a single
/// check joining many predicates (written by anyone who holds a token, in an
/// attenuation block) could run for seconds; such blocks are refused here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenLimits {
    /// Most blocks, authority included.
    pub max_blocks: usize,
    /// Most facts in one attenuation block.
    pub max_facts_per_block: usize,
    /// Most rules in one attenuation block.
    pub max_rules_per_block: usize,
    /// Most checks in one attenuation block.
    pub max_checks_per_block: usize,
    /// Highest estimated cost of one rule or check query: the product, over
    /// its body predicates, of how many facts each could match.
    pub max_query_cost: u64,
    /// Highest estimated cost of evaluating the expressions of one check
    /// query (closures, nested closures, set and string operations costed
    /// recursively, about one unit per operation or element visited) times
    /// its join estimate; and of one round of all rules together, deriving
    /// their facts included (biscuit-auth runs every rule of a round before
    /// it looks at its clock).
    pub max_expression_cost: u64,
}

impl TokenLimits {
    /// No limits: for reading a token's signature (`inspect`), never for
    /// deciding.
    pub fn unlimited() -> Self {
        TokenLimits {
            max_blocks: usize::MAX,
            max_facts_per_block: usize::MAX,
            max_rules_per_block: usize::MAX,
            max_checks_per_block: usize::MAX,
            max_query_cost: u64::MAX,
            max_expression_cost: u64::MAX,
        }
    }
}

impl Default for TokenLimits {
    fn default() -> Self {
        TokenLimits {
            max_blocks: 16,
            max_facts_per_block: 64,
            max_rules_per_block: 16,
            max_checks_per_block: 32,
            max_query_cost: 20_000,
            max_expression_cost: DEFAULT_MAX_EXPRESSION_COST,
        }
    }
}

/// Facts the verifier adds for every request, by predicate, at most.
const REQUEST_FACTS: [(&str, u64); 5] = [
    ("time", 1),
    ("operation", 1),
    ("resource", 1),
    ("parent", 2),
    ("view_setting", 5),
];

/// Longest expression (in operations, closure bodies included) an
/// attenuation block may hold: deep nesting costs stack in biscuit-auth's
/// printer and parser.
const MAX_EXPRESSION_OPS: usize = 128;

/// What matching a rule's body once and deriving its head costs, in the
/// units of [`TokenLimits::max_expression_cost`]: the head's terms are
/// copied and the fact inserted into a set (measured: a rule deriving
/// 20,000 facts takes over 100 ms, and biscuit-auth reads its clock only
/// after every rule has run once).
const DERIVATION_COST: u64 = 100;

/// The default [`TokenLimits::max_expression_cost`]: a few milliseconds of
/// evaluation at most (about 1–10 ns a unit, measured); the expiry check
/// Tessera writes costs 11.
pub const DEFAULT_MAX_EXPRESSION_COST: u64 = 500_000;

/// Bound used for a predicate whose facts are derived by rules (or unknown).
const DERIVED_FACTS_BOUND: u64 = 1000;

/// Refuses attenuation blocks that are too large, whose queries could
/// explode, or whose expressions could take too long: a static,
/// conservative estimate of each query's join size and of its expressions'
/// evaluation cost. `ambient` bounds the terms of the verifier's own facts.
fn admit(
    token: &DecodedToken,
    limits: &TokenLimits,
    ambient: TermBounds,
) -> Result<(), TokenError> {
    let mut counts: HashMap<&str, u64> = REQUEST_FACTS.into_iter().collect();
    let mut derived: HashSet<&str> = HashSet::new();
    for block in &token.blocks {
        for f in &block.proto.facts {
            *counts
                .entry(token.symbol(block, f.predicate.name))
                .or_default() += 1;
        }
    }
    for block in token.blocks.iter().skip(1) {
        for r in &block.proto.rules {
            derived.insert(token.symbol(block, r.head.name));
        }
    }
    let bound = |name: &str| {
        if derived.contains(name) {
            DERIVED_FACTS_BOUND
        } else {
            counts.get(name).copied().unwrap_or(DERIVED_FACTS_BOUND)
        }
    };
    // A predicate with no variable matches at most one fact.
    let factor = |block: &DecodedBlock, p: &schema::Predicate| {
        if p.terms.iter().any(is_variable) {
            bound(token.symbol(block, p.name))
        } else {
            1
        }
    };
    let cost = |block: &DecodedBlock, rule: &schema::Rule| {
        rule.body
            .iter()
            .fold(1u64, |acc, p| acc.saturating_mul(factor(block, p)))
    };
    let mut expressions = None;
    let mut rules_cost = 0u64;
    for decoded in token.blocks.iter().skip(1) {
        let block = &decoded.proto;
        if block.facts.len() > limits.max_facts_per_block {
            return Err(TokenError::TooExpensive("too many facts in a block"));
        }
        if block.rules.len() > limits.max_rules_per_block {
            return Err(TokenError::TooExpensive("too many rules in a block"));
        }
        if block.checks.len() > limits.max_checks_per_block {
            return Err(TokenError::TooExpensive("too many checks in a block"));
        }
        let rules = block.rules.iter().map(|r| (r, true));
        let checks = block
            .checks
            .iter()
            .flat_map(|c| c.queries.iter().map(|q| (q, false)));
        for (query, is_rule) in rules.chain(checks) {
            if query
                .expressions
                .iter()
                .any(|e| cost::op_count(&e.ops) > MAX_EXPRESSION_OPS as u64)
            {
                return Err(TokenError::TooExpensive("an expression is too long"));
            }
            let join = cost(decoded, query);
            if join > limits.max_query_cost {
                return Err(TokenError::TooExpensive(
                    "a rule or check could match too many facts",
                ));
            }
            let evaluation = if query.expressions.is_empty() {
                0
            } else {
                let machine = expressions
                    .get_or_insert_with(|| cost::Expressions::new(term_bounds(token, ambient)));
                let symbols = |i| token.symbol(decoded, i);
                expression_cost(machine, query, &symbols)
            };
            // A check: one query between two clock readings. The rules: all
            // of them, once each per round, before the clock is read.
            if is_rule {
                let round = join.saturating_mul(evaluation.saturating_add(DERIVATION_COST));
                rules_cost = rules_cost.saturating_add(round);
                if rules_cost > limits.max_expression_cost {
                    return Err(TokenError::TooExpensive(
                        "the rules could take too long to evaluate",
                    ));
                }
            } else if join.saturating_mul(evaluation) > limits.max_expression_cost {
                return Err(TokenError::TooExpensive(
                    "an expression could take too long to evaluate",
                ));
            }
        }
    }
    Ok(())
}

fn is_variable(t: &schema::Term) -> bool {
    matches!(t.content, Some(schema::term::Content::Variable(_)))
}

/// The cost of evaluating every expression of `query` once (for one body match).
fn expression_cost<'a>(
    machine: &mut cost::Expressions<'a>,
    query: &'a schema::Rule,
    symbols: cost::Symbols<'_>,
) -> u64 {
    // Every variable the body binds is copied each time a closure runs.
    let variables = query
        .body
        .iter()
        .flat_map(|p| &p.terms)
        .filter(|t| is_variable(t))
        .count() as u64;
    let work = query
        .expressions
        .iter()
        .fold(cost::Work::default(), |sum, e| {
            sum.plus(machine.work(&e.ops, variables, symbols))
        });
    work.total(machine.variable().symbols)
}

/// What any variable of the token's queries can be bound to: the largest
/// term of any fact or rule head of the token, or of the verifier's own
/// facts (`ambient`); strings no longer than the longest symbol.
fn term_bounds(token: &DecodedToken, ambient: TermBounds) -> TermBounds {
    let mut bounds = ambient.covering_symbols(&token.shared);
    for block in &token.blocks {
        if block.external_key.is_some() {
            bounds = bounds.covering_symbols(&block.proto.symbols);
        }
        let heads = block.proto.rules.iter().map(|r| &r.head);
        for p in block.proto.facts.iter().map(|f| &f.predicate).chain(heads) {
            bounds = p.terms.iter().fold(bounds, TermBounds::covering);
        }
    }
    bounds
}

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

/// A statement as Datalog text. biscuit-auth 6.0 panics printing an
/// expression that is not well formed (a lone `+`, found by fuzzing), which a
/// hand-made token can carry: that is shown as such instead.
fn printed<T: fmt::Display, E>(statement: Result<T, E>) -> String {
    statement
        .ok()
        .and_then(|s| guard_parser(|| s.to_string()))
        .unwrap_or_else(|| "/* not printable: malformed expression */".to_owned())
}

/// One block read back from the serialized token.
/// One block as it is serialized: Datalog with symbols by index.
struct DecodedBlock {
    proto: schema::Block,
    /// The third party's key, for a third-party block (whose symbols are
    /// its own).
    external_key: Option<biscuit_auth::PublicKey>,
}

/// Every block of a token, and the symbols first-party blocks share. Read
/// once per verification, straight from the protobuf: claims, admission and
/// expiry checks work on symbol indexes, so nothing is converted, copied
/// or printed (that happens only to describe a token). biscuit-auth has
/// already parsed and validated the same bytes; its parsed blocks are not
/// public.
struct DecodedToken {
    blocks: Vec<DecodedBlock>,
    shared: Vec<String>,
}

/// Symbol indexes below this are biscuit's default symbols.
const FIRST_BLOCK_SYMBOL: u64 = 1024;

impl DecodedToken {
    fn symbols_of<'a>(&'a self, block: &'a DecodedBlock) -> &'a [String] {
        if block.external_key.is_some() {
            &block.proto.symbols
        } else {
            &self.shared
        }
    }

    /// The text of a symbol of `block` ("" for an unknown index, which
    /// biscuit has already refused when it parsed the token).
    fn symbol<'a>(&'a self, block: &'a DecodedBlock, index: u64) -> &'a str {
        match index.checked_sub(FIRST_BLOCK_SYMBOL) {
            None => DEFAULT_SYMBOLS.get_symbol(index).unwrap_or_default(),
            Some(i) => usize::try_from(i)
                .ok()
                .and_then(|i| self.symbols_of(block).get(i))
                .map_or("", String::as_str),
        }
    }

    /// Every block's statements, printed (facts, rules, checks). A
    /// statement biscuit accepted but that cannot be printed (a malformed
    /// expression, which fails when evaluated) is shown as such.
    fn printed_blocks(&self) -> Result<Vec<[Vec<String>; 3]>, TokenError> {
        let unreadable = |_| TokenError::Malformed("unreadable block");
        let mut symbols = SymbolTable::new();
        let mut out = Vec::with_capacity(self.blocks.len());
        for b in &self.blocks {
            let block = convert::proto_block_to_token_block(&b.proto, b.external_key)
                .map_err(unreadable)?;
            let table = if b.external_key.is_some() {
                &block.symbols
            } else {
                symbols.extend(&block.symbols).map_err(unreadable)?;
                &symbols
            };
            out.push([
                block
                    .facts
                    .iter()
                    .map(|f| printed(builder::Fact::convert_from(f, table)))
                    .collect(),
                block
                    .rules
                    .iter()
                    .map(|r| printed(builder::Rule::convert_from(r, table)))
                    .collect(),
                block
                    .checks
                    .iter()
                    .map(|c| printed(Check::convert_from(c, table)))
                    .collect(),
            ]);
        }
        Ok(out)
    }
}

fn decode_blocks(bytes: &[u8]) -> Result<DecodedToken, TokenError> {
    let container =
        schema::Biscuit::decode(bytes).map_err(|_| TokenError::Malformed("unreadable token"))?;
    let mut shared = Vec::new();
    let mut blocks = Vec::with_capacity(1 + container.blocks.len());
    for signed in std::iter::once(&container.authority).chain(&container.blocks) {
        let proto = schema::Block::decode(signed.block.as_slice())
            .map_err(|_| TokenError::Malformed("unreadable block"))?;
        let external_key = signed
            .external_signature
            .as_ref()
            .map(|s| biscuit_auth::PublicKey::from_proto(&s.public_key))
            .transpose()
            .map_err(|_| TokenError::Malformed("unreadable block"))?;
        if external_key.is_none() {
            shared.extend(proto.symbols.iter().cloned());
        }
        blocks.push(DecodedBlock {
            proto,
            external_key,
        });
    }
    Ok(DecodedToken { blocks, shared })
}

/// biscuit's default symbols (an empty table resolves them).
static DEFAULT_SYMBOLS: std::sync::LazyLock<SymbolTable> =
    std::sync::LazyLock::new(SymbolTable::new);

/// The claims: the authority block's vocabulary facts, the earliest expiry
/// any block states, every block's label.
fn claims_of(token: &DecodedToken) -> Claims {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Operation;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn setup() -> (PrivateKeyring, StdRng, DateTime<Utc>) {
        let now = DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut rng = StdRng::seed_from_u64(1);
        (PrivateKeyring::generate_with_rng(&mut rng, now), rng, now)
    }

    #[test]
    fn issued_guest_token_carries_the_vocabulary() {
        let (ring, mut rng, now) = setup();
        let ops = Operation::parse_list("read,export").unwrap();
        let at = now + chrono::Duration::days(90);
        let grant = Grant::guest(Id::new("ws_1").unwrap(), Id::new("v_9").unwrap(), &ops)
            .expires_at(Some(at))
            .label(Some("auditor".into()));
        let issued = issue_with_rng(&grant, &ring, now, &mut rng).unwrap();
        assert!(issued.token.expose().starts_with(TOKEN_PREFIX));
        assert_eq!(format!("{:?}", issued.token), "SecretToken(..)");
        let d = describe(&decode(issued.token.expose(), DEFAULT_MAX_TOKEN_BYTES).unwrap()).unwrap();
        assert_eq!(d.claims.vocabulary, Some(1));
        assert_eq!(
            d.claims.token_id.as_deref(),
            Some(issued.entry.token_id.as_str())
        );
        assert_eq!(d.claims.kind.as_deref(), Some("guest"));
        assert_eq!(d.claims.workspace.as_deref(), Some("ws_1"));
        assert_eq!(d.claims.rights.len(), 2);
        assert_eq!(d.claims.expires_at, Some(at));
        assert_eq!(d.claims.labels, vec!["auditor".to_string()]);
        assert_eq!(d.root_key_id, Some(ring.active().id()));
        assert_eq!(
            d.blocks[0].checks,
            vec![format!(
                "check if time($t), $t <= {}",
                at.format("%Y-%m-%dT%H:%M:%SZ")
            )]
        );
    }

    #[test]
    fn attenuation_appends_checks_only() {
        let (ring, mut rng, now) = setup();
        let ops = Operation::parse_list("read,write").unwrap();
        let grant = Grant::api_key(Id::new("ws").unwrap(), None, &ops);
        let issued = issue_with_rng(&grant, &ring, now, &mut rng).unwrap();
        let restriction = Restriction {
            operations: Some(Operation::parse_list("read").unwrap()),
            resource: Some(Resource::table(Id::new("t").unwrap())),
            expires_at: Some(now + chrono::Duration::days(1)),
            label: Some("contractor".into()),
        };
        let child =
            attenuate_with_rng(issued.token.expose(), &restriction, now, 8192, &mut rng).unwrap();
        let d = describe(&decode(child.expose(), 8192).unwrap()).unwrap();
        assert_eq!(d.blocks.len(), 2);
        assert!(d.blocks[1].facts.is_empty() && d.blocks[1].rules.is_empty());
        assert_eq!(d.blocks[1].checks.len(), 3);
        assert_eq!(d.claims.expires_at, restriction.expires_at);
        assert_eq!(d.claims.labels, vec!["contractor".to_string()]);
        verify(decode(child.expose(), 8192).unwrap(), &ring.public()).unwrap();
    }

    #[test]
    fn tokens_use_only_datalog_3_0_so_every_biscuit_library_reads_them() {
        let (ring, mut rng, now) = setup();
        let ops = Operation::parse_list("read,write,export").unwrap();
        let grant = Grant::guest(Id::new("ws").unwrap(), Id::new("v").unwrap(), &ops)
            .expires_at(Some(now + chrono::Duration::days(1)))
            .label(Some("l".into()));
        let issued = issue_with_rng(&grant, &ring, now, &mut rng).unwrap();
        let restriction = Restriction {
            operations: Some(Operation::parse_list("read,export").unwrap()),
            resource: Some(Resource::workspace(Id::new("ws").unwrap())),
            expires_at: Some(now + chrono::Duration::hours(1)),
            label: Some("c".into()),
        };
        let child =
            attenuate_with_rng(issued.token.expose(), &restriction, now, 8192, &mut rng).unwrap();
        let token = decode(child.expose(), 8192).unwrap();
        for i in 0..token.block_count() {
            // Block version 3 is Datalog 3.0, the oldest the v6 format writes.
            assert_eq!(token.block_version(i).unwrap(), 3, "block {i}");
        }
    }

    /// A token made of `blocks` (the first is the authority), decoded.
    fn decoded(blocks: &[&BlockBuilder]) -> DecodedToken {
        let (authority, rest) = blocks.split_first().unwrap();
        let mut token = Biscuit::builder()
            .merge((*authority).clone())
            .build(&KeyPair::new())
            .unwrap();
        for block in rest {
            token = token.append((*block).clone()).unwrap();
        }
        decode_blocks(&token.to_vec().unwrap()).unwrap()
    }

    #[test]
    fn admission_refuses_join_bombs_and_admits_tessera_attenuations() {
        let block = |code: &str| BlockBuilder::new().code(code).unwrap();
        let admit =
            |blocks: &[&BlockBuilder], limits| admit(&decoded(blocks), limits, TermBounds::REQUEST);
        let authority = block("right(\"view\", \"v\", \"read\"); kind(\"guest\");");
        let limits = &TokenLimits::default();
        let ours = restriction_block(&Restriction {
            operations: Some(Operation::parse_list("read").unwrap()),
            resource: Some(Resource::workspace(Id::new("ws").unwrap())),
            expires_at: None,
            label: None,
        })
        .unwrap();
        assert_eq!(admit(&[&authority, &ours], limits), Ok(()));
        let bomb = block("check if view_setting($a, $b, $c), view_setting($d, $e, $f), view_setting($g, $h, $i), view_setting($j, $k, $l), view_setting($m, $n, $o), view_setting($p, $q, $r), view_setting($s, $t, $u);");
        assert_eq!(
            admit(&[&authority, &bomb], limits),
            Err(TokenError::TooExpensive(
                "a rule or check could match too many facts"
            ))
        );
        // The same join in the authority block (the issuer's) is not judged.
        assert_eq!(admit(&[&bomb], limits), Ok(()));
        let constants =
            block("check if query(1), query(2), query(3), query(4); q($x) <- query($x);");
        assert_eq!(admit(&[&authority, &constants], limits), Ok(()));
        // A rule in a later block makes its head unbounded.
        let derived = block("q($x) <- view_setting($x, $n, $b); check if q($a), q($b), q($c);");
        assert_eq!(
            admit(&[&authority, &derived], limits),
            Err(TokenError::TooExpensive(
                "a rule or check could match too many facts"
            ))
        );
        let facts: String = (0..65).map(|i| format!("f({i});")).collect();
        assert_eq!(
            admit(&[&authority, &block(&facts)], limits),
            Err(TokenError::TooExpensive("too many facts in a block"))
        );
    }

    /// The smallest `max_expression_cost` that admits `code` appended to a
    /// guest-like authority block.
    fn expression_cost_of(code: &str) -> u64 {
        let authority = BlockBuilder::new()
            .code("right(\"view\", \"v\", \"read\"); kind(\"guest\");")
            .unwrap();
        let token = decoded(&[&authority, &BlockBuilder::new().code(code).unwrap()]);
        let admits = |max_expression_cost| {
            let limits = TokenLimits {
                max_expression_cost,
                ..TokenLimits::unlimited()
            };
            admit(&token, &limits, TermBounds::REQUEST).is_ok()
        };
        let (mut low, mut high) = (0u64, u64::MAX);
        while low < high {
            let mid = low + (high - low) / 2;
            if admits(mid) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        low
    }

    #[test]
    fn admission_costs_expressions_recursively() {
        let ours = restriction_block(&Restriction {
            operations: None,
            resource: None,
            expires_at: Some(Utc::now()),
            label: None,
        })
        .unwrap();
        let expiry = expression_cost_of(&ours.to_string());
        assert!((1..=12).contains(&expiry), "expiry check costs {expiry}");
        let set = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        let one = expression_cost_of(&format!(
            "s({{{}}}); check if s($s), $s.all($a -> $a >= 0);",
            set(42)
        ));
        let two = expression_cost_of(&format!(
            "s({{{}}}); check if s($s), $s.all($a -> $s.all($b -> $b >= $a));",
            set(42)
        ));
        // Nested closures multiply: the inner one runs once per element.
        assert!(two > 42 * one / 2, "one level {one}, two levels {two}");
        assert!(two > DEFAULT_MAX_EXPRESSION_COST / 2);
        // A larger set in any fact (here the authority's) is what a variable may hold.
        let wider = expression_cost_of(&format!(
            "s({{{}}}); t({{{}}}); check if s($s), $s.all($a -> $a >= 0);",
            set(42),
            set(60)
        ));
        assert!(wider > one, "{wider} > {one}");
        // A union's result is larger than either side.
        let union = expression_cost_of(&format!(
            "s({{{}}}); check if s($s), $s.union($s).union($s).all($a -> $a >= 0);",
            set(42)
        ));
        assert!(union > 3 * one, "{union} > 3 × {one}");
        // Every `.matches()` compiles its pattern: a plain one is cheap, a
        // counted repetition of a Unicode class is not, nor is a pattern
        // that is not a literal (it could be any string of any fact).
        let regex = |pattern: &str| {
            expression_cost_of(&format!(
                "p(\"x\"); check if resource($k, $x), p($p), $x.matches({pattern});"
            ))
        };
        let plain = regex("\"^v_[0-9]+$\"");
        assert!(plain < DEFAULT_MAX_EXPRESSION_COST / 10, "{plain}");
        for evil in [
            "\"\\\\w{100}\"",
            "\"[\\\\p{L}]{500}\"",
            "\"x{9}{9}{9}{9}{9}{9}\"",
            "$p",
        ] {
            let cost = regex(evil);
            assert!(cost > DEFAULT_MAX_EXPRESSION_COST, "{evil}: {cost}");
        }
        // Strings an expression makes are searched for in a growing table.
        let strings = expression_cost_of(
            "s({\"a\", \"b\", \"c\"}); check if s($s), $s.all($a -> $s.all($b -> ($a + $b).length() > 0));",
        );
        let ints = expression_cost_of(
            "s({1, 2, 3}); check if s($s), $s.all($a -> $s.all($b -> ($a + 1) > 0));",
        );
        assert!(strings > ints, "{strings} > {ints}");
    }

    #[test]
    fn admission_bounds_one_round_of_rules() {
        let facts = |n: usize| (0..n).map(|i| format!("n({i});")).collect::<String>();
        // 1,600 derivations in a round: admitted (the fact limit stops it).
        let pairs = format!("{}p($a, $b) <- n($a), n($b);", facts(40));
        assert_eq!(expression_cost_of(&pairs), 1600 * DERIVATION_COST);
        // 19,683 derivations (a join within max_query_cost), before the
        // clock is read: over 100 ms.
        let cubes = format!("{}c($a, $b, $c) <- n($a), n($b), n($c);", facts(27));
        assert!(expression_cost_of(&cubes) > DEFAULT_MAX_EXPRESSION_COST);
        // Rules add up: sixteen small ones are one round.
        let many: String = (0..16)
            .map(|r| format!("p{r}($a, $b) <- n($a), n($b);"))
            .collect();
        let block = BlockBuilder::new()
            .code(format!("{}{many}", facts(20)))
            .unwrap();
        let authority = BlockBuilder::new().code("kind(\"guest\");").unwrap();
        assert_eq!(
            admit(
                &decoded(&[&authority, &block]),
                &TokenLimits::default(),
                TermBounds::REQUEST
            ),
            Err(TokenError::TooExpensive(
                "the rules could take too long to evaluate"
            ))
        );
    }

    #[test]
    fn decoding_rejects_garbage_and_oversize() {
        assert_eq!(
            decode_bytes("tsr_", 100).unwrap_err(),
            TokenError::Malformed("empty token")
        );
        assert!(matches!(
            decode("tsr_!!!", 100),
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(
            decode("tsr_AAAA", 100),
            Err(TokenError::Malformed(_))
        ));
        assert_eq!(
            decode_bytes(&"A".repeat(101), 100).unwrap_err(),
            TokenError::Malformed("token is larger than the limit")
        );
    }

    #[test]
    fn verification_reports_unknown_keys() {
        let (ring, mut rng, now) = setup();
        let other = PrivateKeyring::generate_with_rng(&mut rng, now);
        let issued = issue_with_rng(&Grant::admin(), &ring, now, &mut rng).unwrap();
        let err = verify(
            decode(issued.token.expose(), 8192).unwrap(),
            &other.public(),
        )
        .unwrap_err();
        assert_eq!(err, TokenError::UnknownKey(Some(ring.active().id())));
    }
}
