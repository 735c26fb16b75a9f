//! Attenuation: a [`Restriction`] becomes an appended block of checks
//! (operations, resource with what it contains, expiry, label). Needs no
//! key.

use biscuit_auth::builder::{self, pred, rule, string, var, BlockBuilder, Check, CheckKind, Term};
use biscuit_auth::KeyPair;
use chrono::{DateTime, Utc};
use rand::{CryptoRng, RngCore};

use super::error::{build_error, TokenError};
use super::expiry::expiry_check;
use super::text::{decode, encode, encode_compact, is_compact, SecretToken};
use crate::model::{ResourceKind, Restriction};

fn single_query_check(queries: Vec<builder::Rule>) -> Check {
    Check {
        queries,
        kind: CheckKind::One,
    }
}

/// The block of checks a restriction appends.
pub(super) fn restriction_block(restriction: &Restriction) -> Result<BlockBuilder, TokenError> {
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
