//! Text that came from a token or the store, made safe to show on a terminal.
//!
//! A token's labels and facts are written by whoever made the token, and a
//! foreign biscuit can hold any string. Printed raw, an `ESC [` sequence
//! recolours or rewrites the screen, `\r` overwrites the start of a line,
//! and a bidirectional override (U+202E) makes `right("view","v_1","read")`
//! read as something else. [`terminal_safe`] turns every such character into
//! a visible escape (`\x1b`, `\r`, `\u{202e}`) and leaves all other text,
//! non-ASCII letters included, as it is. [`json_safe`] does the same for JSON
//! text, as `\uXXXX` escapes that decode to the very same string.
//!
//! Pure functions: no I/O.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for a character a terminal acts on or that hides or reorders text:
/// C0 and C1 controls and DEL (ESC and CSI among them), the line and
/// paragraph separators, the bidirectional controls (U+061C, U+200E,
/// U+200F, U+202A–U+202E, U+2066–U+2069) and invisible formatting
/// characters (soft hyphen, zero-width space, word joiner and the invisible
/// operators, the deprecated format controls, the byte-order mark,
/// interlinear annotation marks, tag characters).
///
/// The zero-width joiner and non-joiner (U+200D, U+200C) are kept: emoji
/// sequences and several scripts need them, and they reorder nothing.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// The visible escape shown for an unsafe character: `\n`, `\r`, `\t`,
/// `\x1b` for the other ASCII controls and DEL, `\u{202e}` for the rest.
pub fn escape_char(c: char) -> String {
    match c {
        '\n' => "\\n".to_owned(),
        '\r' => "\\r".to_owned(),
        '\t' => "\\t".to_owned(),
        c if c.is_ascii() => format!("\\x{:02x}", u32::from(c)),
        c => format!("\\u{{{:x}}}", u32::from(c)),
    }
}

/// `text` with every [unsafe](is_unsafe_char) character replaced by its
/// [escape](escape_char); borrowed unchanged when there is none.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    escape_with(text, is_unsafe_char, |c, out| out.push_str(&escape_char(c)))
}

/// JSON text (as serde_json writes it) with every unsafe character still in
/// it written as `\uXXXX` (a surrogate pair above U+FFFF). serde_json
/// escapes C0 controls inside strings, so a raw one is JSON whitespace (the
/// newlines of pretty output) and stays; DEL, C1 controls, bidirectional
/// and invisible formatting characters it leaves raw, and those can only
/// occur inside strings, so the result parses to the same value.
pub fn json_safe(json: &str) -> Cow<'_, str> {
    let raw_in_json = |c: char| is_unsafe_char(c) && !is_c0(c);
    escape_with(json, raw_in_json, |c, out| {
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{unit:04x}");
        }
    })
}

fn is_c0(c: char) -> bool {
    c < '\u{20}'
}

fn escape_with(
    text: &str,
    unsafe_char: impl Fn(char) -> bool,
    escape: impl Fn(char, &mut String),
) -> Cow<'_, str> {
    if !text.chars().any(&unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_escape_sequences_become_visible() {
        assert_eq!(
            terminal_safe("a\u{1b}[31mred\u{1b}[0m"),
            "a\\x1b[31mred\\x1b[0m"
        );
        assert_eq!(terminal_safe("ok\rEVIL\n\t"), "ok\\rEVIL\\n\\t");
        assert_eq!(terminal_safe("\u{0}\u{7}\u{7f}"), "\\x00\\x07\\x7f");
        // C1: CSI and OSC as single characters, and NEL.
        assert_eq!(
            terminal_safe("\u{9b}2J\u{9d}0;t\u{85}"),
            "\\u{9b}2J\\u{9d}0;t\\u{85}"
        );
    }

    #[test]
    fn bidi_and_invisible_characters_become_visible() {
        for (c, shown) in [
            ('\u{202a}', "\\u{202a}"),
            ('\u{202b}', "\\u{202b}"),
            ('\u{202c}', "\\u{202c}"),
            ('\u{202d}', "\\u{202d}"),
            ('\u{202e}', "\\u{202e}"),
            ('\u{2066}', "\\u{2066}"),
            ('\u{2067}', "\\u{2067}"),
            ('\u{2068}', "\\u{2068}"),
            ('\u{2069}', "\\u{2069}"),
            ('\u{200e}', "\\u{200e}"),
            ('\u{200f}', "\\u{200f}"),
            ('\u{061c}', "\\u{61c}"),
            ('\u{200b}', "\\u{200b}"),
            ('\u{2028}', "\\u{2028}"),
            ('\u{2029}', "\\u{2029}"),
            ('\u{feff}', "\\u{feff}"),
            ('\u{00ad}', "\\u{ad}"),
            ('\u{e0041}', "\\u{e0041}"),
        ] {
            assert!(is_unsafe_char(c), "{c:?}");
            assert_eq!(terminal_safe(&format!("x{c}y")), format!("x{shown}y"));
        }
    }

    #[test]
    fn ordinary_text_is_unchanged_and_borrowed() {
        for s in [
            "",
            "contractor Q3",
            "Müller & Söhne – café",
            "日本語のラベル",
            "עברית ومرحبا",
            "👩‍💻 team",
            r#"right("view", "v_1", "read")"#,
            "back\\slash",
        ] {
            assert!(
                matches!(terminal_safe(s), Cow::Borrowed(t) if t == s),
                "{s}"
            );
            assert!(matches!(json_safe(s), Cow::Borrowed(t) if t == s), "{s}");
        }
    }

    #[test]
    fn json_stays_the_same_value_without_raw_unsafe_characters() {
        let value = serde_json::json!({
            "label": "\u{202e}gnp.exe \u{1b}[2J\u{9b}\u{7f}\u{2066}\u{e0041} é日本",
        });
        for text in [
            serde_json::to_string(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap(),
        ] {
            assert!(text.contains('\u{202e}'), "serde_json leaves bidi raw");
            let safe = json_safe(&text);
            assert!(
                !safe.chars().any(|c| is_unsafe_char(c) && c != '\n'),
                "{safe}"
            );
            assert!(safe.contains("\\u202e") && safe.contains("\\udb40\\udc41"));
            assert!(safe.contains("\\u001b") && safe.contains("\\u009b"));
            assert!(safe.contains("é日本"));
            let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
            assert_eq!(back, value);
        }
    }
}
