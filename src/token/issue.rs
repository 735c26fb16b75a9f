//! Issuing: a [`Grant`] becomes a biscuit signed by the keyring's active
//! key, with the ledger entry that records it.

use biscuit_auth::builder::{fact, int, string, BlockBuilder};
use biscuit_auth::datalog::SymbolTable;
use biscuit_auth::Biscuit;
use chrono::{DateTime, Utc};
use rand::{CryptoRng, RngCore};

use super::error::{build_error, TokenError};
use super::expiry::expiry_check;
use super::text::{encode, SecretToken};
use crate::keys::PrivateKeyring;
use crate::model::{Grant, Id, LedgerEntry, ModelError, TokenKind};

/// The newest version of the Datalog vocabulary: `tessera(2)` added member
/// tokens (`kind("member")`, `user(id)`) and the drop, billing and settings
/// operations. A token carries the oldest version that describes it
/// ([`Grant::vocabulary`]); every version up to this one verifies.
pub const VOCABULARY_VERSION: i64 = 2;

/// A freshly issued token and what the ledger records about it.
#[derive(Debug)]
pub struct Issued {
    /// The token text (secret): shown once to whoever asked for it.
    pub token: SecretToken,
    /// The ledger entry (id, scope, rights, expiry, revocation ids; never the token).
    pub entry: LedgerEntry,
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
    let workspaceless = matches!(grant.kind, TokenKind::Admin | TokenKind::Member);
    if !workspaceless && grant.workspace.is_none() {
        return Err(TokenError::Invalid(ModelError::MissingField {
            kind: grant.kind.as_str(),
            field: "a workspace",
        }));
    }
    let mut id_bytes = [0u8; 8];
    rng.fill_bytes(&mut id_bytes);
    let token_id = Id::new(&format!("tk_{}", hex::encode(id_bytes)))?;

    let mut block = BlockBuilder::new()
        .fact(fact("tessera", &[int(grant.vocabulary())]))
        .and_then(|b| b.fact(fact("token_id", &[string(token_id.as_str())])))
        .and_then(|b| b.fact(fact("kind", &[string(grant.kind.as_str())])))
        .map_err(build_error)?;
    if let Some(ws) = &grant.workspace {
        block = block
            .fact(fact("workspace", &[string(ws.as_str())]))
            .map_err(build_error)?;
    }
    if let Some(user) = &grant.user {
        block = block
            .fact(fact("user", &[string(user.as_str())]))
            .map_err(build_error)?;
    }
    if let Some(user) = &grant.shared_by {
        block = block
            .fact(fact("shared_by", &[string(user.as_str())]))
            .map_err(build_error)?;
    }
    if let Some(mode) = grant.embed {
        block = block
            .fact(fact("embed", &[string(mode.as_str())]))
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
            user: grant.user.clone(),
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
            shared_by: grant.shared_by.clone(),
            embed: grant.embed,
        },
    })
}
