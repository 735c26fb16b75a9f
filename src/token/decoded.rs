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

/// Every block of a token. Read once per verification, straight from the
/// protobuf: claims, admission and expiry checks work on symbol indexes, so
/// nothing is converted, copied or printed (that happens only to describe a
/// token); the symbols first-party blocks share are looked up in the blocks
/// that define them, never gathered into a table of their own. biscuit-auth
/// has already parsed and validated the same bytes; its parsed blocks are
/// not public.
pub(super) struct DecodedToken {
    pub(super) blocks: Vec<DecodedBlock>,
}

/// Symbol indexes below this are biscuit's default symbols.
const FIRST_BLOCK_SYMBOL: u64 = 1024;

impl DecodedToken {
    /// The text of a symbol of `block` ("" for an unknown index, which
    /// biscuit has already refused when it parsed the token). A third-party
    /// block has symbols of its own; the first-party blocks share theirs,
    /// numbered on from one block to the next.
    pub(super) fn symbol<'a>(&'a self, block: &'a DecodedBlock, index: u64) -> &'a str {
        let Some(offset) = index.checked_sub(FIRST_BLOCK_SYMBOL) else {
            return DEFAULT_SYMBOLS.get_symbol(index).unwrap_or_default();
        };
        let Ok(mut offset) = usize::try_from(offset) else {
            return "";
        };
        if block.external_key.is_some() {
            return block.proto.symbols.get(offset).map_or("", String::as_str);
        }
        for first_party in self.blocks.iter().filter(|b| b.external_key.is_none()) {
            match first_party.proto.symbols.get(offset) {
                Some(symbol) => return symbol,
                None => offset -= first_party.proto.symbols.len(),
            }
        }
        ""
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

/// The fields of biscuit's container read here: each signed block's bytes
/// and, for a third-party block, its key (same tags as biscuit's schema).
/// Signatures, next keys and the proof are skipped, not copied out:
/// biscuit-auth has checked them.
#[derive(Clone, PartialEq, prost::Message)]
struct Container {
    #[prost(message, required, tag = "2")]
    authority: SignedBlock,
    #[prost(message, repeated, tag = "3")]
    blocks: Vec<SignedBlock>,
}

/// A signed block as [`Container`] reads it.
#[derive(Clone, PartialEq, prost::Message)]
struct SignedBlock {
    #[prost(bytes = "vec", required, tag = "1")]
    block: Vec<u8>,
    #[prost(message, optional, tag = "4")]
    external_signature: Option<ExternalKey>,
}

/// A third-party signature as [`Container`] reads it: the key only.
#[derive(Clone, PartialEq, prost::Message)]
struct ExternalKey {
    #[prost(message, required, tag = "2")]
    public_key: schema::PublicKey,
}

pub(super) fn decode_blocks(bytes: &[u8]) -> Result<DecodedToken, TokenError> {
    let container =
        Container::decode(bytes).map_err(|_| TokenError::Malformed("unreadable token"))?;
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
        blocks.push(DecodedBlock {
            proto,
            external_key,
        });
    }
    Ok(DecodedToken { blocks })
}

/// biscuit's default symbols (an empty table resolves them).
static DEFAULT_SYMBOLS: std::sync::LazyLock<SymbolTable> =
    std::sync::LazyLock::new(SymbolTable::new);

#[cfg(test)]
mod tests {
    use biscuit_auth::builder::{fact, string, BlockBuilder};
    use biscuit_auth::{Biscuit, KeyPair};

    use super::*;

    /// The strings of every fact's terms in `block`, by symbol lookup.
    fn fact_strings(token: &DecodedToken, block: &DecodedBlock) -> Vec<String> {
        block
            .proto
            .facts
            .iter()
            .flat_map(|f| &f.predicate.terms)
            .filter_map(|t| match t.content {
                Some(schema::term::Content::String(index)) => {
                    Some(token.symbol(block, index).to_owned())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn first_party_symbols_are_found_in_the_block_that_defined_them() {
        let authority = BlockBuilder::new()
            .fact(fact("owner", &[string("alice"), string("ws_1")]))
            .expect("fact");
        let second = BlockBuilder::new()
            .fact(fact("note", &[string("ws_1"), string("bob")]))
            .expect("fact");
        let third = BlockBuilder::new()
            .fact(fact(
                "note",
                &[string("carol"), string("alice"), string("bob")],
            ))
            .expect("fact");
        let token = Biscuit::builder()
            .merge(authority)
            .build(&KeyPair::new())
            .and_then(|t| t.append(second))
            .and_then(|t| t.append(third))
            .and_then(|t| t.to_vec())
            .expect("token");
        let decoded = decode_blocks(&token).expect("decoded");
        let strings: Vec<Vec<String>> = decoded
            .blocks
            .iter()
            .map(|b| fact_strings(&decoded, b))
            .collect();
        assert_eq!(
            strings,
            [
                vec!["alice", "ws_1"],
                vec!["ws_1", "bob"],
                vec!["carol", "alice", "bob"],
            ]
        );
        // An index past every block's symbols is no symbol.
        let last = decoded.blocks.last().expect("a block");
        assert_eq!(decoded.symbol(last, FIRST_BLOCK_SYMBOL + 1000), "");
    }

    /// A container with a second authority field (another token's, signed
    /// by the same key) appended: protobuf merges a repeated singular field,
    /// and this reading must see the same authority block biscuit-auth
    /// parses and verifies, never the other one.
    #[test]
    fn a_repeated_authority_is_read_as_biscuit_reads_it() {
        let root = KeyPair::new();
        let token_for = |view: &str| {
            let block = BlockBuilder::new()
                .fact(fact("view", &[string(view)]))
                .expect("fact");
            Biscuit::builder()
                .merge(block)
                .build(&root)
                .and_then(|t| t.to_vec())
                .expect("token")
        };
        let (first, second) = (token_for("v_1"), token_for("v_2"));
        let other = schema::Biscuit::decode(second.as_slice()).expect("container");
        let authority = other.authority.encode_to_vec();
        let mut forged = first.clone();
        prost::encoding::encode_key(2, prost::encoding::WireType::LengthDelimited, &mut forged);
        prost::encoding::encode_varint(authority.len() as u64, &mut forged);
        forged.extend_from_slice(&authority);

        let parsed = biscuit_auth::UnverifiedBiscuit::from(&forged).expect("parses");
        let biscuits_authority = parsed.print_block_source(0).expect("source");
        let ours = decode_blocks(&forged).expect("decoded");
        let our_authority = fact_strings(&ours, &ours.blocks[0]);
        // biscuit-auth merged the two: the later authority's fact.
        assert!(
            biscuits_authority.contains("\"v_2\""),
            "{biscuits_authority}"
        );
        assert_eq!(our_authority, ["v_2"]);
        // And refuses the result: its proof is the first token's.
        assert!(Biscuit::from(&forged, root.public()).is_err());
    }
}
