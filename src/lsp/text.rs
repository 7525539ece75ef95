//! Positions: the one place where byte offsets meet LSP positions (0-based line, UTF-16
//! column), and where incremental document changes are applied.
//!
//! Everything else in the server works in byte offsets into a file's bytes, as the index
//! does. A position past the end of a line is clamped to the line's end, a line past the end
//! of the text to the text's end, as the protocol asks; an offset inside a multi-byte
//! character is moved to that character's start. Invalid UTF-8 (a file the scanner read
//! anyway) counts one UTF-16 unit per byte it cannot decode.

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
    /// Indexes `text`. Lines end at `\n` (a `\r` before it belongs to the line ending).
    pub fn new(text: Arc<[u8]>) -> Lines {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', &text).map(|i| (i + 1) as u32));
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
        if end > start as usize && self.text.get(end - 1) == Some(&b'\r') {
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

/// Applies one change of `textDocument/didChange` to `text`: a range replaced, or with no
/// range the whole text. Ranges are clamped; a range whose end is before its start is
/// treated as empty at its start.
pub fn apply_change(text: &mut String, range: Option<Range>, new_text: &str) {
    let Some(range) = range else {
        text.clear();
        text.push_str(new_text);
        return;
    };
    let lines = Lines::new(Arc::from(text.as_bytes()));
    let start = floor_char(text, lines.offset(range.start));
    let end = floor_char(text, lines.offset(range.end)).max(start);
    text.replace_range(start..end, new_text);
}

/// The nearest character boundary at or before `i`.
fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
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
    fn changes_apply_in_place_and_clamp() {
        let mut t = String::from("hello\nwörld\n");
        apply_change(
            &mut t,
            Some(Range::new(Position::new(1, 1), Position::new(1, 2))),
            "o",
        );
        assert_eq!(t, "hello\nworld\n");
        apply_change(
            &mut t,
            Some(Range::new(Position::new(0, 5), Position::new(7, 0))),
            "!",
        );
        assert_eq!(t, "hello!");
        // End before start: an insertion at the start.
        apply_change(
            &mut t,
            Some(Range::new(Position::new(0, 5), Position::new(0, 1))),
            "?",
        );
        assert_eq!(t, "hello?!");
        apply_change(&mut t, None, "new");
        assert_eq!(t, "new");
    }
}
