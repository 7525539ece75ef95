//! Text helpers the scanner needs: byte offsets to line/column positions, and decoding of
//! literal strings and heredocs. Pure functions over bytes; no allocation except into the
//! caller's buffer.

use super::Pos;

/// Turns byte offsets into [`Pos`]itions. Requests are expected in roughly increasing order
/// (the scanner asks as it goes), so each call only counts the bytes since the previous one;
/// going backwards is allowed and costs the distance walked.
pub struct LineIndex<'s> {
    src: &'s [u8],
    /// Where line 1 starts (after a BOM).
    first_line_start: usize,
    /// The offset of the previous request.
    at: usize,
    /// 1-based line of `at`.
    line: u32,
    /// Start of the line holding `at`.
    line_start: usize,
    /// 1-based column of `at`.
    column: u32,
    /// False once the source is known to hold invalid UTF-8: columns then count each
    /// invalid sequence as one character, as a lossy decoding shows it.
    valid_utf8: bool,
}

impl<'s> LineIndex<'s> {
    /// A cursor at the start of `src`; `first_line_start` skips a BOM.
    pub fn new(src: &'s [u8], first_line_start: usize) -> Self {
        let first_line_start = first_line_start.min(src.len());
        LineIndex {
            src,
            first_line_start,
            at: first_line_start,
            line: 1,
            line_start: first_line_start,
            column: 1,
            valid_utf8: true,
        }
    }

    /// Columns must be counted the slow way: the source is not valid UTF-8.
    pub fn set_invalid_utf8(&mut self) {
        self.valid_utf8 = false;
    }

    fn chars(&self, bytes: &[u8]) -> u32 {
        if self.valid_utf8 {
            count_chars(bytes)
        } else {
            String::from_utf8_lossy(bytes).chars().count() as u32
        }
    }

    /// The position of byte `offset` (clamped to the end of the source).
    pub fn pos(&mut self, offset: usize) -> Pos {
        let offset = offset.min(self.src.len()).max(self.first_line_start);
        if offset >= self.at {
            let skipped = &self.src[self.at..offset];
            let newlines = memchr::memchr_iter(b'\n', skipped).count();
            if newlines > 0 {
                self.line = self.line.saturating_add(newlines as u32);
                // memrchr finds the last newline of the skipped bytes: the new line's start.
                if let Some(i) = memchr::memrchr(b'\n', skipped) {
                    self.line_start = self.at + i + 1;
                }
                self.column = 1 + self.chars(&self.src[self.line_start..offset]);
            } else {
                self.column += self.chars(skipped);
            }
        } else {
            let walked = &self.src[offset..self.at];
            let newlines = memchr::memchr_iter(b'\n', walked).count();
            if newlines > 0 {
                self.line = self.line.saturating_sub(newlines as u32).max(1);
                self.line_start = memchr::memrchr(b'\n', &self.src[..offset])
                    .map(|i| i + 1)
                    .unwrap_or(0)
                    .max(self.first_line_start);
            }
            self.column = 1 + self.chars(&self.src[self.line_start..offset]);
        }
        self.at = offset;
        Pos {
            line: self.line,
            column: self.column,
            byte: u32::try_from(offset).unwrap_or(u32::MAX),
        }
    }
}

/// Counts the characters of valid UTF-8: every byte that does not continue a sequence.
fn count_chars(bytes: &[u8]) -> u32 {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count() as u32
}

/// Decodes the body of a quoted HCL string (without its quotes) into `out`: `\n`, `\r`,
/// `\t`, `\"`, `\\`, `\uNNNN`, `\UNNNNNNNN`, and the template escapes `$${` and `%%{`.
/// Invalid UTF-8 and unknown escapes are kept as written (lossily), never rejected: the
/// scanner reports them separately.
pub fn decode_string_literal(body: &[u8], out: &mut String) {
    out.clear();
    let mut i = 0;
    while i < body.len() {
        let rest = &body[i..];
        let Some(j) = memchr::memchr3(b'\\', b'$', b'%', rest) else {
            push_lossy(out, rest);
            break;
        };
        push_lossy(out, &rest[..j]);
        i += j;
        match (body[i], body.get(i + 1), body.get(i + 2)) {
            (b'\\', Some(&c), _) => {
                i += 2;
                match c {
                    b'n' => out.push('\n'),
                    b'r' => out.push('\r'),
                    b't' => out.push('\t'),
                    b'"' => out.push('"'),
                    b'\\' => out.push('\\'),
                    b'u' | b'U' => {
                        let width = if c == b'u' { 4 } else { 8 };
                        let hex = body.get(i..i + width);
                        let ch = hex
                            .and_then(|h| std::str::from_utf8(h).ok())
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .and_then(char::from_u32);
                        match ch {
                            Some(ch) => {
                                out.push(ch);
                                i += width;
                            }
                            None => {
                                out.push('\\');
                                out.push(c as char);
                            }
                        }
                    }
                    other => {
                        out.push('\\');
                        out.push_str(&String::from_utf8_lossy(&[other]));
                    }
                }
            }
            (b'$', Some(b'$'), Some(b'{')) => {
                out.push_str("${");
                i += 3;
            }
            (b'%', Some(b'%'), Some(b'{')) => {
                out.push_str("%{");
                i += 3;
            }
            (c, _, _) => {
                out.push(c as char);
                i += 1;
            }
        }
    }
}

/// Appends bytes as text: directly when they are UTF-8 (nearly always), with replacement
/// characters otherwise.
fn push_lossy(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

/// Decodes a heredoc body (the lines between the opening line and the closing marker,
/// including the final newline) into `out`. For `<<-` (`flush`), the smallest indentation of
/// the lines that are not blank is removed from each of them, and blank lines are left as
/// they are, as Go's HCL (Powerpipe's parser) does. `$${` and `%%{` are unescaped; line ends
/// are kept as written (CRLF stays CRLF, as in Go's HCL).
pub fn decode_heredoc(body: &[u8], flush: bool, out: &mut String) {
    out.clear();
    let blank = |line: &[u8]| line.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r'));
    let indent = if flush {
        body.split(|&b| b == b'\n')
            .filter(|line| !blank(line))
            .map(|line| {
                line.iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .count()
            })
            .min()
            .unwrap_or(0)
    } else {
        0
    };
    let mut lines = body.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        if last && line.is_empty() {
            break;
        }
        let strip = if blank(line) {
            0
        } else {
            indent.min(
                line.iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .count(),
            )
        };
        let mut piece = String::new();
        decode_template_escapes(&line[strip..], &mut piece);
        out.push_str(&piece);
        if !last {
            out.push('\n');
        }
    }
}

/// Decodes a literal value as written in the source: a quoted string (quotes included) or a
/// heredoc (from `<<` to its closing marker). Anything else is returned as written.
pub fn decode_literal(written: &[u8]) -> String {
    let mut out = String::new();
    if let Some(body) = written
        .strip_prefix(b"\"")
        .and_then(|b| b.strip_suffix(b"\""))
    {
        decode_string_literal(body, &mut out);
    } else if let Some(rest) = written.strip_prefix(b"<<") {
        let flush = rest.first() == Some(&b'-');
        let body_start = memchr::memchr(b'\n', rest)
            .map(|i| i + 1)
            .unwrap_or(rest.len());
        // The body ends where the closing marker's line starts.
        let body = &rest[body_start..];
        let body_end = memchr::memrchr(b'\n', body).map(|i| i + 1).unwrap_or(0);
        decode_heredoc(&body[..body_end], flush, &mut out);
    } else {
        out.push_str(&String::from_utf8_lossy(written));
    }
    out
}

/// Unescapes `$${` and `%%{` (the only escapes a heredoc has).
fn decode_template_escapes(text: &[u8], out: &mut String) {
    let s = String::from_utf8_lossy(text);
    if s.contains("$${") || s.contains("%%{") {
        out.push_str(&s.replace("$${", "${").replace("%%{", "%{"));
    } else {
        out.push_str(&s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_forward_backward_and_utf8() {
        let src = "ab\ncé d\n\nx".as_bytes();
        let mut li = LineIndex::new(src, 0);
        assert_eq!(
            li.pos(0),
            Pos {
                line: 1,
                column: 1,
                byte: 0
            }
        );
        let d = src.iter().position(|&b| b == b'd').unwrap_or(0);
        assert_eq!((li.pos(d).line, li.pos(d).column), (2, 4));
        let x = src.len() - 1;
        assert_eq!((li.pos(x).line, li.pos(x).column), (4, 1));
        assert_eq!((li.pos(1).line, li.pos(1).column), (1, 2));
        assert_eq!((li.pos(d).line, li.pos(d).column), (2, 4));
        assert_eq!(li.pos(999).byte as usize, src.len());
    }

    #[test]
    fn bom_is_not_a_column() {
        let src = b"\xEF\xBB\xBFab";
        let mut li = LineIndex::new(src, 3);
        assert_eq!((li.pos(4).line, li.pos(4).column), (1, 2));
    }

    #[test]
    fn string_escapes() {
        let mut out = String::new();
        decode_string_literal(br#"a\"b\\c\n\u00e9\U0001F600 $${x} %%{y} 100%"#, &mut out);
        assert_eq!(out, "a\"b\\c\né\u{1F600} ${x} %{y} 100%");
        decode_string_literal(br"bad \q \u12", &mut out);
        assert_eq!(out, "bad \\q \\u12");
    }

    #[test]
    fn literals_as_written() {
        assert_eq!(decode_literal(br#""a\"b""#), "a\"b");
        assert_eq!(
            decode_literal(b"<<-EOT\n    x\n      y\n    EOT"),
            "x\n  y\n"
        );
        assert_eq!(decode_literal(b"<<EOT\r\nraw\r\nEOT"), "raw\r\n");
        assert_eq!(decode_literal(b"plain"), "plain");
    }

    #[test]
    fn heredoc_flush_strips_common_indent() {
        let mut out = String::new();
        decode_heredoc(b"    a\n      b\n  \n    c\n", true, &mut out);
        assert_eq!(out, "a\n  b\n  \nc\n");
        decode_heredoc(b"  a\r\n  b\r\n", false, &mut out);
        assert_eq!(out, "  a\r\n  b\r\n");
    }
}
