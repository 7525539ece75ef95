//! One mod workspace served by the language server: its model and resolver, the scheduler
//! that loads it, the open documents' text over the disk, and what changes do to it.
//!
//! Every change to the model goes through [`Project::apply`] under one lock, so edits,
//! saves and file-system events are applied in order and the index after any sequence of
//! them equals a fresh scan of the same texts (tested).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::cache::Limits;
use crate::index::{FileId, ModId};
use crate::load::{
    Background, Config, Priority, ResourceKey, ResourceLoader, Scheduler, Shared, SystemClock,
};
use crate::resolve::{Model, Resolver, Sources, ValueInputs, VarFile};
use crate::syntax::{self, Severity};
use crate::workspace::{self, DiskSources};

use super::settings::Settings;

/// Why a project could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// Discovery failed (the folder went away, or cannot be read).
    #[error(transparent)]
    Workspace(#[from] workspace::WorkspaceError),
}

/// A diagnostic as the server publishes it: byte offsets into its file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileDiag {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
}

impl FileDiag {
    fn of(d: &syntax::Diagnostic) -> FileDiag {
        FileDiag {
            start: d.start.byte,
            end: d.end.byte.max(d.start.byte),
            severity: d.severity,
            message: d.message.clone(),
        }
    }
}

/// What a file now holds, for [`Project::apply`].
#[derive(Clone, Debug)]
pub enum Content {
    /// An open document's text (wins over the disk).
    Open(Arc<[u8]>),
    /// Whatever the disk holds (the document was closed, or the file changed on disk); a
    /// file that is gone is removed.
    Disk,
}

/// A file's text as the server holds it.
type Text = Arc<[u8]>;

/// One change scanned: the path, its scan (`None`: the file is gone) and an open
/// document's text (`None`: the disk's).
type Scan = (String, Option<syntax::FileIndex>, Option<Text>);

/// A fingerprint of a file's text (length and a 64-bit hash).
fn fingerprint(text: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::quality::FixedState::with_seed(0x006d_6f64_6c65_6e73).hash_one(text)
}

/// Figures of the initial load.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct LoadFigures {
    /// Files indexed.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Resources indexed.
    pub resources: usize,
    /// Discovery, scan and values, in milliseconds.
    pub load_ms: f64,
}

/// A mod workspace being served.
pub struct Project {
    /// The root mod's folder.
    pub root: PathBuf,
    /// Model and resolver.
    pub shared: Arc<Shared>,
    sources: Arc<DiskSources>,
    /// Loads resources: Critical for requests, High for open documents, Low for the walk.
    pub scheduler: Arc<Scheduler<ResourceLoader>>,
    background: Mutex<Option<Background>>,
    inputs: RwLock<ValueInputs>,
    /// Open documents' text, by workspace-relative path.
    open: Mutex<HashMap<String, Arc<[u8]>>>,
    /// Serialises changes to the model.
    edits: Mutex<()>,
    /// A fingerprint of the text each file's index entry was last built from here (an open
    /// document's or the disk's), so an event that changes nothing (a save of the same text,
    /// a `touch`, a watcher's echo) invalidates nothing.
    basis: Mutex<HashMap<String, u64>>,
    /// Files brought into the model again since the load (edits, saves, watcher events).
    pub file_updates: std::sync::atomic::AtomicU64,
    /// Figures of the initial load.
    pub figures: LoadFigures,
    /// Diagnostics last published, by workspace-relative path.
    published: Mutex<BTreeMap<String, Vec<FileDiag>>>,
    /// Tag keys used in the root mod, for completion, with the model generation they were
    /// collected at.
    tag_keys: Mutex<Option<(u64, Arc<Vec<String>>)>>,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project").field("root", &self.root).finish()
    }
}

/// The inputs the settings give: the environment's `PP_VAR_*`/`SP_VAR_*`, the variable
/// files (relative to the mod root unless absolute) and the variables. A file that cannot be
/// read is skipped with a warning (the settings are the user's, the server keeps serving).
pub fn inputs(root: &Path, settings: &Settings) -> ValueInputs {
    let mut var_files = Vec::new();
    for name in &settings.var_files {
        let path = root.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => var_files.push(VarFile {
                name: name.clone(),
                text,
            }),
            Err(e) => tracing::warn!(file = %name, error = %e, "cannot read a var file"),
        }
    }
    ValueInputs {
        env: std::env::vars()
            .filter(|(k, _)| k.starts_with("PP_VAR_") || k.starts_with("SP_VAR_"))
            .collect(),
        var_files,
        vars: settings.var_args(),
    }
}

impl Project {
    /// Discovers and indexes the workspace at `root` and starts its scheduler (the
    /// background walk starts with [`Project::start_background`]).
    pub fn open(root: &Path, settings: &Settings) -> Result<Project, ProjectError> {
        let t = Instant::now();
        let ws = workspace::discover(root)?;
        let (index, stats) = workspace::load(&ws);
        let limits = settings.limits();
        let sources = Arc::new(DiskSources::new(
            ws.root.clone(),
            workspace::source_cache_bytes(&limits),
        ));
        let dyn_sources: Arc<dyn Sources> = sources.clone();
        let inputs = inputs(&ws.root, settings);
        let resources = index.resources().count();
        let model = Model::new(index, &dyn_sources, &inputs);
        let resolver = Resolver::new(dyn_sources, limits);
        let shared = Arc::new(Shared::new(model, resolver));
        // Requests load on their own threads (`load_here`): the workers only do work nobody
        // is waiting on, and give way to the threads that serve people.
        let mut config = Config {
            nice_every_worker: true,
            ..Config::default()
        };
        if let Some(w) = settings.workers {
            config.workers = w.max(1);
        }
        let scheduler = Arc::new(Scheduler::new(
            ResourceLoader {
                shared: shared.clone(),
            },
            config,
            Arc::new(SystemClock::default()),
        ));
        let figures = LoadFigures {
            files: stats.files,
            bytes: stats.bytes,
            resources,
            load_ms: t.elapsed().as_secs_f64() * 1e3,
        };
        tracing::info!(root = %ws.root.display(), files = figures.files, resources,
            ms = figures.load_ms, "indexed");
        Ok(Project {
            root: ws.root,
            shared,
            sources,
            scheduler,
            background: Mutex::new(None),
            inputs: RwLock::new(inputs),
            open: Mutex::new(HashMap::new()),
            edits: Mutex::new(()),
            basis: Mutex::new(HashMap::new()),
            file_updates: Default::default(),
            figures,
            published: Mutex::new(BTreeMap::new()),
            tag_keys: Mutex::new(None),
        })
    }

    /// Starts (or restarts) the background walk.
    pub fn start_background(&self) {
        let mut bg = lock(&self.background);
        if let Some(old) = bg.take() {
            old.stop();
        }
        *bg = Some(Background::start(self.scheduler.clone()));
    }

    /// Resources the walk submitted and in all, and whether it ended.
    pub fn background_progress(&self) -> Option<((usize, usize), bool)> {
        lock(&self.background)
            .as_ref()
            .map(|b| (b.progress(), b.finished()))
    }

    /// Stops the walk and the workers (in-flight work gets `deadline`).
    pub fn shutdown(&self, deadline: Duration) {
        if let Some(bg) = lock(&self.background).take() {
            bg.stop();
        }
        self.scheduler.shutdown(deadline);
    }

    /// The path of `path` relative to the root, `/`-separated, if it is inside it.
    pub fn relative(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(parts.join("/"))
    }

    /// The text of a workspace file as the server sees it (an open document's, else the
    /// disk's through the source cache).
    pub fn read(&self, rel: &str) -> Option<Arc<[u8]>> {
        self.sources.read(rel)
    }

    /// The sources (for `file()` paths).
    pub fn sources(&self) -> &DiskSources {
        &self.sources
    }

    /// True when the document at `rel` is open.
    pub fn is_open(&self, rel: &str) -> bool {
        lock(&self.open).contains_key(rel)
    }

    /// The value inputs in effect.
    pub fn value_inputs(&self) -> ValueInputs {
        self.inputs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// New settings: the values are recomputed from the new inputs (everything resolved is
    /// dropped). Cache limits and workers take effect when the project is next opened.
    pub fn set_inputs(&self, inputs: ValueInputs) {
        let _edit = lock(&self.edits);
        let dyn_sources: Arc<dyn Sources> = self.sources.clone();
        let mut model = self.shared.model_mut();
        model.recompute(&dyn_sources, &inputs);
        self.shared.resolver.clear();
        *self.inputs.write().unwrap_or_else(|p| p.into_inner()) = inputs;
    }

    /// Applies changes to files (paths relative to the root): open documents' texts, or
    /// "what the disk holds now" for closed documents and file-system events. Files that
    /// appear or disappear are found by walking the workspace again (so `.powerpipeignore`
    /// and hidden folders are honoured exactly as on a fresh load); a change to the set of
    /// mods, or to an ignore file, reloads everything. Returns true when the model changed.
    pub fn apply(&self, changes: &[(String, Content)]) -> bool {
        let _edit = lock(&self.edits);
        let dyn_sources: Arc<dyn Sources> = self.sources.clone();
        let inputs = self.value_inputs();
        // Scan outside the model's lock: requests keep being answered meanwhile.
        let mut scans: Vec<Scan> = Vec::new();
        let mut walk = false;
        for (rel, content) in changes {
            let name = rel.rsplit('/').next().unwrap_or("");
            if name == ".powerpipeignore" || name == ".steampipeignore" {
                walk = true;
                continue;
            }
            match content {
                Content::Open(text) => {
                    lock(&self.open).insert(rel.clone(), text.clone());
                    lock(&self.basis).insert(rel.clone(), fingerprint(text));
                    scans.push((rel.clone(), Some(syntax::scan(text)), Some(text.clone())));
                }
                Content::Disk => {
                    lock(&self.open).remove(rel);
                    let mut buf = Vec::new();
                    let path = self.root.join(rel);
                    if !path.is_file() {
                        lock(&self.basis).remove(rel);
                        scans.push((rel.clone(), None, None));
                        continue;
                    }
                    let (fi, _) =
                        workspace::read_and_scan(&path, &mut buf, &mut syntax::Scratch::default());
                    let now = fingerprint(&buf);
                    // An open document's text was fingerprinted when it came in.
                    let before = lock(&self.basis)
                        .get(rel)
                        .copied()
                        .or_else(|| self.sources.cached(rel).map(|t| fingerprint(&t)));
                    let known = self.shared.model().index.file_by_path(rel).is_some();
                    if known && before == Some(now) {
                        // What the index holds already: only the overlay goes.
                        self.sources.set_overlay(rel, None);
                        tracing::trace!(file = %rel, "unchanged");
                        continue;
                    }
                    lock(&self.basis).insert(rel.clone(), now);
                    scans.push((rel.clone(), Some(fi), None));
                }
            }
        }
        if scans.is_empty() && !walk {
            return false;
        }
        let known = {
            let model = self.shared.model();
            scans
                .iter()
                .all(|(rel, scan, _)| scan.is_some() == model.index.file_by_path(rel).is_some())
        };
        self.file_updates
            .fetch_add(scans.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if walk || !known {
            return self.rewalk(scans, &dyn_sources, &inputs);
        }
        let mut model = self.shared.model_mut();
        let mut high = Vec::new();
        for (rel, scan, text) in scans {
            self.sources.set_overlay(&rel, text);
            self.sources.forget(&rel);
            let (Some(scan), Some(id)) = (scan, model.index.file_by_path(&rel)) else {
                continue;
            };
            let stale = model.replace_file(id, scan, &dyn_sources, &inputs);
            let stale = self.shared.resolver.refine(&model, stale);
            let gone = self.shared.resolver.invalidate_stale(&stale);
            tracing::debug!(file = %rel, dropped = gone.len(), "file updated");
            if self.is_open(&rel) {
                high.extend(
                    model
                        .index
                        .resources_in_file(id)
                        .map(|r| ResourceKey::of(&model.index, r)),
                );
            }
        }
        drop(model);
        // The open documents' resources are the next things asked for.
        for key in high {
            self.scheduler.submit(key, Priority::High);
        }
        true
    }

    /// Walks the workspace again and brings the index to the files found: files that
    /// appeared are added, files that went are removed, changed ones replaced; a different
    /// set of mods reloads everything.
    fn rewalk(&self, scans: Vec<Scan>, sources: &Arc<dyn Sources>, inputs: &ValueInputs) -> bool {
        let Ok(ws) = workspace::discover(&self.root) else {
            return false;
        };
        let mut scans: HashMap<String, (Option<syntax::FileIndex>, Option<Text>)> = scans
            .into_iter()
            .map(|(rel, scan, text)| (rel, (scan, text)))
            .collect();
        let mut model = self.shared.model_mut();
        let same_mods = ws.mods.len() == model.index.mods().len()
            && ws
                .mods
                .iter()
                .zip(model.index.mods())
                .all(|(a, b)| a.root == b.root && a.dependency == b.dependency);
        for (rel, (_, text)) in scans.iter_mut() {
            self.sources.set_overlay(rel, text.take());
            self.sources.forget(rel);
        }
        let open = lock(&self.open).clone();
        if !same_mods {
            // Everything again, with the open documents' texts.
            let (mut index, _) = workspace::load(&ws);
            for (rel, text) in &open {
                if let Some(id) = index.file_by_path(rel) {
                    index.replace_file(id, syntax::scan(text));
                }
            }
            let generation = model.generation;
            *model = Model::new(index, sources, inputs);
            model.generation = generation + 1;
            self.shared.resolver.clear();
            drop(model);
            self.start_background();
            return true;
        }
        let wanted: BTreeMap<&str, usize> = ws
            .files
            .iter()
            .map(|f| (f.rel.as_str(), f.module))
            .collect();
        let present: Vec<(FileId, String)> = model
            .index
            .files()
            .map(|(id, f)| (id, f.path.clone()))
            .collect();
        for (id, path) in &present {
            if !wanted.contains_key(path.as_str()) {
                model.index.remove_file(*id);
            } else if let Some((Some(scan), _)) = scans.remove(path) {
                model.index.replace_file(*id, scan);
            }
        }
        for f in &ws.files {
            if model.index.file_by_path(&f.rel).is_some() {
                continue;
            }
            let scan = match scans.remove(&f.rel) {
                Some((Some(scan), _)) => scan,
                _ => match open.get(&f.rel) {
                    Some(text) => syntax::scan(text),
                    None => {
                        workspace::read_and_scan(
                            &f.path,
                            &mut Vec::new(),
                            &mut syntax::Scratch::default(),
                        )
                        .0
                    }
                },
            };
            model
                .index
                .add_file(f.rel.clone(), ModId(f.module as u32), scan);
        }
        model.recompute(sources, inputs);
        self.shared.resolver.clear();
        true
    }

    /// Diagnostics of every file, from the index, the dependencies, the values and every
    /// resource (resolved through the cache; while the cache is full, resources not in it
    /// are resolved without being kept, so this never evicts what people are using).
    /// Files are resolved one at a time, the model's lock released in between.
    pub fn all_diagnostics(&self) -> BTreeMap<String, Vec<FileDiag>> {
        let (mut out, files) = {
            let model = self.shared.model();
            model.values.force(&model.index);
            let mut out = self.model_diagnostics(&model, None);
            let files: Vec<(FileId, String)> = model
                .index
                .files()
                .map(|(id, f)| (id, f.path.clone()))
                .collect();
            for (_, path) in &files {
                out.entry(path.clone()).or_default();
            }
            (out, files)
        };
        for (id, path) in files {
            let model = self.shared.model();
            if model.index.file(id).map(|f| f.path.as_str()) != Some(path.as_str()) {
                continue;
            }
            let list = out.entry(path).or_default();
            for r in model.index.resources_in_file(id).collect::<Vec<_>>() {
                let res = self.shared.resolver.resolve_unless_full(&model, r);
                list.extend(res.diagnostics.iter().map(FileDiag::of));
            }
        }
        for list in out.values_mut() {
            tidy(list);
        }
        out
    }

    /// Diagnostics of every file that the index, the dependencies and the values know
    /// (nothing resolved): what can be shown the moment the index is ready.
    pub fn index_diagnostics(&self) -> BTreeMap<String, Vec<FileDiag>> {
        let model = self.shared.model();
        let mut out = self.model_diagnostics(&model, None);
        for (_, f) in model.index.files() {
            out.entry(f.path.clone()).or_default();
        }
        for list in out.values_mut() {
            tidy(list);
        }
        out
    }

    /// Diagnostics of one file: its syntax, duplicate names, dependency and value problems
    /// in it, and those of its resources, resolved now (at High priority, as an open
    /// document's).
    pub fn file_diagnostics(&self, rel: &str) -> Vec<FileDiag> {
        let (mut list, keys) = {
            let model = self.shared.model();
            let Some(id) = model.index.file_by_path(rel) else {
                return Vec::new();
            };
            model.values.force_file(&model.index, id);
            let list = self
                .model_diagnostics(&model, Some(id))
                .remove(rel)
                .unwrap_or_default();
            let keys: Vec<ResourceKey> = model
                .index
                .resources_in_file(id)
                .map(|r| ResourceKey::of(&model.index, r))
                .collect();
            (list, keys)
        };
        // Waited for with no lock held: the workers take the model's read lock.
        let tickets: Vec<_> = keys
            .into_iter()
            .map(|k| self.scheduler.request(k, Priority::High))
            .collect();
        for t in tickets {
            if let Ok(res) = t.wait() {
                list.extend(res.diagnostics.iter().map(FileDiag::of));
            }
        }
        tidy(&mut list);
        list
    }

    /// The index's, the dependencies' and the values' diagnostics, by file (`only`: of one
    /// file). Diagnostics of files outside the workspace (`--var` values, a var file
    /// elsewhere) are logged, having no document to go to.
    fn model_diagnostics(
        &self,
        model: &Model,
        only: Option<FileId>,
    ) -> BTreeMap<String, Vec<FileDiag>> {
        let mut out: BTreeMap<String, Vec<FileDiag>> = BTreeMap::new();
        let index = &model.index;
        for (file, d) in index.diagnostics() {
            if only.is_some_and(|o| o != file) {
                continue;
            }
            if let Some(f) = index.file(file) {
                out.entry(f.path.clone())
                    .or_default()
                    .push(FileDiag::of(&d));
            }
        }
        let path = only.and_then(|id| index.file(id)).map(|f| f.path.as_str());
        for fd in model.diagnostics() {
            if path.is_some_and(|p| p != fd.file) {
                continue;
            }
            if index.file_by_path(&fd.file).is_some() {
                out.entry(fd.file.clone())
                    .or_default()
                    .push(FileDiag::of(&fd.diagnostic));
            } else {
                tracing::warn!(file = %fd.file, message = %fd.diagnostic.message, "diagnostic outside the workspace");
            }
        }
        out
    }

    /// Records what is published for `rel`; returns false when it is what was published
    /// last (nothing to send).
    pub fn record_published(&self, rel: &str, list: &[FileDiag]) -> bool {
        let mut p = lock(&self.published);
        if p.get(rel).map(Vec::as_slice) == Some(list) {
            return false;
        }
        if list.is_empty() {
            // A file never published with diagnostics needs no clearing.
            return p.remove(rel).is_some();
        }
        p.insert(rel.to_string(), list.to_vec());
        true
    }

    /// Paths published with diagnostics last time.
    pub fn published_paths(&self) -> Vec<String> {
        lock(&self.published).keys().cloned().collect()
    }

    /// Tag keys used in the root mod (literal tags and evaluated ones), for completion:
    /// collected once per model generation.
    /// `model` is the caller's read guard's model (a second read lock on one thread could
    /// wait behind a writer forever).
    pub fn tag_keys(&self, model: &Model) -> Arc<Vec<String>> {
        let generation = model.generation;
        if let Some((g, keys)) = lock(&self.tag_keys).as_ref()
            && *g == generation
        {
            return keys.clone();
        }
        let mut keys = std::collections::BTreeSet::new();
        for id in model.index.resources() {
            if model.index.mod_of(id) != Some(ModId(0)) {
                continue;
            }
            let has_tags = model
                .index
                .file(id.file)
                .zip(model.index.block(id))
                .is_some_and(|(f, b)| f.index.attr(b, syntax::AttrKey::Tags).is_some());
            if !has_tags {
                continue;
            }
            if let Some(crate::index::dump::FieldText::Tags(t)) =
                self.shared
                    .resolver
                    .dump_field(model, id, syntax::AttrKey::Tags)
            {
                keys.extend(t.into_keys());
            }
        }
        let keys = Arc::new(keys.into_iter().collect::<Vec<_>>());
        *lock(&self.tag_keys) = Some((model.generation, keys.clone()));
        keys
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        self.shutdown(Duration::from_secs(2));
    }
}

/// Sorted, without repeats (a problem found by two routes is shown once).
fn tidy(list: &mut Vec<FileDiag>) {
    list.sort();
    list.dedup_by(|a, b| a.start == b.start && a.message == b.message);
}

/// Takes a lock, taking over a poisoned one (what it guards is replaced whole).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Limits from the settings.
impl Settings {
    /// The cache limits.
    pub fn limits(&self) -> Limits {
        let d = Limits::default();
        Limits {
            max_entries: self.cache_entries.unwrap_or(d.max_entries).max(1),
            max_bytes: self
                .cache_mb
                .map(|mb| mb.max(1).saturating_mul(1024 * 1024))
                .unwrap_or(d.max_bytes),
        }
    }
}
