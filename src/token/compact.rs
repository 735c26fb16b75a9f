//! The compact text form, for share links: `tsz_` followed by the URL-safe
//! base64 of the token's biscuit bytes compressed with raw deflate and a
//! preset dictionary.
//!
//! The biscuit itself is unchanged: the same bytes, the same signatures, the
//! same `tessera(1)` vocabulary; only the transport is shorter. Signatures,
//! next keys and the proof (about 130 bytes of every token) do not compress;
//! what does is the vocabulary — predicate names, operation names, the
//! protobuf skeleton — which the dictionary already holds, so a guest token's
//! authority block shrinks to its ids, dates and token id.
//!
//! The dictionary is part of the format: `compact.dict` must never change
//! (links already handed out inflate with it). A better dictionary needs a new
//! prefix. `tests/share_links.rs` shows how it was made and checks that the
//! committed file is still what that recipe makes.
//!
//! Inflating is bounded: the output may not exceed what the plain text form
//! of the same token would be allowed to carry, so a compact token is
//! admitted exactly when its plain form would be, and a deflate bomb stops at
//! the limit.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::error::TokenError;

/// The prefix of the compact text form.
pub const COMPACT_PREFIX: &str = "tsz_";

/// Raw deflate's preset dictionary: serialized Tessera tokens of every kind
/// (see the module docs; never edit).
const DICTIONARY: &[u8] = include_bytes!("compact.dict");

/// Compresses a token's biscuit bytes.
pub(super) fn deflate(bytes: &[u8]) -> Result<Vec<u8>, TokenError> {
    let mut compress = Compress::new(Compression::best(), false);
    compress
        .set_dictionary(DICTIONARY)
        .map_err(|_| TokenError::Build)?;
    // Deflate's worst case is a few bytes per 16 KiB block over the input.
    let mut out = Vec::with_capacity(bytes.len() + 64);
    loop {
        let consumed = usize::try_from(compress.total_in()).map_err(|_| TokenError::Build)?;
        let rest = bytes.get(consumed..).ok_or(TokenError::Build)?;
        match compress.compress_vec(rest, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => return Ok(out),
            Ok(Status::Ok | Status::BufError) => out.reserve(out.capacity().max(64)),
            Err(_) => return Err(TokenError::Build),
        }
    }
}

/// Inflates a compact token's compressed bytes, refusing output over
/// `max_bytes`, a stream that does not end, and bytes after its end.
pub(super) fn inflate(compressed: &[u8], max_bytes: usize) -> Result<Vec<u8>, TokenError> {
    let mut decompress = Decompress::new(false);
    decompress
        .set_dictionary(DICTIONARY)
        .map_err(|_| TokenError::Malformed("compact token does not inflate"))?;
    // Grow as needed, never past one byte over the limit (which tells "at
    // the limit" from "over it").
    let mut out = Vec::with_capacity(
        compressed
            .len()
            .saturating_mul(4)
            .clamp(256, max_bytes.saturating_add(1)),
    );
    loop {
        let consumed = usize::try_from(decompress.total_in()).unwrap_or(usize::MAX);
        let rest = compressed.get(consumed..).unwrap_or_default();
        let status = decompress
            .decompress_vec(rest, &mut out, FlushDecompress::Finish)
            .map_err(|_| TokenError::Malformed("compact token does not inflate"))?;
        if out.len() > max_bytes {
            return Err(TokenError::Malformed("token is larger than the limit"));
        }
        let consumed = usize::try_from(decompress.total_in()).unwrap_or(usize::MAX);
        match status {
            Status::StreamEnd if consumed == compressed.len() => return Ok(out),
            Status::StreamEnd => {
                return Err(TokenError::Malformed("bytes after the compact token"))
            }
            Status::Ok | Status::BufError if out.len() == out.capacity() => {
                out.reserve(out.capacity().min(max_bytes.saturating_add(1) - out.len()));
            }
            Status::Ok | Status::BufError => {
                return Err(TokenError::Malformed("compact token is truncated"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let bytes: Vec<u8> = (0..300u32).map(|i| (i * 7 % 251) as u8).collect();
        let packed = deflate(&bytes).unwrap();
        assert_eq!(inflate(&packed, 300).unwrap(), bytes);
        assert_eq!(
            inflate(&packed, 299).unwrap_err(),
            TokenError::Malformed("token is larger than the limit")
        );
        assert_eq!(
            inflate(&packed[..packed.len() - 1], 300).unwrap_err(),
            TokenError::Malformed("compact token is truncated")
        );
        let mut trailing = packed.clone();
        trailing.push(0);
        assert_eq!(
            inflate(&trailing, 300).unwrap_err(),
            TokenError::Malformed("bytes after the compact token")
        );
    }

    #[test]
    fn grows_past_the_first_guess_and_takes_a_huge_limit() {
        let bytes: Vec<u8> = (0..5000u32).map(|i| (i % 3) as u8).collect();
        let packed = deflate(&bytes).unwrap();
        assert!(packed.len() * 4 < 5000);
        assert_eq!(inflate(&packed, usize::MAX).unwrap(), bytes);
        assert_eq!(inflate(&packed, 5000).unwrap(), bytes);
    }

    #[test]
    fn a_deflate_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 1 << 20];
        let bomb = deflate(&zeros).unwrap();
        assert!(
            bomb.len() < 2048,
            "1 MiB of zeros deflates to {}",
            bomb.len()
        );
        assert_eq!(
            inflate(&bomb, 6 * 1024).unwrap_err(),
            TokenError::Malformed("token is larger than the limit")
        );
    }
}
