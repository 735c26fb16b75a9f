//! A token's blocks read straight from its protobuf: Datalog with symbols
//! by index, resolved without converting anything, and printed only to
//! describe a token.

use std::fmt;

use biscuit_auth::builder::{self, Check, Convert};
use biscuit_auth::datalog::SymbolTable;
use biscuit_auth::format::{convert, schema};
use prost::Message;

use super::error::TokenError;
use super::guards::guard_parser;

/// A statement as Datalog text. biscuit-auth 6.0 panics printing an
/// expression that is not well formed (a lone `+`, found by fuzzing), which a
/// hand-made token can carry: that is shown as such instead.
fn printed<T: fmt::Display, E>(statement: Result<T, E>) -> String {
    statement
        .ok()
        .and_then(|s| guard_parser(|| s.to_string()))
        .unwrap_or_else(|| "/* not printable: malformed expression */".to_owned())
}

/// One block as it is serialized: Datalog with symbols by index.
pub(super) struct DecodedBlock {
    pub(super) proto: schema::Block,
    /// The third party's key, for a third-party block (whose symbols are
    /// its own).
    pub(super) external_key: Option<biscuit_auth::PublicKey>,
}

/// Every block of a token, and the symbols first-party blocks share. Read
/// once per verification, straight from the protobuf: claims, admission and
/// expiry checks work on symbol indexes, so nothing is converted, copied
/// or printed (that happens only to describe a token). biscuit-auth has
/// already parsed and validated the same bytes; its parsed blocks are not
/// public.
pub(super) struct DecodedToken {
    pub(super) blocks: Vec<DecodedBlock>,
    pub(super) shared: Vec<String>,
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
    pub(super) fn symbol<'a>(&'a self, block: &'a DecodedBlock, index: u64) -> &'a str {
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
    pub(super) fn printed_blocks(&self) -> Result<Vec<[Vec<String>; 3]>, TokenError> {
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

pub(super) fn decode_blocks(bytes: &[u8]) -> Result<DecodedToken, TokenError> {
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
