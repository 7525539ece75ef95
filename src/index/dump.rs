//! The `--index-only` JSON dump (format 2): a public, versioned view of the index.
//! Deterministic: files sorted by path, resources by position.
//!
//! Everything comes from the index except the text the index deliberately does not keep
//! (literal descriptions, tag expressions): those are sliced from each file's source at their
//! span, through the `source` callback, read at most once per file and never parsed; and the
//! titles, descriptions and tags that are expressions, which the `fields` callback evaluates
//! (the resolver does, from just that expression's span). Format 2 shows them evaluated;
//! `title_expr`, `description_expr` and `tags_expr` remain only for values that cannot be
//! known without running something (or whose evaluation failed).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use rayon::prelude::*;
use serde::Serialize;

use super::{FileId, Index, ModId, ResourceId};
use crate::syntax::{
    AttrKey, AttrValue, Block, BlockRole, Diagnostic, FileIndex, Pos, Span, decode_literal,
};

mod json;

/// Reads a file's bytes by its workspace-relative path (`None` if it cannot be read).
pub type SourceReader<'a> = &'a dyn Fn(&str) -> Option<Vec<u8>>;

/// The dump's format version; raised whenever its shape changes.
pub const FORMAT: u32 = 2;

/// An index field (title, description, tags) as an evaluator gives it to the dump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldText {
    /// Not set.
    Absent,
    /// A title or description.
    Text(String),
    /// Tags.
    Tags(BTreeMap<String, String>),
    /// Not known: the expression as written.
    Unknown(String),
}

/// Evaluates a resource's title, description or tags; `None` leaves the index's literal.
pub type FieldReader<'a> = &'a dyn Fn(ResourceId, AttrKey) -> Option<FieldText>;

/// The field reader of an index-only view: literals only, expressions shown as written.
pub fn literal_fields(_: ResourceId, _: AttrKey) -> Option<FieldText> {
    None
}

/// Reads a file's bytes by its workspace-relative path into the buffer it is given (empty
/// when called); false if the file cannot be read. Called from several threads, each with
/// its own buffer, reused from file to file.
pub type SyncSourceReader<'a> = &'a (dyn Fn(&str, &mut Vec<u8>) -> bool + Sync);

/// [`FieldReader`] that can be called from several threads.
pub type SyncFieldReader<'a> = &'a (dyn Fn(ResourceId, AttrKey) -> Option<FieldText> + Sync);

/// The whole dump.
#[derive(Debug, Serialize)]
pub struct Dump {
    /// [`FORMAT`].
    pub format: u32,
    /// The root mod.
    #[serde(rename = "mod")]
    pub root: ModDump,
    /// Installed dependency mods.
    pub dependencies: Vec<ModDump>,
    /// How many files were scanned.
    pub files_scanned: usize,
    /// Every resource, sorted by file then position.
    pub resources: Vec<ResourceDump>,
    /// Every diagnostic, sorted by file then position.
    pub diagnostics: Vec<DiagnosticDump>,
}

/// A mod.
#[derive(Debug, Serialize)]
pub struct ModDump {
    /// Its name.
    pub name: String,
    /// Its literal title.
    pub title: Option<String>,
    /// Its folder relative to the workspace root (`""` for the root mod).
    pub root: String,
}

/// One resource.
#[derive(Debug, Serialize)]
pub struct ResourceDump {
    /// Block type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short name.
    pub name: String,
    /// `mod.type.name`.
    pub qualified_name: String,
    /// Literal title.
    pub title: Option<String>,
    /// The title's expression text when it is not a literal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_expr: Option<String>,
    /// Literal description.
    pub description: Option<String>,
    /// The description's expression text when it is not a literal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_expr: Option<String>,
    /// Literal tags.
    pub tags: BTreeMap<String, String>,
    /// The tags' expression text when they are not a literal object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_expr: Option<String>,
    /// Children as qualified names, in order.
    pub children: Vec<String>,
    /// The children's expression text when they are not a list of references.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children_expr: Option<String>,
    /// The parent's qualified name.
    pub parent: Option<String>,
    /// File relative to the workspace root.
    pub file: String,
    /// Where the block is.
    pub span: SpanDump,
}

/// A span with 1-based line and column and 0-based byte offsets.
#[derive(Debug, Serialize)]
pub struct SpanDump {
    /// Start.
    pub start: PosDump,
    /// End.
    pub end: PosDump,
}

/// A position.
#[derive(Debug, Serialize)]
pub struct PosDump {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (characters).
    pub column: u32,
    /// 0-based byte offset.
    pub byte: u32,
}

/// One diagnostic.
#[derive(Debug, Serialize)]
pub struct DiagnosticDump {
    /// File relative to the workspace root.
    pub file: String,
    /// `error` or `warning`.
    pub severity: &'static str,
    /// What is wrong.
    pub message: String,
    /// Where.
    pub span: SpanDump,
}

impl From<Pos> for PosDump {
    fn from(p: Pos) -> Self {
        PosDump {
            line: p.line,
            column: p.column,
            byte: p.byte,
        }
    }
}

impl From<&super::ModInfo> for ModDump {
    fn from(m: &super::ModInfo) -> Self {
        ModDump {
            name: m.name.clone(),
            title: m.title.clone(),
            root: m.root.clone(),
        }
    }
}

/// Builds the dump of an index; `source` supplies the text the index keeps as spans only,
/// `fields` the evaluated titles, descriptions and tags. [`write`] prints the same document
/// without holding it.
pub fn dump(index: &Index, source: SourceReader<'_>, fields: FieldReader<'_>) -> Dump {
    let files = sorted_files(index);
    let listed_parent = listed_parents(index, &files, false);
    let mut resources = Vec::new();
    for &(file, path) in &files {
        resources.extend(file_resources(
            index,
            file,
            path,
            source,
            &listed_parent,
            fields,
        ));
    }
    Dump {
        format: FORMAT,
        root: root_mod(index),
        dependencies: index.mods().iter().skip(1).map(ModDump::from).collect(),
        files_scanned: files.len(),
        resources,
        diagnostics: diagnostics(index).collect(),
    }
}

/// How [`write`] produces the resources.
#[derive(Clone, Copy, Default)]
pub struct WriteOptions<'a> {
    /// More than 1: files are written on rayon's threads (the calling one among them), each
    /// into its own buffer, at most this many files ahead of the one being written out; 0
    /// or 1: one file at a time on the calling thread. Whatever the value, the output is the
    /// same bytes.
    pub files_per_batch: usize,
    /// Called with the number of resources of each file once they are built.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
}

/// Writes the dump of an index as pretty JSON with a final newline: the same bytes as
/// `serde_json::to_writer_pretty` of [`dump`] and a newline, but as it is produced, straight
/// from the index's own text (no [`ResourceDump`] or `String` per field): a file's resources
/// are written into a buffer, the buffer to `out`, and both the buffer and the file's source
/// dropped before the next file's. With [`WriteOptions::files_per_batch`] a batch of files is
/// written in parallel, one buffer each, and the buffers go to `out` in order, so the bytes
/// never depend on the thread count. Each file's source is read at most once.
pub fn write<W: std::io::Write>(
    out: &mut W,
    index: &Index,
    source: SyncSourceReader<'_>,
    fields: SyncFieldReader<'_>,
    options: WriteOptions<'_>,
) -> std::io::Result<()> {
    let files = sorted_files(index);
    let listed_parent = listed_parents(index, &files, options.files_per_batch > 1);
    let writer = Writer {
        index,
        source,
        fields,
        listed_parent: &listed_parent,
    };
    let mut head = Vec::with_capacity(1 << 10);
    head.extend_from_slice(b"{\n  \"format\": ");
    json::uint(&mut head, FORMAT);
    head.extend_from_slice(b",\n  \"mod\": ");
    write_mod(&mut head, &root_mod(index), 2);
    head.extend_from_slice(b",\n  \"dependencies\": ");
    let mut first = true;
    for m in index.mods().iter().skip(1) {
        json::item(&mut head, first, 4, b'[');
        write_mod(&mut head, &ModDump::from(m), 4);
        first = false;
    }
    end_array(&mut head, !first);
    head.extend_from_slice(b",\n  \"files_scanned\": ");
    json::uint(&mut head, files.len());
    head.extend_from_slice(b",\n  \"resources\": [");
    out.write_all(&head)?;

    let mut any = false;
    let mut emit = |out: &mut W, buf: &[u8]| -> std::io::Result<()> {
        // Every resource is written after ",\n"; the array's first one after "\n".
        match buf.split_first() {
            None => Ok(()),
            Some((_, rest)) if !any => {
                any = true;
                out.write_all(rest)
            }
            Some(_) => out.write_all(buf),
        }
    };
    let per_file = |buf: &mut Vec<u8>, file: &(FileId, &str)| {
        let n = writer.file(buf, file);
        if let Some(progress) = options.progress {
            progress(n as u64);
        }
    };
    if options.files_per_batch > 1 {
        let render = |buf: &mut Vec<u8>, i: usize| {
            if let Some(file) = files.get(i) {
                buf.reserve(guess_bytes(index, file.0));
                per_file(buf, file);
            }
        };
        write_in_order(
            out,
            files.len(),
            options.files_per_batch,
            &render,
            &mut emit,
        )?;
    } else {
        let mut buf = Vec::new();
        for file in &files {
            buf.clear();
            per_file(&mut buf, file);
            emit(out, &buf)?;
        }
    }
    let mut tail = Vec::with_capacity(1 << 10);
    // `[` went out with the head.
    if any {
        json::close(&mut tail, 2, b']');
    } else {
        tail.push(b']');
    }
    tail.extend_from_slice(b",\n  \"diagnostics\": ");
    let mut first = true;
    for (file, d) in index.diagnostics() {
        json::item(&mut tail, first, 4, b'[');
        write_diagnostic(&mut tail, index, file, &d);
        first = false;
    }
    end_array(&mut tail, !first);
    tail.extend_from_slice(b"\n}\n");
    out.write_all(&tail)?;
    out.flush()
}

/// About how many bytes a file's resources take in the dump (a little more than most do), so
/// that its buffer is allocated once.
fn guess_bytes(index: &Index, file: FileId) -> usize {
    let blocks = index.file(file).map_or(0, |f| f.index.blocks.len());
    (blocks + 4) * 768
}

/// Renders `n` files' output with rayon's threads and writes it in file order: the calling
/// thread writes every buffer out (`emit`) and, while the next one is not ready, renders the
/// next file itself; the other threads render files at most `window` ahead of the one being
/// written, so the memory held does not grow with the mod. No thread waits for another
/// except when it is that far ahead, or at the end.
fn write_in_order<W: std::io::Write>(
    out: &mut W,
    n: usize,
    window: usize,
    render: &(dyn Fn(&mut Vec<u8>, usize) + Sync),
    emit: &mut dyn FnMut(&mut W, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let line = Pipeline {
        state: Mutex::new(PipeState::default()),
        ready: Condvar::new(),
        room: Condvar::new(),
        next: AtomicUsize::new(0),
    };
    let line = &line;
    let helpers = rayon::current_num_threads().saturating_sub(1);
    rayon::in_place_scope(|scope| {
        for _ in 0..helpers {
            scope.spawn(move |_| {
                let _on_panic = StopOnPanic(line);
                loop {
                    let i = line.next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let mut buf = {
                        let mut s = line.lock();
                        if i >= s.written + window {
                            // Too far ahead: wait until half the window is written, not
                            // one file, so that the threads do not wake each other per file.
                            let need = i + 1 - window.div_ceil(2);
                            while !s.stop && s.written < need {
                                s.waiting_for_room += 1;
                                s.room_at = s.room_at.min(need);
                                s = line.room.wait(s).unwrap_or_else(|p| p.into_inner());
                                s.waiting_for_room -= 1;
                            }
                        }
                        if s.stop {
                            break;
                        }
                        s.spare.pop().unwrap_or_default()
                    };
                    render(&mut buf, i);
                    line.put(i, buf);
                }
            });
        }
        let _on_panic = StopOnPanic(line);
        let result = line.write_all(out, n, window, render, emit);
        if result.is_err() {
            line.stop();
        }
        result
    })
}

/// What [`write_in_order`]'s threads share.
struct Pipeline {
    state: Mutex<PipeState>,
    /// Signalled when the next buffer to write is ready (or the work stops).
    ready: Condvar,
    /// Signalled when a buffer was written (there is room ahead) or the work stops.
    room: Condvar,
    /// The next file no thread has taken yet.
    next: AtomicUsize,
}

struct PipeState {
    /// Rendered files from the next one to write on (`None`: not yet).
    done: VecDeque<Option<Vec<u8>>>,
    /// How many files were written out.
    written: usize,
    /// Written buffers, cleared, for the next files.
    spare: Vec<Vec<u8>>,
    /// The work ended early (a write failed, or a thread panicked).
    stop: bool,
    /// The writing thread waits on `ready`.
    writer_waits: bool,
    /// How many threads wait on `room`.
    waiting_for_room: usize,
    /// The fewest files written that one of the threads waiting on `room` waits for.
    room_at: usize,
}

impl Default for PipeState {
    fn default() -> Self {
        PipeState {
            done: VecDeque::new(),
            written: 0,
            spare: Vec::new(),
            stop: false,
            writer_waits: false,
            waiting_for_room: 0,
            room_at: usize::MAX,
        }
    }
}

/// A spare buffer larger than this is dropped rather than kept: the few files with large
/// output must not leave every thread's buffers that large (peak RSS).
const MAX_SPARE_BYTES: usize = 128 << 10;

impl Pipeline {
    fn lock(&self) -> std::sync::MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands in file `i`'s output.
    fn put(&self, i: usize, buf: Vec<u8>) {
        let mut s = self.lock();
        let Some(at) = i.checked_sub(s.written) else {
            return;
        };
        if s.done.len() <= at {
            s.done.resize(at + 1, None);
        }
        s.done[at] = Some(buf);
        // Waking a thread is a system call: only when one waits.
        if at == 0 && s.writer_waits {
            self.ready.notify_one();
        }
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.ready.notify_all();
        self.room.notify_all();
    }

    /// The writing thread: writes each file's output in order, rendering files itself
    /// while the next one is not ready.
    fn write_all<W: std::io::Write>(
        &self,
        out: &mut W,
        n: usize,
        window: usize,
        render: &(dyn Fn(&mut Vec<u8>, usize) + Sync),
        emit: &mut dyn FnMut(&mut W, &[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut s = self.lock();
        while s.written < n {
            if s.stop {
                return Err(std::io::Error::other("a thread writing the dump failed"));
            }
            if let Some(Some(_)) = s.done.front() {
                let buf = s.done.pop_front().flatten().unwrap_or_default();
                s.written += 1;
                if s.waiting_for_room > 0 && s.written >= s.room_at {
                    // The waiters check again; those still too far ahead set it anew.
                    s.room_at = usize::MAX;
                    self.room.notify_all();
                }
                drop(s);
                emit(out, &buf)?;
                s = self.lock();
                if buf.capacity() <= MAX_SPARE_BYTES {
                    let mut buf = buf;
                    buf.clear();
                    s.spare.push(buf);
                }
                continue;
            }
            // The next file no thread has taken, unless that is a window ahead of the one to
            // write: then the buffers held would grow for as long as a helper takes over a
            // large file (the one to write).
            let ahead = self.next.load(Ordering::Relaxed) >= s.written + window;
            let i = if ahead {
                n
            } else {
                self.next.fetch_add(1, Ordering::Relaxed)
            };
            if i < n {
                let mut buf = s.spare.pop().unwrap_or_default();
                drop(s);
                render(&mut buf, i);
                self.put(i, buf);
                s = self.lock();
                continue;
            }
            // Every file is taken, or the window is: wait for the next one to be handed in.
            s.writer_waits = true;
            s = self.ready.wait(s).unwrap_or_else(|p| p.into_inner());
            s.writer_waits = false;
        }
        Ok(())
    }
}

/// Stops the work if the thread holding it unwinds, so that no other thread waits for a
/// buffer that will never come (the panic then surfaces at the end of the scope).
struct StopOnPanic<'a>(&'a Pipeline);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// Ends a top-level array whose elements began with [`json::item`]: `[]` when there were
/// none, else the closing line.
fn end_array(out: &mut Vec<u8>, written: bool) {
    if written {
        json::close(out, 2, b']');
    } else {
        out.extend_from_slice(b"[]");
    }
}

/// A mod as an object whose own line is at `indent` spaces.
fn write_mod(out: &mut Vec<u8>, m: &ModDump, indent: usize) {
    out.push(b'{');
    json::key(out, true, indent + 2, "name");
    json::string(out, &m.name);
    json::key(out, false, indent + 2, "title");
    json::opt_string(out, m.title.as_deref());
    json::key(out, false, indent + 2, "root");
    json::string(out, &m.root);
    json::close(out, indent, b'}');
}

/// One diagnostic as an element of the top-level `diagnostics` array.
fn write_diagnostic(out: &mut Vec<u8>, index: &Index, file: FileId, d: &Diagnostic) {
    out.extend_from_slice(b"{\n      \"file\": ");
    json::string(out, index.file(file).map(|f| f.path.as_str()).unwrap_or(""));
    out.extend_from_slice(b",\n      \"severity\": ");
    json::string(out, d.severity.as_str());
    out.extend_from_slice(b",\n      \"message\": ");
    json::string(out, &d.message);
    out.extend_from_slice(b",\n      \"span\": ");
    write_span(out, d.start, d.end);
    out.extend_from_slice(b"\n    }");
}

/// A span as the value of a `span` key of an element of a top-level array.
fn write_span(out: &mut Vec<u8>, start: Pos, end: Pos) {
    out.extend_from_slice(b"{\n        \"start\": ");
    write_pos(out, start);
    out.extend_from_slice(b",\n        \"end\": ");
    write_pos(out, end);
    out.extend_from_slice(b"\n      }");
}

fn write_pos(out: &mut Vec<u8>, p: Pos) {
    out.extend_from_slice(b"{\n          \"line\": ");
    json::uint(out, p.line);
    out.extend_from_slice(b",\n          \"column\": ");
    json::uint(out, p.column);
    out.extend_from_slice(b",\n          \"byte\": ");
    json::uint(out, p.byte);
    out.extend_from_slice(b"\n        }");
}

thread_local! {
    /// Each thread's buffer for the source of the file [`Writer::file`] writes, reused from
    /// file to file (a new allocation per file costs more than its copy).
    static SOURCE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A source buffer larger than this is dropped after its file rather than kept.
const MAX_KEPT_SOURCE_BYTES: usize = 1 << 20;

/// Writes resources straight from the index (see [`write`]); shared by the threads.
struct Writer<'a> {
    index: &'a Index,
    source: SyncSourceReader<'a>,
    fields: SyncFieldReader<'a>,
    listed_parent: &'a ParentMap,
}

impl Writer<'_> {
    /// Appends a file's resources in order, each after `,\n`; returns how many.
    fn file(&self, out: &mut Vec<u8>, &(file, path): &(FileId, &str)) -> usize {
        let Some(entry) = self.index.file(file) else {
            return 0;
        };
        SOURCE.with_borrow_mut(|bytes| {
            let n = self.resources(out, entry, file, path, bytes);
            // One large file must not leave its thread holding that much for good.
            if bytes.capacity() > MAX_KEPT_SOURCE_BYTES {
                *bytes = Vec::new();
            }
            n
        })
    }

    /// [`Writer::file`] with the thread's source buffer.
    fn resources(
        &self,
        out: &mut Vec<u8>,
        entry: &super::FileEntry,
        file: FileId,
        path: &str,
        bytes: &mut Vec<u8>,
    ) -> usize {
        // Without its mod a resource has no qualified name: the dump leaves it out.
        let Some(module) = self.index.module(entry.module) else {
            return 0;
        };
        let mut text = SpanText::new(path, self.source, bytes);
        let mut name = String::new();
        let mut prefix = Vec::new();
        qualified_prefix(&mut prefix, &module.name);
        let module = Module {
            id: entry.module,
            prefix: &prefix,
        };
        let mut n = 0;
        for id in self.index.resources_in_file(file) {
            if let Some(b) = entry.index.block(id.block) {
                self.resource(out, &entry.index, &module, id, b, &mut text, &mut name);
                n += 1;
            }
        }
        n
    }

    /// Appends one resource, as [`resource`] builds it.
    #[allow(clippy::too_many_arguments)]
    fn resource(
        &self,
        out: &mut Vec<u8>,
        file: &FileIndex,
        module: &Module<'_>,
        id: ResourceId,
        b: &Block,
        src: &mut SpanText<'_>,
        name: &mut String,
    ) {
        let kind = file.str(b.kind);
        out.extend_from_slice(b",\n    {\n      \"type\": ");
        json::string(out, kind);
        out.extend_from_slice(b",\n      \"name\": ");
        file.write_block_name(id.block, name);
        json::string(out, name);
        out.extend_from_slice(b",\n      \"qualified_name\": ");
        write_qualified(out, module.prefix, kind, name);
        for (key, label, expr_label) in [
            (
                AttrKey::Title,
                &b",\n      \"title\": "[..],
                &b",\n      \"title_expr\": "[..],
            ),
            (
                AttrKey::Description,
                &b",\n      \"description\": "[..],
                &b",\n      \"description_expr\": "[..],
            ),
        ] {
            let (value, expr) = match (self.fields)(id, key) {
                Some(FieldText::Text(t)) => (Some(Cow::Owned(t)), None),
                Some(FieldText::Unknown(e)) => (None, Some(Cow::Owned(e))),
                Some(FieldText::Absent) => (None, None),
                Some(FieldText::Tags(_)) | None => literal_text(file, b, key, src),
            };
            out.extend_from_slice(label);
            json::opt_string(out, value.as_deref());
            if let Some(expr) = expr {
                out.extend_from_slice(expr_label);
                json::string(out, &expr);
            }
        }
        out.extend_from_slice(b",\n      \"tags\": ");
        let tags_expr = match (self.fields)(id, AttrKey::Tags) {
            Some(FieldText::Tags(t)) => {
                write_tags(out, t.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                None
            }
            Some(FieldText::Unknown(e)) => {
                out.extend_from_slice(b"{}");
                Some(Cow::Owned(e))
            }
            Some(FieldText::Absent) => {
                out.extend_from_slice(b"{}");
                None
            }
            Some(FieldText::Text(_)) | None => literal_tags(out, file, b, src),
        };
        if let Some(expr) = tags_expr {
            out.extend_from_slice(b",\n      \"tags_expr\": ");
            json::string(out, &expr);
        }
        out.extend_from_slice(b",\n      \"children\": ");
        self.children(out, file, module, id, b, name);
        out.extend_from_slice(b",\n      \"parent\": ");
        // A nested block's parent encloses it; a top-level one's is its first lister.
        let parent = match b.parent {
            Some(p) => file
                .block(p)
                .is_some_and(|pb| pb.role == BlockRole::Resource)
                .then_some(ResourceId {
                    file: id.file,
                    block: p,
                }),
            None => self.listed_parent.get(&id).copied(),
        };
        if !parent.is_some_and(|p| self.qualified_name(out, module, p, name)) {
            out.extend_from_slice(b"null");
        }
        out.extend_from_slice(b",\n      \"file\": ");
        json::string(out, src.path);
        out.extend_from_slice(b",\n      \"span\": ");
        write_span(out, b.start, b.end);
        out.extend_from_slice(b"\n    }");
    }

    /// `children` (and `children_expr`), as [`Index::child_names`] gives them.
    fn children(
        &self,
        out: &mut Vec<u8>,
        file: &FileIndex,
        module: &Module<'_>,
        id: ResourceId,
        b: &Block,
        name: &mut String,
    ) {
        let mut first = true;
        match file.attr(b, AttrKey::Children).map(|a| a.value()) {
            None => {
                for child in file.child_blocks(id.block) {
                    let Some(c) = file.block(child) else { continue };
                    let kind = file.str(c.kind);
                    if c.role != BlockRole::Resource || matches!(kind, "with" | "category") {
                        continue;
                    }
                    json::item(out, first, 8, b'[');
                    first = false;
                    file.write_block_name(child, name);
                    write_qualified(out, module.prefix, kind, name);
                }
            }
            Some(AttrValue::Expr(expr)) => {
                out.extend_from_slice(b"[]");
                if let Some(s) = expr {
                    out.extend_from_slice(b",\n      \"children_expr\": ");
                    json::string(out, file.str(s));
                }
                return;
            }
            Some(value) => {
                for r in file.ref_list(&value) {
                    json::item(out, first, 8, b'[');
                    first = false;
                    match r.module {
                        Some(m) => qualified_prefix(out, file.str(m)),
                        None => out.extend_from_slice(module.prefix),
                    }
                    json::escaped(out, file.str(r.kind));
                    out.push(b'.');
                    json::escaped(out, file.str(r.name));
                    out.push(b'"');
                }
            }
        }
        if first {
            out.extend_from_slice(b"[]");
        } else {
            json::close(out, 6, b']');
        }
    }

    /// Appends the qualified name of any resource ([`Index::qualified_name`]); false (nothing
    /// written) when it has none.
    fn qualified_name(
        &self,
        out: &mut Vec<u8>,
        own: &Module<'_>,
        id: ResourceId,
        scratch: &mut String,
    ) -> bool {
        let Some(f) = self.index.file(id.file) else {
            return false;
        };
        let (Some(b), Some(m)) = (f.index.block(id.block), self.index.module(f.module)) else {
            return false;
        };
        f.index.write_block_name(id.block, scratch);
        if f.module == own.id {
            write_qualified(out, own.prefix, f.index.str(b.kind), scratch);
        } else {
            let mut prefix = Vec::new();
            qualified_prefix(&mut prefix, &m.name);
            write_qualified(out, &prefix, f.index.str(b.kind), scratch);
        }
        true
    }
}

/// The mod of the file being written, with its [`qualified_prefix`].
struct Module<'a> {
    id: ModId,
    prefix: &'a [u8],
}

/// The start of a qualified name as a JSON string: the quote, the mod's name and a dot.
fn qualified_prefix(out: &mut Vec<u8>, module: &str) {
    out.push(b'"');
    json::escaped(out, module);
    out.push(b'.');
}

/// `mod.type.name` (`mod.NAME` for a mod block) as a JSON string, after the mod's
/// [`qualified_prefix`].
fn write_qualified(out: &mut Vec<u8>, prefix: &[u8], kind: &str, name: &str) {
    if kind == "mod" {
        out.extend_from_slice(b"\"mod.");
    } else {
        out.extend_from_slice(prefix);
        json::escaped(out, super::reference_kind(kind));
        out.push(b'.');
    }
    json::escaped(out, name);
    out.push(b'"');
}

/// A title or description as the index has it: (literal, expression text).
fn literal_text<'a>(
    file: &'a FileIndex,
    b: &Block,
    key: AttrKey,
    src: &'a mut SpanText<'_>,
) -> (Option<Cow<'a, str>>, Option<Cow<'a, str>>) {
    let Some(attr) = file.attr(b, key) else {
        return (None, None);
    };
    match attr.value() {
        AttrValue::Str(s) | AttrValue::Scalar(s) => (Some(Cow::Borrowed(file.str(s))), None),
        AttrValue::Text => (src.slice(attr.span).map(|t| decode_literal(t).into()), None),
        AttrValue::Expr(Some(s)) => (None, Some(Cow::Borrowed(file.str(s)))),
        AttrValue::Expr(None) => (None, src.slice(attr.span).map(text)),
        _ => (None, None),
    }
}

/// Source text as a string: borrowed when it is valid UTF-8 (checked fast), else with
/// U+FFFD for what is not, as `String::from_utf8_lossy` gives it.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Writes the index's tags (an object) and returns the tags' expression text, if they are
/// one.
fn literal_tags<'a>(
    out: &mut Vec<u8>,
    file: &'a FileIndex,
    b: &Block,
    src: &'a mut SpanText<'_>,
) -> Option<Cow<'a, str>> {
    let value = file.attr(b, AttrKey::Tags).map(|a| (a.value(), a.span));
    let expr = match value {
        Some((v @ AttrValue::Tags(_), _)) => {
            let tags = file.tag_list(&v);
            let pair = |t: &crate::syntax::Tag| (file.str(t.key), file.str(t.value));
            if tags.windows(2).all(|w| pair(&w[0]).0 < pair(&w[1]).0) {
                write_tags(out, tags.iter().map(pair));
            } else {
                // As a map holds them: by key, the last of equal keys.
                let mut sorted: Vec<(&str, &str)> = tags.iter().map(pair).collect();
                sorted.sort_by(|a, b| a.0.cmp(b.0));
                let last = |i: usize| sorted.get(i + 1).is_none_or(|n| n.0 != sorted[i].0);
                write_tags(
                    out,
                    (0..sorted.len()).filter(|&i| last(i)).map(|i| sorted[i]),
                );
            }
            return None;
        }
        Some((AttrValue::Expr(Some(s)), _)) => Some(Cow::Borrowed(file.str(s))),
        Some((AttrValue::Expr(None), span)) => src.slice(span).map(text),
        _ => None,
    };
    out.extend_from_slice(b"{}");
    expr
}

/// Tags as an object at a resource's `tags` key; the pairs come sorted by key, keys unique.
fn write_tags<'t>(out: &mut Vec<u8>, tags: impl Iterator<Item = (&'t str, &'t str)>) {
    let mut first = true;
    for (k, v) in tags {
        json::item(out, first, 8, b'{');
        first = false;
        json::string(out, k);
        out.extend_from_slice(b": ");
        json::string(out, v);
    }
    if first {
        out.extend_from_slice(b"{}");
    } else {
        json::close(out, 6, b'}');
    }
}

/// The files by path.
fn sorted_files(index: &Index) -> Vec<(FileId, &str)> {
    let mut files: Vec<(FileId, &str)> =
        index.files().map(|(id, f)| (id, f.path.as_str())).collect();
    files.sort_by(|a, b| a.1.cmp(b.1));
    files
}

/// Top-level resources' parents through `children` lists, by child.
type ParentMap = HashMap<ResourceId, ResourceId, foldhash::fast::FixedState>;

/// Parents through `children` lists: the first lister in dump order. Only top-level
/// children are kept (a nested block's parent is the block around it) and only the
/// resources named by a `children` list are looked up, once each; with `parallel`, the
/// files' lists are looked up on rayon's pool.
fn listed_parents(index: &Index, files: &[(FileId, &str)], parallel: bool) -> ParentMap {
    let listed = |&(file, _): &(FileId, &str)| -> Vec<(ResourceId, ResourceId)> {
        let Some(entry) = index.file(file) else {
            return Vec::new();
        };
        if index.module(entry.module).is_none() {
            return Vec::new();
        }
        let f = &entry.index;
        let mut pairs = Vec::new();
        for id in index.resources_in_file(file) {
            let Some(value) = f
                .block(id.block)
                .and_then(|b| f.attr(b, AttrKey::Children))
                .map(|a| a.value())
            else {
                continue;
            };
            if let AttrValue::Expr(_) = value {
                continue;
            }
            for r in f.ref_list(&value) {
                if let Some(child) = index.resolve_ref_first(file, r)
                    && index.block(child).is_some_and(|c| c.parent.is_none())
                {
                    pairs.push((child, id));
                }
            }
        }
        pairs
    };
    let per_file: Vec<Vec<(ResourceId, ResourceId)>> = if parallel {
        files.par_iter().map(listed).collect()
    } else {
        files.iter().map(listed).collect()
    };
    let mut listed_parent = ParentMap::default();
    for (child, parent) in per_file.into_iter().flatten() {
        listed_parent.entry(child).or_insert(parent);
    }
    listed_parent
}

/// One file's resources in order, its source read at most once.
fn file_resources(
    index: &Index,
    file: FileId,
    path: &str,
    source: SourceReader<'_>,
    listed_parent: &ParentMap,
    fields: FieldReader<'_>,
) -> Vec<ResourceDump> {
    let Some(entry) = index.file(file) else {
        return Vec::new();
    };
    let fill = |path: &str, buf: &mut Vec<u8>| source(path).map(|bytes| *buf = bytes).is_some();
    let mut bytes = Vec::new();
    let mut text = SpanText::new(path, &fill, &mut bytes);
    index
        .resources_in_file(file)
        .filter_map(|id| resource(index, &entry.index, id, &mut text, listed_parent, fields))
        .collect()
}

/// Every diagnostic, sorted by file then position.
fn diagnostics(index: &Index) -> impl Iterator<Item = DiagnosticDump> + '_ {
    index
        .diagnostics()
        .into_iter()
        .map(|(file, d)| diagnostic(index, file, &d))
}

/// The root mod (`local` when the workspace has no `mod` block).
fn root_mod(index: &Index) -> ModDump {
    index
        .module(ModId(0))
        .map(ModDump::from)
        .unwrap_or(ModDump {
            name: "local".to_string(),
            title: None,
            root: String::new(),
        })
}

/// One file's source, read on first need into a buffer the caller keeps.
struct SpanText<'a> {
    path: &'a str,
    source: &'a dyn Fn(&str, &mut Vec<u8>) -> bool,
    bytes: &'a mut Vec<u8>,
    /// `None` until the file is read; then whether it could be.
    read: Option<bool>,
}

impl<'a> SpanText<'a> {
    fn new(
        path: &'a str,
        source: &'a dyn Fn(&str, &mut Vec<u8>) -> bool,
        bytes: &'a mut Vec<u8>,
    ) -> Self {
        SpanText {
            path,
            source,
            bytes,
            read: None,
        }
    }

    fn slice(&mut self, span: Span) -> Option<&[u8]> {
        if self.read.is_none() {
            self.bytes.clear();
            self.read = Some((self.source)(self.path, self.bytes));
        }
        if self.read != Some(true) {
            return None;
        }
        self.bytes.get(span.range())
    }

    /// The expression text at `span`.
    fn expr(&mut self, span: Span) -> Option<String> {
        self.slice(span)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// The decoded literal at `span`.
    fn literal(&mut self, span: Span) -> Option<String> {
        self.slice(span).map(decode_literal)
    }
}

fn resource(
    index: &Index,
    file: &FileIndex,
    id: ResourceId,
    src: &mut SpanText<'_>,
    listed_parent: &ParentMap,
    fields: FieldReader<'_>,
) -> Option<ResourceDump> {
    let b = file.block(id.block)?;
    let mut text = |key: AttrKey| -> (Option<String>, Option<String>) {
        let Some(attr) = file.attr(b, key) else {
            return (None, None);
        };
        match attr.value() {
            AttrValue::Str(s) | AttrValue::Scalar(s) => (Some(file.str(s).to_string()), None),
            AttrValue::Text => (src.literal(attr.span), None),
            AttrValue::Expr(Some(s)) => (None, Some(file.str(s).to_string())),
            AttrValue::Expr(None) => (None, src.expr(attr.span)),
            _ => (None, None),
        }
    };
    let mut evaluated = |key: AttrKey| match fields(id, key) {
        Some(FieldText::Text(t)) => (Some(t), None),
        Some(FieldText::Unknown(e)) => (None, Some(e)),
        Some(FieldText::Absent) => (None, None),
        Some(FieldText::Tags(_)) | None => text(key),
    };
    let (title, title_expr) = evaluated(AttrKey::Title);
    let (description, description_expr) = evaluated(AttrKey::Description);
    let literal_tags = match file.attr(b, AttrKey::Tags) {
        Some(a) => match a.value() {
            AttrValue::Tags(_) => (
                file.tag_list(&a.value())
                    .iter()
                    .map(|t| (file.str(t.key).to_string(), file.str(t.value).to_string()))
                    .collect(),
                None,
            ),
            AttrValue::Expr(Some(s)) => (BTreeMap::new(), Some(file.str(s).to_string())),
            AttrValue::Expr(None) => (BTreeMap::new(), src.expr(a.span)),
            _ => (BTreeMap::new(), None),
        },
        None => (BTreeMap::new(), None),
    };
    let (tags, tags_expr) = match fields(id, AttrKey::Tags) {
        Some(FieldText::Tags(t)) => (t, None),
        Some(FieldText::Unknown(e)) => (BTreeMap::new(), Some(e)),
        Some(FieldText::Absent) => (BTreeMap::new(), None),
        Some(FieldText::Text(_)) | None => literal_tags,
    };
    let (children, children_expr) = match index.child_names(id) {
        Some(names) => (names, None),
        None => (
            Vec::new(),
            file.attr(b, AttrKey::Children)
                .and_then(|a| match a.value() {
                    AttrValue::Expr(Some(s)) => Some(file.str(s).to_string()),
                    _ => None,
                }),
        ),
    };
    // A nested block's parent encloses it; a top-level one's is its first lister, already
    // found above (asking the index would build its reverse-reference map for nothing).
    let parent = if b.parent.is_some() {
        index.parent(id)
    } else {
        listed_parent.get(&id).copied()
    }
    .and_then(|p| index.qualified_name(p));
    Some(ResourceDump {
        kind: file.str(b.kind).to_string(),
        name: file.block_name(id.block).into_owned(),
        qualified_name: index.qualified_name(id)?,
        title,
        title_expr,
        description,
        description_expr,
        tags,
        tags_expr,
        children,
        children_expr,
        parent,
        file: src.path.to_string(),
        span: SpanDump {
            start: b.start.into(),
            end: b.end.into(),
        },
    })
}

fn diagnostic(index: &Index, file: FileId, d: &Diagnostic) -> DiagnosticDump {
    DiagnosticDump {
        file: index.file(file).map(|f| f.path.clone()).unwrap_or_default(),
        severity: d.severity.as_str(),
        message: d.message.clone(),
        span: SpanDump {
            start: d.start.into(),
            end: d.end.into(),
        },
    }
}
