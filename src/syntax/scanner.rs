//! The brace-depth state machine: tokens in, [`FileIndex`] out.
//!
//! Two loops share one lexer. The *body* loop reads attributes, block headers and closing
//! braces. The *expression* loop reads one attribute value: it keeps an explicit stack of
//! open brackets, interpolations and template texts (quoted strings and heredocs), so
//! nesting of any depth costs heap, not call stack, and a `}` always knows what it closes.
//! While it walks, it records every traversal reference and, for the attributes the index
//! wants (title, tags, children, ...), a flat list of shallow *atoms* from which a literal
//! value is read afterwards.
//!
//! All recovery decisions live here and each says which real input it is for:
//! - an unterminated string ends at its line end;
//! - an unterminated heredoc or block comment ends at the next line that starts a top-level
//!   block, and every block still open is closed there;
//! - a file whose braces do not balance is scanned a second time in which a line at column
//!   0 that starts a top-level block closes every open block (an unclosed `{`);
//! - anything unexpected in a body is reported once and skipped to the end of its line.

use logos::{Lexer, Logos};

use super::lexer::Tok;
use super::text::{LineIndex, decode_heredoc, decode_string_literal};
use super::{
    Attr, AttrKey, AttrValue, Block, BlockId, BlockRole, Diagnostic, FileIndex, IdxRange,
    MAX_BLOCK_DEPTH, Pos, Reference, Severity, Span, StrBuilder, Sym, Tag, is_module_member,
    is_nested_resource_type, is_reference_root, is_resource_type,
};

/// How many recent words `Scanner::intern_word` remembers.
const WORDS: usize = 8;

/// A word of 1 to 15 bytes as a number: its bytes, then its length in the last byte (so no
/// two words share a key, and 0 is no word).
fn word_key(word: &[u8]) -> Option<u128> {
    if word.is_empty() || word.len() > 15 {
        return None;
    }
    let mut bytes = [0u8; 16];
    bytes[..word.len()].copy_from_slice(word);
    bytes[15] = word.len() as u8;
    Some(u128::from_le_bytes(bytes))
}

/// At most this many diagnostics per file; then one saying the rest were suppressed.
const MAX_DIAGNOSTICS: usize = 100;

/// Scans one file. Never panics, always terminates, whatever the bytes.
pub fn scan(src: &[u8]) -> FileIndex {
    scan_with(src, &mut Scratch::default())
}

/// Scans one file reusing `scratch`'s buffers (one scratch per thread makes a load allocate
/// about what the index keeps).
pub fn scan_with(src: &[u8], scratch: &mut Scratch) -> FileIndex {
    scan_counted(src, scratch).0
}

/// The scanner's work on `src`: tokens lexed plus bytes looked at by searches (heredoc
/// closing lines, comment ends, recovery points), over both passes. Linear in the bytes for
/// every input; tests hold it to a fixed multiple.
pub fn scan_work(src: &[u8]) -> u64 {
    scan_counted(src, &mut Scratch::default()).1
}

fn scan_counted(src: &[u8], scratch: &mut Scratch) -> (FileIndex, u64) {
    if u32::try_from(src.len()).is_err() {
        let at = Pos {
            line: 1,
            column: 1,
            byte: 0,
        };
        let index = FileIndex::with_diagnostic(
            u32::MAX,
            Diagnostic {
                severity: Severity::Error,
                start: at,
                end: at,
                message: "file too large to scan: over 4 GiB".to_string(),
            },
        );
        return (index, 0);
    }
    if let Some(nul) = memchr::memchr(0, src) {
        return (binary_file(src, nul), nul as u64);
    }
    let first = Scanner::new(src, false, scratch).run();
    if !first.unbalanced {
        return (first.index, first.work);
    }
    // Recovery for an unclosed `{` (see the module doc): only files that do not balance pay
    // for a second pass, so a well-formed file is never split by the column-0 heuristic.
    let second = Scanner::new(src, true, scratch).run();
    (second.index, first.work + second.work)
}

/// Buffers a scan works in, kept between files. Everything in it is emptied when a scan
/// starts; only capacity carries over.
#[derive(Default)]
pub struct Scratch {
    strings: StrBuilder,
    blocks: Vec<Block>,
    attrs: Vec<Attr>,
    pending_attrs: Vec<Attr>,
    tags: Vec<Tag>,
    refs: Vec<Reference>,
    diagnostics: Vec<Diagnostic>,
    open: Vec<Open>,
    child_counts: Vec<(Sym, u32)>,
    frames: Vec<Frame>,
    atoms: Vec<Atom>,
    text: String,
    /// The searcher for the last heredoc marker seen.
    marker_finder: Option<memchr::memmem::Finder<'static>>,
    /// The labels of the block header being read.
    labels: Vec<Span>,
    /// Keep the text of descriptions and of every non-SQL expression (see
    /// [`Scratch::keep_text`]).
    keep_text: bool,
    /// Record only the references of `children`, `query` and `base` (see
    /// [`Scratch::list_refs_only`]).
    list_refs_only: bool,
}

impl Scratch {
    /// Whether the scans with this scratch keep in the index the text that a scan otherwise
    /// leaves as a span to read back: descriptions are decoded like other literals
    /// ([`AttrValue::Str`], never [`AttrValue::Text`]) and the expression text of every
    /// attribute but `sql` is kept ([`AttrValue::Expr`] holds `Some`). The index then grows
    /// by that text (about a tenth of a typical mod's source), and the index-only dump needs
    /// no file read back, and the resolver reads no file to evaluate an expression it
    /// has the text of. Off by default; it stays as set for the next scans.
    pub fn keep_text(&mut self, keep: bool) {
        self.keep_text = keep;
    }

    /// Whether the scans with this scratch record only the references of `children`,
    /// `query` and `base` (the ones the index-only dump shows or follows): an index that
    /// serves that dump, not navigation or evaluation, and is smaller by the rest. Off by
    /// default; it stays as set for the next scans.
    pub fn list_refs_only(&mut self, only: bool) {
        self.list_refs_only = only;
    }

    fn clear(&mut self) {
        // The builder empties itself in `finish`; a scan that stopped early leaves nothing
        // behind because every scan ends in `finish`.
        self.blocks.clear();
        self.attrs.clear();
        self.pending_attrs.clear();
        self.tags.clear();
        self.refs.clear();
        self.diagnostics.clear();
        self.open.clear();
        self.child_counts.clear();
        self.frames.clear();
        self.atoms.clear();
        self.text.clear();
    }
}

/// A file with a NUL byte is not HCL (an image or archive saved as `.pp`): one diagnostic,
/// nothing indexed, instead of a diagnostic per garbage line.
fn binary_file(src: &[u8], nul: usize) -> FileIndex {
    let bom = if src.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut lines = LineIndex::new(src, bom);
    let start = lines.pos(bom);
    let at = lines.pos(nul);
    FileIndex::with_diagnostic(
        u32::try_from(src.len()).unwrap_or(u32::MAX),
        Diagnostic {
            severity: Severity::Error,
            start,
            end: start,
            message: format!(
                "binary file: it holds a NUL byte (line {}, column {}); not scanned",
                at.line, at.column
            ),
        },
    )
}

struct Outcome {
    index: FileIndex,
    /// Blocks were still open at the end of the file.
    unbalanced: bool,
    /// See [`scan_work`].
    work: u64,
}

/// A block whose `}` has not been seen yet.
struct Open {
    id: BlockId,
    /// Start of this block's attributes in `Scanner::pending_attrs`.
    attrs_start: usize,
    /// Start of this block's child counters in `Scanner::child_counts`.
    counts_start: usize,
}

/// What an expression-loop stack entry is.
#[derive(Clone, Copy, Debug)]
enum Frame {
    /// `(`, `[` or `{` opened at this offset.
    Bracket { open: u8, at: u32 },
    /// `${` or `%{` opened at this offset: a `}` at this level returns to the template
    /// text below.
    Interp { at: u32 },
    /// Inside a quoted string that started at `start` (the quote).
    Quoted { start: u32, interpolated: bool },
    /// Inside a heredoc.
    Heredoc(Heredoc),
}

#[derive(Clone, Copy, Debug)]
struct Heredoc {
    /// The `<<` token.
    token: Span,
    /// The marker (`EOQ`) inside the token.
    marker: Span,
    /// `<<-`: indentation is stripped.
    flush: bool,
    /// First byte of the body (the line after the token).
    body_start: u32,
    /// True when the next byte to read starts a line (where the marker may stand).
    at_line_start: bool,
    interpolated: bool,
    /// The closing line once found: where it starts and where its marker ends.
    closing: Option<(u32, u32)>,
}

/// One shallow piece of an attribute value, for reading literals: only tokens at bracket
/// depth 0 or 1 and outside interpolations are recorded.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Atom {
    Open(u8),
    Close(u8),
    /// A string or heredoc without interpolation; its decoded text when literals are read.
    Str(Option<Sym>),
    /// A string or heredoc with interpolation.
    Template,
    /// A number, `true` or `false`.
    Scalar(Span),
    /// `null`: not a value Powerpipe keeps (an attribute set to it is not set, a tag set to
    /// it is an error), so never a literal.
    Null,
    /// A bare word that is not a reference (a key, a function name, `for`, ...).
    Word(Span),
    /// The start of a reference; its index in `refs`.
    Ref(u32),
    Eq,
    Colon,
    Comma,
    Dot,
    /// A `-` (a negative number when a number follows).
    Minus,
    /// Anything else: an operator, a deeper token, ...
    Other,
}

struct Scanner<'s, 'a> {
    src: &'s [u8],
    lex: Lexer<'s, Tok>,
    /// One token of push-back, for a `}` that ends an expression and closes a block.
    back: Option<(Result<Tok, ()>, Span, bool)>,
    /// True when a line end came before the token `next` returned last.
    nl: bool,
    lines: LineIndex<'s>,
    /// Second pass: a column-0 top-level header closes every open block.
    recover_headers: bool,
    /// Set when an unterminated heredoc or comment ends at this offset: every open block is
    /// closed there and the body loop resumes at top level.
    resync: Option<usize>,
    suppressed: usize,
    /// How many `Frame::Bracket`s and `Frame::Interp`s `s.frames` holds.
    brackets: usize,
    interps: usize,
    /// Whether literal strings of the current attribute are decoded and interned, or only
    /// recognised (`Atom::Str(None)`).
    decode: bool,
    /// The file as text, when it is valid UTF-8.
    src_text: Option<&'s str>,
    /// An attribute outside any block was seen (a variables file).
    top_level_attrs: bool,
    /// Bytes looked at so far by searches for heredoc closing lines; past a budget the
    /// searches use `closings` instead (see `closing_line`).
    heredoc_searched: usize,
    /// Every line that could close a heredoc, by marker, built once a file's heredoc
    /// searches have cost more than its length (unterminated or nested heredocs).
    closings: Option<ClosingLines<'s>>,
    /// The last search for a block comment's `*/`: where it started and what it found.
    comment_end: Option<(usize, Option<usize>)>,
    /// Tokens lexed and bytes searched (see [`scan_work`]).
    work: u64,
    /// Blocks open below [`MAX_BLOCK_DEPTH`]: read (their braces, strings and heredocs must
    /// be matched) but not recorded.
    skip_depth: usize,
    /// References of the current attribute are not recorded (see
    /// [`Scratch::list_refs_only`]).
    refs_off: bool,
    /// The top-level block whose too-deep nesting was reported (once per top-level block).
    deep_reported: Option<BlockId>,
    /// Recently interned words (see `intern_word`): a key of 0 is an empty slot.
    words: [(u128, Sym); WORDS],
    next_word: usize,
    s: &'a mut Scratch,
}

impl<'s, 'a> Scanner<'s, 'a> {
    fn new(src: &'s [u8], recover_headers: bool, s: &'a mut Scratch) -> Self {
        let bom = if src.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let mut lex = Tok::lexer(src);
        lex.bump(bom);
        s.clear();
        Scanner {
            src,
            lex,
            back: None,
            nl: false,
            lines: LineIndex::new(src, bom),
            recover_headers,
            resync: None,
            suppressed: 0,
            brackets: 0,
            interps: 0,
            decode: true,
            src_text: None,
            top_level_attrs: false,
            heredoc_searched: 0,
            closings: None,
            comment_end: None,
            work: 0,
            skip_depth: 0,
            refs_off: false,
            deep_reported: None,
            words: [(0, Sym::placeholder()); WORDS],
            next_word: 0,
            s,
        }
    }

    // ----- tokens -----------------------------------------------------------------------

    /// The next token with comments skipped. Sets `self.nl` when a line end lies between
    /// it and the previous token (line ends are not tokens; they end attributes).
    #[inline(always)]
    fn next(&mut self) -> Option<(Result<Tok, ()>, Span)> {
        if let Some((tok, span, nl)) = self.back.take() {
            self.nl = nl;
            return Some((tok, span));
        }
        let mut nl = false;
        loop {
            let tok = self.lex.next()?;
            self.work += 1;
            // The lexer notes skipped line ends in its extras (a comment's own line end
            // included, as it is skipped after the comment token).
            nl |= std::mem::take(&mut self.lex.extras);
            let r = self.lex.span();
            // `scan_with` refuses sources over 4 GiB, so offsets fit in `u32` exactly.
            let span = Span {
                start: r.start as u32,
                end: r.end as u32,
            };
            match tok {
                Ok(Tok::LineComment) => continue,
                Ok(Tok::BlockCommentStart) => {
                    self.skip_block_comment(span);
                    if self.resync.is_some() {
                        // Unterminated: nothing follows. `nl` tells the caller whether what
                        // it was reading had already ended at a line end before the comment.
                        self.nl = nl;
                        return None;
                    }
                    continue;
                }
                _ => {
                    self.nl = nl;
                    return Some((tok, span));
                }
            }
        }
    }

    /// Puts the token `next` returned last back, to be returned again.
    fn push_back(&mut self, tok: Result<Tok, ()>, span: Span) {
        self.back = Some((tok, span, self.nl));
    }

    /// Moves the lexer so that the next token starts at `offset`.
    fn seek(&mut self, offset: usize) {
        self.back = None;
        let end = self.lex.span().end;
        let offset = offset.min(self.src.len());
        if offset > end {
            self.lex.bump(offset - end);
        } else if offset < end {
            // Back to a recovery point (an unclosed bracket read to the end of the file).
            self.lex = Tok::lexer(self.src);
            self.lex.bump(offset);
        }
    }

    fn bytes(&self, span: Span) -> &'s [u8] {
        self.src.get(span.range()).unwrap_or(&[])
    }

    fn intern(&mut self, text: &str) -> Sym {
        self.s.strings.intern(text)
    }

    /// Interns a short word that recurs all through a file (a block type, a reference kind,
    /// a mod name): the last few are remembered as 16-byte keys, so most calls are one
    /// comparison instead of a hash and a table probe.
    fn intern_word(&mut self, word: &[u8]) -> Sym {
        let Some(key) = word_key(word) else {
            return self.intern_bytes(word);
        };
        if let Some(&(_, sym)) = self.words.iter().find(|(k, _)| *k == key) {
            return sym;
        }
        let sym = self.intern_bytes(word);
        self.words[self.next_word % WORDS] = (key, sym);
        self.next_word += 1;
        sym
    }

    fn intern_bytes(&mut self, bytes: &[u8]) -> Sym {
        // Slices of a file already validated as UTF-8 need no second check: find the slice
        // in the file's `&str` (a pointer difference, no `unsafe`; `str::get` still checks
        // the boundaries).
        if let Some(text) = self.src_text {
            let offset = (bytes.as_ptr() as usize).wrapping_sub(self.src.as_ptr() as usize);
            if let Some(s) = text.get(offset..offset.wrapping_add(bytes.len())) {
                return self.s.strings.intern(s);
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => self.s.strings.intern(s),
            Err(_) => {
                let s = String::from_utf8_lossy(bytes).into_owned();
                self.s.strings.intern(&s)
            }
        }
    }

    // ----- diagnostics ------------------------------------------------------------------

    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.report(Severity::Error, span, message.into());
    }

    /// True (and counted as suppressed) when no more diagnostics are kept for this file:
    /// for messages that cost something to write.
    fn capped(&mut self) -> bool {
        let capped = self.s.diagnostics.len() >= MAX_DIAGNOSTICS;
        self.suppressed += usize::from(capped);
        capped
    }

    fn report(&mut self, severity: Severity, span: Span, message: String) {
        if self.capped() {
            return;
        }
        let start = self.lines.pos(span.start as usize);
        let end = self.lines.pos(span.end as usize);
        self.s.diagnostics.push(Diagnostic {
            severity,
            start,
            end,
            message,
        });
    }

    // ----- the body loop -----------------------------------------------------------------

    fn run(mut self) -> Outcome {
        self.check_utf8();
        loop {
            if let Some(at) = self.resync.take() {
                // Whatever was read past the recovery point is read again from there.
                let refs = self
                    .s
                    .refs
                    .partition_point(|r| (r.span.start as usize) < at);
                self.s.refs.truncate(refs);
                self.s.diagnostics.retain(|d| (d.start.byte as usize) < at);
                self.close_all(at);
                self.seek(at);
            }
            let Some((tok, span)) = self.next() else {
                if self.resync.is_some() {
                    continue;
                }
                break;
            };
            match tok {
                Ok(Tok::Ident) => {
                    if self.recover_headers
                        && !self.s.open.is_empty()
                        && self.starts_line(span.start as usize)
                        && header_line(self.src, span.start as usize)
                    {
                        let at = span.start as usize;
                        self.report_unclosed(Some(at));
                        self.close_all(at);
                    }
                    self.item(span);
                }
                Ok(Tok::RBrace) => {
                    if self.skip_depth > 0 {
                        self.skip_depth -= 1;
                    } else if self.s.open.is_empty() {
                        self.error(span, "unexpected `}`: no block is open here");
                    } else {
                        self.close_innermost(span.end as usize);
                    }
                }
                Ok(tok) => {
                    self.error(
                        span,
                        format!(
                            "expected an attribute or a block, found {}",
                            describe(tok, self.bytes(span))
                        ),
                    );
                    self.skip_line();
                }
                Err(()) => {
                    self.unexpected_char(span);
                    self.skip_line();
                }
            }
        }
        let unbalanced = !self.s.open.is_empty();
        if unbalanced {
            self.report_unclosed(None);
            self.close_all(self.src.len());
        }
        self.finish(unbalanced)
    }

    fn finish(self, unbalanced: bool) -> Outcome {
        let s = self.s;
        if self.suppressed > 0 {
            let mut lines = self.lines;
            let at = lines.pos(self.src.len());
            s.diagnostics.push(Diagnostic {
                severity: Severity::Error,
                start: at,
                end: at,
                message: format!(
                    "{} more diagnostics in this file suppressed",
                    self.suppressed
                ),
            });
        }
        s.diagnostics.sort_by_key(|d| d.start.byte);
        let value_hash = value_hash(self.src, &s.blocks, &s.strings, self.top_level_attrs);
        let value_items = value_items(self.src, &s.blocks, &s.strings);
        // Exact-size copies: the index keeps what it needs and the scratch keeps capacity.
        Outcome {
            index: FileIndex {
                strings: s.strings.finish(),
                blocks: s.blocks.as_slice().to_vec(),
                attrs: s.attrs.as_slice().to_vec(),
                tags: s.tags.as_slice().to_vec(),
                refs: s.refs.as_slice().to_vec(),
                diagnostics: std::mem::take(&mut s.diagnostics),
                source_len: u32::try_from(self.src.len()).unwrap_or(u32::MAX),
                value_hash,
                value_items,
            },
            unbalanced,
            work: self.work,
        }
    }

    fn check_utf8(&mut self) {
        // Every bad sequence is reported (capped like all diagnostics): a file with a few
        // stray Latin-1 bytes should show each one.
        // The SIMD validator answers the common case (valid) several times faster than
        // std; only an invalid file takes the slower path that locates each bad sequence.
        if let Ok(text) = simdutf8::basic::from_utf8(self.src) {
            self.src_text = Some(text);
            return;
        }
        self.lines.set_invalid_utf8();
        let mut from = 0;
        while let Err(e) = std::str::from_utf8(&self.src[from..]) {
            let at = from + e.valid_up_to();
            let len = e.error_len().unwrap_or(self.src.len() - at).max(1);
            self.error(
                Span::new(at, at + len),
                "invalid UTF-8: this byte sequence is not text",
            );
            from = at + len;
            if from >= self.src.len() || self.s.diagnostics.len() >= MAX_DIAGNOSTICS {
                break;
            }
        }
    }

    fn unexpected_char(&mut self, span: Span) {
        if self.capped() {
            return;
        }
        let bytes = self.bytes(span);
        let shown = String::from_utf8_lossy(bytes).into_owned();
        self.error(
            span,
            format!("unexpected character `{}`", shown.escape_debug()),
        );
    }

    /// Skips to the end of the current line (after an error in a body).
    fn skip_line(&mut self) {
        self.back = None;
        let from = self.lex.span().end;
        let to = memchr::memchr(b'\n', &self.src[from.min(self.src.len())..])
            .map(|i| from + i)
            .unwrap_or(self.src.len());
        self.seek(to);
    }

    fn starts_line(&self, at: usize) -> bool {
        at == 0
            || self.src.get(at.wrapping_sub(1)) == Some(&b'\n')
            || (at == 3 && self.src.starts_with(b"\xEF\xBB\xBF"))
    }

    /// One item of a body, starting with the identifier at `name`: an attribute or a block.
    fn item(&mut self, name: Span) {
        // Most items are `name = value` on one line: find the `=` without the lexer.
        if self.back.is_none() && self.lex.span().end == name.end as usize {
            let mut i = name.end as usize;
            while matches!(self.src.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
            if self.src.get(i) == Some(&b'=') && !matches!(self.src.get(i + 1), Some(b'=' | b'>')) {
                self.seek(i + 1);
                self.attribute(name, Span::new(i, i + 1));
                return;
            }
        }
        let (tok, span) = match self.next() {
            Some(t) => t,
            None => {
                self.error(name, "expected `=` or a block after this name");
                return;
            }
        };
        if self.nl {
            self.error(
                name,
                format!("expected `=` or `{{` after `{}`", lossy(self.bytes(name))),
            );
            self.push_back(tok, span);
            return;
        }
        match tok {
            Ok(Tok::Eq) => self.attribute(name, span),
            Ok(Tok::LBrace) => self.open_block(name, &[]),
            Ok(Tok::Quote) | Ok(Tok::Ident) => self.labels_then_block(name, tok, span),
            Ok(Tok::RBrace) => {
                self.error(
                    name,
                    format!("expected `=` or `{{` after `{}`", lossy(self.bytes(name))),
                );
                self.push_back(tok, span);
            }
            _ => {
                self.error(
                    span,
                    format!("expected `=` or `{{` after `{}`", lossy(self.bytes(name))),
                );
                self.skip_line();
            }
        }
    }

    /// Reads block labels after the type name, then the `{`.
    fn labels_then_block(&mut self, name: Span, first: Result<Tok, ()>, first_span: Span) {
        // The labels go in a buffer kept between blocks (one allocation per file, not per
        // block).
        let mut labels = std::mem::take(&mut self.s.labels);
        labels.clear();
        self.read_labels(name, first, first_span, &mut labels);
        self.s.labels = labels;
    }

    fn read_labels(
        &mut self,
        name: Span,
        first: Result<Tok, ()>,
        first_span: Span,
        labels: &mut Vec<Span>,
    ) {
        let mut tok = first;
        let mut span = first_span;
        loop {
            match tok {
                Ok(Tok::Quote) => match self.label_string(span) {
                    Some(label) => labels.push(label),
                    None => return,
                },
                Ok(Tok::Ident) => labels.push(span),
                Ok(Tok::LBrace) => {
                    self.open_block(name, labels);
                    return;
                }
                Ok(Tok::RBrace) => {
                    self.no_brace_after_labels(name, span.start);
                    self.push_back(tok, span);
                    return;
                }
                _ => {
                    self.error(
                        span,
                        format!(
                            "expected a label or `{{` after `{}`, found {}",
                            lossy(self.bytes(name)),
                            describe_result(tok, self.bytes(span))
                        ),
                    );
                    self.skip_line();
                    return;
                }
            }
            match self.next() {
                Some((t, s)) if self.nl => {
                    let end = labels.last().map(|l| l.end + 1).unwrap_or(span.end);
                    self.no_brace_after_labels(name, end.max(span.end));
                    self.push_back(t, s);
                    return;
                }
                Some((t, s)) => {
                    tok = t;
                    span = s;
                }
                None => {
                    self.error(
                        name,
                        format!("block `{}` has no `{{`", lossy(self.bytes(name))),
                    );
                    return;
                }
            }
        }
    }

    /// The header `name labels...` (ending at `end`) is not followed by `{`.
    fn no_brace_after_labels(&mut self, name: Span, end: u32) {
        self.error(
            Span {
                start: name.start,
                end,
            },
            format!(
                "block `{}` has no `{{` after its labels (or an attribute is missing its `=`)",
                lossy(self.bytes(name))
            ),
        );
    }

    /// Reads a quoted label (no templates in labels); returns the span of its text.
    fn label_string(&mut self, quote: Span) -> Option<Span> {
        let start = quote.end as usize;
        let mut i = start;
        loop {
            let Some(k) = memchr::memchr3(b'"', b'\\', b'\n', &self.src[i.min(self.src.len())..])
            else {
                i = self.src.len();
                break;
            };
            i += k;
            match self.src[i] {
                b'"' => {
                    self.seek(i + 1);
                    return Some(Span::new(start, i));
                }
                // A backslash escapes the next character but never a line end.
                b'\\' if self.src.get(i + 1) != Some(&b'\n') => i += 2,
                b'\\' => {
                    i += 1;
                    break;
                }
                _ => break,
            }
        }
        let end = i.min(self.src.len());
        self.error(
            Span::new(quote.start as usize, end),
            "unterminated label string: missing `\"`",
        );
        self.seek(end);
        None
    }

    fn open_block(&mut self, kind_span: Span, labels: &[Span]) {
        if self.skip_depth > 0 || self.s.open.len() >= MAX_BLOCK_DEPTH {
            // Deeper than any real mod (and than HCL's parser here accepts, with the
            // expressions inside): every walk over the block tree stays bounded by the limit.
            self.skip_depth += 1;
            let top = self.s.open.first().map(|o| o.id);
            if self.skip_depth == 1 && self.deep_reported != top {
                self.deep_reported = top;
                self.error(
                    kind_span,
                    format!(
                        "blocks nest more than {MAX_BLOCK_DEPTH} deep here: this block and \
                         everything inside it are not indexed"
                    ),
                );
            }
            return;
        }
        let kind_bytes = self.bytes(kind_span);
        let kind = self.intern_word(kind_bytes);
        let parent = self.s.open.last().map(|o| o.id);
        let parent_role = parent
            .and_then(|p| self.s.blocks.get(p.index()))
            .map(|b| b.role);
        let (role, name, anonymous, name_span) = match parent_role {
            None => {
                if kind_bytes == b"locals" {
                    (BlockRole::Locals, kind, true, kind_span)
                } else if labels.is_empty() {
                    if is_resource_type(kind_bytes) || kind_bytes == b"variable" {
                        self.error(
                            kind_span,
                            format!("`{}` block needs a name label", lossy(kind_bytes)),
                        );
                    }
                    (BlockRole::Member, kind, true, kind_span)
                } else {
                    let name = self.label_name(labels);
                    (BlockRole::Resource, name, false, labels[0])
                }
            }
            Some(BlockRole::Resource) if is_nested_resource_type(kind_bytes) => {
                if labels.is_empty() {
                    let name = self.anonymous_name(kind, kind_bytes);
                    (BlockRole::Resource, name, true, kind_span)
                } else {
                    let name = self.label_name(labels);
                    (BlockRole::Resource, name, false, labels[0])
                }
            }
            Some(_) => {
                if labels.is_empty() {
                    (BlockRole::Member, kind, true, kind_span)
                } else {
                    let name = self.label_name(labels);
                    (BlockRole::Member, name, false, labels[0])
                }
            }
        };
        if role == BlockRole::Resource && parent.is_some() {
            self.count_child(kind);
        }
        let start = self.lines.pos(kind_span.start as usize);
        let id = BlockId::new(self.s.blocks.len());
        self.s.blocks.push(Block::new(
            kind, name, role, anonymous, parent, start, name_span,
        ));
        self.s.open.push(Open {
            id,
            attrs_start: self.s.pending_attrs.len(),
            counts_start: self.s.child_counts.len(),
        });
    }

    /// Labels joined with `.` (most blocks have one).
    fn label_name(&mut self, labels: &[Span]) -> Sym {
        if let [one] = labels {
            let bytes = self.bytes(*one);
            if memchr::memchr3(b'\\', b'$', b'%', bytes).is_none() {
                return self.intern_bytes(bytes);
            }
        }
        let mut joined = String::new();
        for (i, l) in labels.iter().enumerate() {
            if i > 0 {
                joined.push('.');
            }
            let mut decoded = String::new();
            decode_string_literal(self.bytes(*l), &mut decoded);
            joined.push_str(&decoded);
        }
        self.intern(&joined)
    }

    /// The stored part of an unlabelled nested resource's name: `TYPE_N`, with `N` the
    /// number of earlier resource children of the same type (labelled ones included, as
    /// Powerpipe counts). The full name is built from the parent chain by
    /// [`FileIndex::block_name`], so the index does not hold one long string per block.
    fn anonymous_name(&mut self, kind: Sym, kind_bytes: &[u8]) -> Sym {
        let n = self.child_count(kind);
        use std::fmt::Write;
        let mut name = std::mem::take(&mut self.s.text);
        name.clear();
        name.push_str(&String::from_utf8_lossy(kind_bytes));
        let _ = write!(name, "_{n}");
        let sym = self.intern(&name);
        self.s.text = name;
        sym
    }

    fn child_count(&self, kind: Sym) -> u32 {
        let start = self.s.open.last().map(|o| o.counts_start).unwrap_or(0);
        self.s.child_counts[start..]
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }

    fn count_child(&mut self, kind: Sym) {
        let start = self.s.open.last().map(|o| o.counts_start).unwrap_or(0);
        match self.s.child_counts[start..]
            .iter_mut()
            .find(|(k, _)| *k == kind)
        {
            Some((_, n)) => *n += 1,
            None => self.s.child_counts.push((kind, 1)),
        }
    }

    fn close_innermost(&mut self, end: usize) {
        let Some(open) = self.s.open.pop() else {
            return;
        };
        let end = self.lines.pos(end);
        let start = self.s.attrs.len() as u32;
        self.s
            .attrs
            .extend(self.s.pending_attrs.drain(open.attrs_start..));
        let range = IdxRange {
            start,
            end: self.s.attrs.len() as u32,
        };
        self.s.child_counts.truncate(open.counts_start);
        if let Some(b) = self.s.blocks.get_mut(open.id.index()) {
            b.end = end;
            b.set_attrs(range);
        }
    }

    fn close_all(&mut self, end: usize) {
        self.skip_depth = 0;
        while !self.s.open.is_empty() {
            self.close_innermost(end);
        }
    }

    /// Reports the outermost block still open (its `}` is missing somewhere inside it).
    fn report_unclosed(&mut self, before: Option<usize>) {
        let Some(outer) = self.s.open.first().map(|o| o.id) else {
            return;
        };
        let Some(b) = self.s.blocks.get(outer.index()) else {
            return;
        };
        let kind = self.s.strings.get(b.kind).to_string();
        let name = self.s.strings.get(b.name).to_string();
        let span = Span {
            start: b.start.byte,
            end: b.name_span().end.max(b.start.byte),
        };
        let what = if b.role == BlockRole::Resource || b.role == BlockRole::Member && kind != name {
            format!("`{kind} \"{name}\"`")
        } else {
            format!("`{kind}`")
        };
        let message = match before {
            Some(at) => {
                let line = self.lines.pos(at).line;
                format!("block {what} is not closed: a `}}` is missing before line {line}")
            }
            None => format!("block {what} is not closed: a `}}` is missing at the end of the file"),
        };
        self.error(span, message);
    }

    // ----- attributes --------------------------------------------------------------------

    fn attribute(&mut self, name: Span, eq: Span) {
        let name_bytes = self.bytes(name);
        if self.skip_depth > 0 {
            // Inside a block too deep to index: read the value, record nothing.
            if self.expression(None, false).is_none() && self.resync.is_none() {
                self.error(
                    Span::new(name.start as usize, eq.end as usize),
                    format!("attribute `{}` has no value", lossy(name_bytes)),
                );
            }
            return;
        }
        let owner = self.s.open.last().map(|o| o.id);
        let in_locals = owner
            .and_then(|o| self.s.blocks.get(o.index()))
            .is_some_and(|b| b.role == BlockRole::Locals);
        // A local is indexed as its own entry so `local.x` has somewhere to point.
        let (owner, key) = if in_locals {
            let kind = self.intern_word(b"local");
            let local_name = self.intern_bytes(name_bytes);
            let start = self.lines.pos(name.start as usize);
            let id = BlockId::new(self.s.blocks.len());
            self.s.blocks.push(Block::new(
                kind,
                local_name,
                BlockRole::Local,
                false,
                owner,
                start,
                name,
            ));
            (Some(id), None)
        } else {
            (owner, AttrKey::from_name(name_bytes))
        };
        // Only attributes of blocks (not of .ppvars files) are recorded.
        let key = if owner.is_some() { key } else { None };
        self.top_level_attrs |= owner.is_none();
        // A description is often long and rarely shown: its literal is checked, not copied.
        self.decode = self.s.keep_text || key != Some(AttrKey::Description);
        self.refs_off = self.s.list_refs_only
            && !matches!(
                key,
                Some(AttrKey::Children | AttrKey::Query | AttrKey::Base)
            );
        let value = self.expression(owner, key.is_some() && wants_literal(key));
        let Some(value_span) = value else {
            if self.resync.is_none() {
                self.error(
                    Span::new(name.start as usize, eq.end as usize),
                    format!("attribute `{}` has no value", lossy(name_bytes)),
                );
            }
            if in_locals {
                // Cut short by recovery: the local runs to where scanning resumes.
                let end = self.resync.unwrap_or(eq.end as usize);
                self.finish_local(owner, end);
            }
            return;
        };
        if in_locals {
            // The value is read from the local's span when it is evaluated.
            self.finish_local(owner, value_span.end as usize);
        } else if let Some(key) = key {
            // `title = null` is Powerpipe's "not set" (gohcl decodes a null into a nil
            // field; `base` then gives the value): the attribute is not recorded, so the
            // index, the dump and inheritance see what they see when it is missing.
            if self.bytes(value_span) == b"null" {
                self.s.atoms.clear();
                return;
            }
            let value = self.read_value(key, value_span);
            self.s.pending_attrs.push(Attr::new(key, value_span, value));
        }
    }

    /// Gives a local entry its end.
    fn finish_local(&mut self, id: Option<BlockId>, end: usize) {
        let Some(id) = id else { return };
        let end = self.lines.pos(end);
        if let Some(b) = self.s.blocks.get_mut(id.index()) {
            b.end = end;
        }
    }

    /// Reads a literal value out of the atoms of the expression just walked.
    fn read_value(&mut self, key: AttrKey, span: Span) -> AttrValue {
        let atoms = std::mem::take(&mut self.s.atoms);
        let value = match key {
            AttrKey::Tags => literal_tags(&atoms, self),
            AttrKey::Children => literal_ref_list(&atoms),
            AttrKey::Query | AttrKey::Base => match atoms.as_slice() {
                [Atom::Ref(i)] => Some(AttrValue::Ref(*i)),
                _ => None,
            },
            AttrKey::Sql => None,
            _ => literal_scalar(&atoms, self),
        };
        self.s.atoms = atoms;
        value.unwrap_or_else(|| {
            if keeps_text(key) || (self.s.keep_text && key != AttrKey::Sql) {
                let text = self.bytes(span);
                AttrValue::Expr(Some(self.intern_bytes(text)))
            } else {
                AttrValue::Expr(None)
            }
        })
    }

    // ----- the expression loop -----------------------------------------------------------

    /// Walks one attribute value, recording references (owned by `owner`) and, when
    /// `literals`, shallow atoms with decoded strings. Returns the value's span, or `None` if
    /// the line ends before any value.
    fn expression(&mut self, owner: Option<BlockId>, literals: bool) -> Option<Span> {
        self.s.frames.clear();
        self.brackets = 0;
        self.interps = 0;
        self.s.atoms.clear();
        let mut first: Option<u32> = None;
        let mut last: u32 = 0;
        let mut after_dot = false;
        let mut stopped_at: Option<usize> = None;
        // Most values are a quoted string on the same line: open it without the lexer.
        if self.back.is_none() {
            let mut i = self.lex.span().end;
            while matches!(self.src.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
            if self.src.get(i) == Some(&b'"') {
                self.seek(i + 1);
                self.push_frame(Frame::Quoted {
                    start: i as u32,
                    interpolated: false,
                });
                first = Some(i as u32);
            }
        }
        loop {
            if self.resync.is_some() {
                return None;
            }
            // Template text first: the top frame may be a string or heredoc to continue.
            match self.s.frames.last().copied() {
                Some(Frame::Quoted {
                    start,
                    interpolated,
                }) => {
                    let end = self.quoted_text(start, interpolated, literals);
                    last = end;
                    continue;
                }
                Some(Frame::Heredoc(h)) => {
                    if let Some(end) = self.heredoc_text(h, literals) {
                        last = end;
                    }
                    continue;
                }
                _ => {}
            }
            let Some((tok, span)) = self.next() else {
                break;
            };
            if (self.brackets > 0 || self.interps > 0)
                && tok == Ok(Tok::Ident)
                && self.starts_line(span.start as usize)
                && header_line(self.src, span.start as usize)
            {
                // A bracket or `${` still open when a line starts a top-level block: it is
                // never closed (no valid expression has such a line), and the block starts
                // there. Reading on to the end of the file and coming back would read the
                // rest of the file once per such mistake.
                stopped_at = Some(span.start as usize);
                break;
            }
            let brackets = self.bracket_depth();
            let shallow = literals && brackets <= 1 && !self.in_interp();
            let was_after_dot = after_dot;
            after_dot = false;
            if self.nl && self.s.frames.is_empty() {
                // A line end outside brackets ends the attribute; the token starts the next
                // item of the body.
                self.push_back(tok, span);
                break;
            }
            match tok {
                Ok(Tok::RBrace) => match self.s.frames.last().copied() {
                    None => {
                        // The `}` of a one-line block: `card { width = 2 }`.
                        self.push_back(tok, span);
                        break;
                    }
                    Some(Frame::Interp { .. }) => {
                        self.pop_frame();
                    }
                    Some(Frame::Bracket { open: b'{', .. }) => {
                        self.pop_frame();
                        if literals && self.bracket_depth() <= 1 && !self.in_interp() {
                            self.s.atoms.push(Atom::Close(b'{'));
                        }
                    }
                    Some(Frame::Bracket { open, at }) => {
                        self.mismatched(open, at, span);
                        self.pop_frame();
                    }
                    Some(_) => {}
                },
                Ok(Tok::RParen) | Ok(Tok::RBracket) => {
                    let want = if tok == Ok(Tok::RParen) { b'(' } else { b'[' };
                    match self.s.frames.last().copied() {
                        Some(Frame::Bracket { open, .. }) if open == want => {
                            self.pop_frame();
                            if literals && self.bracket_depth() <= 1 && !self.in_interp() {
                                self.s.atoms.push(Atom::Close(want));
                            }
                        }
                        Some(Frame::Bracket { open, at }) => {
                            self.mismatched(open, at, span);
                            self.pop_frame();
                        }
                        _ => {
                            self.error(span, format!("unexpected `{}`", lossy(self.bytes(span))));
                        }
                    }
                }
                Ok(Tok::LParen) | Ok(Tok::LBracket) | Ok(Tok::LBrace) => {
                    let open = self.bytes(span).first().copied().unwrap_or(b'(');
                    if shallow {
                        self.s.atoms.push(Atom::Open(open));
                    }
                    self.push_frame(Frame::Bracket {
                        open,
                        at: span.start,
                    });
                }
                Ok(Tok::Quote) => {
                    self.push_frame(Frame::Quoted {
                        start: span.start,
                        interpolated: false,
                    });
                }
                Ok(Tok::Heredoc) => self.open_heredoc(span),
                Ok(Tok::Ident) => {
                    if !was_after_dot {
                        if let Some(i) = self.reference(span, owner) {
                            if shallow {
                                self.s.atoms.push(Atom::Ref(i));
                            }
                        } else if shallow {
                            let atom = match self.bytes(span) {
                                b"true" | b"false" => Atom::Scalar(span),
                                b"null" => Atom::Null,
                                _ => Atom::Word(span),
                            };
                            self.s.atoms.push(atom);
                        }
                    } else if shallow {
                        self.s.atoms.push(Atom::Word(span));
                    }
                }
                Ok(Tok::Dot) => {
                    after_dot = true;
                    if shallow {
                        self.s.atoms.push(Atom::Dot);
                    }
                }
                Ok(Tok::Number) => {
                    if shallow {
                        self.s.atoms.push(Atom::Scalar(span));
                    }
                }
                Ok(Tok::Eq) => {
                    if shallow {
                        self.s.atoms.push(Atom::Eq);
                    }
                }
                Ok(Tok::Colon) => {
                    if shallow {
                        self.s.atoms.push(Atom::Colon);
                    }
                }
                Ok(Tok::Comma) => {
                    if shallow {
                        self.s.atoms.push(Atom::Comma);
                    }
                }
                Ok(Tok::Op) if self.bytes(span) == b"-" => {
                    // A negative number stays a literal: `default = -1`.
                    if shallow {
                        self.s.atoms.push(Atom::Minus);
                    }
                }
                Ok(Tok::LineComment) | Ok(Tok::BlockCommentStart) => {}
                Ok(_) => {
                    if shallow {
                        self.s.atoms.push(Atom::Other);
                    }
                }
                Err(()) => {
                    self.unexpected_char(span);
                    if shallow {
                        self.s.atoms.push(Atom::Other);
                    }
                }
            }
            first.get_or_insert(span.start);
            last = self.lex.span().end as u32;
            if self.back.is_some() {
                break;
            }
        }
        // An unterminated comment stops everything, but a value that had ended at the line
        // end before it is complete.
        if self.resync.is_some() && !(self.nl && self.s.frames.is_empty() && first.is_some()) {
            return None;
        }
        // A bracket or interpolation still open at a line that starts a top-level block, or
        // at the end of the file: report the outermost one and recover at that line (an
        // unclosed `merge(local.x, {` must not hide the rest). Every line after the bracket
        // that starts with a token was checked on the way, so at the end of the file there is
        // nothing to go back to.
        let mut outermost: Option<(usize, String)> = None;
        while let Some(frame) = self.pop_frame() {
            match frame {
                Frame::Bracket { open, at } => {
                    outermost = Some((at as usize, format!("`{}` is never closed", open as char)));
                }
                Frame::Interp { at } => {
                    let at = at as usize;
                    let opener = String::from_utf8_lossy(self.src.get(at..at + 2).unwrap_or(b"${"))
                        .into_owned();
                    outermost = Some((at, format!("`{opener}` is never closed by a `}}`")));
                }
                _ => {}
            }
        }
        if let Some((at, message)) = outermost {
            self.error(Span::new(at, at + 1), message);
            if let Some(line) = stopped_at {
                self.resync = Some(line);
                return None;
            }
        }
        first.map(|f| Span {
            start: f,
            end: last.max(f),
        })
    }

    fn bracket_depth(&self) -> usize {
        self.brackets
    }

    fn in_interp(&self) -> bool {
        self.interps > 0
    }

    fn push_frame(&mut self, frame: Frame) {
        match frame {
            Frame::Bracket { .. } => self.brackets += 1,
            Frame::Interp { .. } => self.interps += 1,
            _ => {}
        }
        self.s.frames.push(frame);
    }

    fn pop_frame(&mut self) -> Option<Frame> {
        let frame = self.s.frames.pop()?;
        match frame {
            Frame::Bracket { .. } => self.brackets -= 1,
            Frame::Interp { .. } => self.interps -= 1,
            _ => {}
        }
        Some(frame)
    }

    fn mismatched(&mut self, open: u8, at: u32, close: Span) {
        if self.capped() {
            // Past the cap the message is not kept: do not work out its line (a line of
            // `(]` repeated would do that once per bracket).
            return;
        }
        let at = at as usize;
        let line = self.lines.pos(at).line;
        self.error(
            close,
            format!(
                "`{}` does not close the `{}` opened on line {line}",
                lossy(self.bytes(close)),
                open as char
            ),
        );
    }

    /// Reads quoted-string text from the lexer's position up to the closing quote or an
    /// interpolation. Returns the offset reached.
    fn quoted_text(&mut self, start: u32, interpolated: bool, literals: bool) -> u32 {
        let from = self.lex.span().end;
        let src = self.src;
        let mut i = from;
        // Strings are read a run at a time: the next quote, backslash or line end, and the
        // first `$` or `%` before it (titles and descriptions are long and plain).
        while i < src.len() {
            let stop = memchr::memchr3(b'"', b'\\', b'\n', &src[i..])
                .map(|k| i + k)
                .unwrap_or(src.len());
            if let Some(at) = find_interpolation(src, i, stop) {
                if let Some(Frame::Quoted { interpolated, .. }) = self.s.frames.last_mut() {
                    *interpolated = true;
                }
                self.push_frame(Frame::Interp { at: at as u32 });
                self.seek(at + 2);
                return at as u32 + 2;
            }
            i = stop;
            match src.get(i) {
                // A backslash escapes the next character but never a line end.
                Some(b'\\') if src.get(i + 1) == Some(&b'\n') => {
                    i += 1;
                    break;
                }
                Some(b'"') => {
                    self.pop_frame();
                    self.seek(i + 1);
                    self.string_done(
                        Span::new(start as usize + 1, i),
                        interpolated,
                        false,
                        false,
                        literals,
                    );
                    return i as u32 + 1;
                }
                Some(b'\\') => i += 2,
                _ => break,
            }
        }
        // Unterminated: HCL strings cannot span lines, so the string ends at the line end.
        let end = i.min(src.len());
        self.pop_frame();
        self.error(
            Span::new(start as usize, end),
            "unterminated string: missing closing `\"` before the end of the line",
        );
        self.seek(end);
        self.string_done(
            Span::new(start as usize + 1, end),
            true,
            false,
            false,
            literals,
        );
        end as u32
    }

    /// Records the atom for a finished string or heredoc.
    fn string_done(
        &mut self,
        body: Span,
        interpolated: bool,
        heredoc: bool,
        flush: bool,
        literals: bool,
    ) {
        if !literals || self.bracket_depth() > 1 || self.in_interp() {
            return;
        }
        if interpolated {
            self.s.atoms.push(Atom::Template);
            return;
        }
        if !self.decode {
            self.s.atoms.push(Atom::Str(None));
            return;
        }
        let mut text = std::mem::take(&mut self.s.text);
        if heredoc {
            decode_heredoc(self.bytes(body), flush, &mut text);
        } else {
            decode_string_literal(self.bytes(body), &mut text);
        }
        let sym = self.intern(&text);
        self.s.text = text;
        self.s.atoms.push(Atom::Str(Some(sym)));
    }

    fn open_heredoc(&mut self, token: Span) {
        let bytes = self.bytes(token);
        let flush = bytes.get(2) == Some(&b'-');
        let marker = Span {
            start: token.start + if flush { 3 } else { 2 },
            end: token.end,
        };
        // The body starts on the next line; HCL allows nothing but the line end after the
        // marker.
        let after = token.end as usize;
        let line_end =
            memchr::memchr(b'\n', &self.src[after.min(self.src.len())..]).map(|i| after + i);
        let Some(line_end) = line_end else {
            self.unterminated_heredoc(token);
            return;
        };
        let rest = &self.src[after..line_end];
        if rest.iter().any(|&b| b != b'\r') {
            self.error(
                Span::new(after, line_end),
                "unexpected text after the heredoc marker: the heredoc starts on the next line",
            );
        }
        self.seek(line_end + 1);
        self.push_frame(Frame::Heredoc(Heredoc {
            token,
            marker,
            flush,
            body_start: line_end as u32 + 1,
            at_line_start: true,
            interpolated: false,
            closing: None,
        }));
    }

    /// Reads heredoc text from the lexer's position up to the closing marker or an
    /// interpolation. Returns the offset reached when the heredoc ended.
    fn heredoc_text(&mut self, mut h: Heredoc, literals: bool) -> Option<u32> {
        let src = self.src;
        let from = self.lex.span().end.max(h.body_start as usize);
        // Heredocs are most of a mod's bytes (SQL), so this is two SIMD searches over the
        // body rather than a walk line by line: where the closing line is, then whether an
        // interpolation starts before it. The closing line found is kept for the text after
        // an interpolation.
        let closing = match h.closing {
            Some(c) if c.0 as usize >= from => Some(c),
            _ => self.closing_line(from, h.at_line_start, h.marker),
        };
        h.closing = closing;
        let Some((line_start, marker_end)) = closing else {
            // Never closed: nothing after it is template text to look into.
            self.pop_frame();
            self.unterminated_heredoc(h.token);
            return None;
        };
        let limit = line_start as usize;
        if let Some(at) = find_interpolation(src, from, limit) {
            h.interpolated = true;
            h.at_line_start = false;
            if let Some(Frame::Heredoc(top)) = self.s.frames.last_mut() {
                *top = h;
            }
            self.push_frame(Frame::Interp { at: at as u32 });
            self.seek(at + 2);
            return None;
        }
        self.pop_frame();
        self.seek(marker_end as usize);
        self.string_done(
            Span::new(h.body_start as usize, line_start as usize),
            h.interpolated,
            true,
            h.flush,
            literals,
        );
        Some(marker_end)
    }

    /// Recovery for a heredoc whose marker never comes: it ends at the next line that
    /// starts a top-level block (or the end of the file), and so does every open block.
    fn unterminated_heredoc(&mut self, token: Span) {
        let marker = lossy(self.bytes(token))
            .trim_start_matches("<<")
            .trim_start_matches('-')
            .to_string();
        self.error(
            token,
            format!("unterminated heredoc: no line holds only `{marker}` after this"),
        );
        // Interpolations in its text may have been read past the token's line: recovery
        // never goes back over what was read (that would make a file of unterminated
        // heredocs cost the square of its length).
        let from = (token.end as usize).max(self.lex.span().end);
        self.resync = Some(self.next_header(from));
    }

    /// The start of the first line after `from` that starts a top-level block, or the end
    /// of the file: where scanning resumes after an unterminated heredoc or comment.
    fn next_header(&mut self, from: usize) -> usize {
        let at = next_header_line(self.src, from).unwrap_or(self.src.len());
        self.work += at.saturating_sub(from) as u64;
        at
    }

    /// The first line at or after `from` that closes a heredoc with the marker at
    /// `marker`: its start and the end of its marker. When `from` is mid-line (after an
    /// interpolation), that line cannot close it.
    ///
    /// A search normally looks at the bytes up to the closing line, which the scan then
    /// moves past, so a file's searches cost about its length. Unterminated heredocs search
    /// to the end of the file and nested ones search the same text again: once a file's
    /// searches have looked at more than twice its bytes, every candidate line is indexed
    /// by marker in one pass and each later search is a lookup.
    fn closing_line(
        &mut self,
        from: usize,
        at_line_start: bool,
        marker: Span,
    ) -> Option<(u32, u32)> {
        let src = self.src;
        let marker = src.get(marker.range()).unwrap_or(&[]);
        if marker.is_empty() || from > src.len() {
            return None;
        }
        if self.closings.is_none() && self.heredoc_searched > 2 * src.len() {
            self.closings = Some(ClosingLines::build(src));
            self.work += src.len() as u64;
        }
        if let Some(index) = &self.closings {
            return index.find(marker, from, at_line_start);
        }
        let (found, looked_at) =
            search_closing_line(src, from, at_line_start, marker, &mut self.s.marker_finder);
        self.heredoc_searched += looked_at;
        self.work += looked_at as u64;
        found
    }

    /// Skips a `/* ... */` comment; an unterminated one ends at the next top-level header.
    fn skip_block_comment(&mut self, start: Span) {
        let from = start.end as usize;
        // The last search's answer holds for any start between where it began and what it
        // found (or the end of the file): a file of unterminated comments, each recovered
        // at the next header, searches the rest of the file once, not once per comment.
        let end = match self.comment_end {
            Some((searched, found)) if searched <= from && found.is_none_or(|f| f >= from) => found,
            _ => {
                let found = memchr::memmem::find(&self.src[from.min(self.src.len())..], b"*/")
                    .map(|i| from + i);
                self.work += (found.unwrap_or(self.src.len()) - from.min(self.src.len())) as u64;
                self.comment_end = Some((from, found));
                found
            }
        };
        match end {
            Some(at) => self.seek(at + 2),
            None => {
                self.error(start, "unterminated block comment: missing `*/`");
                self.resync = Some(self.next_header(from));
            }
        }
    }

    /// If the identifier at `root` starts a reference, records it and returns its index.
    /// The lexer is left after the name segment; the rest of the traversal (`.title`,
    /// `[0]`, ...) is walked by the caller like any tokens.
    fn reference(&mut self, root: Span, owner: Option<BlockId>) -> Option<u32> {
        if self.skip_depth > 0 || self.refs_off {
            return None;
        }
        let root_bytes = self.bytes(root);
        // Most identifiers in expressions are keys and function names: a traversal needs a
        // `.` next (HCL allows blanks before it).
        let mut next = root.end as usize;
        while matches!(self.src.get(next), Some(b' ' | b'\t')) {
            next += 1;
        }
        if self.src.get(next) != Some(&b'.') {
            return None;
        }
        let mut ahead = self.lex.clone();
        if self.back.is_some() {
            return None;
        }
        let segment = |ahead: &mut Lexer<'s, Tok>| -> Option<Span> {
            if ahead.next()? != Ok(Tok::Dot) {
                return None;
            }
            if ahead.next()? != Ok(Tok::Ident) {
                return None;
            }
            let r = ahead.span();
            Some(Span::new(r.start, r.end))
        };
        // A segment on a line that starts a top-level block is that block's type, not part of
        // this traversal (`x = [benchmark.` left unfinished above `query "q" {`): the
        // expression loop then stops at that line.
        let header_at = |span: Span| {
            self.starts_line(span.start as usize) && header_line(self.src, span.start as usize)
        };
        let second = segment(&mut ahead).filter(|s| !header_at(*s))?;
        let second_bytes = self.bytes(second);
        let (module, kind, name, scoped, end_lex) =
            if is_reference_root(root_bytes) && root_bytes != b"self" {
                let kind = if root_bytes == b"variable" {
                    b"var".as_slice()
                } else {
                    root_bytes
                };
                (None, kind, second, false, ahead)
            } else if root_bytes == b"self" {
                let third = segment(&mut ahead).filter(|s| !header_at(*s))?;
                (None, second_bytes, third, true, ahead)
            } else if is_module_member(second_bytes) {
                let third = segment(&mut ahead).filter(|s| !header_at(*s))?;
                (Some(root), second_bytes, third, false, ahead)
            } else {
                return None;
            };
        let module = module.map(|m| {
            let b = self.bytes(m);
            self.intern_word(b)
        });
        let kind = self.intern_word(kind);
        let name_bytes = self.bytes(name);
        let name_sym = self.intern_bytes(name_bytes);
        self.lex = end_lex;
        let index = self.s.refs.len() as u32;
        self.s.refs.push(Reference::new(
            Span {
                start: root.start,
                end: name.end,
            },
            module,
            kind,
            name_sym,
            scoped,
            owner,
        ));
        Some(index)
    }
}

/// [`FileIndex::value_hash`]: the text and first line of the top-level `variable`, `locals`
/// and `mod` blocks, or the whole text of a file that sets values; 0 for neither.
fn value_hash(src: &[u8], blocks: &[Block], strings: &StrBuilder, sets_values: bool) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x7661_6c73).build_hasher();
    if sets_values {
        h.write(src);
        return h.finish() | 1;
    }
    let mut any = false;
    for b in blocks.iter().filter(|b| b.parent.is_none()) {
        if matches!(strings.get(b.kind), "variable" | "locals" | "mod") {
            any = true;
            h.write_u32(b.start.line);
            h.write(
                src.get(b.start.byte as usize..b.end.byte as usize)
                    .unwrap_or(&[]),
            );
        }
    }
    if any { h.finish() | 1 } else { 0 }
}

/// [`FileIndex::value_items`]: each top-level `variable` block's and each local's text,
/// hashed.
fn value_items(src: &[u8], blocks: &[Block], strings: &StrBuilder) -> Vec<super::ValueItem> {
    use std::hash::{BuildHasher, Hasher};
    blocks
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            let is_var = b.parent.is_none() && strings.get(b.kind) == "variable";
            if !(is_var || b.role == BlockRole::Local) {
                return None;
            }
            let mut h = foldhash::fast::FixedState::with_seed(0x6974_656d).build_hasher();
            h.write(
                src.get(b.start.byte as usize..b.end.byte as usize)
                    .unwrap_or(&[]),
            );
            Some(super::ValueItem {
                name: b.name,
                is_var,
                hash: h.finish(),
                block: BlockId::new(i),
            })
        })
        .collect()
}

/// Attributes whose literal value the scanner reads (the others keep spans only).
fn wants_literal(key: Option<AttrKey>) -> bool {
    !matches!(key, Some(AttrKey::Sql) | None)
}

/// Attributes whose non-literal expression text is kept in the index. The others (SQL,
/// descriptions, tag expressions: long, and not needed to list or navigate) are read back
/// from their span when someone asks.
fn keeps_text(key: AttrKey) -> bool {
    !matches!(key, AttrKey::Sql | AttrKey::Description | AttrKey::Tags)
}

/// `"text"`, a heredoc, a number or `true`/`false`, alone (`null` never: see [`Atom::Null`]).
fn literal_scalar(atoms: &[Atom], s: &mut Scanner<'_, '_>) -> Option<AttrValue> {
    match atoms {
        [Atom::Str(Some(sym))] => Some(AttrValue::Str(*sym)),
        [Atom::Str(None)] => Some(AttrValue::Text),
        [Atom::Scalar(span)] => Some(AttrValue::Scalar(s.intern_bytes(s.bytes(*span)))),
        [Atom::Minus, Atom::Scalar(span)] => {
            let text = format!("-{}", lossy(s.bytes(*span)));
            Some(AttrValue::Scalar(s.intern(&text)))
        }
        _ => None,
    }
}

/// `{ key = "value", "key2" : "value" }` with literal keys and values only.
fn literal_tags(atoms: &[Atom], s: &mut Scanner<'_, '_>) -> Option<AttrValue> {
    let [Atom::Open(b'{'), inner @ .., Atom::Close(b'{')] = atoms else {
        return None;
    };
    let start = s.s.tags.len();
    let mut rest = inner;
    let ok = loop {
        let (key, after) = match rest {
            [] => break true,
            [Atom::Word(span), tail @ ..] => (s.intern_bytes(s.bytes(*span)), tail),
            [Atom::Str(Some(sym)), tail @ ..] => (*sym, tail),
            _ => break false,
        };
        let (value, after) = match after {
            [Atom::Eq | Atom::Colon, Atom::Str(Some(v)), tail @ ..] => (*v, tail),
            [Atom::Eq | Atom::Colon, Atom::Scalar(span), tail @ ..] => {
                (s.intern_bytes(s.bytes(*span)), tail)
            }
            [
                Atom::Eq | Atom::Colon,
                Atom::Minus,
                Atom::Scalar(span),
                tail @ ..,
            ] => {
                let text = format!("-{}", lossy(s.bytes(*span)));
                (s.intern(&text), tail)
            }
            _ => break false,
        };
        s.s.tags.push(Tag { key, value });
        rest = match after {
            [Atom::Comma, tail @ ..] => tail,
            tail => tail,
        };
    };
    if !ok {
        s.s.tags.truncate(start);
        return None;
    }
    Some(AttrValue::Tags(IdxRange {
        start: start as u32,
        end: s.s.tags.len() as u32,
    }))
}

/// `[control.a, benchmark.b]`: plain references only.
fn literal_ref_list(atoms: &[Atom]) -> Option<AttrValue> {
    let [Atom::Open(b'['), inner @ .., Atom::Close(b'[')] = atoms else {
        return None;
    };
    let mut first: Option<u32> = None;
    let mut last = 0u32;
    let mut expect_ref = true;
    for atom in inner {
        match (atom, expect_ref) {
            (Atom::Ref(i), true) => {
                if first.is_some() && *i != last + 1 {
                    return None;
                }
                first.get_or_insert(*i);
                last = *i;
                expect_ref = false;
            }
            (Atom::Comma, false) => expect_ref = true,
            _ => return None,
        }
    }
    let start = first.unwrap_or(0);
    let end = if first.is_some() { last + 1 } else { 0 };
    Some(AttrValue::RefList(IdxRange { start, end }))
}

/// Where the first `${` or `%{` in `src[from..limit]` starts, skipping the escapes `$${` and
/// `%%{` (template text: strings and heredocs).
fn find_interpolation(src: &[u8], from: usize, limit: usize) -> Option<usize> {
    let mut k = from;
    while k < limit {
        let at = k + memchr::memchr2(b'$', b'%', &src[k..limit])?;
        let c = src[at];
        match (src.get(at + 1), src.get(at + 2)) {
            (Some(&d), Some(b'{')) if d == c => k = at + 3,
            (Some(b'{'), _) => return Some(at),
            _ => k = at + 1,
        }
    }
    None
}

/// Searches for the first line at or after `from` that closes a heredoc with `marker` (see
/// `Scanner::closing_line`); also returns how many bytes it looked at.
fn search_closing_line(
    src: &[u8],
    from: usize,
    at_line_start: bool,
    marker: &[u8],
    finder: &mut Option<memchr::memmem::Finder<'static>>,
) -> (Option<(u32, u32)>, usize) {
    let Some(body) = src.get(from..) else {
        return (None, 0);
    };
    // Mods use one or two markers (`EOQ`), so the searcher is kept rather than rebuilt for
    // every heredoc.
    if finder.as_ref().is_none_or(|f| f.needle() != marker) {
        *finder = Some(memchr::memmem::Finder::new(marker).into_owned());
    }
    let Some(finder) = finder.as_ref() else {
        return (None, body.len());
    };
    // Each line holding the marker is judged once, whole: the search resumes after it, so
    // a line full of markers (`EOQxEOQx...`) costs its length, not its length per marker.
    let mut pos = from;
    while let Some(hit) = finder.find(&src[pos..]) {
        let at = pos + hit;
        let line_start = memchr::memrchr(b'\n', &src[pos..at])
            .map(|i| pos + i + 1)
            .unwrap_or(pos);
        let line_end = memchr::memchr(b'\n', &src[at..])
            .map(|i| at + i)
            .unwrap_or(src.len());
        let mid_line = line_start == from && !at_line_start;
        if !mid_line && closes_heredoc(&src[line_start..line_end], marker) {
            return (
                Some((line_start as u32, (at + marker.len()) as u32)),
                line_end - from,
            );
        }
        if line_end >= src.len() {
            break;
        }
        pos = line_end + 1;
    }
    (None, src.len() - from)
}

/// Every line of a file that could close a heredoc (blanks, one marker-shaped word,
/// blanks), by its word: the line's start and the word's end, in file order.
struct ClosingLines<'s> {
    by_marker: std::collections::HashMap<&'s [u8], Vec<(u32, u32)>>,
}

impl<'s> ClosingLines<'s> {
    fn build(src: &'s [u8]) -> Self {
        let mut by_marker: std::collections::HashMap<&'s [u8], Vec<(u32, u32)>> =
            std::collections::HashMap::new();
        let mut start = 0;
        while start < src.len() {
            let end = memchr::memchr(b'\n', &src[start..])
                .map(|i| start + i)
                .unwrap_or(src.len());
            let line = &src[start..end];
            let lead = line
                .iter()
                .position(|&b| b != b' ' && b != b'\t')
                .unwrap_or(line.len());
            let word_len = line[lead..]
                .iter()
                .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
                .unwrap_or(line.len() - lead);
            let word = &line[lead..lead + word_len];
            let starts_word = word
                .first()
                .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_');
            if starts_word && closes_heredoc(line, word) {
                by_marker
                    .entry(word)
                    .or_default()
                    .push((start as u32, (start + lead + word_len) as u32));
            }
            start = end + 1;
        }
        ClosingLines { by_marker }
    }

    /// The first closing line for `marker` starting at or after `from` (not the line
    /// starting at `from` itself when the search starts mid-line).
    fn find(&self, marker: &[u8], from: usize, at_line_start: bool) -> Option<(u32, u32)> {
        let lines = self.by_marker.get(marker)?;
        let first = lines.partition_point(|&(start, _)| (start as usize) < from);
        lines[first..]
            .iter()
            .find(|&&(start, _)| start as usize > from || at_line_start)
            .copied()
    }
}

/// True if `line` is a heredoc's closing line: optional indentation, the marker, optional
/// trailing blanks (a `\r` of CRLF included).
fn closes_heredoc(line: &[u8], marker: &[u8]) -> bool {
    let trimmed_start = line
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(line.len());
    let rest = &line[trimmed_start..];
    let trimmed_end = rest
        .iter()
        .rposition(|&b| !matches!(b, b' ' | b'\t' | b'\r'))
        .map(|p| p + 1)
        .unwrap_or(0);
    !marker.is_empty() && &rest[..trimmed_end] == marker
}

/// The start of the first line after `from` that starts a top-level block.
fn next_header_line(src: &[u8], from: usize) -> Option<usize> {
    let mut i = from.min(src.len());
    while let Some(nl) = memchr::memchr(b'\n', &src[i..]) {
        i += nl + 1;
        if header_line(src, i) {
            return Some(i);
        }
    }
    None
}

/// True if a top-level block header starts at `at`: an identifier at column 0, then labels
/// (quoted or bare), then `{` on the same line. `locals {` qualifies; `foo {` with an
/// unknown type and no label does not (too likely to be a nested block written flush left).
fn header_line(src: &[u8], at: usize) -> bool {
    let line_end = memchr::memchr(b'\n', &src[at.min(src.len())..])
        .map(|i| at + i)
        .unwrap_or(src.len());
    let line = &src[at.min(src.len())..line_end];
    let word_len = line
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        .unwrap_or(line.len());
    if word_len == 0 || !(line[0].is_ascii_alphabetic() || line[0] == b'_') {
        return false;
    }
    let word = &line[..word_len];
    if word == b"for" {
        // `for k in {` flush left inside a for expression is not a block header.
        return false;
    }
    let mut rest = &line[word_len..];
    let mut labels = 0;
    loop {
        let skip = rest
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .unwrap_or(rest.len());
        rest = &rest[skip..];
        match rest.first() {
            Some(b'{') => return labels > 0 || word == b"locals",
            Some(b'"') => {
                let Some(close) = memchr::memchr(b'"', &rest[1..]) else {
                    return false;
                };
                rest = &rest[close + 2..];
                labels += 1;
            }
            Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
                let n = rest
                    .iter()
                    .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
                    .unwrap_or(rest.len());
                if matches!(&rest[..n], b"in" | b"if") {
                    // `k in {` / `k if {` of a for expression, not labels.
                    return false;
                }
                rest = &rest[n..];
                labels += 1;
            }
            _ => return false,
        }
    }
}

fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

fn describe(tok: Tok, bytes: &[u8]) -> String {
    match tok {
        Tok::Quote => "a string".to_string(),
        Tok::Heredoc => "a heredoc".to_string(),
        Tok::Number => "a number".to_string(),
        _ => format!("`{}`", lossy(bytes).escape_debug()),
    }
}

fn describe_result(tok: Result<Tok, ()>, bytes: &[u8]) -> String {
    match tok {
        Ok(t) => describe(t, bytes),
        Err(()) => format!("`{}`", lossy(bytes).escape_debug()),
    }
}
