//! The protocol guard: what stands between the client's byte stream and tower-lsp-server.
//!
//! tower-lsp-server reads frames with a tokio-util codec, and a codec error ends its input
//! stream: one malformed message (no `Content-Length`, a body that is not JSON, a
//! `Content-Type` without a charset, an id that is not an integer or a string, a duplicate
//! key) would stop the server. The guard reads the frames itself ([`FrameReader`]),
//! answers what is malformed with a JSON-RPC error (`-32700` parse error, `-32600` invalid
//! request, `-32601` for a `$/` request) and passes on only well-formed messages,
//! re-serialised and re-framed with a plain `Content-Length` header. The server's output
//! and the guard's errors are merged frame by frame into the real output.
//!
//! What it repairs rather than refuses, so that no edit is lost:
//! * Text is decoded leniently, as VS Code's own JSON-RPC library does: invalid UTF-8 and
//!   lone UTF-16 surrogates (`"\ud83d"`, sent when a change splits an emoji) become U+FFFD,
//!   which is one UTF-16 unit like the surrogate it stands for, so later positions agree.
//! * After a malformed frame (a bad header, a `Content-Length` too short or too long,
//!   garbage) the reader resynchronises at the next `Content-Length` header, wherever it
//!   starts — inside the garbage or inside the body a wrong length claimed — so the next
//!   message is read and answered. The bad frame is answered once, with its request's id
//!   when the start of its body says it.
//! * A `textDocument/didChange` that cannot be read, or whose parameters do not decode, is
//!   replaced by a [`LOST_EDIT`] notification naming the document (or none, meaning every
//!   document): the server then stops trusting its copy of that text.
//! * A message sent after `initialize` but before its answer (some clients send
//!   `initialized` at once) is held until the answer is out; tower-lsp-server would drop it.
//! * A JSON-RPC batch is taken apart and its messages handled one by one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tower_lsp_server::ls_types::DidChangeTextDocumentParams;

/// The largest message body accepted (a huge `didOpen` is legitimate; beyond this it is a
/// broken header).
pub const MAX_BODY: usize = 256 * 1024 * 1024;

/// The longest header block accepted (real ones are under 100 bytes).
const MAX_HEADER: usize = 64 * 1024;

/// The notification the guard sends the server in place of a document change it could not
/// read: `{"uri": "file:///..." | null, "reason": "..."}` (no URI: any open document).
pub const LOST_EDIT: &str = "modlens/lostEdit";

const CONTENT_LENGTH: &[u8] = b"content-length";

/// How much of a broken message's body is searched for the id to answer it under: the
/// reader waits for this much of it (or the next header, or the end of the input) before
/// it answers, so that the answer does not depend on how the input was cut into reads.
pub const SALVAGE_WINDOW: usize = 4096;

/// How much unusable input is held to look for document changes in it whole (a change cut
/// in two by a read, or by a wrong `Content-Length`, is still found, with its URI).
const LOST_RUN_LIMIT: usize = 1 << 20;

const DID_CHANGE: &[u8] = b"textDocument/didChange";

/// How long the input may pause inside unusable bytes before the changes found in them are
/// reported (the rest of a cut change, with its URI, may still be on its way).
const LOST_RUN_IDLE: Duration = Duration::from_millis(50);

/// One frame read from a stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A body.
    Body(Vec<u8>),
    /// Bytes that are no message, skipped to resynchronise: what was wrong, the bytes, and
    /// where in them the body of the broken message starts (when a header was read).
    Bad {
        /// What was wrong.
        why: String,
        /// The bytes skipped.
        bytes: Vec<u8>,
        /// Where the broken message's body starts in `bytes`.
        body_from: Option<usize>,
    },
    /// More bytes skipped while looking for the next header, after a [`Frame::Bad`] (or a
    /// body the caller [rejected](FrameReader::reject)) that was already answered.
    Skipped(Vec<u8>),
}

/// Reads frames (`Content-Length: N\r\n\r\n` + N bytes) from a byte stream, resynchronising
/// at the next `Content-Length` header after anything malformed.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    eof: bool,
    /// Out of sync: the buffer's start is not known to be a header; skip to the next one.
    lost: bool,
    /// The bad run being skipped was answered already (no second error for it).
    reported: bool,
    /// How far a pending body was searched for a header that would cut it short.
    searched: usize,
    /// The header block of the last body given.
    head: Vec<u8>,
}

/// What the start of the buffer holds.
enum Head {
    /// Could still become a header block.
    Incomplete,
    /// Not a usable header block; `body_from` is where a body would start.
    Invalid {
        why: String,
        body_from: Option<usize>,
    },
    /// A header block announcing `len` bytes from `body_start`.
    Complete { len: usize, body_start: usize },
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader over `inner`.
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            buf: Vec::new(),
            eof: false,
            lost: false,
            reported: false,
            searched: 0,
            head: Vec::new(),
        }
    }

    /// The next frame; `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(f) = self.parse() {
                return Some(f);
            }
            if self.eof {
                if self.buf.is_empty() {
                    return None;
                }
                let bytes = std::mem::take(&mut self.buf);
                return Some(self.bad("the input ended inside a message", bytes, None));
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.inner.read(&mut chunk).await {
                Ok(0) | Err(_) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The header block of the last body given (with its blank line).
    pub fn last_head(&self) -> &[u8] {
        &self.head
    }

    /// The caller could not use the last body (it is not JSON): its bytes are searched for
    /// the next header, as a wrong `Content-Length` may have cut a message short or run
    /// into the next one. The caller has answered it.
    pub fn reject(&mut self, body: Vec<u8>) {
        let mut bytes = body;
        bytes.extend_from_slice(&self.buf);
        self.buf = bytes;
        self.lost = true;
        self.reported = true;
        self.searched = 0;
    }

    /// A bad run: reported once, then skipped silently.
    fn bad(&mut self, why: &str, bytes: Vec<u8>, body_from: Option<usize>) -> Frame {
        if self.reported {
            Frame::Skipped(bytes)
        } else {
            self.reported = true;
            Frame::Bad {
                why: why.to_string(),
                bytes,
                body_from,
            }
        }
    }

    /// Drops the bytes before the next `Content-Length` at or after `from`; with none in
    /// the buffer, all but a tail that may be the start of one, and the reader stays lost.
    fn skip_to_header(&mut self, from: usize) -> Vec<u8> {
        self.searched = 0;
        match find_ci(&self.buf, CONTENT_LENGTH, from) {
            Some(at) => {
                self.lost = false;
                self.buf.drain(..at).collect()
            }
            None => {
                self.lost = true;
                let keep = partial_suffix(&self.buf, CONTENT_LENGTH);
                let at = self.buf.len() - keep;
                self.buf.drain(..at.max(from.min(self.buf.len()))).collect()
            }
        }
    }

    /// Whether a broken message (its body from `body_from`) should wait for more input
    /// before it is answered: the id it is to be answered under may still come (within
    /// [`SALVAGE_WINDOW`]), and neither the next header nor the end of the input has. The
    /// search for the header goes on where it stopped (linear over many small reads).
    fn id_may_follow(&mut self, body_from: usize) -> bool {
        let body = &self.buf[body_from..];
        if self.eof || body.len() >= SALVAGE_WINDOW || salvage_id(body).is_some() {
            return false;
        }
        if find_ci(&self.buf, CONTENT_LENGTH, self.searched.max(1)).is_some() {
            self.searched = 0;
            return false;
        }
        self.searched = self.buf.len().saturating_sub(CONTENT_LENGTH.len()).max(1);
        true
    }

    /// A whole frame from the buffer, if there is one.
    fn parse(&mut self) -> Option<Frame> {
        if self.lost {
            let skipped = self.skip_to_header(0);
            if !skipped.is_empty() {
                return Some(self.bad("garbage between messages", skipped, None));
            }
            if self.lost {
                return None;
            }
        }
        // Line breaks and blanks between messages are not garbage.
        let blank = self
            .buf
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
            .count();
        self.buf.drain(..blank);
        if self.buf.is_empty() {
            return None;
        }
        let (len, body_start) = match read_head(&self.buf) {
            Head::Incomplete => return None,
            Head::Invalid { why, body_from } => {
                if let Some(b) = body_from
                    && self.id_may_follow(b)
                {
                    return None;
                }
                let bytes = self.skip_to_header(1);
                return Some(self.bad(&why, bytes, body_from));
            }
            Head::Complete { len, body_start } => (len, body_start),
        };
        let end = body_start + len;
        // A header line inside the body means the length was wrong: valid JSON cannot hold
        // one (a raw line break is not allowed in a string).
        let from = body_start.max(self.searched);
        let line = find_header_line(&self.buf[..end.min(self.buf.len())], from);
        if let HeaderLine::At(at) = line {
            self.searched = 0;
            let bytes: Vec<u8> = self.buf.drain(..at).collect();
            let why = format!(
                "Content-Length {len} runs past the message: the next header starts after {} \
                 bytes",
                at - body_start
            );
            return Some(self.bad(&why, bytes, Some(body_start)));
        }
        if self.buf.len() < end {
            // Searched up to here, or to a header line the read cut.
            self.searched = match line {
                HeaderLine::Undecided(at) => at,
                _ => self.buf.len(),
            };
            return None;
        }
        let body = self.buf[body_start..end].to_vec();
        self.head = self.buf[..body_start].to_vec();
        self.buf.drain(..end);
        self.searched = 0;
        self.reported = false;
        Some(Frame::Body(body))
    }
}

/// Reads the header block at the start of `buf`.
fn read_head(buf: &[u8]) -> Head {
    let window = &buf[..buf.len().min(MAX_HEADER)];
    let Some(end) = memchr::memmem::find(window, b"\r\n\r\n") else {
        if buf.len() >= MAX_HEADER {
            return Head::Invalid {
                why: format!("no end of headers in {MAX_HEADER} bytes"),
                body_from: None,
            };
        }
        return match header_prefix_error(buf) {
            Some(why) => Head::Invalid {
                why,
                body_from: None,
            },
            None => Head::Incomplete,
        };
    };
    // What a read that stopped inside the block would have refused as no header at all is
    // refused so here too (no body to answer under its id), whatever the reads.
    if let Some(why) = header_prefix_error(&buf[..end + 2]) {
        return Head::Invalid {
            why,
            body_from: None,
        };
    }
    let body_start = end + 4;
    let invalid = |why: String| Head::Invalid {
        why,
        body_from: Some(body_start),
    };
    let mut len: Option<usize> = None;
    for line in split_lines(&buf[..end]) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return invalid(format!("malformed header line `{}`", lossy(line)));
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
            return invalid(format!("malformed header line `{}`", lossy(line)));
        }
        // A `Content-Length` inside a line is a message header that garbage ran into.
        if find_ci(value, CONTENT_LENGTH, 0).is_some() || find_ci(name, CONTENT_LENGTH, 1).is_some()
        {
            return invalid(format!("garbage before a header: `{}`", lossy(line)));
        }
        if name.eq_ignore_ascii_case(CONTENT_LENGTH) {
            let number = std::str::from_utf8(value)
                .ok()
                .and_then(|t| t.trim().parse::<usize>().ok());
            let Some(n) = number else {
                return invalid(format!("invalid Content-Length `{}`", lossy(value).trim()));
            };
            if len.is_some_and(|l| l != n) {
                return invalid("two different Content-Length headers".to_string());
            }
            len = Some(n);
        }
    }
    match len {
        None => invalid("missing Content-Length header".to_string()),
        Some(n) if n > MAX_BODY => invalid(format!("message too large: {n} bytes")),
        Some(len) => Head::Complete { len, body_start },
    }
}

/// Why the start of an unfinished header block cannot be one (`None`: it still can).
fn header_prefix_error(buf: &[u8]) -> Option<String> {
    let mut lines = split_lines(buf).peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        // The last line may be cut anywhere, even between `\r` and `\n`.
        let line = match (last, line.last()) {
            (true, Some(b'\r')) => &line[..line.len() - 1],
            _ => line,
        };
        let name_end = line.iter().position(|&b| b == b':');
        let name = &line[..name_end.unwrap_or(line.len())];
        let bad_name = !name.iter().all(|&b| is_token(b)) || (name.is_empty() && !last);
        let no_colon = name_end.is_none() && !last;
        let broken = line.iter().any(|&b| b == b'\n' || b == b'\r');
        if bad_name || no_colon || broken {
            return Some(format!("not a header: `{}`", lossy(line)));
        }
    }
    None
}

/// The lines of a header block (split at `\r\n`).
fn split_lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(block);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memmem::find(r, b"\r\n") {
            Some(i) => {
                rest = Some(&r[i + 2..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// A byte of an HTTP header name (RFC 9110 `token`).
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn lossy(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
    s.escape_debug().to_string()
}

/// The first case-insensitive occurrence of `needle` (lower case) in `hay` at or after
/// `from`.
fn find_ci(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = needle[0];
    let mut at = from;
    while at + needle.len() <= hay.len() {
        let i = at + memchr::memchr2(first, first.to_ascii_uppercase(), &hay[at..])?;
        if hay
            .get(i..i + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

/// The length of the longest tail of `hay` that is a (case-insensitive) start of `needle`.
fn partial_suffix(hay: &[u8], needle: &[u8]) -> usize {
    (1..needle.len().min(hay.len() + 1))
        .rev()
        .find(|&n| hay[hay.len() - n..].eq_ignore_ascii_case(&needle[..n]))
        .unwrap_or(0)
}

/// Where a `Content-Length: N\r\n` line is in a body, as far as it has come.
#[derive(Debug, PartialEq, Eq)]
enum HeaderLine {
    /// A whole one starts here.
    At(usize),
    /// One may start here: the bytes end before it is whole.
    Undecided(usize),
    /// None.
    Absent,
}

/// The first whole `Content-Length: N\r\n` line that starts at or after `from` in `buf`
/// (the body read so far, never past its end: what follows a body cannot change what it
/// is).
fn find_header_line(buf: &[u8], from: usize) -> HeaderLine {
    let mut at = from;
    loop {
        let Some(i) = find_ci(buf, CONTENT_LENGTH, at) else {
            let partial = partial_suffix(&buf[from.min(buf.len())..], CONTENT_LENGTH);
            return match partial {
                0 => HeaderLine::Absent,
                n => HeaderLine::Undecided(buf.len() - n),
            };
        };
        let rest = &buf[i + CONTENT_LENGTH.len()..];
        let blanks = |s: &[u8]| s.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        let mut j = blanks(rest);
        if j == rest.len() {
            return HeaderLine::Undecided(i);
        }
        if rest[j] == b':' {
            j += 1;
            j += blanks(&rest[j..]);
            let digits = rest[j..].iter().take_while(|b| b.is_ascii_digit()).count();
            j += digits;
            j += blanks(&rest[j..]);
            match rest.get(j..j + 2) {
                _ if j + 2 > rest.len() && (rest.len() == j || rest[j] == b'\r') => {
                    return HeaderLine::Undecided(i);
                }
                Some(b"\r\n") if digits > 0 => return HeaderLine::At(i),
                _ => {}
            }
        }
        at = i + 1;
    }
}

/// A frame around `body`.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn error(id: Value, code: i64, message: &str) -> Vec<u8> {
    frame(
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
            .to_string()
            .as_bytes(),
    )
}

/// Parses a body as JSON, leniently: a leading byte order mark is dropped, invalid UTF-8
/// and lone UTF-16 surrogate escapes become U+FFFD. `Err`: why it is not JSON at all.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let strict = match serde_json::from_slice::<Value>(body) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let text = String::from_utf8_lossy(body);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let repaired = replace_lone_surrogates(text.as_bytes());
    match serde_json::from_slice::<Value>(&repaired) {
        Ok(v) => {
            tracing::warn!(
                error = %strict,
                "message decoded leniently (invalid UTF-8 or a lone surrogate became U+FFFD)"
            );
            Ok(v)
        }
        Err(_) => Err(strict.to_string()),
    }
}

/// `bytes` (JSON text) with every `\uXXXX` escape of a lone surrogate inside a string
/// replaced by `\ufffd`.
fn replace_lone_surrogates(bytes: &[u8]) -> Vec<u8> {
    fn unit(b: &[u8], at: usize) -> Option<u16> {
        if b.get(at) != Some(&b'\\') || b.get(at + 1) != Some(&b'u') {
            return None;
        }
        let hex = std::str::from_utf8(b.get(at + 2..at + 6)?).ok()?;
        u16::from_str_radix(hex, 16).ok()
    }
    let high = |u: u16| (0xD800..0xDC00).contains(&u);
    let low = |u: u16| (0xDC00..0xE000).contains(&u);
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !in_string {
            in_string = b == b'"';
            out.push(b);
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = false;
                out.push(b);
                i += 1;
            }
            b'\\' => match unit(bytes, i) {
                Some(u) if high(u) && unit(bytes, i + 6).is_some_and(low) => {
                    out.extend_from_slice(&bytes[i..i + 12]);
                    i += 12;
                }
                Some(u) if high(u) || low(u) => {
                    out.extend_from_slice(b"\\ufffd");
                    i += 6;
                }
                Some(_) => {
                    out.extend_from_slice(&bytes[i..i + 6]);
                    i += 6;
                }
                None => {
                    out.extend_from_slice(&bytes[i..(i + 2).min(bytes.len())]);
                    i += 2;
                }
            },
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The top-level `id` of the JSON object that `bytes` start (possibly cut short), when it
/// is whole: so that a request whose frame broke is still answered under its own id.
pub fn salvage_id(bytes: &[u8]) -> Option<Value> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if bytes[start] != b'{' {
        return None;
    }
    // The index after the string that starts at `at`.
    let string_end = |at: usize| -> Option<usize> {
        let mut i = at + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    };
    let mut depth = 0usize;
    let mut expect_key = false;
    let mut key: Option<&[u8]> = None;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let end = string_end(i)?;
                if depth == 1 && expect_key {
                    key = Some(&bytes[i..end]);
                    expect_key = false;
                }
                i = end;
                continue;
            }
            b':' if depth == 1 && key == Some(b"\"id\"") => {
                let from = i
                    + 1
                    + bytes[i + 1..]
                        .iter()
                        .take_while(|b| b.is_ascii_whitespace())
                        .count();
                return match bytes.get(from)? {
                    b'"' => {
                        let end = string_end(from)?;
                        serde_json::from_slice::<String>(&bytes[from..end])
                            .ok()
                            .map(Value::String)
                    }
                    b'-' | b'0'..=b'9' => {
                        let len = bytes[from..]
                            .iter()
                            .take_while(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
                            .count();
                        // Whole only if something follows it.
                        let next = *bytes.get(from + len)?;
                        if !(next == b',' || next == b'}' || next.is_ascii_whitespace()) {
                            return None;
                        }
                        serde_json::from_slice::<Value>(&bytes[from..from + len])
                            .ok()
                            .filter(Value::is_number)
                    }
                    _ => None,
                };
            }
            b'{' | b'[' => {
                depth += 1;
                expect_key = depth == 1;
            }
            b',' if depth == 1 => {
                expect_key = true;
                key = None;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return None;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The documents whose changes `bytes` (input that could not be used) hold: each one's URI
/// when it can be read (between its method and the next change), `None` when it cannot.
fn lost_edits_in(bytes: &[u8]) -> Vec<Option<String>> {
    let at: Vec<usize> = memchr::memmem::find_iter(bytes, DID_CHANGE).collect();
    let mut out: Vec<Option<String>> = Vec::new();
    for (k, &p) in at.iter().enumerate() {
        let end = at.get(k + 1).copied().unwrap_or(bytes.len());
        let uri = uri_in(&bytes[p..end]);
        if !out.contains(&uri) {
            out.push(uri);
        }
    }
    out
}

/// When `bytes` (a message that could not be used) look like a document change: the
/// document's URI if it can be read, `None` inside when it cannot.
#[cfg(test)]
fn lost_edit_in(bytes: &[u8]) -> Option<Option<String>> {
    memchr::memmem::find(bytes, DID_CHANGE)?;
    Some(uri_in(bytes))
}

/// The first `"uri": "..."` in `bytes`, when it is whole and what follows it can follow a
/// value in an object (a string that runs on into other bytes is no URI to trust).
fn uri_in(bytes: &[u8]) -> Option<String> {
    let k = memchr::memmem::find(bytes, b"\"uri\"")?;
    let rest = &bytes[k + 5..];
    let colon = rest.iter().position(|&b| !b.is_ascii_whitespace())?;
    if rest[colon] != b':' {
        return None;
    }
    let rest = &rest[colon + 1..];
    let q = rest.iter().position(|&b| !b.is_ascii_whitespace())?;
    let mut values = serde_json::Deserializer::from_slice(&rest[q..]).into_iter::<String>();
    let uri = values.next()?.ok()?;
    let after = &rest[q + values.byte_offset()..];
    match after.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b',' | b'}') => Some(uri),
        _ => None,
    }
}

/// The input that could not be used since the last message read, searched for document
/// changes when it ends (at the next message, the end of the input, or a pause of
/// [`LOST_RUN_IDLE`]) rather than piece by piece: a change cut in two by a read, or by a wrong `Content-Length` (its method in the
/// broken body, the rest in the bytes skipped after it), is found all the same, and what is
/// found does not depend on how the input was read.
#[derive(Default)]
struct LostRun {
    bytes: Vec<u8>,
}

impl LostRun {
    /// Adds unusable bytes; the notices for changes found when the run grew too long.
    fn push(&mut self, bytes: &[u8]) -> Vec<Action> {
        self.bytes.extend_from_slice(bytes);
        if self.bytes.len() <= LOST_RUN_LIMIT {
            return Vec::new();
        }
        // Searched now; the tail kept may hold the start of a method cut here.
        let keep = DID_CHANGE.len() - 1;
        let tail = self.bytes.split_off(self.bytes.len() - keep);
        let run = std::mem::replace(&mut self.bytes, tail);
        notices(&run)
    }

    /// The run ended: the notices for the changes in it.
    fn end(&mut self) -> Vec<Action> {
        let run = std::mem::take(&mut self.bytes);
        notices(&run)
    }
}

/// A [`LOST_EDIT`] notice for each document whose change `run` holds; one for every
/// document when one of them cannot be named.
fn notices(run: &[u8]) -> Vec<Action> {
    let lost = lost_edits_in(run);
    if lost.is_empty() {
        return Vec::new();
    }
    tracing::error!(documents = ?lost, "document changes could not be read");
    let reason = "the change's message could not be read (a broken frame, or not JSON)";
    let lost = match lost.contains(&None) {
        true => vec![None],
        false => lost,
    };
    lost.into_iter()
        .map(|uri| Action::Forward(lost_edit(uri, reason)))
        .collect()
}

/// A [`LOST_EDIT`] notification.
fn lost_edit(uri: Option<String>, reason: &str) -> Value {
    json!({"jsonrpc": "2.0", "method": LOST_EDIT, "params": {"uri": uri, "reason": reason}})
}

/// What the guard does with one piece of input.
#[derive(Debug, PartialEq)]
pub enum Action {
    /// Pass this message on to the server.
    Forward(Value),
    /// Send this frame back to the client.
    Answer(Vec<u8>),
}

/// Classifies one decoded message (a batch is taken apart).
pub fn check(v: Value) -> Vec<Action> {
    match v {
        Value::Array(items) if !items.is_empty() => items
            .into_iter()
            .flat_map(|item| match item {
                Value::Object(_) => check_one(item),
                _ => vec![Action::Answer(error(
                    Value::Null,
                    -32600,
                    "Invalid request: a batch holds JSON objects",
                ))],
            })
            .collect(),
        Value::Array(_) => vec![Action::Answer(error(
            Value::Null,
            -32600,
            "Invalid request: an empty batch",
        ))],
        Value::Object(_) => check_one(v),
        _ => vec![Action::Answer(error(
            Value::Null,
            -32600,
            "Invalid request: a message is a JSON object",
        ))],
    }
}

fn check_one(v: Value) -> Vec<Action> {
    let id = v.get("id").cloned();
    let method = v.get("method").and_then(Value::as_str).map(str::to_string);
    // An id the client can match (any number or string) is echoed in an error.
    let reply_id = match &id {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    };
    let id_ok = match &id {
        None | Some(Value::Null) | Some(Value::String(_)) => true,
        Some(Value::Number(n)) => n.is_i64(),
        Some(_) => false,
    };
    let refuse = |code: i64, message: &str| {
        let mut out = vec![Action::Answer(error(reply_id.clone(), code, message))];
        if method.as_deref() == Some("textDocument/didChange") {
            let uri = v
                .pointer("/params/textDocument/uri")
                .and_then(Value::as_str)
                .map(str::to_string);
            out.push(Action::Forward(lost_edit(uri, message)));
        }
        out
    };
    if v.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return refuse(-32600, "Invalid request: `jsonrpc` must be \"2.0\"");
    }
    if !id_ok {
        return refuse(
            -32600,
            "Invalid request: `id` must be an integer (64 bits at most) or a string",
        );
    }
    let answer_like = v.get("result").is_some() || v.get("error").is_some();
    match v.get("method") {
        // tower-lsp-server would take it for a response and never answer the request.
        Some(Value::String(_)) if answer_like => {
            return refuse(
                -32600,
                "Invalid request: a message is a request or a response, not both",
            );
        }
        Some(Value::String(_)) => {}
        Some(_) => return refuse(-32600, "Invalid request: `method` must be a string"),
        // A response to a request of the server's.
        None if id.is_some() && answer_like => {
            return vec![Action::Forward(v)];
        }
        None => return refuse(-32600, "Invalid request: no `method`"),
    }
    let method = method.unwrap_or_default();
    // `$/` messages are notifications; a request must be refused (tower-lsp-server would
    // drop it unanswered).
    if method.starts_with("$/") && id.is_some() {
        return vec![Action::Answer(error(
            reply_id,
            -32601,
            &format!("Method not found: `{method}` is a notification, not a request"),
        ))];
    }
    if method == "textDocument/didChange" {
        let params = v.get("params").unwrap_or(&Value::Null);
        if let Err(e) = DidChangeTextDocumentParams::deserialize(params) {
            let uri = params
                .pointer("/textDocument/uri")
                .and_then(Value::as_str)
                .map(str::to_string);
            tracing::error!(error = %e, uri = ?uri, "a document change has invalid parameters");
            return vec![Action::Forward(lost_edit(
                uri,
                &format!("the change's parameters are invalid: {e}"),
            ))];
        }
    }
    vec![Action::Forward(v)]
}

/// What the input filter, the output merger and the server share about the session: the
/// id of an `initialize` request not answered yet, and whether `shutdown` was asked for.
#[derive(Clone)]
pub struct Session {
    pending: watch::Sender<Option<Value>>,
    shutdown: Arc<AtomicBool>,
}

impl Session {
    /// A session where nothing happened yet.
    pub fn new() -> Session {
        Session {
            pending: watch::Sender::new(None),
            shutdown: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The client asked for `shutdown` (whether or not the server got to it before `exit`).
    pub fn shutdown_requested(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Notes an answer from the server (a body it wrote).
    fn answered(&self, body: &[u8]) {
        if self.pending.borrow().is_none() {
            return;
        }
        /// `"id": null` is an id (tower-lsp-server answers a request with a null id under
        /// it), so it must not read as an absent one.
        fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
            Value::deserialize(d).map(Some)
        }
        #[derive(Deserialize)]
        struct Reply {
            #[serde(default, deserialize_with = "present")]
            id: Option<Value>,
            method: Option<serde::de::IgnoredAny>,
        }
        if let Ok(r) = serde_json::from_slice::<Reply>(body)
            && r.method.is_none()
            && r.id.is_some()
        {
            self.pending.send_if_modified(|p| {
                if p.is_some() && *p == r.id {
                    *p = None;
                    true
                } else {
                    false
                }
            });
        }
    }

    /// Waits until no `initialize` is unanswered (or the output ended).
    async fn wait(&self) {
        let mut rx = self.pending.subscribe();
        let _ = rx.wait_for(Option::is_none).await;
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

/// Copies messages from `input` to `to_server`, answering malformed ones on `errors`.
pub async fn filter_input<R, W>(
    input: R,
    mut to_server: W,
    errors: mpsc::UnboundedSender<Vec<u8>>,
    gate: Session,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut frames = FrameReader::new(input);
    let answer = |bytes: Vec<u8>| {
        let _ = errors.send(bytes);
    };
    // Bytes of a rejected body that come back as skipped: already looked at.
    let mut seen = 0usize;
    let mut lost = LostRun::default();
    loop {
        let next = match lost.bytes.is_empty() {
            true => frames.next().await,
            false => match tokio::time::timeout(LOST_RUN_IDLE, frames.next()).await {
                Ok(f) => f,
                // The client paused: report what is lost now, not at its next message.
                Err(_) => {
                    let actions = lost.end();
                    if !forward(actions, &mut to_server, &gate, &answer).await {
                        return;
                    }
                    continue;
                }
            },
        };
        let Some(f) = next else {
            // What the input ended on.
            let actions = lost.end();
            if !forward(actions, &mut to_server, &gate, &answer).await {
                return;
            }
            break;
        };
        let actions = match f {
            Frame::Body(body) => match decode(&body) {
                Ok(v) => {
                    seen = 0;
                    let mut actions = lost.end();
                    actions.extend(check(v));
                    actions
                }
                Err(why) => {
                    tracing::warn!(%why, body = %String::from_utf8_lossy(&body[..body.len().min(200)]), "a message that is not JSON");
                    let id = salvage_id(&body).unwrap_or(Value::Null);
                    answer(error(id, -32700, &format!("Parse error: {why}")));
                    // With its header (what that holds is no message either), which follows
                    // the run's bytes in the input.
                    let actions = lost.push(&[frames.last_head(), &body].concat());
                    seen = body.len();
                    frames.reject(body);
                    actions
                }
            },
            Frame::Bad {
                why,
                bytes,
                body_from,
            } => {
                seen = 0;
                tracing::warn!(%why, "malformed message frame");
                let id = body_from
                    .and_then(|b| bytes.get(b..))
                    .and_then(|body| salvage_id(&body[..body.len().min(SALVAGE_WINDOW)]))
                    .unwrap_or(Value::Null);
                answer(error(id, -32700, &format!("Parse error: {why}")));
                lost.push(&bytes)
            }
            Frame::Skipped(bytes) => {
                let old = seen.min(bytes.len());
                seen -= old;
                lost.push(&bytes[old..])
            }
        };
        if !forward(actions, &mut to_server, &gate, &answer).await {
            return;
        }
    }
    let _ = to_server.shutdown().await;
}

/// Carries out `actions`: answers to the client, messages to the server (held while an
/// `initialize` is unanswered). False when the server's input is closed.
async fn forward<W: AsyncWrite + Unpin>(
    actions: Vec<Action>,
    to_server: &mut W,
    gate: &Session,
    answer: &impl Fn(Vec<u8>),
) -> bool {
    for a in actions {
        match a {
            Action::Answer(bytes) => answer(bytes),
            Action::Forward(v) => {
                // Held while an `initialize` is unanswered: tower-lsp-server drops a
                // notification that comes before the answer (responses pass).
                if v.get("method").is_some() {
                    gate.wait().await;
                }
                let method = v.get("method").and_then(Value::as_str);
                let init_id = (method == Some("initialize"))
                    .then(|| v.get("id").cloned())
                    .flatten();
                if method == Some("shutdown") && v.get("id").is_some() {
                    gate.shutdown.store(true, Ordering::SeqCst);
                }
                let Ok(body) = serde_json::to_vec(&v) else {
                    continue;
                };
                if let Some(id) = init_id {
                    gate.pending.send_replace(Some(id));
                }
                if to_server.write_all(&frame(&body)).await.is_err() {
                    let _ = to_server.shutdown().await;
                    return false;
                }
            }
        }
    }
    true
}

/// Writes the server's frames and the guard's errors to `output`, whole frames at a time.
pub async fn merge_output<R, W>(
    from_server: R,
    mut errors: mpsc::UnboundedReceiver<Vec<u8>>,
    mut output: W,
    gate: Session,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut frames = FrameReader::new(from_server);
    let mut errors_open = true;
    loop {
        // The guard's errors first: one is queued before the input that follows it reaches
        // the server, so it goes out before any answer to that input (a client matching
        // errors to frames sees them in the order it sent the frames).
        tokio::select! {
            biased;
            e = errors.recv(), if errors_open => match e {
                Some(bytes) => {
                    if output.write_all(&bytes).await.is_err() {
                        break;
                    }
                    let _ = output.flush().await;
                }
                None => errors_open = false,
            },
            f = frames.next() => match f {
                Some(Frame::Body(body)) => {
                    if output.write_all(&frame(&body)).await.is_err() {
                        break;
                    }
                    let _ = output.flush().await;
                    gate.answered(&body);
                }
                Some(_) => {}
                None => break,
            },
        }
    }
    // Nothing more will be answered: release anything held for an answer.
    gate.pending.send_replace(None);
    let _ = tokio::time::timeout(Duration::from_secs(5), output.flush()).await;
}

#[cfg(test)]
mod tests;
