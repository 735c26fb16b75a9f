//! Guards around biscuit-auth's Datalog parser and printer for text that
//! may come from outside: a nesting limit (its parser recurses without one)
//! and a panic catcher (it panics on some malformed input).

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
