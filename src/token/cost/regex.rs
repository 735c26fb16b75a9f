//! What one `.matches()` costs: biscuit-auth compiles its pattern afresh
//! at every evaluation, so the estimate bounds the compiled size of a
//! literal pattern (and prices any other pattern as prohibitive).

/// The cost of one `.matches()` whose pattern is not a literal (a
/// variable's): biscuit-auth compiles the pattern at every evaluation, and
/// a 17-byte pattern (`[\p{L}\p{N}]{500}`) takes about 250 ms to compile.
/// Far above the default `max_expression_cost`.
pub(crate) const REGEX_COST: u64 = 50_000_000;

/// What compiling any pattern costs, at least (the regex crate builds
/// several engines).
const REGEX_BASE: u64 = 5_000;

/// What one byte of compiled pattern costs to compile.
const REGEX_UNIT: u64 = 200;

/// How many pattern bytes one Unicode-wide item (`\w`, `\p{..}`, `.`, a
/// negated class, a flag group, a non-ASCII character) may compile to.
const REGEX_WIDE_ITEM: u64 = 1_000;

/// The cost of one `.matches()` of `pattern` (when a literal) on a string
/// of at most `haystack` bytes: compiling it, then a scan of the string.
pub(super) fn regex_cost(pattern: Option<&str>, haystack: u64) -> u64 {
    let Some(pattern) = pattern else {
        return REGEX_COST.saturating_add(haystack);
    };
    let size = regex_size(pattern);
    let scan = haystack.saturating_mul(size / 64 + 1);
    size.saturating_mul(REGEX_UNIT)
        .saturating_add(REGEX_BASE)
        .saturating_add(scan)
}

/// An upper bound on how large `pattern` compiles, in pattern bytes: its
/// length plus what its Unicode-wide items expand to, times every counted
/// repetition (`{n}`, `{n,}`, `{n,m}`) as if each wrapped the whole
/// pattern, which nested repetitions may.
pub(crate) fn regex_size(pattern: &str) -> u64 {
    let bytes = pattern.as_bytes();
    let mut wide = 0u64;
    let mut repeat = 1u64;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        match b {
            b'\\' => {
                if next.is_some_and(|c| !c.is_ascii_punctuation()) {
                    wide += 1;
                }
                i += 1;
            }
            b'.' => wide += 1,
            b'[' if next == Some(b'^') => wide += 1,
            b'(' if next == Some(b'?') && bytes.get(i + 2) != Some(&b':') => wide += 1,
            b'{' => {
                let (count, end) = repetition(bytes, i + 1);
                repeat = repeat.saturating_mul(count.max(1));
                i = end;
            }
            0x80.. => wide += 1,
            _ => {}
        }
        i += 1;
    }
    wide.saturating_mul(REGEX_WIDE_ITEM)
        .saturating_add(bytes.len() as u64)
        .saturating_mul(repeat)
}

/// The largest count a repetition starting at `start` (after `{`) allows,
/// one more when it is open-ended, and where it ends (its `}`).
fn repetition(bytes: &[u8], start: usize) -> (u64, usize) {
    let mut largest = 0u64;
    let mut current = 0u64;
    let mut open = false;
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'0'..=b'9' => {
                current = current
                    .saturating_mul(10)
                    .saturating_add(u64::from(b - b'0'));
                open = false;
            }
            b',' => {
                largest = largest.max(current);
                current = 0;
                open = true;
            }
            b'}' => break,
            _ => {}
        }
        i += 1;
    }
    largest = largest.max(current);
    (
        if open {
            largest.saturating_add(1)
        } else {
            largest
        },
        i,
    )
}
