//! Helpers shared by the fuzz targets: an in-memory workspace, the scanner's invariants, a
//! reference implementation of LSP incremental edits, and a way to drive the protocol
//! guard's async code without a runtime.
//!
//! Nothing here is fuzzed itself; every check returns the first violation as text so that
//! a target can panic with it (a panic is what the fuzzer reports as a crash).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use modlens::cache::Limits;
use modlens::index::{Index, ModId, dump};
use modlens::resolve::{Model, Resolver, Sources, ValueInputs, funcs::FileReader};
use modlens::syntax::{self, AttrValue, FileIndex, Pos};

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
// The LSP's incremental edits, as the specification describes them.

/// A position as the protocol sends it: a 0-based line and a column in UTF-16 code units.
#[derive(Clone, Copy, Debug)]
pub struct SpecPosition {
    /// 0-based line.
    pub line: u32,
    /// UTF-16 code units from the line's start.
    pub character: u32,
}

/// True when the reference splits lines at a lone `\r` too, as the specification says ("the
/// protocol specifies the following end-of-line sequences: '\n', '\r\n' and '\r'").
/// modlens ends lines at `\n` only (`src/lsp/text.rs`, and the scanner's `LineIndex`):
/// see [`has_lone_cr`] and `fuzz/README.md`.
pub const LONE_CR_ENDS_A_LINE: bool = true;

/// True when `text` holds a `\r` that is not followed by `\n` (where modlens and the
/// specification split lines differently).
pub fn has_lone_cr(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr_iter(b'\r', b).any(|i| b.get(i + 1) != Some(&b'\n'))
}

/// Byte ranges of each line's content (without its end-of-line sequence).
fn spec_lines(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' => {
                out.push((start, i));
                i += 1;
                start = i;
            }
            b'\r' if b.get(i + 1) == Some(&b'\n') => {
                out.push((start, i));
                i += 2;
                start = i;
            }
            b'\r' if LONE_CR_ENDS_A_LINE => {
                out.push((start, i));
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    out.push((start, b.len()));
    out
}

/// The byte offset of a position: a line past the last is the end of the text; a
/// character past the line's end is the line's end; a character inside a surrogate pair
/// is that character's start.
pub fn spec_offset(text: &str, pos: SpecPosition) -> usize {
    let lines = spec_lines(text);
    let Some(&(start, end)) = lines.get(pos.line as usize) else {
        return text.len();
    };
    let mut units = 0u64;
    for (i, c) in text[start..end].char_indices() {
        units += c.len_utf16() as u64;
        if units > u64::from(pos.character) {
            return start + i;
        }
    }
    end
}

/// Applies one change: the range replaced (an end before its start is an empty range at
/// the start), or with no range the whole text.
pub fn spec_apply(text: &mut String, range: Option<(SpecPosition, SpecPosition)>, new_text: &str) {
    let Some((a, b)) = range else {
        *text = new_text.to_string();
        return;
    };
    let start = spec_offset(text, a);
    let end = spec_offset(text, b).max(start);
    text.replace_range(start..end, new_text);
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
// Async without a runtime.

/// Polls `fut` to completion with a no-op waker: for futures over in-memory readers and
/// writers that never wait. Panics (a fuzzer-visible failure) if it would wait.
pub fn run_ready<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
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

/// True when `hay` contains `needle`, ignoring ASCII case.
pub fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
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
