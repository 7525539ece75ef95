//! The token scanner of the formatter: a hand-written mirror of hclsyntax's Ragel scanner
//! (`scan_tokens.rl`, hcl v2.14.1) in its configuration mode.
//!
//! It produces exactly the token kinds and byte ranges hclsyntax produces for any input
//! hclsyntax accepts, because `hclwrite.Format`'s layout decisions are made on those kinds
//! (a heredoc opener swallows its newline, a `#` comment swallows its own, a `}` closes an
//! interpolation only at the brace depth that opened it, ...). For input hclsyntax rejects it
//! still never panics and stays linear, and it records the first lexical error so the caller
//! can refuse the file. It knows nothing about layout; that is [`super::layout`]'s job.

/// A token kind, named after hclsyntax's `TokenType`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    OBrace,
    CBrace,
    OBrack,
    CBrack,
    OParen,
    CParen,
    OQuote,
    CQuote,
    OHeredoc,
    CHeredoc,
    Star,
    Slash,
    Plus,
    Minus,
    Percent,
    Equal,
    EqualOp,
    NotEqual,
    LessThan,
    LessThanEq,
    GreaterThan,
    GreaterThanEq,
    And,
    Or,
    Bang,
    Dot,
    Comma,
    Ellipsis,
    FatArrow,
    Question,
    Colon,
    TemplateInterp,
    TemplateControl,
    TemplateSeqEnd,
    QuotedLit,
    StringLit,
    NumberLit,
    Ident,
    Comment,
    Newline,
    Eof,
    /// `&`, `|`, `~`, `^`, `;`, `` ` ``, `'`: recognised only to be refused.
    Unsupported,
    /// A newline inside a quoted string.
    QuotedNewline,
    /// A character no rule matches.
    Invalid,
    /// The placeholder before the first token of a cell (hclwrite's `nilToken`).
    Nil,
}

/// One token: its kind and its byte range in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    /// What it is.
    pub kind: Kind,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// The first thing the scanner alone knows hclsyntax refuses: a byte offset and a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LexError {
    /// Byte offset of the offending text.
    pub offset: usize,
    /// What is wrong.
    pub message: &'static str,
}

/// What the scanner is reading: hclsyntax's `main`, `stringTemplate` and `heredocTemplate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Main,
    Str,
    Heredoc,
}

/// A heredoc being read: where its closing marker is in the source and whether the scanner
/// is at the start of one of its lines.
struct Heredoc {
    marker: (usize, usize),
    start_of_line: bool,
}

/// The scanner's state while it walks the text.
struct Scanner<'a> {
    src: &'a [u8],
    tokens: Vec<Token>,
    modes: Vec<Mode>,
    braces: i64,
    ret_braces: Vec<i64>,
    heredocs: Vec<Heredoc>,
    error: Option<LexError>,
    /// The first unclosed comment, string or heredoc: hclsyntax's scanner reports none of
    /// them, its parser does (somewhere else), so this only backs up the parser.
    unclosed: Option<LexError>,
    /// Where the innermost open string or heredoc began, for an "unterminated" error.
    opened: Vec<usize>,
    /// A `/*` at or after this offset has no closing `*/`.
    no_comment_end_after: Option<usize>,
    /// Bytes searched for a comment's end (what keeps the scan linear, for a test).
    searched: usize,
}

/// What the scanner found in a text.
pub(crate) struct Lexed {
    /// The tokens, the last one `Eof`.
    pub tokens: Vec<Token>,
    /// The first error hclsyntax's scanner itself reports (an invalid character, ...).
    pub error: Option<LexError>,
    /// The first unclosed comment, string or heredoc, which hclsyntax's parser refuses.
    pub unclosed: Option<LexError>,
    /// Bytes searched for the ends of block comments (what keeps the scan linear; read by
    /// a test).
    #[cfg_attr(not(test), allow(dead_code))]
    pub searched: usize,
}

/// Scans `text` as hclsyntax's `LexConfig` does: a UTF-8 byte-order mark is skipped (token
/// offsets still count it), the last token is `Eof`.
pub(crate) fn lex(text: &str) -> Lexed {
    let src = text.as_bytes();
    let begin = if src.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut s = Scanner {
        src,
        tokens: Vec::with_capacity(src.len() / 4 + 1),
        modes: vec![Mode::Main],
        braces: 0,
        ret_braces: Vec::new(),
        heredocs: Vec::new(),
        error: None,
        unclosed: None,
        opened: Vec::new(),
        no_comment_end_after: None,
        searched: 0,
    };
    let mut p = begin;
    while p < src.len() {
        let mode = s.modes.last().copied().unwrap_or(Mode::Main);
        let next = match mode {
            Mode::Main => s.main(p),
            Mode::Str => s.string(p),
            Mode::Heredoc => s.heredoc(p),
        };
        // Every step consumes at least one byte (linear, and no endless loop).
        p = next.max(p + 1);
    }
    if let Some(&at) = s.opened.last() {
        let message = if s.modes.contains(&Mode::Heredoc) {
            "unterminated heredoc"
        } else {
            "unterminated string"
        };
        s.unclosed(at, message);
    }
    s.tokens.push(Token {
        kind: Kind::Eof,
        start: src.len(),
        end: src.len(),
    });
    Lexed {
        tokens: s.tokens,
        error: s.error,
        unclosed: s.unclosed,
        searched: s.searched,
    }
}

/// hclsyntax's `ID_Start | '_'`.
fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic() || (!c.is_ascii() && unicode_ident::is_xid_start(c))
}

/// hclsyntax's `ID_Continue | '-'`.
fn is_ident_continue(c: char) -> bool {
    c == '-'
        || c == '_'
        || c.is_ascii_alphanumeric()
        || (!c.is_ascii() && unicode_ident::is_xid_continue(c))
}

impl Scanner<'_> {
    fn emit(&mut self, kind: Kind, start: usize, end: usize) {
        self.tokens.push(Token { kind, start, end });
    }

    fn fail(&mut self, offset: usize, message: &'static str) {
        if self.error.is_none_or(|e| offset < e.offset) {
            self.error = Some(LexError { offset, message });
        }
    }

    fn unclosed(&mut self, offset: usize, message: &'static str) {
        if self.unclosed.is_none_or(|e| offset < e.offset) {
            self.unclosed = Some(LexError { offset, message });
        }
    }

    fn byte(&self, p: usize) -> Option<u8> {
        self.src.get(p).copied()
    }

    /// The character at `p` (a byte offset on a char boundary) and its length.
    fn char_at(&self, p: usize) -> (char, usize) {
        let rest = &self.src[p..];
        let len = match rest[0] {
            b if b < 0x80 => 1,
            b if b >= 0xF0 => 4,
            b if b >= 0xE0 => 3,
            _ => 2,
        }
        .min(rest.len());
        let c = std::str::from_utf8(&rest[..len])
            .ok()
            .and_then(|s| s.chars().next())
            .unwrap_or('\u{FFFD}');
        (c, len)
    }

    /// The end of an identifier starting at `p`, or `None` when none starts there.
    fn ident_end(&self, p: usize) -> Option<usize> {
        if p >= self.src.len() {
            return None;
        }
        let (c, len) = self.char_at(p);
        if !is_ident_start(c) {
            return None;
        }
        let mut q = p + len;
        while q < self.src.len() {
            // ASCII first, without decoding (most identifiers are ASCII).
            let b = self.src[q];
            if b.is_ascii() {
                if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                    q += 1;
                    continue;
                }
                break;
            }
            let (c, len) = self.char_at(q);
            if !is_ident_continue(c) {
                break;
            }
            q += len;
        }
        Some(q)
    }

    /// `${` / `%{` (with an optional `~`): the token, then `main` until its `}`.
    fn begin_template_seq(&mut self, kind: Kind, p: usize) -> usize {
        let end = if self.byte(p + 2) == Some(b'~') {
            p + 3
        } else {
            p + 2
        };
        self.emit(kind, p, end);
        self.braces += 1;
        self.ret_braces.push(self.braces);
        if let Some(h) = self.heredocs.last_mut() {
            h.start_of_line = false;
        }
        self.modes.push(Mode::Main);
        end
    }

    /// A `}` or `~}` in `main`: the end of an interpolation when it is at the depth that
    /// opened it (hclsyntax's `closeBrace` / `closeTemplateSeqEatWhitespace`).
    fn close_brace(&mut self, p: usize, end: usize, tilde: bool) -> usize {
        if self.ret_braces.last() == Some(&self.braces) {
            self.emit(Kind::TemplateSeqEnd, p, end);
            self.braces -= 1;
            self.ret_braces.pop();
            self.modes.pop();
        } else {
            self.emit(
                if tilde {
                    Kind::TemplateSeqEnd
                } else {
                    Kind::CBrace
                },
                p,
                end,
            );
            self.braces -= 1;
        }
        end
    }

    fn main(&mut self, p: usize) -> usize {
        let src = self.src;
        let b = src[p];
        let at = |q: usize| src.get(q).copied();
        match b {
            b' ' | b'\t' => {
                let mut q = p;
                while matches!(at(q), Some(b' ' | b'\t')) {
                    q += 1;
                }
                q
            }
            b'0'..=b'9' => {
                let end = self.number_end(p);
                self.emit(Kind::NumberLit, p, end);
                end
            }
            b'#' => self.line_comment(p),
            b'/' => match at(p + 1) {
                Some(b'/') => self.line_comment(p),
                Some(b'*') => {
                    // Once no `*/` follows, none follows a later `/*` either: searching
                    // again from each would be quadratic in `/*/*/*…`.
                    let close = if self.no_comment_end_after.is_some_and(|q| q <= p) {
                        None
                    } else {
                        self.searched += src.len() - (p + 2);
                        memchr::memmem::find(&src[p + 2..], b"*/")
                    };
                    if close.is_none() {
                        self.no_comment_end_after = Some(p);
                    }
                    match close {
                        Some(i) => {
                            let end = p + 2 + i + 2;
                            self.emit(Kind::Comment, p, end);
                            end
                        }
                        None => {
                            // No rule matches the whole: hclsyntax falls back to `/`.
                            self.unclosed(p, "unterminated comment");
                            self.emit(Kind::Slash, p, p + 1);
                            p + 1
                        }
                    }
                }
                _ => self.single(Kind::Slash, p),
            },
            b'\n' => self.single(Kind::Newline, p),
            b'\r' => {
                if at(p + 1) == Some(b'\n') {
                    self.emit(Kind::Newline, p, p + 2);
                    p + 2
                } else {
                    self.invalid(p, 1)
                }
            }
            b'=' => match at(p + 1) {
                Some(b'=') => self.double(Kind::EqualOp, p),
                Some(b'>') => self.double(Kind::FatArrow, p),
                _ => self.single(Kind::Equal, p),
            },
            b'!' => match at(p + 1) {
                Some(b'=') => self.double(Kind::NotEqual, p),
                _ => self.single(Kind::Bang, p),
            },
            b'>' => match at(p + 1) {
                Some(b'=') => self.double(Kind::GreaterThanEq, p),
                _ => self.single(Kind::GreaterThan, p),
            },
            b'<' => match at(p + 1) {
                Some(b'=') => self.double(Kind::LessThanEq, p),
                Some(b'<') => self.heredoc_opener(p),
                _ => self.single(Kind::LessThan, p),
            },
            b'&' => match at(p + 1) {
                Some(b'&') => self.double(Kind::And, p),
                _ => self.unsupported(p),
            },
            b'|' => match at(p + 1) {
                Some(b'|') => self.double(Kind::Or, p),
                _ => self.unsupported(p),
            },
            b'.' => {
                if at(p + 1) == Some(b'.') && at(p + 2) == Some(b'.') {
                    self.emit(Kind::Ellipsis, p, p + 3);
                    p + 3
                } else {
                    self.single(Kind::Dot, p)
                }
            }
            b'~' => {
                if at(p + 1) == Some(b'}') {
                    self.close_brace(p, p + 2, true)
                } else {
                    self.unsupported(p)
                }
            }
            b'{' => {
                self.braces += 1;
                self.single(Kind::OBrace, p)
            }
            b'}' => self.close_brace(p, p + 1, false),
            b'"' => {
                self.emit(Kind::OQuote, p, p + 1);
                self.modes.push(Mode::Str);
                self.opened.push(p);
                p + 1
            }
            b'[' => self.single(Kind::OBrack, p),
            b']' => self.single(Kind::CBrack, p),
            b'(' => self.single(Kind::OParen, p),
            b')' => self.single(Kind::CParen, p),
            b',' => self.single(Kind::Comma, p),
            b'*' => self.single(Kind::Star, p),
            b'%' => self.single(Kind::Percent, p),
            b'+' => self.single(Kind::Plus, p),
            b'-' => self.single(Kind::Minus, p),
            b'?' => self.single(Kind::Question, p),
            b':' => self.single(Kind::Colon, p),
            b'^' | b';' | b'`' | b'\'' => self.unsupported(p),
            _ => match self.ident_end(p) {
                Some(end) => {
                    self.emit(Kind::Ident, p, end);
                    end
                }
                None => {
                    let (_, len) = self.char_at(p);
                    self.invalid(p, len)
                }
            },
        }
    }

    fn single(&mut self, kind: Kind, p: usize) -> usize {
        self.emit(kind, p, p + 1);
        p + 1
    }

    fn double(&mut self, kind: Kind, p: usize) -> usize {
        self.emit(kind, p, p + 2);
        p + 2
    }

    fn unsupported(&mut self, p: usize) -> usize {
        self.fail(p, "unsupported operator");
        self.single(Kind::Unsupported, p)
    }

    fn invalid(&mut self, p: usize, len: usize) -> usize {
        self.fail(p, "invalid character");
        self.emit(Kind::Invalid, p, p + len);
        p + len
    }

    /// `NumberLit = digit ("" | (NLC - '.') | (NLC* (NLC - '.')))` with
    /// `NLC = digit | '.' | [eE][+-]?digit`: the longest run of such units not ending in `.`.
    fn number_end(&self, p: usize) -> usize {
        let src = self.src;
        let mut q = p + 1;
        let mut end = q;
        loop {
            match src.get(q) {
                Some(b'0'..=b'9') => {
                    q += 1;
                    end = q;
                }
                Some(b'.') => q += 1,
                Some(b'e' | b'E') => {
                    let digit_at = if matches!(src.get(q + 1), Some(b'+' | b'-')) {
                        q + 2
                    } else {
                        q + 1
                    };
                    if src.get(digit_at).is_some_and(u8::is_ascii_digit) {
                        q = digit_at + 1;
                        end = q;
                    } else {
                        return end;
                    }
                }
                _ => return end,
            }
        }
    }

    /// `#` and `//` comments run to and include the end of their line.
    fn line_comment(&mut self, p: usize) -> usize {
        let end = match memchr::memchr(b'\n', &self.src[p..]) {
            Some(i) => p + i + 1,
            None => self.src.len(),
        };
        self.emit(Kind::Comment, p, end);
        end
    }

    /// `<<` then `-`? then an identifier then a newline opens a heredoc; anything else is `<`.
    fn heredoc_opener(&mut self, p: usize) -> usize {
        let name_start = if self.byte(p + 2) == Some(b'-') {
            p + 3
        } else {
            p + 2
        };
        if let Some(name_end) = self.ident_end(name_start) {
            let nl_end = match (self.byte(name_end), self.byte(name_end + 1)) {
                (Some(b'\n'), _) => Some(name_end + 1),
                (Some(b'\r'), Some(b'\n')) => Some(name_end + 2),
                _ => None,
            };
            if let Some(end) = nl_end {
                self.emit(Kind::OHeredoc, p, end);
                self.heredocs.push(Heredoc {
                    marker: (name_start, name_end),
                    start_of_line: true,
                });
                self.modes.push(Mode::Heredoc);
                self.opened.push(p);
                return end;
            }
        }
        self.single(Kind::LessThan, p)
    }

    /// `"…"` content: literals, escapes, `${`, `%{`, the closing quote.
    fn string(&mut self, p: usize) -> usize {
        let src = self.src;
        match src[p] {
            b'$' | b'%' => self.template_sign(p, Kind::QuotedLit),
            b'"' => {
                self.emit(Kind::CQuote, p, p + 1);
                self.modes.pop();
                self.opened.pop();
                p + 1
            }
            b'\r' | b'\n' => {
                let mut q = p;
                while matches!(src.get(q), Some(b'\r' | b'\n')) {
                    q += 1;
                }
                self.fail(p, "newline in a quoted string");
                self.emit(Kind::QuotedNewline, p, q);
                q
            }
            _ => {
                let mut q = p;
                while q < src.len() {
                    match src[q] {
                        b'$' | b'%' | b'"' | b'\r' | b'\n' => break,
                        b'\\' => match src.get(q + 1) {
                            None | Some(b'\r' | b'\n') => break,
                            Some(_) => q += 1 + self.char_at(q + 1).1,
                        },
                        _ => q += 1,
                    }
                }
                if q == p {
                    // A backslash before a line end or the end of the text.
                    return self.invalid(p, 1);
                }
                self.emit(Kind::QuotedLit, p, q);
                q
            }
        }
    }

    /// A `$` or `%` in a template: `${`/`%{` opens a sequence, `$${`/`%%{` is a literal
    /// escape, any other is a one-byte literal.
    fn template_sign(&mut self, p: usize, lit: Kind) -> usize {
        let sign = self.src[p];
        let kind = if sign == b'$' {
            Kind::TemplateInterp
        } else {
            Kind::TemplateControl
        };
        match (self.byte(p + 1), self.byte(p + 2)) {
            (Some(b'{'), _) => self.begin_template_seq(kind, p),
            (Some(s), Some(b'{')) if s == sign => {
                let end = if self.byte(p + 3) == Some(b'~') {
                    p + 4
                } else {
                    p + 3
                };
                self.emit(lit, p, end);
                end
            }
            _ => {
                self.emit(lit, p, p + 1);
                p + 1
            }
        }
    }

    /// Heredoc content: literals line by line, sequences, the closing marker.
    fn heredoc(&mut self, p: usize) -> usize {
        let src = self.src;
        if matches!(src[p], b'$' | b'%') {
            let end = self.template_sign(p, Kind::StringLit);
            if self
                .tokens
                .last()
                .is_some_and(|t| t.kind == Kind::StringLit)
                && let Some(h) = self.heredocs.last_mut()
            {
                h.start_of_line = false;
            }
            return end;
        }
        let mut q = p;
        while q < src.len() && !matches!(src[q], b'$' | b'%' | b'\r' | b'\n') {
            q += 1;
        }
        let nl_end = match (src.get(q), src.get(q + 1)) {
            (Some(b'\n'), _) => Some(q + 1),
            (Some(b'\r'), Some(b'\n')) => Some(q + 2),
            _ => None,
        };
        let Some(end) = nl_end else {
            if q == p {
                // A carriage return alone: nothing matches, the rest is invalid.
                self.fail(p, "invalid character");
                self.emit(Kind::Invalid, p, src.len());
                return src.len();
            }
            if let Some(h) = self.heredocs.last_mut() {
                h.start_of_line = false;
            }
            self.emit(Kind::StringLit, p, q);
            return q;
        };
        let Some(h) = self.heredocs.last_mut() else {
            return end;
        };
        if h.start_of_line {
            let (ms, me) = h.marker;
            if trim_unicode(&src[p..q]) == &src[ms..me] {
                self.emit(Kind::CHeredoc, p, q);
                self.emit(Kind::Newline, q, end);
                self.heredocs.pop();
                self.modes.pop();
                self.opened.pop();
                return end;
            }
        }
        h.start_of_line = true;
        self.emit(Kind::StringLit, p, end);
        end
    }
}

/// Go's `bytes.TrimSpace`: Unicode white space trimmed at both ends.
fn trim_unicode(b: &[u8]) -> &[u8] {
    match std::str::from_utf8(b) {
        Ok(s) => s.trim_matches(char::is_whitespace).as_bytes(),
        Err(_) => b,
    }
}
