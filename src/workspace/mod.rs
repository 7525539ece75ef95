//! The workspace: finding the mod root and its files, reading them, and building the index.
//!
//! Discovery walks up from a path to the folder holding `mod.pp` / `mod.sp`, then down with
//! the `ignore` crate, honouring `.powerpipeignore` (and Steampipe's `.steampipeignore`),
//! skipping hidden entries (so `.powerpipe/`, `.steampipe/` and `.git/`) and folders that
//! hold a mod file of their own (another mod, nested in this one's folder). Installed
//! dependency mods under `.powerpipe/mods/` (or `.steampipe/mods/`) are found separately and
//! indexed as mods of their own.
//!
//! Architecture invariant: this is the only module of the core that touches the file
//! system. Files are read and scanned in parallel; the result does not depend on the number
//! of threads, because files are merged in path order.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::index::{Index, ModId, ScannedFile};
use crate::syntax::{self, Diagnostic, FileIndex, Pos, Scratch, Severity};

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
    /// spans); `None` if it cannot be read.
    pub fn read(&self, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.join(rel)).ok()
    }
}

/// Figures from one load.
#[derive(Debug, Clone, Default)]
pub struct LoadStats {
    /// Files read.
    pub files: usize,
    /// Bytes read.
    pub bytes: u64,
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
    let found = dir
        .ancestors()
        .find(|d| d.join("mod.pp").is_file() || d.join("mod.sp").is_file());
    Ok(found.map(Path::to_path_buf).unwrap_or(dir))
}

/// The mod roots a folder opened in an editor holds: the mod it is in (a `mod.pp` in it or
/// above it) and every mod in folders below it (hidden folders, such as installed
/// dependencies under `.powerpipe/`, excluded; at most `max_depth` levels down). A folder
/// with no mod file anywhere is one unnamed mod, as Powerpipe treats it. Sorted, without
/// repeats.
pub fn mod_roots(folder: &Path, max_depth: usize) -> Result<Vec<PathBuf>, WorkspaceError> {
    let start = find_root(folder)?;
    let has_mod = |d: &Path| d.join("mod.pp").is_file() || d.join("mod.sp").is_file();
    let mut roots = Vec::new();
    if has_mod(&start) {
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
            && has_mod(entry.path())
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
    for dep in dependency_roots(&root) {
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

/// Collects the indexed files of one mod folder.
fn walk_mod(root: &Path, mod_root: &Path, module: usize, out: &mut Vec<SourceFile>) {
    let mod_root_len = mod_root.as_os_str().len();
    let walker = ignore::WalkBuilder::new(mod_root)
        .standard_filters(false)
        .hidden(true)
        .parents(false)
        .follow_links(false)
        .add_custom_ignore_filename(".powerpipeignore")
        .add_custom_ignore_filename(".steampipeignore")
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
        && (p.join("mod.pp").is_file() || p.join("mod.sp").is_file())
}

/// The installed dependency mods: every folder under `.powerpipe/mods` (or, for Steampipe,
/// `.steampipe/mods`) that holds a mod file, sorted.
fn dependency_roots(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for base in [".powerpipe/mods", ".steampipe/mods"] {
        let base = root.join(base);
        if !base.is_dir() {
            continue;
        }
        let walker = ignore::WalkBuilder::new(&base)
            .standard_filters(false)
            .follow_links(false)
            .max_depth(Some(6))
            .build();
        for entry in walker.flatten() {
            let p = entry.path();
            if entry.file_type().is_some_and(|t| t.is_dir())
                && (p.join("mod.pp").is_file() || p.join("mod.sp").is_file())
            {
                found.push(p.to_path_buf());
            }
        }
    }
    found.sort();
    // A mod folder nested in another one belongs to it (no mod installs mods inside itself).
    let mut roots: Vec<PathBuf> = Vec::new();
    for p in found {
        if !roots.iter().any(|r| p.starts_with(r)) {
            roots.push(p);
        }
    }
    roots
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
/// results into an index, in path order.
pub fn load(ws: &Workspace) -> (Index, LoadStats) {
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
    let scanned: Vec<(ScannedFile, u64)> = ws
        .files
        .par_iter()
        .map(|f| {
            let (file_index, bytes) = BUFFERS.with(|b| match b.try_borrow_mut() {
                Ok(mut b) => {
                    let (buf, scratch) = &mut *b;
                    read_and_scan(&f.path, buf, scratch)
                }
                // Only if a scan re-entered this thread's buffers (it cannot today).
                Err(_) => read_and_scan(&f.path, &mut Vec::new(), &mut Scratch::default()),
            });
            let module = mod_ids.get(f.module).copied().unwrap_or(ModId(0));
            (ScannedFile::new(f.rel.clone(), module, file_index), bytes)
        })
        .collect();
    let scanned_at = std::time::Instant::now();
    let stats = LoadStats {
        files: scanned.len(),
        bytes: scanned.iter().map(|(_, bytes)| bytes).sum(),
    };
    index.add_files(scanned.into_iter().map(|(file, _)| file));
    tracing::debug!(
        merge_ms = scanned_at.elapsed().as_secs_f64() * 1e3,
        "index merged"
    );
    (index, stats)
}

/// Reads one file into the reused buffer and scans it; a file that cannot be read becomes
/// an index holding one diagnostic.
pub fn read_and_scan(path: &Path, buf: &mut Vec<u8>, scratch: &mut Scratch) -> (FileIndex, u64) {
    match read_into(path, buf) {
        Ok(()) => (syntax::scan_with(buf, scratch), buf.len() as u64),
        Err(message) => (diagnostic_only(message), 0),
    }
}

fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<(), String> {
    use std::io::Read;
    buf.clear();
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot read file: {e}"))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX_FILE_BYTES {
        return Err(format!(
            "file too large to index: {len} bytes (the limit is {MAX_FILE_BYTES})"
        ));
    }
    buf.reserve(len as usize + 1);
    (&mut file)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(buf)
        .map_err(|e| format!("cannot read file: {e}"))?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        buf.clear();
        return Err(format!(
            "file too large to index: over {MAX_FILE_BYTES} bytes"
        ));
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

/// The workspace's files as the resolver reads them: from disk through a small cache of
/// recently read files (bounded by bytes), with open documents' unsaved text taking
/// precedence (overlays).
pub struct DiskSources {
    root: PathBuf,
    cache: std::sync::Mutex<SourceCache>,
    overlays: std::sync::RwLock<std::collections::HashMap<String, std::sync::Arc<[u8]>>>,
}

struct SourceCache {
    lru: lru::LruCache<String, std::sync::Arc<[u8]>>,
    bytes: usize,
    limit: usize,
}

/// Files read by `file()` larger than this are refused.
pub const MAX_DOC_BYTES: u64 = 16 * 1024 * 1024;

impl DiskSources {
    /// Sources for the workspace rooted at `root`, caching up to `cache_bytes` of file text.
    pub fn new(root: PathBuf, cache_bytes: usize) -> DiskSources {
        DiskSources {
            root,
            cache: std::sync::Mutex::new(SourceCache {
                lru: lru::LruCache::unbounded(),
                bytes: 0,
                limit: cache_bytes.max(1),
            }),
            overlays: std::sync::RwLock::new(std::collections::HashMap::new()),
        }
    }

    /// Sets (or with `None` removes) the unsaved text of an open document.
    pub fn set_overlay(&self, path: &str, text: Option<std::sync::Arc<[u8]>>) {
        let mut o = self.overlays.write().unwrap_or_else(|p| p.into_inner());
        match text {
            Some(t) => {
                o.insert(path.to_string(), t);
            }
            None => {
                o.remove(path);
            }
        }
    }

    /// The cached disk text of a file, if the cache holds it (no read, no promotion).
    pub fn cached(&self, path: &str) -> Option<std::sync::Arc<[u8]>> {
        let c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        c.lru.peek(path).cloned()
    }

    /// Forgets the cached text of a file (it changed on disk).
    pub fn forget(&self, path: &str) {
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = c.lru.pop(path) {
            c.bytes -= old.len();
        }
    }
}

impl crate::resolve::Sources for DiskSources {
    fn read(&self, path: &str) -> Option<std::sync::Arc<[u8]>> {
        if let Some(t) = self
            .overlays
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
        {
            return Some(t.clone());
        }
        {
            let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(t) = c.lru.get(path) {
                return Some(t.clone());
            }
        }
        let mut buf = Vec::new();
        read_into(&self.root.join(path), &mut buf).ok()?;
        let text: std::sync::Arc<[u8]> = buf.into();
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if text.len() <= c.limit {
            if let Some(old) = c.lru.put(path.to_string(), text.clone()) {
                c.bytes -= old.len();
            }
            c.bytes += text.len();
            while c.bytes > c.limit {
                match c.lru.pop_lru() {
                    Some((_, old)) => c.bytes -= old.len(),
                    None => break,
                }
            }
        }
        Some(text)
    }

    fn read_in_mod(&self, mod_root: &str, path: &str) -> Result<String, String> {
        read_in_mod(&self.root, mod_root, path)
    }

    fn file_reader(&self, mod_root: &str) -> crate::resolve::funcs::FileReader {
        let root = self.root.clone();
        let mod_root = mod_root.to_string();
        std::sync::Arc::new(move |path: &str| read_in_mod(&root, &mod_root, path))
    }

    fn mod_files(&self, mod_root: &str) -> crate::resolve::funcs::FileReader {
        std::sync::Arc::new(DiskModFiles {
            root: self.root.clone(),
            mod_root: mod_root.to_string(),
        })
    }
}

/// The files of one mod on disk, for the file functions: paths relative to the mod's folder,
/// confined to it (symbolic links included).
struct DiskModFiles {
    root: PathBuf,
    mod_root: String,
}

/// At most this many files are listed for `fileset`.
const MAX_LISTED_FILES: usize = 100_000;

impl DiskModFiles {
    /// The canonical path of `path` inside the mod's folder, and the folder's.
    fn confined(&self, what: &str, path: &str) -> Result<(PathBuf, PathBuf), String> {
        let folder = if self.mod_root.is_empty() {
            self.root.clone()
        } else {
            self.root.join(&self.mod_root)
        };
        if Path::new(path).is_absolute() || path.starts_with('~') {
            return Err(format!(
                "{what}(\"{path}\"): the path must be relative to the mod folder"
            ));
        }
        let base = std::fs::canonicalize(&folder)
            .map_err(|e| format!("{what}(\"{path}\"): cannot open the mod folder: {e}"))?;
        let full = std::fs::canonicalize(folder.join(path))
            .map_err(|e| format!("{what}(\"{path}\"): {e}"))?;
        if !full.starts_with(&base) {
            return Err(format!(
                "{what}(\"{path}\"): the path leaves the mod folder; only files inside it can be read"
            ));
        }
        Ok((base, full))
    }
}

impl crate::resolve::funcs::ModFiles for DiskModFiles {
    fn read_text(&self, path: &str) -> Result<String, String> {
        read_in_mod(&self.root, &self.mod_root, path)
    }

    fn read_bytes(&self, path: &str) -> Result<Vec<u8>, String> {
        let (_, full) = self.confined("file", path)?;
        let meta = std::fs::metadata(&full).map_err(|e| format!("file(\"{path}\"): {e}"))?;
        if !meta.is_file() {
            return Err(format!("file(\"{path}\"): not a file"));
        }
        if meta.len() > MAX_DOC_BYTES {
            return Err(format!(
                "file(\"{path}\"): the file is larger than {MAX_DOC_BYTES} bytes"
            ));
        }
        std::fs::read(&full).map_err(|e| format!("file(\"{path}\"): {e}"))
    }

    fn exists(&self, path: &str) -> Result<bool, String> {
        match self.confined("fileexists", path) {
            Ok((_, full)) if full.is_file() => Ok(true),
            Ok(_) => Err(format!(
                "fileexists(\"{path}\"): the path is not a regular file"
            )),
            Err(_) if !self.root.join(&self.mod_root).join(path).exists() => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, String> {
        let (base, full) = self.confined("fileset", dir)?;
        let mut out = Vec::new();
        for entry in walkdir_files(&full) {
            let Ok(p) = entry else { continue };
            // A link inside the folder may lead out of the mod: such files are left out.
            let inside =
                p.is_file() && std::fs::canonicalize(&p).is_ok_and(|c| c.starts_with(&base));
            if let (true, Ok(rel)) = (inside, p.strip_prefix(&full)) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
                if out.len() > MAX_LISTED_FILES {
                    return Err(format!(
                        "fileset(\"{dir}\"): more than {MAX_LISTED_FILES} files"
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// Every regular file below `dir` (following no symbolic link to a folder).
fn walkdir_files(dir: &Path) -> impl Iterator<Item = std::io::Result<PathBuf>> {
    ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .follow_links(false)
        .build()
        .filter_map(|e| match e {
            Ok(e) if e.file_type().is_some_and(|t| t.is_file() || t.is_symlink()) => {
                Some(Ok(e.into_path()))
            }
            Ok(_) => None,
            Err(e) => Some(Err(std::io::Error::other(e.to_string()))),
        })
}

/// `file(path)` for the mod in `mod_root` (relative to the workspace `root`): the path is
/// relative to the mod's folder and must stay inside it (symbolic links included).
pub fn read_in_mod(root: &Path, mod_root: &str, path: &str) -> Result<String, String> {
    let folder = if mod_root.is_empty() {
        root.to_path_buf()
    } else {
        root.join(mod_root)
    };
    let p = Path::new(path);
    if p.is_absolute() || path.starts_with('~') {
        return Err(format!(
            "file(\"{path}\"): the path must be relative to the mod folder"
        ));
    }
    let base = std::fs::canonicalize(&folder)
        .map_err(|e| format!("file(\"{path}\"): cannot open the mod folder: {e}"))?;
    let full =
        std::fs::canonicalize(folder.join(p)).map_err(|e| format!("file(\"{path}\"): {e}"))?;
    if !full.starts_with(&base) {
        return Err(format!(
            "file(\"{path}\"): the path leaves the mod folder; only files inside it can be read"
        ));
    }
    let meta = std::fs::metadata(&full).map_err(|e| format!("file(\"{path}\"): {e}"))?;
    if !meta.is_file() {
        return Err(format!("file(\"{path}\"): not a file"));
    }
    if meta.len() > MAX_DOC_BYTES {
        return Err(format!(
            "file(\"{path}\"): the file is larger than {MAX_DOC_BYTES} bytes"
        ));
    }
    let bytes = std::fs::read(&full).map_err(|e| format!("file(\"{path}\"): {e}"))?;
    String::from_utf8(bytes).map_err(|_| format!("file(\"{path}\"): the file is not valid UTF-8"))
}
