//! The workspace's files as the resolver, the dump and the language server read them.
//!
//! [`DiskSources`] keeps what the index was built from: a [`Fingerprint`] of each indexed
//! file's text (its *basis*). A file read from the disk is served, and kept in the small text
//! cache, only when it is that text; otherwise the file changed since it was indexed, the read
//! gives nothing, and the path is recorded as *stale* for the owner to index again. So the
//! index and the text served beside it never disagree, whatever order reads, writes and
//! watcher events come in. Open documents' unsaved text (overlays) comes first.
//!
//! `file()` goes through [`read_in_mod`]: confined to the mod's folder, links included, and
//! without looking outside it (see [`super::member`]).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

use super::member::{self, Refused};
use super::{Fingerprint, Unread, read_into, read_limited};
use crate::resolve::deps::BrokenInstall;

/// Files read by `file()` larger than this are refused.
pub const MAX_DOC_BYTES: u64 = 16 * 1024 * 1024;

/// What each indexed file's entry was built from, by workspace-relative path.
pub type Basis = HashMap<String, Fingerprint>;

/// The workspace's files as the resolver reads them: from disk through a small cache of
/// recently read files (bounded by bytes), with open documents' unsaved text taking
/// precedence (overlays); with a basis, only the text the index was built from.
pub struct DiskSources {
    root: PathBuf,
    state: Mutex<SourceState>,
    overlays: RwLock<HashMap<String, Arc<[u8]>>>,
    stale: Mutex<Stale>,
    stale_signal: Condvar,
}

/// The text cache and the basis: one lock, so a text is cached only while it is the basis.
struct SourceState {
    lru: lru::LruCache<String, Arc<[u8]>>,
    bytes: usize,
    limit: usize,
    /// `None`: no basis known (whatever the disk holds is served).
    basis: Option<Basis>,
}

#[derive(Default)]
struct Stale {
    paths: BTreeSet<String>,
    closed: bool,
}

impl SourceState {
    fn put(&mut self, path: &str, text: Arc<[u8]>) {
        self.remove(path);
        if text.len() > self.limit {
            return;
        }
        self.bytes += text.len();
        self.lru.put(path.to_string(), text);
        while self.bytes > self.limit {
            match self.lru.pop_lru() {
                Some((_, old)) => self.bytes -= old.len(),
                None => break,
            }
        }
    }

    fn remove(&mut self, path: &str) {
        if let Some(old) = self.lru.pop(path) {
            self.bytes -= old.len();
        }
    }
}

impl DiskSources {
    /// Sources for the workspace rooted at `root`, caching up to `cache_bytes` of file text,
    /// with no basis: whatever the disk holds is read (tools that read once).
    pub fn new(root: PathBuf, cache_bytes: usize) -> DiskSources {
        DiskSources::build(root, cache_bytes, None)
    }

    /// Sources that serve only the text the index was built from (`basis`, from
    /// [`super::load_with_basis`]); a path without a basis is not read.
    pub fn with_basis(root: PathBuf, cache_bytes: usize, basis: Basis) -> DiskSources {
        DiskSources::build(root, cache_bytes, Some(basis))
    }

    fn build(root: PathBuf, cache_bytes: usize, basis: Option<Basis>) -> DiskSources {
        // The membership rule walks from the root with `lstat`: it must be the real folder.
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        DiskSources {
            root,
            state: Mutex::new(SourceState {
                lru: lru::LruCache::unbounded(),
                bytes: 0,
                limit: cache_bytes.max(1),
                basis,
            }),
            overlays: RwLock::new(HashMap::new()),
            stale: Mutex::new(Stale::default()),
            stale_signal: Condvar::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SourceState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets (or with `None` removes) the unsaved text of an open document.
    pub fn set_overlay(&self, path: &str, text: Option<Arc<[u8]>>) {
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

    /// What the index holds of `path` was built from text with this fingerprint.
    pub fn basis(&self, path: &str) -> Option<Fingerprint> {
        self.state().basis.as_ref()?.get(path).copied()
    }

    /// The index now holds `path` built from text with fingerprint `fp`; `text`, when given,
    /// is that text (kept in the cache, so it is served without reading the disk again).
    pub fn indexed(&self, path: &str, fp: Fingerprint, text: Option<Arc<[u8]>>) {
        let mut s = self.state();
        if let Some(b) = s.basis.as_mut() {
            b.insert(path.to_string(), fp);
        }
        s.remove(path);
        if let Some(t) = text
            && Fingerprint::of(&t) == fp
        {
            s.put(path, t);
        }
    }

    /// The index no longer holds `path`.
    pub fn unindexed(&self, path: &str) {
        let mut s = self.state();
        if let Some(b) = s.basis.as_mut() {
            b.remove(path);
        }
        s.remove(path);
    }

    /// The index was built again from scratch, from `basis`.
    pub fn reset(&self, basis: Basis) {
        let mut s = self.state();
        s.lru.clear();
        s.bytes = 0;
        s.basis = Some(basis);
    }

    /// Forgets the cached text of a file (the next read goes to the disk).
    pub fn forget(&self, path: &str) {
        self.state().remove(path);
    }

    /// Paths found changed since they were indexed (a read met other text, or none), taken:
    /// the owner indexes them again.
    pub fn take_stale(&self) -> Vec<String> {
        let mut s = self.stale.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut s.paths).into_iter().collect()
    }

    /// Waits until a stale path is recorded, [`DiskSources::close`] is called, or `timeout`
    /// passes; true when there are stale paths.
    pub fn wait_stale(&self, timeout: Duration) -> bool {
        let s = self.stale.lock().unwrap_or_else(|p| p.into_inner());
        let (s, _) = self
            .stale_signal
            .wait_timeout_while(s, timeout, |s| s.paths.is_empty() && !s.closed)
            .unwrap_or_else(|p| p.into_inner());
        !s.paths.is_empty()
    }

    /// Wakes and ends every [`DiskSources::wait_stale`] (the owner is going away).
    pub fn close(&self) {
        let mut s = self.stale.lock().unwrap_or_else(|p| p.into_inner());
        s.closed = true;
        self.stale_signal.notify_all();
    }

    /// True once [`DiskSources::close`] was called.
    pub fn closed(&self) -> bool {
        self.stale.lock().unwrap_or_else(|p| p.into_inner()).closed
    }

    fn mark_stale(&self, path: &str) {
        tracing::debug!(file = %path, "changed since it was indexed");
        let mut s = self.stale.lock().unwrap_or_else(|p| p.into_inner());
        if s.paths.insert(path.to_string()) {
            self.stale_signal.notify_all();
        }
    }

    /// The text of `path` if it is at hand (an open document's, or in the text cache): never
    /// reads the disk.
    pub fn read_cached(&self, path: &str) -> Option<Arc<[u8]>> {
        if let Some(t) = self
            .overlays
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
        {
            return Some(t.clone());
        }
        self.state().lru.get(path).cloned()
    }

    /// True when `path` is, right now, the text the index holds of it: an open document's
    /// unsaved text, a file whose disk text has the indexed fingerprint (read now, never
    /// from the cache), or a path the index does not hold. Otherwise the path is recorded
    /// as stale. For answers that edit files
    /// (a rename): the client applies them to the file as it is now.
    pub fn unchanged_on_disk(&self, path: &str) -> bool {
        if self
            .overlays
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(path)
        {
            return true;
        }
        // No basis (a tool that reads once), or a file the index does not hold (one an
        // edit creates): nothing to disagree with.
        let Some(expected) = self
            .state()
            .basis
            .as_ref()
            .and_then(|b| b.get(path).copied())
        else {
            return true;
        };
        let current = self
            .read_disk(path)
            .is_ok_and(|buf| Fingerprint::of(&buf) == expected);
        if !current {
            self.state().remove(path);
            self.mark_stale(path);
        }
        current
    }

    /// Reads a workspace file from the disk, as the membership rule allows.
    fn read_disk(&self, path: &str) -> Result<Vec<u8>, Unread> {
        let full = member::member_file(&self.root, path).map_err(|why| match why {
            member::NotMember::Gone => Unread::Gone,
            _ => Unread::NotMember,
        })?;
        let mut buf = Vec::new();
        read_into(&full, &mut buf)?;
        Ok(buf)
    }
}

impl crate::resolve::Sources for DiskSources {
    fn read(&self, path: &str) -> Option<Arc<[u8]>> {
        if let Some(t) = self
            .overlays
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
        {
            return Some(t.clone());
        }
        {
            let mut s = self.state();
            if let Some(t) = s.lru.get(path) {
                return Some(t.clone());
            }
            // Not indexed: nothing to read it for (and nothing to agree with).
            if s.basis.as_ref().is_some_and(|b| !b.contains_key(path)) {
                return None;
            }
        }
        // The common case, an indexed file as it was indexed: one open and read, no walk.
        let basis = self.basis(path);
        if let Some(fp) = basis
            && let Some(buf) = super::read_unchanged(&self.root.join(path), fp)
        {
            let text: Arc<[u8]> = buf.into();
            let mut s = self.state();
            // Unless the basis changed meanwhile (a newer text was indexed).
            if s.basis.as_ref().and_then(|b| b.get(path)) == Some(&fp) {
                s.put(path, text.clone());
                return Some(text);
            }
        }
        let read = self.read_disk(path);
        let mut s = self.state();
        let expected = match s.basis.as_ref() {
            None => None,
            Some(b) => Some(b.get(path).copied()?),
        };
        match (read, expected) {
            (Ok(buf), None) => {
                let text: Arc<[u8]> = buf.into();
                s.put(path, text.clone());
                Some(text)
            }
            (Ok(buf), Some(fp)) => {
                if Fingerprint::of(&buf) == fp {
                    let text: Arc<[u8]> = buf.into();
                    s.put(path, text.clone());
                    Some(text)
                } else {
                    drop(s);
                    self.mark_stale(path);
                    None
                }
            }
            (Err(_), None) => None,
            (Err(why), Some(fp)) => {
                // Unreadable when indexed too (its index is the one diagnostic): no change.
                let same = matches!(why, Unread::Failed(_) | Unread::TooLarge)
                    && fp == Fingerprint::of(&[]);
                drop(s);
                if !same {
                    self.mark_stale(path);
                }
                None
            }
        }
    }

    fn read_in_mod(&self, mod_root: &str, path: &str) -> Result<String, String> {
        read_in_mod(&self.root, mod_root, path)
    }

    fn file_reader(&self, mod_root: &str) -> crate::resolve::funcs::FileReader {
        let root = self.root.clone();
        let mod_root = mod_root.to_string();
        Arc::new(move |path: &str| read_in_mod(&root, &mod_root, path))
    }

    fn mod_files(&self, mod_root: &str) -> crate::resolve::funcs::FileReader {
        Arc::new(DiskModFiles {
            root: self.root.clone(),
            mod_root: mod_root.to_string(),
        })
    }

    fn broken_installs(&self) -> Vec<BrokenInstall> {
        super::broken_installs(&self.root)
    }
}

/// `file(path)` for the mod in `mod_root` (relative to the workspace `root`): the path is
/// relative to the mod's folder and must stay inside it, symbolic links included. Links are
/// followed from their own text, never by looking outside the folder, so whether a path
/// outside it exists is never told.
pub fn read_in_mod(root: &Path, mod_root: &str, path: &str) -> Result<String, String> {
    let buf = read_bytes_in_mod(root, mod_root, "file", path)?;
    String::from_utf8(buf).map_err(|_| format!("file(\"{path}\"): the file is not valid UTF-8"))
}

/// The canonical folder of the mod in `mod_root`, and `path` resolved inside it (see
/// [`member::resolve_inside`]); errors name the function `what` that asked.
fn inside_mod(root: &Path, mod_root: &str, what: &str, path: &str) -> Result<PathBuf, String> {
    inside_mod_or(root, mod_root, what, path)?.map_err(|e| format!("{what}(\"{path}\"): {e}"))
}

/// [`inside_mod`], with an error about a path inside the folder (not found, not a folder)
/// kept apart from a refusal.
fn inside_mod_or(
    root: &Path,
    mod_root: &str,
    what: &str,
    path: &str,
) -> Result<Result<PathBuf, std::io::Error>, String> {
    let folder = if mod_root.is_empty() {
        root.to_path_buf()
    } else {
        root.join(mod_root)
    };
    let base = std::fs::canonicalize(&folder)
        .map_err(|e| format!("{what}(\"{path}\"): cannot open the mod folder: {e}"))?;
    match member::resolve_inside(&base, path) {
        Ok(full) => Ok(Ok(full)),
        Err(Refused::Absolute) => Err(format!(
            "{what}(\"{path}\"): the path must be relative to the mod folder"
        )),
        Err(Refused::Leaves) => Err(format!(
            "{what}(\"{path}\"): the path leaves the mod folder; only files inside it can be read"
        )),
        Err(Refused::Io(e)) => Ok(Err(e)),
    }
}

/// The bytes of a file of the mod, as [`read_in_mod`] finds it.
fn read_bytes_in_mod(
    root: &Path,
    mod_root: &str,
    what: &str,
    path: &str,
) -> Result<Vec<u8>, String> {
    let full = inside_mod(root, mod_root, what, path)?;
    let mut buf = Vec::new();
    read_limited(&full, &mut buf, MAX_DOC_BYTES).map_err(|why| match why {
        Unread::Gone => format!(
            "{what}(\"{path}\"): {}",
            std::io::Error::from_raw_os_error(libc::ENOENT)
        ),
        Unread::NotMember => format!("{what}(\"{path}\"): not a file"),
        Unread::TooLarge => {
            format!("{what}(\"{path}\"): the file is larger than {MAX_DOC_BYTES} bytes")
        }
        Unread::Failed(e) => format!("{what}(\"{path}\"): {e}"),
    })?;
    Ok(buf)
}

/// At most this many files are listed for `fileset`.
const MAX_LISTED_FILES: usize = 100_000;

/// The files of one mod on disk, for the file functions (`file`, `filebase64`, the hashes,
/// `fileexists`, `fileset`): confined to the mod's folder as `file()` is, never looking
/// outside it.
struct DiskModFiles {
    root: PathBuf,
    mod_root: String,
}

impl crate::resolve::funcs::ModFiles for DiskModFiles {
    fn read_text(&self, path: &str) -> Result<String, String> {
        read_in_mod(&self.root, &self.mod_root, path)
    }

    fn read_bytes(&self, path: &str) -> Result<Vec<u8>, String> {
        read_bytes_in_mod(&self.root, &self.mod_root, "file", path)
    }

    fn exists(&self, path: &str) -> Result<bool, String> {
        // A refusal (absolute, leaving the folder) is an error whether or not something is
        // there: the answer never tells what lies outside.
        let full = match inside_mod_or(&self.root, &self.mod_root, "fileexists", path)? {
            Ok(full) => full,
            Err(e) if member::is_gone(&e) => return Ok(false),
            Err(e) => return Err(format!("fileexists(\"{path}\"): {e}")),
        };
        match std::fs::symlink_metadata(&full) {
            Ok(m) if m.file_type().is_file() => Ok(true),
            Ok(_) => Err(format!(
                "fileexists(\"{path}\"): the path is not a regular file"
            )),
            Err(e) if member::is_gone(&e) => Ok(false),
            Err(e) => Err(format!("fileexists(\"{path}\"): {e}")),
        }
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, String> {
        let full = inside_mod(&self.root, &self.mod_root, "fileset", dir)?;
        let mut out = Vec::new();
        let walk = ignore::WalkBuilder::new(&full)
            .standard_filters(false)
            .follow_links(false)
            .build();
        for entry in walk.flatten() {
            let Some(kind) = entry.file_type() else {
                continue;
            };
            let Ok(rel) = entry.path().strip_prefix(&full) else {
                continue;
            };
            let rel = rel.to_string_lossy().replace('\\', "/");
            // A link is listed when it leads to a file inside the mod, as `file()` reads it.
            let listed = kind.is_file()
                || (kind.is_symlink()
                    && inside_mod(
                        &self.root,
                        &self.mod_root,
                        "fileset",
                        &format!("{dir}/{rel}"),
                    )
                    .is_ok_and(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file())));
            if listed {
                out.push(rel);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::Sources;

    fn root_with(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = std::fs::canonicalize(tmp.path()).expect("canonical");
        for (rel, text) in files {
            std::fs::write(root.join(rel), text).expect("write");
        }
        (tmp, root)
    }

    #[test]
    fn only_the_text_the_index_was_built_from_is_served() {
        let (_t, root) = root_with(&[("a.pp", "one"), ("b.pp", "two")]);
        let basis: Basis = [
            ("a.pp".to_string(), Fingerprint::of(b"one")),
            ("b.pp".to_string(), Fingerprint::of(b"two")),
        ]
        .into();
        let s = DiskSources::with_basis(root.clone(), 1 << 20, basis);
        assert_eq!(s.read("a.pp").as_deref(), Some(&b"one"[..]));
        // Written after the index was built, read before the owner heard of it (not cached).
        std::fs::write(root.join("b.pp"), "TWO, changed").expect("write");
        assert_eq!(s.read("b.pp"), None, "not the indexed text");
        assert_eq!(s.take_stale(), vec!["b.pp".to_string()]);
        // The owner indexes it again: now that text is served (from the cache, as given).
        let t: Arc<[u8]> = Arc::from(&b"TWO, changed"[..]);
        s.indexed("b.pp", Fingerprint::of(&t), Some(t.clone()));
        assert_eq!(s.read("b.pp").as_deref(), Some(&t[..]));
        // Gone: stale again; a path that is not indexed is never read.
        std::fs::remove_file(root.join("a.pp")).expect("remove");
        s.forget("a.pp");
        assert_eq!(s.read("a.pp"), None);
        assert_eq!(s.take_stale(), vec!["a.pp".to_string()]);
        std::fs::write(root.join("c.pp"), "three").expect("write");
        assert_eq!(s.read("c.pp"), None);
        assert!(s.take_stale().is_empty());
        // An overlay is an open document's text: served whatever the disk holds.
        s.set_overlay("a.pp", Some(Arc::from(&b"open"[..])));
        assert_eq!(s.read("a.pp").as_deref(), Some(&b"open"[..]));
    }

    #[test]
    fn without_a_basis_the_disk_is_served_but_never_through_a_link() {
        let (_t, root) = root_with(&[("a.pp", "one")]);
        let s = DiskSources::new(root.clone(), 1 << 20);
        assert_eq!(s.read("a.pp").as_deref(), Some(&b"one"[..]));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("a.pp"), root.join("l.pp")).expect("link");
            assert_eq!(s.read("l.pp"), None);
            assert_eq!(s.read("../a.pp"), None);
        }
    }

    #[test]
    fn a_waiter_wakes_for_a_stale_path_and_for_close() {
        let (_t, root) = root_with(&[("a.pp", "one")]);
        let basis: Basis = [("a.pp".to_string(), Fingerprint::of(b"other"))].into();
        let s = Arc::new(DiskSources::with_basis(root, 1 << 20, basis));
        let waiter = {
            let s = s.clone();
            std::thread::spawn(move || s.wait_stale(Duration::from_secs(30)))
        };
        assert_eq!(s.read("a.pp"), None);
        assert!(waiter.join().expect("joins"), "woken with a stale path");
        let waiter = {
            let s = s.clone();
            std::thread::spawn(move || {
                let _ = s.take_stale();
                s.wait_stale(Duration::from_secs(30))
            })
        };
        s.close();
        // Woken by close (a stale path may or may not be left, the thread ends either way).
        let _ = waiter.join().expect("joins");
        assert!(s.closed());
    }
}
