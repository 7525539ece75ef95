//! The workspace: finding the mod root and its files, reading them, and building the index.
//!
//! Discovery walks up from a path to the folder holding `mod.pp` / `mod.sp`, then down with
//! the `ignore` crate, honouring `.powerpipeignore` (and Steampipe's `.steampipeignore`),
//! skipping hidden entries (so `.powerpipe/`, `.steampipe/` and `.git/`), symbolic links
//! (files and folders alike: `member.rs` states the rule every path of the workspace follows)
//! and folders that hold a mod file of their own (another mod, nested in this one's folder).
//! Installed dependency mods under `.powerpipe/mods/` (or `.steampipe/mods/`) are found
//! separately and indexed as mods of their own; an install that cannot be used (a folder
//! with no mod file, a link) is reported by [`broken_installs`].
//!
//! Architecture invariant: this is the only module of the core that touches the file
//! system. Files are read and scanned in parallel; the result does not depend on the number
//! of threads, because files are merged in path order. Nothing outside the mod root is read.

mod member;
mod sources;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::index::{Index, ModId, ScannedFile};
use crate::resolve::deps::BrokenInstall;
use crate::syntax::{self, Diagnostic, FileIndex, Pos, Scratch, Severity};

pub use member::{NotMember, Refused, has_mod_file, is_real_dir, member_file, resolve_inside};
pub use sources::{Basis, DiskSources, MAX_DOC_BYTES, read_in_mod};

/// Files larger than this are not scanned (a diagnostic says so): offsets are `u32`, and a
/// mod file this large is a mistake (a data dump saved as `.pp`).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// What can go wrong before any file is read.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The starting path does not exist or is not readable.
    /// The reason is part of the message, not a `source()`: an error printed with its chain
    /// (`{:#}`) would otherwise say it twice.
    #[error("cannot open {path}: {reason}")]
    Open {
        /// The path given.
        path: PathBuf,
        /// Why.
        reason: std::io::Error,
    },
}

/// A mod found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModSource {
    /// Its folder relative to the workspace root (`""` for the root mod), `/`-separated.
    pub root: String,
    /// True for an installed dependency.
    pub dependency: bool,
}

/// A file to index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Where it is.
    pub path: PathBuf,
    /// Path relative to the workspace root, `/`-separated.
    pub rel: String,
    /// Index into [`Workspace::mods`].
    pub module: usize,
}

/// A discovered workspace: its root, its mods and their files (sorted by `rel`).
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The root mod's folder.
    pub root: PathBuf,
    /// The root mod first, then dependencies sorted by folder.
    pub mods: Vec<ModSource>,
    /// Every file to index, sorted by relative path.
    pub files: Vec<SourceFile>,
}

impl Workspace {
    /// Reads a file of the workspace by its relative path (for text the index keeps as
    /// spans); `None` if it cannot be read or is not a file of the workspace (a link).
    pub fn read(&self, rel: &str) -> Option<Vec<u8>> {
        let path = member_file(&self.root, rel).ok()?;
        let mut buf = Vec::new();
        read_into(&path, &mut buf).ok()?;
        Some(buf)
    }
}

/// Figures from one load.
#[derive(Debug, Clone, Default)]
pub struct LoadStats {
    /// Files read.
    pub files: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Files the walk listed that were gone (or no longer files) when read: skipped.
    pub vanished: usize,
}

/// A fingerprint of a file's text: its length and a 64-bit hash of its bytes. What the index
/// was built from is known by these (see [`DiskSources`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    len: u64,
    hash: u64,
}

impl Fingerprint {
    /// The fingerprint of `text`.
    pub fn of(text: &[u8]) -> Fingerprint {
        use std::hash::BuildHasher;
        Fingerprint {
            len: text.len() as u64,
            hash: foldhash::quality::FixedState::with_seed(0x006d_6f64_6c65_6e73).hash_one(text),
        }
    }

    /// The text's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for the empty text.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// True for the file names modlens indexes.
pub fn is_indexed_file(name: &str) -> bool {
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    matches!(ext, "pp" | "sp" | "fp" | "tp" | "ppvars" | "spvars")
}

/// Finds the mod root above `start` (a folder or a file): the nearest folder holding
/// `mod.pp` or `mod.sp`. Without one, `start` itself (or its folder) is the root, as
/// Powerpipe treats a folder without a mod file as an unnamed mod.
pub fn find_root(start: &Path) -> Result<PathBuf, WorkspaceError> {
    let start = std::fs::canonicalize(start).map_err(|reason| WorkspaceError::Open {
        path: start.to_path_buf(),
        reason,
    })?;
    let dir = if start.is_dir() {
        start.clone()
    } else {
        start
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or(start.clone())
    };
    let found = dir.ancestors().find(|d| has_mod_file(d));
    Ok(found.map(Path::to_path_buf).unwrap_or(dir))
}

/// The mod roots a folder opened in an editor holds: the mod it is in (a `mod.pp` in it or
/// above it) and every mod in folders below it (hidden folders, such as installed
/// dependencies under `.powerpipe/`, excluded; at most `max_depth` levels down). A folder
/// with no mod file anywhere is one unnamed mod, as Powerpipe treats it. Sorted, without
/// repeats.
pub fn mod_roots(folder: &Path, max_depth: usize) -> Result<Vec<PathBuf>, WorkspaceError> {
    let start = find_root(folder)?;
    let mut roots = Vec::new();
    if has_mod_file(&start) {
        roots.push(start.clone());
    }
    let walker = ignore::WalkBuilder::new(&start)
        .standard_filters(false)
        .hidden(true)
        .follow_links(false)
        .max_depth(Some(max_depth))
        .add_custom_ignore_filename(".powerpipeignore")
        .add_custom_ignore_filename(".steampipeignore")
        .build();
    for entry in walker.flatten() {
        if entry.depth() > 0
            && entry.file_type().is_some_and(|t| t.is_dir())
            && has_mod_file(entry.path())
        {
            roots.push(entry.path().to_path_buf());
        }
    }
    if roots.is_empty() {
        roots.push(start);
    }
    roots.sort();
    roots.dedup();
    Ok(roots)
}

/// Discovers the workspace that `start` belongs to.
pub fn discover(start: &Path) -> Result<Workspace, WorkspaceError> {
    let root = find_root(start)?;
    let mut mods = vec![ModSource {
        root: String::new(),
        dependency: false,
    }];
    let mut files = Vec::new();
    walk_mod(&root, &root, 0, &mut files);
    for dep in installs(&root).0 {
        let rel = relative(&root, &dep);
        mods.push(ModSource {
            root: rel,
            dependency: true,
        });
        walk_mod(&root, &dep, mods.len() - 1, &mut files);
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    files.dedup_by(|a, b| a.rel == b.rel);
    Ok(Workspace { root, mods, files })
}

/// The mod (an index into [`Workspace::mods`]) that an open document at `rel` belongs to
/// while nothing is on the disk at its path (`:e new.pp` in an editor, an untitled buffer
/// to be saved into the mod folder): the file the walk would find there once it is saved.
/// The walk's rules hold: an indexed file name; no hidden entry, no nested mod's folder
/// and no symbolic link on the way (folders that do not exist yet are no obstacle); not
/// excluded by a `.powerpipeignore` / `.steampipeignore`. `None` when something is at the
/// path (the disk decides then: see `member.rs`) or the walk would not take it.
pub fn unsaved_member(ws: &Workspace, rel: &str) -> Option<usize> {
    let parts: Vec<&str> = rel.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return None;
    }
    if !is_indexed_file(parts.last()?) {
        return None;
    }
    match std::fs::symlink_metadata(ws.root.join(rel)) {
        Err(e) if member::is_gone(&e) => {}
        // Something is there (or cannot be looked at): not an unsaved document's place.
        _ => return None,
    }
    // The innermost mod whose folder holds the path (the root mod's is "").
    let (module, skip) = ws
        .mods
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            m.root.is_empty() || rel.starts_with(&m.root) && rel[m.root.len()..].starts_with('/')
        })
        .max_by_key(|(_, m)| m.root.len())
        .map(|(i, m)| (i, m.root.split('/').filter(|p| !p.is_empty()).count()))?;
    let mut dir = ws.root.clone();
    for part in &parts[..skip] {
        dir.push(part);
    }
    let below = &parts[skip..];
    // Ignore files of the folders on the way, the mod's own folder first.
    let mut ignores: Vec<ignore::gitignore::Gitignore> = Vec::new();
    let mut exists = true;
    for (i, part) in below.iter().enumerate() {
        if part.starts_with('.') {
            return None;
        }
        if exists {
            ignores.extend(ignore_rules(&dir));
        }
        dir.push(part);
        let last = i + 1 == below.len();
        for rules in ignores.iter().rev() {
            match rules.matched(&dir, !last) {
                ignore::Match::Ignore(_) => return None,
                ignore::Match::Whitelist(_) => break,
                ignore::Match::None => {}
            }
        }
        if last || !exists {
            continue;
        }
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_dir() => {
                if has_mod_file(&dir) {
                    // Another mod's folder: its project serves the document.
                    return None;
                }
            }
            Err(e) if member::is_gone(&e) => exists = false,
            // A link, a file where a folder would be, or unreadable.
            _ => return None,
        }
    }
    Some(module)
}

/// The `.powerpipeignore` and `.steampipeignore` rules of the folder `dir`, if it has any.
fn ignore_rules(dir: &Path) -> Option<ignore::gitignore::Gitignore> {
    let mut builder = ignore::gitignore::GitignoreBuilder::new(dir);
    let mut any = false;
    for name in [".powerpipeignore", ".steampipeignore"] {
        let file = dir.join(name);
        if std::fs::symlink_metadata(&file).is_ok_and(|m| m.is_file()) {
            any = true;
            if let Some(e) = builder.add(&file) {
                tracing::warn!(file = %file.display(), error = %e, "part of an ignore file was not understood");
            }
        }
    }
    if !any {
        return None;
    }
    builder
        .build()
        .map_err(
            |e| tracing::warn!(folder = %dir.display(), error = %e, "cannot use its ignore files"),
        )
        .ok()
}

/// A walk below `dir` with the index's rules: `.powerpipeignore` and `.steampipeignore`
/// honoured (no other ignore file), hidden entries (`.powerpipe/mods`) skipped, links not
/// followed.
pub fn walk_builder(dir: &Path) -> ignore::WalkBuilder {
    let mut b = ignore::WalkBuilder::new(dir);
    b.standard_filters(false)
        .hidden(true)
        .parents(false)
        .follow_links(false)
        .add_custom_ignore_filename(".powerpipeignore")
        .add_custom_ignore_filename(".steampipeignore");
    b
}

/// Collects the indexed files of one mod folder.
fn walk_mod(root: &Path, mod_root: &Path, module: usize, out: &mut Vec<SourceFile>) {
    let mod_root_len = mod_root.as_os_str().len();
    let walker = walk_builder(mod_root)
        .filter_entry(move |e| !is_nested_mod(e, mod_root_len))
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                tracing::warn!(%err, "skipping an entry that cannot be walked");
                continue;
            }
        };
        // Links are not followed: a link's type is "link", never "file".
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        if !is_indexed_file(&name) {
            continue;
        }
        out.push(SourceFile {
            path: entry.path().to_path_buf(),
            rel: relative(root, entry.path()),
            module,
        });
    }
}

/// A folder below a mod's own folder that holds a mod file of its own: another mod (an
/// example mod kept in a mod's repository, one of several mods in a folder), which is not
/// part of this one. The language server serves it as a project of its own.
fn is_nested_mod(entry: &ignore::DirEntry, mod_root_len: usize) -> bool {
    let p = entry.path();
    entry.file_type().is_some_and(|t| t.is_dir())
        && p.as_os_str().len() > mod_root_len
        && has_mod_file(p)
}

/// The folders installed dependency mods live in.
const INSTALL_BASES: [&str; 2] = [".powerpipe/mods", ".steampipe/mods"];

/// How deep below an install base a mod folder may be (`github.com/org/repo@v1` is 3).
const INSTALL_DEPTH: usize = 6;

/// The installed dependency mods (every real folder under `.powerpipe/mods` or, for
/// Steampipe, `.steampipe/mods` that holds a mod file; not below another one), sorted, and
/// the installs that cannot be used.
fn installs(root: &Path) -> (Vec<PathBuf>, Vec<BrokenInstall>) {
    let mut found = Vec::new();
    let mut broken = Vec::new();
    for base in INSTALL_BASES {
        // `.powerpipe`, then `.powerpipe/mods`: real folders, or nothing is installed there.
        let mut at = root.to_path_buf();
        let mut usable = true;
        for part in base.split('/') {
            at.push(part);
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    broken.push(BrokenInstall {
                        root: relative(root, &at),
                        reason: "is a symbolic link".to_string(),
                    });
                    usable = false;
                    break;
                }
                _ => {
                    usable = false;
                    break;
                }
            }
        }
        if usable {
            walk_installs(root, &at, 1, &mut found, &mut broken);
        }
    }
    found.sort();
    broken.sort_by(|a, b| a.root.cmp(&b.root));
    (found, broken)
}

/// One level of [`installs`]: `dir` is a real folder below an install base.
fn walk_installs(
    root: &Path,
    dir: &Path,
    depth: usize,
    found: &mut Vec<PathBuf>,
    broken: &mut Vec<BrokenInstall>,
) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(PathBuf, std::fs::FileType)> = read
        .flatten()
        .filter_map(|e| Some((e.path(), e.file_type().ok()?)))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, t) in entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let install_folder = name.contains('@') || name.contains('#');
        if t.is_symlink() {
            broken.push(BrokenInstall {
                root: relative(root, &path),
                reason: "is a symbolic link".to_string(),
            });
        } else if t.is_dir() {
            if has_mod_file(&path) {
                // A mod folder nested in another one belongs to it: not walked further.
                found.push(path);
            } else if install_folder {
                broken.push(BrokenInstall {
                    root: relative(root, &path),
                    reason: "holds no mod.pp".to_string(),
                });
            } else if depth < INSTALL_DEPTH {
                walk_installs(root, &path, depth + 1, found, broken);
            }
        }
    }
}

/// Installs under `.powerpipe/mods` (or `.steampipe/mods`) that cannot be used: a folder
/// named like an installed mod (`repo@v1.2.3`, `repo#branch`) that holds no mod file, or a
/// symbolic link (which modlens does not follow, see `member.rs`), sorted by folder.
pub fn broken_installs(root: &Path) -> Vec<BrokenInstall> {
    installs(root).1
}

/// `path` relative to `root`, `/`-separated.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// Reads and scans every file (in parallel on the current rayon pool) and merges the
/// results into an index, in path order. A file the walk listed that is gone when read (or
/// is no longer a file) is skipped with a warning.
pub fn load(ws: &Workspace) -> (Index, LoadStats) {
    let (index, stats, _) = load_files(ws, false, Keep::Spans);
    (index, stats)
}

/// [`load`], also giving each indexed file's [`Fingerprint`]: what [`DiskSources`] needs to
/// serve only the text the index was built from.
pub fn load_with_basis(ws: &Workspace) -> (Index, LoadStats, Basis) {
    load_files(ws, true, Keep::Spans)
}

/// [`load_with_basis`], the index also keeping the text it otherwise leaves as spans
/// (descriptions, and the expression text of tags and descriptions; see
/// [`Scratch::keep_text`]): for a dump, which then reads no file back for them. The index is
/// larger by that text.
pub fn load_with_text(ws: &Workspace) -> (Index, LoadStats, Basis) {
    load_files(ws, true, Keep::Text)
}

/// [`load_with_text`] for the index-only dump: the index records only the references of
/// `children`, `query` and `base` ([`Scratch::list_refs_only`]); it serves that dump and
/// nothing else.
pub fn load_for_dump(ws: &Workspace) -> (Index, LoadStats, Basis) {
    load_files(ws, true, Keep::TextAndListRefs)
}

/// What a load's index keeps beyond the plain scan's.
#[derive(Clone, Copy, PartialEq)]
enum Keep {
    Spans,
    Text,
    TextAndListRefs,
}

impl Keep {
    fn set(self, scratch: &mut Scratch) {
        scratch.keep_text(self != Keep::Spans);
        scratch.list_refs_only(self == Keep::TextAndListRefs);
    }
}

/// One file as the load read it: its scan, its bytes, and its path's fingerprint if wanted.
type Loaded = (ScannedFile, u64, Option<(String, Fingerprint)>);

fn load_files(ws: &Workspace, fingerprints: bool, keep: Keep) -> (Index, LoadStats, Basis) {
    thread_local! {
        // One read buffer and one scan scratch per worker thread, kept across loads: a load
        // then allocates about what the index keeps.
        static BUFFERS: std::cell::RefCell<(Vec<u8>, Scratch)> =
            std::cell::RefCell::new((Vec::new(), Scratch::default()));
    }
    let mut index = Index::new();
    let mod_ids: Vec<ModId> = ws
        .mods
        .iter()
        .map(|m| index.add_mod(m.root.clone(), m.dependency))
        .collect();
    // Each worker reads, scans and hashes its files' names while they are in its cache;
    // what is left to do on one thread is a sort.
    let scanned: Vec<Option<Loaded>> = ws
        .files
        .par_iter()
        .map(|f| {
            let read = BUFFERS.with(|b| match b.try_borrow_mut() {
                Ok(mut b) => {
                    let (buf, scratch) = &mut *b;
                    keep.set(scratch);
                    read_scan(&f.path, buf, scratch, fingerprints)
                }
                // Only if a scan re-entered this thread's buffers (it cannot today).
                Err(_) => {
                    let mut scratch = Scratch::default();
                    keep.set(&mut scratch);
                    read_scan(&f.path, &mut Vec::new(), &mut scratch, fingerprints)
                }
            });
            let (file_index, bytes, fp) = match read {
                Ok(r) => r,
                Err(why) => {
                    tracing::warn!(file = %f.rel, ?why, "skipped: gone (or no longer a file) since the walk");
                    return None;
                }
            };
            let module = mod_ids.get(f.module).copied().unwrap_or(ModId(0));
            let fp = fp.map(|fp| (f.rel.clone(), fp));
            Some((ScannedFile::new(f.rel.clone(), module, file_index), bytes, fp))
        })
        .collect();
    let scanned_at = std::time::Instant::now();
    let vanished = scanned.iter().filter(|s| s.is_none()).count();
    let scanned: Vec<_> = scanned.into_iter().flatten().collect();
    let stats = LoadStats {
        files: scanned.len(),
        bytes: scanned.iter().map(|(_, bytes, _)| bytes).sum(),
        vanished,
    };
    let mut basis = Basis::with_capacity(if fingerprints { scanned.len() } else { 0 });
    let files = scanned.into_iter().map(|(file, _, fp)| {
        if let Some((rel, fp)) = fp {
            basis.insert(rel, fp);
        }
        file
    });
    index.add_files(files);
    tracing::debug!(
        merge_ms = scanned_at.elapsed().as_secs_f64() * 1e3,
        "index merged"
    );
    (index, stats, basis)
}

/// Reads one file into the reused buffer and scans it; a file that cannot be read becomes
/// an index holding one diagnostic; `Err` when it is gone or not a regular file (it is not
/// part of the workspace). The fingerprint is of the bytes scanned (of no bytes for a file
/// that cannot be read).
fn read_scan(
    path: &Path,
    buf: &mut Vec<u8>,
    scratch: &mut Scratch,
    fingerprint: bool,
) -> Result<(FileIndex, u64, Option<Fingerprint>), NotMember> {
    match read_into(path, buf) {
        Ok(()) => Ok((
            syntax::scan_with(buf, scratch),
            buf.len() as u64,
            fingerprint.then(|| Fingerprint::of(buf)),
        )),
        Err(Unread::Gone) => Err(NotMember::Gone),
        Err(Unread::NotMember) => Err(NotMember::Other),
        Err(why) => Ok((
            diagnostic_only(why.message()),
            0,
            fingerprint.then(|| Fingerprint::of(&[])),
        )),
    }
}

/// Reads one file into the reused buffer and scans it; a file that cannot be read (or is
/// gone) becomes an index holding one diagnostic.
pub fn read_and_scan(path: &Path, buf: &mut Vec<u8>, scratch: &mut Scratch) -> (FileIndex, u64) {
    match read_into(path, buf) {
        Ok(()) => (syntax::scan_with(buf, scratch), buf.len() as u64),
        Err(why) => (diagnostic_only(why.message()), 0),
    }
}

/// One workspace file read and scanned: its index, the fingerprint of the text it was built
/// from, and that text (`None` when the file could not be read: the index is a diagnostic).
#[derive(Debug)]
pub struct FileScan {
    /// The scan.
    pub index: FileIndex,
    /// What it was built from.
    pub fingerprint: Fingerprint,
    /// The text.
    pub text: Option<Arc<[u8]>>,
}

/// Reads and scans the workspace file `rel` (relative to the canonical `root`) if it is a
/// member (see `member.rs`); otherwise says why not.
pub fn scan_member(root: &Path, rel: &str) -> Result<FileScan, NotMember> {
    let path = member_file(root, rel)?;
    let mut buf = Vec::new();
    match read_into(&path, &mut buf) {
        Ok(()) => Ok(FileScan {
            index: syntax::scan(&buf),
            fingerprint: Fingerprint::of(&buf),
            text: Some(buf.into()),
        }),
        Err(Unread::Gone) => Err(NotMember::Gone),
        Err(Unread::NotMember) => Err(NotMember::Other),
        Err(why) => Ok(FileScan {
            index: diagnostic_only(why.message()),
            fingerprint: Fingerprint::of(&[]),
            text: None,
        }),
    }
}

/// Why a file was not read.
#[derive(Debug)]
pub(crate) enum Unread {
    /// Not there.
    Gone,
    /// Not a regular file (a link, a folder, a device).
    NotMember,
    /// Larger than the limit.
    TooLarge,
    /// Any other failure.
    Failed(std::io::Error),
}

impl Unread {
    fn message(&self) -> String {
        match self {
            Unread::Gone => "cannot read file: it is gone".to_string(),
            Unread::NotMember => "cannot read file: not a regular file".to_string(),
            Unread::TooLarge => {
                format!("file too large to index: over {MAX_FILE_BYTES} bytes")
            }
            Unread::Failed(e) => format!("cannot read file: {e}"),
        }
    }
}

/// Reads a file of the workspace whole (at most [`MAX_FILE_BYTES`]).
pub(crate) fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<(), Unread> {
    read_limited(path, buf, MAX_FILE_BYTES)
}

/// Reads `path`, a file the walk listed, again the way the load read it, into `buf`
/// (cleared first; a caller reading many files reuses one allocation), and says whether it
/// still is the text `basis` fingerprints (what the index was built from): for a one-shot
/// tool reading back, once, the files it has just indexed (`index --index-only`), without
/// the membership walk [`DiskSources`] does for paths that come from elsewhere. When it is
/// not, `buf` is left empty.
pub fn read_again_into(path: &Path, basis: Fingerprint, buf: &mut Vec<u8>) -> bool {
    use std::io::Read;
    buf.clear();
    // As many bytes as were indexed: they are the text only if they fingerprint the same
    // (whatever may have been appended since is not part of it). The length is known, so
    // the file system is not asked for it; the load checked that this is a regular file.
    let Ok(len) = usize::try_from(basis.len()) else {
        return false;
    };
    buf.reserve(len);
    let read = open_no_follow(path).and_then(|f| f.take(basis.len()).read_to_end(buf));
    let same = read.is_ok() && Fingerprint::of(buf) == basis;
    if !same {
        buf.clear();
    }
    same
}

/// Reads `path`, an indexed file, and gives its text only if it is exactly the text `basis`
/// fingerprints (nothing appended either): what [`DiskSources`] serves for an indexed file
/// without its membership walk — a text equal to the one the load read under that walk
/// tells nothing new, whatever the path leads to now (at most `basis.len() + 1` bytes read).
pub(crate) fn read_unchanged(path: &Path, basis: Fingerprint) -> Option<Vec<u8>> {
    use std::io::Read;
    let len = usize::try_from(basis.len()).ok()?;
    let mut buf = Vec::with_capacity(len + 1);
    open_no_follow(path)
        .ok()?
        .take(basis.len() + 1)
        .read_to_end(&mut buf)
        .ok()?;
    (buf.len() == len && Fingerprint::of(&buf) == basis).then_some(buf)
}

/// Opens `path` for reading without following a link in its last component (and without
/// blocking on a pipe put in a file's place).
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
    }
    #[cfg(not(unix))]
    {
        std::fs::File::open(path)
    }
}

/// Reads a regular file whole into `buf`, refusing one larger than `limit` bytes.
pub(crate) fn read_limited(path: &Path, buf: &mut Vec<u8>, limit: u64) -> Result<(), Unread> {
    use std::io::Read;
    buf.clear();
    let mut file = match open_no_follow(path) {
        Ok(f) => f,
        Err(e) if member::is_gone(&e) => return Err(Unread::Gone),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(Unread::NotMember),
        Err(e) => return Err(Unread::Failed(e)),
    };
    let meta = file.metadata().map_err(Unread::Failed)?;
    if !meta.is_file() {
        return Err(Unread::NotMember);
    }
    if meta.len() > limit {
        return Err(Unread::TooLarge);
    }
    buf.reserve(meta.len() as usize + 1);
    (&mut file)
        .take(limit + 1)
        .read_to_end(buf)
        .map_err(Unread::Failed)?;
    if buf.len() as u64 > limit {
        buf.clear();
        return Err(Unread::TooLarge);
    }
    Ok(())
}

fn diagnostic_only(message: String) -> FileIndex {
    let at = Pos {
        line: 1,
        column: 1,
        byte: 0,
    };
    FileIndex::with_diagnostic(
        0,
        Diagnostic {
            severity: Severity::Error,
            start: at,
            end: at,
            message,
        },
    )
}

/// Bytes of file text to keep for the resolver, given the cache's limits: it reads a
/// block's file when it resolves the block, and resolving goes mostly file by file, so a
/// quarter of the cache's budget (at most 4 MiB) serves it.
pub fn source_cache_bytes(limits: &crate::cache::Limits) -> usize {
    (limits.max_bytes / 4).clamp(256 * 1024, 4 * 1024 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`read_again_into`] into a new buffer.
    fn read_again(path: &Path, basis: Fingerprint) -> Option<Vec<u8>> {
        let mut buf = Vec::new();
        read_again_into(path, basis, &mut buf).then_some(buf)
    }

    #[test]
    fn read_again_gives_only_the_text_that_was_indexed() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let path = tmp.path().join("a.pp");
        let text = b"query \"q\" {\n  sql = \"select 1\"\n}\n";
        std::fs::write(&path, text).expect("write");
        let basis = Fingerprint::of(text);
        assert_eq!(read_again(&path, basis).as_deref(), Some(&text[..]));
        // Same length, other bytes: not the indexed text.
        std::fs::write(&path, b"query \"r\" {\n  sql = \"select 1\"\n}\n").expect("write");
        assert_eq!(read_again(&path, basis), None);
        // Shorter.
        std::fs::write(&path, b"query").expect("write");
        assert_eq!(read_again(&path, basis), None);
        // Longer: what was indexed is still its start, and only that is given.
        let mut longer = text.to_vec();
        longer.extend_from_slice(b"query \"more\" {}\n");
        std::fs::write(&path, &longer).expect("write");
        assert_eq!(read_again(&path, basis).as_deref(), Some(&text[..]));
        // Gone, or a folder in its place.
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(read_again(&path, basis), None);
        std::fs::create_dir(&path).expect("mkdir");
        assert_eq!(read_again(&path, basis), None);
    }

    #[test]
    fn read_unchanged_gives_only_exactly_the_indexed_text() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let path = tmp.path().join("a.pp");
        let text = b"query \"q\" {\n  sql = \"select 1\"\n}\n";
        std::fs::write(&path, text).expect("write");
        let basis = Fingerprint::of(text);
        assert_eq!(read_unchanged(&path, basis).as_deref(), Some(&text[..]));
        // Longer (appended to): changed, unlike `read_again_into`'s prefix.
        let mut longer = text.to_vec();
        longer.extend_from_slice(b"query \"more\" {}\n");
        std::fs::write(&path, &longer).expect("write");
        assert_eq!(read_unchanged(&path, basis), None);
        std::fs::write(&path, b"query").expect("write");
        assert_eq!(read_unchanged(&path, basis), None);
        // A link in its place is not followed.
        std::fs::remove_file(&path).expect("remove");
        let other = tmp.path().join("b.pp");
        std::fs::write(&other, text).expect("write");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&other, &path).expect("link");
            assert_eq!(read_unchanged(&path, basis), None);
        }
    }

    fn copy(name: &str) -> (tempfile::TempDir, PathBuf) {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name);
        let tmp = tempfile::tempdir().expect("temp dir");
        let to = tmp.path().join(name);
        for entry in walkdir_all(&from) {
            let rel = entry.strip_prefix(&from).expect("below");
            let dest = to.join(rel);
            if entry.is_dir() {
                std::fs::create_dir_all(&dest).expect("mkdir");
            } else {
                std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
                std::fs::copy(&entry, &dest).expect("copy");
            }
        }
        let to = std::fs::canonicalize(&to).expect("canonical");
        (tmp, to)
    }

    fn walkdir_all(dir: &Path) -> Vec<PathBuf> {
        let mut out = vec![dir.to_path_buf()];
        let mut i = 0;
        while i < out.len() {
            if out[i].is_dir() {
                let mut more: Vec<PathBuf> = std::fs::read_dir(&out[i])
                    .expect("read dir")
                    .flatten()
                    .map(|e| e.path())
                    .collect();
                more.sort();
                out.extend(more);
            }
            i += 1;
        }
        out
    }

    /// Every file of a fixture, taken off the disk one at a time: an unsaved document at its
    /// path belongs exactly when the walk found the file (and to the same mod).
    #[test]
    fn an_unsaved_document_belongs_where_the_walk_would_find_its_file() {
        for name in [
            "powerpipeignore",
            "nested_mods",
            "dependency_mod",
            "lsp_workspace",
        ] {
            let (_tmp, root) = copy(name);
            let ws = discover(&root).expect("discover");
            let found: std::collections::BTreeMap<&str, usize> = ws
                .files
                .iter()
                .map(|f| (f.rel.as_str(), f.module))
                .collect();
            let mut checked = 0;
            for path in walkdir_all(&root) {
                if !path.is_file() {
                    continue;
                }
                let rel = relative(&root, &path);
                let text = std::fs::read(&path).expect("read");
                // Something on the disk: the disk decides, never this rule.
                assert_eq!(unsaved_member(&ws, &rel), None, "{name}: {rel} exists");
                std::fs::remove_file(&path).expect("remove");
                let indexed = is_indexed_file(&rel) && !rel.ends_with("mod.pp");
                if indexed {
                    assert_eq!(
                        unsaved_member(&ws, &rel),
                        found.get(rel.as_str()).copied(),
                        "{name}: {rel}"
                    );
                    checked += 1;
                }
                std::fs::write(&path, text).expect("restore");
            }
            assert!(checked > 1, "{name}: nothing checked");
        }
    }

    #[test]
    fn an_unsaved_document_in_a_folder_not_made_yet_belongs_unless_ignored() {
        let (_tmp, root) = copy("powerpipeignore");
        let ws = discover(&root).expect("discover");
        assert_eq!(unsaved_member(&ws, "new/deeper/x.pp"), Some(0));
        assert_eq!(unsaved_member(&ws, "new.pp"), Some(0));
        assert_eq!(unsaved_member(&ws, "generated/new/x.pp"), None);
        assert_eq!(unsaved_member(&ws, "scratch/new/x.pp"), None);
        assert_eq!(unsaved_member(&ws, "new/x.draft.pp"), None);
        assert_eq!(unsaved_member(&ws, ".new/x.pp"), None);
        assert_eq!(unsaved_member(&ws, "new/x.md"), None);
        assert_eq!(unsaved_member(&ws, "../x.pp"), None);
        assert_eq!(unsaved_member(&ws, "controls.pp/x.pp"), None);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("sub"), root.join("link")).expect("link");
            assert_eq!(unsaved_member(&ws, "link/x.pp"), None);
        }
    }
}
