//! Helpers shared by the fuzz targets: an in-memory workspace, the scanner's invariants, a
//! client's copy of a document under LSP incremental edits, and the protocol guard driven
//! over an in-memory stream.
//!
//! Nothing here is fuzzed itself; every check returns the first violation as text so that
//! a target can panic with it (a panic is what the fuzzer reports as a crash).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use modlens::cache::Limits;
use modlens::index::{Index, ModId, dump};
use modlens::lsp::guard::{self, Frame, FrameReader};
use modlens::resolve::{Model, Resolver, Sources, ValueInputs, funcs::FileReader};
use modlens::syntax::{self, AttrValue, FileIndex, Pos};
use serde_json::{Value, json};
use tokio::io::{AsyncWriteExt, DuplexStream};

/// The `mod.pp` of every in-memory workspace.
pub const MOD_PP: &[u8] = b"mod \"fuzz\" {\n  title = \"fuzz\"\n}\n";

/// Files of an in-memory workspace, by path relative to its root.
#[derive(Default)]
pub struct MemSources {
    files: HashMap<String, Arc<[u8]>>,
}

impl MemSources {
    /// Sources holding `files`.
    pub fn new<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> MemSources {
        MemSources {
            files: files
                .into_iter()
                .map(|(p, b)| (p.to_string(), Arc::from(b)))
                .collect(),
        }
    }

    fn read_text(files: &HashMap<String, Arc<[u8]>>, path: &str) -> Result<String, String> {
        match files.get(path.trim_start_matches("./")) {
            Some(b) => Ok(String::from_utf8_lossy(b).into_owned()),
            None => Err(format!("no such file: {path}")),
        }
    }
}

impl Sources for MemSources {
    fn read(&self, path: &str) -> Option<Arc<[u8]>> {
        self.files.get(path).cloned()
    }

    fn read_in_mod(&self, _mod_root: &str, path: &str) -> Result<String, String> {
        MemSources::read_text(&self.files, path)
    }

    fn file_reader(&self, _mod_root: &str) -> FileReader {
        let files = self.files.clone();
        Arc::new(move |path: &str| MemSources::read_text(&files, path))
    }
}

/// An in-memory root mod ready to resolve: `mod.pp` plus `files`.
pub struct Workspace {
    /// The model (index, dependencies, values).
    pub model: Model,
    /// A resolver over the same files.
    pub resolver: Resolver,
    /// The files, for a second resolver.
    pub sources: Arc<dyn Sources>,
}

/// Scans `files` (and [`MOD_PP`]) into a root mod and computes its values from `inputs`.
pub fn workspace(files: &[(&str, &[u8])], inputs: &ValueInputs) -> Workspace {
    let mut index = Index::new();
    let m = index.add_mod(String::new(), false);
    index.add_file("mod.pp".into(), m, syntax::scan(MOD_PP));
    for (path, bytes) in files {
        index.add_file((*path).to_string(), m, syntax::scan(bytes));
    }
    let all = std::iter::once(("mod.pp", MOD_PP)).chain(files.iter().copied());
    let sources: Arc<dyn Sources> = Arc::new(MemSources::new(all));
    let model = Model::new(index, &sources, inputs);
    let resolver = Resolver::new(sources.clone(), small_limits());
    Workspace {
        model,
        resolver,
        sources,
    }
}

/// A small cache, so that eviction paths run too.
pub fn small_limits() -> Limits {
    Limits {
        max_entries: 16,
        max_bytes: 64 * 1024,
    }
}

/// The root mod's id.
pub const ROOT: ModId = ModId(0);

// ---------------------------------------------------------------------------------------
// Scanner invariants (the cheap part of `tests/scanner_props.rs`).

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Line starts of a source, computed independently of the scanner: line 1 starts after a
/// BOM, every other line after a `\n`.
struct LineStarts<'s> {
    src: &'s [u8],
    first: usize,
    starts: Vec<usize>,
}

impl<'s> LineStarts<'s> {
    fn new(src: &'s [u8]) -> Self {
        let first = if src.starts_with(BOM) { BOM.len() } else { 0 };
        let mut starts = vec![first];
        starts.extend(
            src.iter()
                .enumerate()
                .skip(first)
                .filter(|&(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineStarts { src, first, starts }
    }

    fn line(&self, byte: usize) -> u32 {
        let byte = byte.clamp(self.first, self.src.len());
        self.starts.partition_point(|&s| s <= byte) as u32
    }

    /// 1 + the characters since the line start, every maximal invalid UTF-8 sequence
    /// counting as one (as a lossy decoder shows it).
    fn column(&self, byte: usize) -> u32 {
        let byte = byte.clamp(self.first, self.src.len());
        let line_start = self.starts[self.line(byte) as usize - 1];
        1 + String::from_utf8_lossy(&self.src[line_start..byte])
            .chars()
            .count() as u32
    }
}

/// Checks the index of `src`: every span inside the file, positions agree with their
/// bytes, blocks in pre-order with parents before (and around) their children, attribute,
/// tag and reference ranges inside their tables, references in order and inside their
/// block, diagnostics in order. Returns the first violation.
pub fn check_scan(src: &[u8], index: &FileIndex) -> Result<(), String> {
    let len = src.len();
    let lines = LineStarts::new(src);
    if index.source_len as usize != len {
        return Err(format!("source_len {} != {len}", index.source_len));
    }
    let check_pos = |what: &str, p: Pos| -> Result<(), String> {
        let b = p.byte as usize;
        if b > len {
            return Err(format!("{what}: byte {b} past the end ({len})"));
        }
        let (line, column) = (lines.line(b), lines.column(b));
        if (p.line, p.column) != (line, column) {
            return Err(format!(
                "{what}: {}:{} but byte {b} is at {line}:{column}",
                p.line, p.column
            ));
        }
        Ok(())
    };
    let in_file = |what: &str, start: u32, end: u32| -> Result<(), String> {
        if start > end || end as usize > len {
            return Err(format!("{what}: span {start}..{end} not within 0..{len}"));
        }
        Ok(())
    };

    let mut previous_start: Option<u32> = None;
    for (i, b) in index.blocks.iter().enumerate() {
        let what = format!("block #{i} `{} {}`", index.str(b.kind), index.str(b.name));
        check_pos(&format!("{what} start"), b.start)?;
        check_pos(&format!("{what} end"), b.end)?;
        if b.start.byte > b.end.byte {
            return Err(format!("{what}: starts after its end"));
        }
        let ns = b.name_span();
        in_file(&format!("{what} name_span"), ns.start, ns.end)?;
        if previous_start.is_some_and(|p| b.start.byte <= p) {
            return Err(format!("{what}: not after the previous block (pre-order)"));
        }
        previous_start = Some(b.start.byte);
        if let Some(parent) = b.parent {
            let Some(pb) = index.block(parent).filter(|_| parent.index() < i) else {
                return Err(format!(
                    "{what}: parent #{} does not precede it",
                    parent.index()
                ));
            };
            if b.start.byte < pb.start.byte || b.end.byte > pb.end.byte {
                return Err(format!("{what}: not within its parent #{}", parent.index()));
            }
        }
        let attrs = b.attrs();
        if attrs.start > attrs.end || attrs.end as usize > index.attrs.len() {
            return Err(format!("{what}: attrs {attrs:?} out of range"));
        }
        for a in index.attrs_of(b) {
            let what = format!("{what} attribute `{}`", a.key.as_str());
            in_file(&what, a.span.start, a.span.end)?;
            if a.span.start < b.start.byte || a.span.end > b.end.byte {
                return Err(format!("{what}: value outside its block"));
            }
            let ok = match a.value() {
                AttrValue::Tags(r) => r.start <= r.end && r.end as usize <= index.tags.len(),
                AttrValue::RefList(r) => r.start <= r.end && r.end as usize <= index.refs.len(),
                AttrValue::Ref(r) => (r as usize) < index.refs.len(),
                AttrValue::Str(_) | AttrValue::Text | AttrValue::Scalar(_) | AttrValue::Expr(_) => {
                    true
                }
            };
            if !ok {
                return Err(format!("{what}: value range out of its table"));
            }
        }
    }

    let mut previous_ref: Option<u32> = None;
    for (i, r) in index.refs.iter().enumerate() {
        let what = format!("ref #{i}");
        in_file(&what, r.span.start, r.span.end)?;
        if previous_ref.is_some_and(|p| r.span.start < p) {
            return Err(format!("{what}: before the previous reference"));
        }
        previous_ref = Some(r.span.start);
        if let Some(block) = r.block() {
            let Some(b) = index.block(block) else {
                return Err(format!("{what}: block #{} does not exist", block.index()));
            };
            if r.span.start < b.start.byte || r.span.end > b.end.byte {
                return Err(format!("{what}: outside its block #{}", block.index()));
            }
        }
    }

    let mut previous_diag = 0u32;
    for (i, d) in index.diagnostics.iter().enumerate() {
        let what = format!("diagnostic #{i} ({})", d.message);
        check_pos(&format!("{what} start"), d.start)?;
        check_pos(&format!("{what} end"), d.end)?;
        if d.start.byte > d.end.byte || d.start.byte < previous_diag {
            return Err(format!("{what}: out of order"));
        }
        previous_diag = d.start.byte;
    }
    if index.diagnostics.len() > 101 {
        return Err(format!("{} diagnostics", index.diagnostics.len()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The LSP's incremental edits, as the client applies them.

/// A position as the protocol sends it: a 0-based line and a column in UTF-16 code units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SpecPosition {
    /// 0-based line.
    pub line: u32,
    /// UTF-16 code units from the line's start.
    pub character: u32,
}

/// The client's copy of a document, as `vscode-languageserver-textdocument` holds it: UTF-16
/// code units (so a change may cut a surrogate pair and leave a lone half), lines ending at
/// `\n`, `\r\n` and a lone `\r` (the protocol's three end-of-line sequences).
pub struct ClientDoc {
    units: Vec<u16>,
}

const SURROGATES: std::ops::Range<u16> = 0xD800..0xE000;

impl ClientDoc {
    /// The client's copy of `text`.
    pub fn new(text: &str) -> ClientDoc {
        ClientDoc {
            units: text.encode_utf16().collect(),
        }
    }

    /// The offset of every line's first unit.
    fn line_offsets(&self) -> Vec<usize> {
        let (cr, lf) = (u16::from(b'\r'), u16::from(b'\n'));
        let mut out = vec![0];
        let mut i = 0;
        while i < self.units.len() {
            let c = self.units[i];
            if c == cr || c == lf {
                if c == cr && self.units.get(i + 1) == Some(&lf) {
                    i += 1;
                }
                out.push(i + 1);
            }
            i += 1;
        }
        out
    }

    /// `TextDocument.offsetAt`: a line at or past the line count is the end; a column is
    /// clamped to the line's end, before its line break.
    fn offset_at(&self, lines: &[usize], p: SpecPosition) -> usize {
        let line = p.line as usize;
        let Some(&start) = lines.get(line) else {
            return self.units.len();
        };
        let next = lines.get(line + 1).copied().unwrap_or(self.units.len());
        let mut at = start.saturating_add(p.character as usize).min(next);
        while at > start && matches!(self.units[at - 1], 10 | 13) {
            at -= 1;
        }
        at
    }

    /// Applies one change as `TextDocument.update` does: with no range the whole text; a
    /// range whose end is before its start the other way round. A change reaching below
    /// the line after the last cannot have been made to this text: modlens refuses it
    /// (`EditError::PastEnd`), and so does this reference (`Err`, nothing changed).
    pub fn apply(
        &mut self,
        range: Option<(SpecPosition, SpecPosition)>,
        new_text: &str,
    ) -> Result<(), ()> {
        let Some((mut a, mut b)) = range else {
            self.units = new_text.encode_utf16().collect();
            return Ok(());
        };
        if b < a {
            std::mem::swap(&mut a, &mut b);
        }
        let lines = self.line_offsets();
        if a.line as usize > lines.len() || b.line as usize > lines.len() {
            return Err(());
        }
        let (a, b) = (self.offset_at(&lines, a), self.offset_at(&lines, b));
        self.units.splice(a..b.max(a), new_text.encode_utf16());
        Ok(())
    }

    /// Whether the server's copy `text` is this one: unit for unit the same, except that
    /// where the client holds half of a surrogate pair the server may hold U+FFFD (a UTF-8
    /// string cannot hold a lone half; one unit either way, so positions agree). Returns
    /// the first difference.
    pub fn agrees_with(&self, text: &str) -> Result<(), String> {
        let mut server = text.encode_utf16();
        for (i, &c) in self.units.iter().enumerate() {
            match server.next() {
                Some(s) if s == c || (s == 0xFFFD && SURROGATES.contains(&c)) => {}
                Some(s) => return Err(format!("unit {i}: server {s:#06x}, client {c:#06x}")),
                None => return Err(format!("the server's text ends at unit {i}")),
            }
        }
        match server.next() {
            Some(_) => Err(format!(
                "the server's text is longer than the client's ({} units)",
                self.units.len()
            )),
            None => Ok(()),
        }
    }

    /// The text, with every lone half of a surrogate pair as U+FFFD.
    pub fn text(&self) -> String {
        String::from_utf16_lossy(&self.units)
    }
}

// ---------------------------------------------------------------------------------------
// The index, observed by names.

/// Everything observable about an index by names and paths (not ids): its dump (text at
/// spans read through `read`) and every resource's referrers.
pub fn observe(index: &Index, read: &dyn Fn(&str) -> Option<Vec<u8>>) -> String {
    let mut out = serde_json::to_string(&dump::dump(index, read, &dump::literal_fields))
        .unwrap_or_else(|e| format!("dump does not serialise: {e}"));
    let mut rows: Vec<String> = index
        .resources()
        .map(|id| {
            let mut refs: Vec<String> = index
                .referrers(id)
                .into_iter()
                .filter_map(|r| {
                    let f = index.file(r.file)?;
                    let reference = index.reference(r)?;
                    Some(format!("{}@{}", f.path, reference.span.start))
                })
                .collect();
            refs.sort();
            format!(
                "{} <- {}",
                index.qualified_name(id).unwrap_or_default(),
                refs.join(" ")
            )
        })
        .collect();
    rows.sort();
    out.push('\n');
    out.push_str(&rows.join("\n"));
    out
}

// ---------------------------------------------------------------------------------------
// The protocol guard.

/// A current-thread tokio runtime, built once and kept across inputs.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// What the guard's input filter made of a client's stream.
#[derive(Debug, PartialEq)]
pub struct Filtered {
    /// The messages passed on to the server, in order.
    pub forwarded: Vec<Value>,
    /// The guard's own answers to the client (its errors), in order.
    pub answers: Vec<Value>,
}

/// How long an in-memory exchange may take: far more than it does (microseconds), so only
/// a deadlock reaches it.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// Runs the guard's input filter (`guard::filter_input`) and output merger over `stream`,
/// read in chunks of `sizes` (see [`Chunked`]), with a stand-in server that answers every
/// `initialize` request at once (so that messages held for its answer are released).
///
/// Checked on the way: what reaches the server is whole frames, each one tower-lsp-server's
/// codec decodes ([`server_decodes`]); every answer of the guard is one frame holding a
/// JSON-RPC error response; the exchange ends (no message held forever).
pub fn filter(stream: &[u8], sizes: Vec<usize>) -> Filtered {
    runtime().block_on(async {
        let (to_server, server_in) = tokio::io::duplex(1 << 16);
        let (server_out, from_server) = tokio::io::duplex(1 << 16);
        let (errors_tx, mut errors_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
        let (merge_tx, merge_rx) = tokio::sync::mpsc::unbounded_channel();
        let session = guard::Session::new();
        let input = guard::filter_input(
            Chunked::new(stream, sizes),
            to_server,
            errors_tx,
            session.clone(),
        );
        let output = guard::merge_output(from_server, merge_rx, tokio::io::sink(), session);
        // The guard's errors, recorded on their way to the merger.
        let errors = async move {
            let mut answers = Vec::new();
            while let Some(bytes) = errors_rx.recv().await {
                answers.push(error_reply(&bytes));
                let _ = merge_tx.send(bytes);
            }
            answers
        };
        let exchange = async {
            tokio::join!(
                input,
                output,
                errors,
                stand_in_server(server_in, server_out)
            )
        };
        match tokio::time::timeout(DEADLINE, exchange).await {
            Ok(((), (), answers, forwarded)) => Filtered { forwarded, answers },
            Err(_) => panic!(
                "the guard did not get through the stream in {DEADLINE:?} (a message held forever?)"
            ),
        }
    })
}

/// The guard's answer `bytes`: one frame holding a JSON-RPC error response.
fn error_reply(bytes: &[u8]) -> Value {
    let body = bytes
        .strip_prefix(b"Content-Length: ")
        .and_then(|rest| {
            let end = memchr::memmem::find(rest, b"\r\n\r\n")?;
            let len: usize = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
            let body = &rest[end + 4..];
            (body.len() == len).then_some(body)
        })
        .unwrap_or_else(|| {
            panic!(
                "the guard's answer is not one frame: {:?}",
                String::from_utf8_lossy(bytes)
            )
        });
    let v: Value = serde_json::from_slice(body).expect("the guard's answer is JSON");
    // The id is the request's when it could be read (any number or string, as the client
    // sent it, so that the client can match it), else null.
    assert!(
        v["jsonrpc"] == "2.0"
            && v["error"]["code"].is_i64()
            && v["error"]["message"].is_string()
            && (v["id"].is_null() || v["id"].is_number() || v["id"].is_string()),
        "the guard's answer is no JSON-RPC error: {v}"
    );
    v
}

/// The server's end: every frame the guard passes on must be whole and decode in
/// tower-lsp-server's codec; an `initialize` request is answered at once.
async fn stand_in_server(input: DuplexStream, mut output: DuplexStream) -> Vec<Value> {
    let mut frames = FrameReader::new(input);
    let mut got = Vec::new();
    while let Some(f) = frames.next().await {
        let Frame::Body(body) = f else {
            panic!("the guard passed on a broken frame: {f:?}");
        };
        assert!(
            server_decodes(&body),
            "the guard passed on a message tower-lsp-server cannot decode: {:?}",
            String::from_utf8_lossy(&body)
        );
        let v: Value = serde_json::from_slice(&body).expect("what the server decodes is JSON");
        if v["method"] == "initialize"
            && let Some(id) = v.get("id")
        {
            let answer = json!({"jsonrpc": "2.0", "id": id, "result": {"capabilities": {}}});
            let _ = output
                .write_all(&guard::frame(answer.to_string().as_bytes()))
                .await;
        }
        got.push(v);
    }
    got
}

/// Polls `fut` to completion with a no-op waker: for futures over in-memory readers that
/// never wait (no runtime needed). Panics (a fuzzer-visible failure) if it would wait.
pub fn run_ready<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("a future over in-memory streams did not complete");
}

/// A reader handing out `data` in the given chunk sizes (then the rest at once).
pub struct Chunked<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    next: usize,
}

impl<'a> Chunked<'a> {
    /// A reader over `data` in chunks of the given sizes, in turn (each taken modulo the
    /// length, plus one); with no sizes, all at once.
    pub fn new(data: &'a [u8], sizes: Vec<usize>) -> Self {
        Chunked {
            data,
            sizes,
            next: 0,
        }
    }
}

impl tokio::io::AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let want = match self.sizes.len() {
            0 => self.data.len(),
            n => self.sizes[self.next % n] % self.data.len().max(1) + 1,
        };
        self.next += 1;
        let n = want.min(self.data.len()).min(buf.remaining());
        let (head, tail) = self.data.split_at(n);
        buf.put_slice(head);
        self.data = tail;
        Poll::Ready(Ok(()))
    }
}

/// Resolves every resource of `ws` (at most `limit`) and evaluates its index fields.
/// Returns what was resolved, rendered, for a comparison between two resolvers.
pub fn resolve_all(ws: &Workspace, resolver: &Resolver, limit: usize) -> Vec<String> {
    use modlens::syntax::AttrKey;
    let mut out = Vec::new();
    let ids: Vec<_> = ws.model.index.resources().take(limit).collect();
    for id in ids {
        let r = resolver.resolve(&ws.model, id);
        out.push(format!("{r:?}"));
        for key in [AttrKey::Title, AttrKey::Description, AttrKey::Tags] {
            let f = resolver.field(&ws.model, id, key);
            out.push(format!("{f:?}"));
        }
    }
    out
}

/// A second resolver over the same files.
pub fn fresh_resolver(ws: &Workspace) -> Resolver {
    Resolver::new(ws.sources.clone(), small_limits())
}

/// Default inputs (no environment, no files, no `--var`).
pub fn no_inputs() -> ValueInputs {
    ValueInputs::default()
}

/// What tower-lsp-server's codec decodes a frame's body into (its `Message` is private):
/// a response first, then a request or notification.
#[derive(serde::Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
enum Message {
    Response(tower_lsp_server::jsonrpc::Response),
    Request(tower_lsp_server::jsonrpc::Request),
}

/// True when tower-lsp-server's codec decodes `body` without an error (an error there
/// ends the server's input stream, which the guard exists to prevent). An empty body is
/// skipped by the codec, so it counts as decoded.
pub fn server_decodes(body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    text.is_empty() || serde_json::from_str::<Message>(text).is_ok()
}
