//! The dump's JSON, written by hand into a byte buffer: strings escaped exactly as
//! `serde_json` escapes them, integers with `itoa`, and the pretty layout's punctuation as
//! fixed byte strings. This is what lets the dump write borrowed index text without building
//! a `String` or a serde value per field.
//!
//! It must never differ from `serde_json::to_writer_pretty`: the tests below hold the
//! escaper to `serde_json::to_string` on arbitrary strings, and `tests/cli_scale.rs` holds the
//! whole streamed dump to the serde-built one.

/// What follows a backslash for a byte that must be escaped (`0`: the byte is written as
/// is; `u`: as `\u00XX`). The same table as `serde_json`'s.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The bytes of `x` that need escaping (a control byte below 0x20, a quote or a
/// backslash) as high bits: zero when none does, and the lowest set bit is exactly the first
/// such byte (little-endian); bits above it may be false. Bytes from 0x80 up (UTF-8
/// sequences) never match.
#[inline]
fn escape_mask(x: u64) -> u64 {
    // Some byte below n: (x - n*ONES) & !x & HIGHS (n <= 0x80); some byte equal to c: a
    // byte of x ^ c*ONES below 1. A borrow only runs upwards, so the lowest hit is exact.
    let below_space = x.wrapping_sub(0x20 * ONES) & !x;
    let q = x ^ (b'"' as u64 * ONES);
    let quote = q.wrapping_sub(ONES) & !q;
    let s = x ^ (b'\\' as u64 * ONES);
    let backslash = s.wrapping_sub(ONES) & !s;
    (below_space | quote | backslash) & HIGHS
}

/// Appends `s` escaped as the inside of a JSON string (no quotes): clean runs are found
/// eight bytes at a time and copied whole.
pub(super) fn escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // The next eight bytes, or the last few padded with spaces (which need nothing).
        let mut word = [b' '; 8];
        let avail = match bytes.get(i..i + 8) {
            Some(chunk) => {
                word.copy_from_slice(chunk);
                8
            }
            None => {
                let tail = &bytes[i..];
                word[..tail.len()].copy_from_slice(tail);
                tail.len()
            }
        };
        let mask = escape_mask(u64::from_le_bytes(word));
        if mask == 0 {
            i += avail;
            continue;
        }
        let at = i + (mask.trailing_zeros() / 8) as usize;
        let byte = bytes[at];
        debug_assert_ne!(ESCAPE[byte as usize], 0, "the mask's lowest hit is exact");
        out.extend_from_slice(&bytes[start..at]);
        match ESCAPE[byte as usize] {
            b'u' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(byte >> 4) as usize],
                    HEX[(byte & 0xf) as usize],
                ]);
            }
            escape => out.extend_from_slice(&[b'\\', escape]),
        }
        i = at + 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends `s` as a JSON string.
pub(super) fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escaped(out, s);
    out.push(b'"');
}

/// Appends `s` as a JSON string, or `null`.
pub(super) fn opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends an unsigned integer.
pub(super) fn uint(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends the separator before an object member or array element at `indent` spaces, the
/// way serde_json's pretty printer does: a newline (after a comma unless it is the first)
/// and the indentation.
pub(super) fn next(out: &mut Vec<u8>, first: bool, indent: usize) {
    const SPACES: &[u8; 64] = &[b' '; 64];
    out.extend_from_slice(if first { b"\n" } else { b",\n" });
    let mut left = indent;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.extend_from_slice(&SPACES[..n]);
        left -= n;
    }
}

/// Appends the separator before an element of an object or array (see [`next`]), after
/// the opening bracket `open` when it is the first.
pub(super) fn item(out: &mut Vec<u8>, first: bool, indent: usize, open: u8) {
    if first {
        out.push(open);
    }
    next(out, first, indent);
}

/// Appends the end of a non-empty object or array whose own line is at `indent` spaces.
pub(super) fn close(out: &mut Vec<u8>, indent: usize, bracket: u8) {
    next(out, true, indent);
    out.push(bracket);
}

/// Appends `"key": ` after its separator (see [`next`]).
pub(super) fn key(out: &mut Vec<u8>, first: bool, indent: usize, key: &str) {
    next(out, first, indent);
    string(out, key);
    out.extend_from_slice(b": ");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn esc(s: &str) -> String {
        let mut out = Vec::new();
        string(&mut out, s);
        String::from_utf8(out).expect("escaped text stays UTF-8")
    }

    fn serde(s: &str) -> String {
        serde_json::to_string(s).expect("a str serializes")
    }

    #[test]
    fn control_characters_use_serde_jsons_short_and_unicode_escapes() {
        assert_eq!(esc("\u{8}\t\n\u{c}\r"), r#""\b\t\n\f\r""#);
        assert_eq!(
            esc("\u{0}\u{1}\u{b}\u{1f}"),
            r#""\u0000\u0001\u000b\u001f""#
        );
        assert_eq!(esc("\u{7f}"), "\"\u{7f}\"");
        for c in 0u8..0x20 {
            let s = (c as char).to_string();
            assert_eq!(esc(&s), serde(&s), "byte {c:#x}");
        }
    }

    #[test]
    fn quotes_and_backslashes_are_escaped_everywhere_in_a_long_run() {
        assert_eq!(esc(r#"a"b\c"#), r#""a\"b\\c""#);
        // Positions inside and across the eight-byte chunks.
        let s = "0123456789abcdef\"0123456\\x01234567\n";
        assert_eq!(esc(s), serde(s));
        let s = "\"\"\"\"\"\"\"\"\\\\\\\\\\\\\\\\";
        assert_eq!(esc(s), serde(s));
    }

    #[test]
    fn line_and_paragraph_separators_and_other_unicode_are_written_as_is() {
        // serde_json does not escape U+2028 / U+2029: neither does the dump.
        let s = "a\u{2028}b\u{2029}c é 日本 🦀";
        assert_eq!(esc(s), format!("\"{s}\""));
        assert_eq!(esc(s), serde(s));
    }

    #[test]
    fn empty_and_clean_strings_are_copied() {
        assert_eq!(esc(""), "\"\"");
        let s = "generated_10000_1.benchmark.all_controls_acm_37";
        assert_eq!(esc(s), serde(s));
    }

    #[test]
    fn separators_and_integers_match_the_pretty_printer() {
        let mut out = Vec::new();
        out.push(b'{');
        key(&mut out, true, 2, "a");
        uint(&mut out, 0u32);
        key(&mut out, false, 2, "b");
        uint(&mut out, u32::MAX);
        key(&mut out, false, 2, "c");
        opt_string(&mut out, None);
        key(&mut out, false, 2, "d");
        opt_string(&mut out, Some("x"));
        close(&mut out, 0, b'}');
        let v = serde_json::json!({"a": 0, "b": u32::MAX, "c": null, "d": "x"});
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            serde_json::to_string_pretty(&v).expect("serializes")
        );
    }

    proptest! {
        #[test]
        fn the_escaper_is_serde_jsons(s in any::<String>()) {
            prop_assert_eq!(esc(&s), serde(&s));
        }

        #[test]
        fn the_escaper_is_serde_jsons_on_json_special_text(
            s in proptest::string::string_regex("[\\x00-\\x21\"\\\\a\u{2028}\u{2029}é]{0,40}")
                .expect("valid regex"),
        ) {
            prop_assert_eq!(esc(&s), serde(&s));
        }
    }
}
