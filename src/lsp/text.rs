//! Positions: the one place where byte offsets meet LSP positions (0-based line, UTF-16
//! column), and where incremental document changes are applied.
//!
//! Everything else in the server works in byte offsets into a file's bytes, as the index
//! does. Lines end at `\n`, `\r\n` or a lone `\r`, the three line endings the protocol
//! names (a client splits lines there, so the server must too). A position past the end of
//! a line is clamped to the line's end, as the protocol asks; for a request, a line past
//! the end of the text is the text's end and an offset inside a multi-byte character is
//! moved to that character's start. Invalid UTF-8 (a file the scanner read anyway) counts
//! one UTF-16 unit per byte it cannot decode.
//!
//! A document change is applied as the client applies it, unit for unit in UTF-16 (as
//! `vscode-languageserver-textdocument` does): a range may end inside a surrogate pair and
//! keep one half of it, which the server's UTF-8 text holds as U+FFFD (one unit too), so
//! every later position still means the same place. A change that starts or ends below
//! the last line cannot have come from the text the server holds: it is refused
//! ([`EditError`]) rather than guessed at.

use std::sync::Arc;

use tower_lsp_server::ls_types::{Position, Range};

/// A text with the offsets of its line starts.
#[derive(Clone, Debug)]
pub struct Lines {
    text: Arc<[u8]>,
    /// Byte offset of every line's first byte; the first is 0.
    starts: Vec<u32>,
}

impl Lines {
    /// Indexes `text`. Lines end at `\n`, `\r\n` or a lone `\r`.
    pub fn new(text: Arc<[u8]>) -> Lines {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        starts.extend(line_breaks(&text).map(|i| (i + 1) as u32));
        Lines { text, starts }
    }

    /// The text.
    pub fn text(&self) -> &Arc<[u8]> {
        &self.text
    }

    /// The number of lines (a text ending with `\n` has an empty last line).
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// The byte range of line `line` (0-based), without its line ending.
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let Some(&start) = self.starts.get(line) else {
            return self.text.len()..self.text.len();
        };
        let mut end = self
            .starts
            .get(line + 1)
            .map(|&s| s as usize - 1)
            .unwrap_or(self.text.len());
        // `end` is at the line's last break byte: the `\n` of a `\r\n` takes its `\r`.
        if self.text.get(end) == Some(&b'\n')
            && end > start as usize
            && self.text.get(end - 1) == Some(&b'\r')
        {
            end -= 1;
        }
        start as usize..end
    }

    /// The 0-based line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len()) as u32;
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// The LSP position of byte `offset` (clamped to the text).
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.line_of(offset);
        let start = self.starts.get(line).copied().unwrap_or(0) as usize;
        let column = utf16_len(self.text.get(start..offset).unwrap_or(&[]));
        Position::new(line as u32, column as u32)
    }

    /// The LSP range of the byte range `start..end`.
    pub fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end.max(start)))
    }

    /// The byte offset of an LSP position (clamped: past the end of its line is the line's
    /// end, past the last line the text's end).
    pub fn offset(&self, pos: Position) -> usize {
        let line = pos.line as usize;
        if line >= self.starts.len() {
            return self.text.len();
        }
        let range = self.line_range(line);
        let bytes = self.text.get(range.clone()).unwrap_or(&[]);
        range.start + utf16_to_byte(bytes, pos.character as usize)
    }
}

/// UTF-16 code units in `bytes` (undecodable bytes count one each).
pub fn utf16_len(bytes: &[u8]) -> usize {
    let mut n = 0;
    for chunk in bytes.utf8_chunks() {
        n += chunk.valid().chars().map(char::len_utf16).sum::<usize>();
        n += chunk.invalid().len();
    }
    n
}

/// The byte offset in `bytes` after `units` UTF-16 code units (a unit count that falls
/// inside a surrogate pair rounds down to the character's start; past the end is the end).
fn utf16_to_byte(bytes: &[u8], units: usize) -> usize {
    let mut seen = 0usize;
    let mut at = 0usize;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            let w = c.len_utf16();
            if seen + w > units {
                return at;
            }
            seen += w;
            at += c.len_utf8();
        }
        for _ in chunk.invalid() {
            if seen + 1 > units {
                return at;
            }
            seen += 1;
            at += 1;
        }
    }
    at
}

/// The offsets of the bytes that end a line: every `\n`, and every `\r` not followed by
/// a `\n`.
fn line_breaks(text: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr2_iter(b'\n', b'\r', text)
        .filter(move |&i| !(text[i] == b'\r' && text.get(i + 1) == Some(&b'\n')))
}

/// Why a change cannot be applied: it was made to a text other than the server's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// A position lies below the line after the last one.
    #[error("line {line} is past the end of the document ({lines} lines)")]
    PastEnd {
        /// The position's line (0-based).
        line: u32,
        /// The document's line count.
        lines: usize,
    },
}

/// Where a position falls in a text, for an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spot {
    /// The byte offset of the position, or of the character it falls inside.
    at: usize,
    /// The position is between the two UTF-16 units of the character at `at`.
    inside: bool,
}

/// Finds `pos` in `text`: a column past the line's end is the line's end; the line after
/// the last is the text's end; a line beyond that is an error.
fn spot(text: &str, pos: Position) -> Result<Spot, EditError> {
    let bytes = text.as_bytes();
    let mut start = 0usize;
    let mut breaks = line_breaks(bytes);
    for line in 0..pos.line {
        match breaks.next() {
            Some(i) => start = i + 1,
            None if line + 1 == pos.line => {
                return Ok(Spot {
                    at: bytes.len(),
                    inside: false,
                });
            }
            None => {
                return Err(EditError::PastEnd {
                    line: pos.line,
                    lines: line as usize + 1,
                });
            }
        }
    }
    let end = memchr::memchr2(b'\n', b'\r', &bytes[start..]).map_or(bytes.len(), |i| start + i);
    let mut units = 0u32;
    for (i, c) in text[start..end].char_indices() {
        if units >= pos.character {
            return Ok(Spot {
                at: start + i,
                inside: false,
            });
        }
        let w = c.len_utf16() as u32;
        if units + w > pos.character {
            return Ok(Spot {
                at: start + i,
                inside: true,
            });
        }
        units += w;
    }
    Ok(Spot {
        at: end,
        inside: false,
    })
}

/// Applies one change of `textDocument/didChange` to `text`: a range replaced, or with no
/// range the whole text. A range whose end is before its start is taken the other way
/// round, as VS Code's text document does. On an error the text is unchanged.
pub fn apply_change(
    text: &mut String,
    range: Option<Range>,
    new_text: &str,
) -> Result<(), EditError> {
    let Some(range) = range else {
        text.clear();
        text.push_str(new_text);
        return Ok(());
    };
    let (mut from, mut to) = (range.start, range.end);
    if (to.line, to.character) < (from.line, from.character) {
        std::mem::swap(&mut from, &mut to);
    }
    let start = spot(text, from)?;
    let end = spot(text, to)?;
    // A half of a surrogate pair that the range leaves standing is U+FFFD: one UTF-16 unit,
    // as the half is in the client's text.
    let cut_end = if end.inside {
        end.at + text[end.at..].chars().next().map_or(0, char::len_utf8)
    } else {
        end.at
    };
    let mut insert = String::with_capacity(new_text.len() + 6);
    if start.inside {
        insert.push(char::REPLACEMENT_CHARACTER);
    }
    insert.push_str(new_text);
    if end.inside {
        insert.push(char::REPLACEMENT_CHARACTER);
    }
    text.replace_range(start.at..cut_end.max(start.at), &insert);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Lines {
        Lines::new(Arc::from(s.as_bytes()))
    }

    #[test]
    fn positions_count_utf16_units() {
        // "é" is 2 bytes and 1 unit; "😀" is 4 bytes and 2 units.
        let l = lines("ab\né😀x\r\nlast");
        assert_eq!(l.position(0), Position::new(0, 0));
        assert_eq!(l.position(3), Position::new(1, 0));
        assert_eq!(l.position(5), Position::new(1, 1));
        assert_eq!(l.position(9), Position::new(1, 3));
        assert_eq!(l.position(10), Position::new(1, 4));
        assert_eq!(l.offset(Position::new(1, 3)), 9);
        assert_eq!(l.offset(Position::new(1, 4)), 10);
        // Past the end of the line: the line's end, before "\r\n".
        assert_eq!(l.offset(Position::new(1, 99)), 10);
        // Inside the surrogate pair: the character's start.
        assert_eq!(l.offset(Position::new(1, 2)), 5);
        assert_eq!(l.offset(Position::new(2, 2)), 14);
        assert_eq!(l.offset(Position::new(9, 0)), 16);
        assert_eq!(l.position(999), Position::new(2, 4));
    }

    #[test]
    fn invalid_utf8_counts_a_unit_per_byte() {
        let l = Lines::new(Arc::from(&b"a\xff\xfeb"[..]));
        assert_eq!(l.position(4), Position::new(0, 4));
        assert_eq!(l.offset(Position::new(0, 3)), 3);
    }

    #[test]
    fn lines_end_at_lf_crlf_and_a_lone_cr() {
        let l = lines("a\rb\r\nc\nd\r");
        assert_eq!(l.line_count(), 5);
        assert_eq!(l.line_range(0), 0..1);
        assert_eq!(l.line_range(1), 2..3);
        assert_eq!(l.line_range(2), 5..6);
        assert_eq!(l.line_range(3), 7..8);
        assert_eq!(l.line_range(4), 9..9);
        assert_eq!(l.position(2), Position::new(1, 0));
        assert_eq!(l.offset(Position::new(1, 9)), 3);
        assert_eq!(l.offset(Position::new(3, 1)), 8);
        // Two breaks in a row: an empty line between them.
        let l = lines("x\r\ry");
        assert_eq!(l.line_count(), 3);
        assert_eq!(l.offset(Position::new(2, 0)), 3);
    }

    fn change(
        text: &str,
        (l1, c1): (u32, u32),
        (l2, c2): (u32, u32),
        new: &str,
    ) -> Result<String, EditError> {
        let mut t = text.to_string();
        let range = Range::new(Position::new(l1, c1), Position::new(l2, c2));
        apply_change(&mut t, Some(range), new).map(|()| t)
    }

    #[test]
    fn changes_apply_in_place_and_clamp() {
        assert_eq!(
            change("hello\nwörld\n", (1, 1), (1, 2), "o").as_deref(),
            Ok("hello\nworld\n")
        );
        // Past the end of a line: the line's end; the line after the last: the text's end.
        assert_eq!(
            change("hello\nworld\n", (0, 5), (2, 0), "!").as_deref(),
            Ok("hello!")
        );
        assert_eq!(
            change("ab\r\ncd", (0, 9), (0, 99), "!").as_deref(),
            Ok("ab!\r\ncd")
        );
        assert_eq!(
            change("ab\rcd", (1, 1), (1, 1), "!").as_deref(),
            Ok("ab\rc!d")
        );
        // End before start: the range the other way round (as VS Code does).
        assert_eq!(change("hello", (0, 5), (0, 1), "?").as_deref(), Ok("h?"));
        let mut t = String::from("old");
        apply_change(&mut t, None, "new").expect("a whole text");
        assert_eq!(t, "new");
    }

    #[test]
    fn a_change_below_the_last_line_is_refused_and_changes_nothing() {
        let text = "one\ntwo";
        assert_eq!(
            change(text, (3, 0), (3, 0), "x"),
            Err(EditError::PastEnd { line: 3, lines: 2 })
        );
        assert_eq!(
            change(text, (0, 0), (7, 1), "x"),
            Err(EditError::PastEnd { line: 7, lines: 2 })
        );
        // The line after the last is the end (a client's "to the end" idiom).
        assert_eq!(
            change(text, (2, 0), (2, 0), "!").as_deref(),
            Ok("one\ntwo!")
        );
    }

    #[test]
    fn a_range_inside_a_surrogate_pair_keeps_the_other_half_as_one_unit() {
        // 😀 is D83D DE00; replacing its low half (column 1..2) by another low half, as a
        // diff of 😀 -> 😁 does, leaves two units: the high half and the new text.
        assert_eq!(
            change("a😀b", (0, 2), (0, 3), "\u{FFFD}").as_deref(),
            Ok("a\u{FFFD}\u{FFFD}b")
        );
        // Deleting the high half keeps the low one.
        assert_eq!(
            change("😀b", (0, 0), (0, 1), "").as_deref(),
            Ok("\u{FFFD}b")
        );
        // Inserting between the halves.
        assert_eq!(
            change("😀", (0, 1), (0, 1), "x").as_deref(),
            Ok("\u{FFFD}x\u{FFFD}")
        );
        // A later edit lands where the client's lands: the column after the emoji is 2.
        let t = change("😀b", (0, 1), (0, 1), "x").expect("applied");
        assert_eq!(
            change(&t, (0, 3), (0, 4), "B").as_deref(),
            Ok("\u{FFFD}x\u{FFFD}B")
        );
    }

    /// The reference: `vscode-languageserver-textdocument`'s `update`, on UTF-16 code
    /// units (lines at `\r\n`, `\r`, `\n`; `offsetAt` clamps a column to the line's end
    /// before its break, and a line at or past the line count to the end), decoded back
    /// with every lone surrogate as U+FFFD.
    fn reference(text: &str, range: Range, new: &str) -> String {
        let units: Vec<u16> = text.encode_utf16().collect();
        let mut offsets = vec![0usize];
        let mut i = 0;
        while i < units.len() {
            let c = units[i];
            if c == b'\r' as u16 || c == b'\n' as u16 {
                if c == b'\r' as u16 && units.get(i + 1) == Some(&(b'\n' as u16)) {
                    i += 1;
                }
                offsets.push(i + 1);
            }
            i += 1;
        }
        let offset_at = |p: Position| -> usize {
            let line = p.line as usize;
            if line >= offsets.len() {
                return units.len();
            }
            let start = offsets[line];
            let next = offsets.get(line + 1).copied().unwrap_or(units.len());
            let mut at = (start + p.character as usize).min(next);
            while at > start && matches!(units[at - 1], 10 | 13) {
                at -= 1;
            }
            at
        };
        let (mut a, mut b) = (range.start, range.end);
        if (b.line, b.character) < (a.line, a.character) {
            std::mem::swap(&mut a, &mut b);
        }
        let (a, b) = (offset_at(a), offset_at(b));
        let mut out: Vec<u16> = units[..a].to_vec();
        out.extend(new.encode_utf16());
        out.extend_from_slice(&units[b..]);
        String::from_utf16_lossy(&out)
    }

    fn line_count(text: &str) -> usize {
        line_breaks(text.as_bytes()).count() + 1
    }

    use proptest::prelude::*;

    fn doc() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("é"),
                Just("😀"),
                Just("\u{FFFD}"),
                Just("\n"),
                Just("\r\n"),
                Just("\r"),
                Just(" "),
            ],
            0..24,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        /// Every change gives the text the client has (with its lone surrogate halves as
        /// U+FFFD), or is refused only when it reaches below the line after the last.
        #[test]
        fn changes_match_the_utf16_reference(
            text in doc(),
            new in doc(),
            l1 in 0u32..8, c1 in 0u32..12, l2 in 0u32..8, c2 in 0u32..12,
        ) {
            let range = Range::new(Position::new(l1, c1), Position::new(l2, c2));
            let mut ours = text.clone();
            let lines = line_count(&text);
            match apply_change(&mut ours, Some(range), &new) {
                Ok(()) => {
                    prop_assert!(l1 as usize <= lines && l2 as usize <= lines);
                    prop_assert_eq!(ours, reference(&text, range, &new));
                }
                Err(EditError::PastEnd { .. }) => {
                    prop_assert!(l1 as usize > lines || l2 as usize > lines);
                    prop_assert_eq!(ours, text);
                }
            }
        }

        /// Positions of a request agree with the reference's line splitting.
        #[test]
        fn positions_round_trip(text in doc(), at in 0usize..64) {
            let l = lines(&text);
            let at = text.char_indices().map(|(i, _)| i).chain([text.len()])
                .nth(at % (text.chars().count() + 1)).unwrap_or(0);
            let p = l.position(at);
            let b = text.as_bytes();
            // Between the `\r` and `\n` of a line break is not a place a client can name.
            let inside_break = at > 0 && b[at - 1] == b'\r' && b.get(at) == Some(&b'\n');
            if !inside_break {
                prop_assert_eq!(l.offset(p), at);
            }
            prop_assert_eq!(l.line_count(), line_count(&text));
        }
    }
}
