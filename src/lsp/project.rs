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
use crate::workspace::{self, DiskSources, Fingerprint, NotMember};

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

/// What happened to a file (or a folder), for [`Project::apply`].
#[derive(Clone, Debug)]
pub enum Content {
    /// An open document's text (wins over the disk).
    Open(Arc<[u8]>),
    /// The document was closed: the disk's text from now on (a file that is gone, or is not
    /// a file of the workspace, is removed).
    Disk,
    /// The disk changed at this path (a watcher's event; a folder's path stands for every
    /// file below it): an open document keeps its text, but whether the file is part of the
    /// workspace is the disk's to say.
    Changed,
}

/// A file's text as the server holds it.
type Text = Arc<[u8]>;

/// What to do after the refresher changed the model.
type RefreshHook = Box<dyn Fn() + Send + Sync>;

/// One file's change, read and scanned before the model's lock is taken.
enum Update {
    /// The index takes this scan, built from text with this fingerprint: an open
    /// document's (`open`, the text becomes its overlay) or the disk's (`text`, when read).
    Scan {
        scan: Box<syntax::FileIndex>,
        fingerprint: Fingerprint,
        text: Option<Text>,
        open: bool,
    },
    /// The path is not a file of the workspace (any more): gone, a link, not a file.
    Gone,
}

impl Update {
    /// The scan of a file as read from the disk.
    fn from_disk(read: workspace::FileScan) -> Update {
        Update::Scan {
            scan: Box::new(read.index),
            fingerprint: read.fingerprint,
            text: read.text,
            open: false,
        }
    }
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
    /// The thread that indexes again the files a read found changed (no event may ever come
    /// for them: a client's watch registered after the load, an overflowing watcher).
    refresher: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Called after the refresher changed the model (the server then publishes again).
    refreshed: Arc<Mutex<Option<RefreshHook>>>,
    /// Files brought into the model again since the load (edits, saves, watcher events).
    pub file_updates: std::sync::atomic::AtomicU64,
    /// Figures of the initial load.
    pub figures: LoadFigures,
    /// Diagnostics last published, by workspace-relative path.
    published: Mutex<BTreeMap<String, Vec<FileDiag>>>,
    /// Tag keys used in the root mod, for completion, with the model generation they were
    /// collected at.
    tag_keys: Mutex<Option<(u64, Arc<Vec<String>>)>>,
    /// The model generation every file's diagnostics were last computed at, whole (by
    /// [`Project::all_diagnostics`], with no change meanwhile).
    diagnosed: Mutex<Option<u64>>,
    /// Documents opened with nothing to do: their text was what the index held, and every
    /// diagnostic was current (no rescan, no resolve, no publish).
    pub opens_without_work: std::sync::atomic::AtomicU64,
    /// Names by mod and kind for code actions, kept per model generation.
    pub action_names: super::actions::Names,
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
    /// `lowered`: the background's threads run at a lowered priority (under Linux's
    /// `SCHED_IDLE` where allowed), giving way to the threads that serve people.
    pub fn open(root: &Path, settings: &Settings, lowered: bool) -> Result<Project, ProjectError> {
        let t = Instant::now();
        let ws = workspace::discover(root)?;
        let (index, stats, basis) = workspace::load_with_basis(&ws);
        let limits = settings.limits();
        // What the index is built from: the sources serve that text and nothing else.
        let sources = Arc::new(DiskSources::with_basis(
            ws.root.clone(),
            workspace::source_cache_bytes(&limits),
            basis,
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
            idle_policy: lowered,
            ..Config::default()
        };
        if !lowered {
            config.background_nice = 0;
        }
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
            refresher: Mutex::new(None),
            refreshed: Arc::new(Mutex::new(None)),
            file_updates: Default::default(),
            figures,
            published: Mutex::new(BTreeMap::new()),
            tag_keys: Mutex::new(None),
            diagnosed: Mutex::new(None),
            opens_without_work: Default::default(),
            action_names: Default::default(),
        })
    }

    /// Starts (or restarts) the background walk, and the thread that brings files found
    /// changed by a read into the index.
    pub fn start_background(self: &Arc<Self>) {
        self.restart_walk();
        let mut refresher = lock(&self.refresher);
        if refresher.is_some() {
            return;
        }
        let project = Arc::downgrade(self);
        let sources = self.sources.clone();
        let refreshed = self.refreshed.clone();
        let spawned = std::thread::Builder::new()
            .name("modlens-refresh".to_string())
            .spawn(move || {
                while !sources.closed() {
                    if !sources.wait_stale(Duration::from_secs(1)) {
                        continue;
                    }
                    let Some(project) = project.upgrade() else {
                        return;
                    };
                    let changes: Vec<(String, Content)> = sources
                        .take_stale()
                        .into_iter()
                        .map(|rel| (rel, Content::Changed))
                        .collect();
                    if project.apply(&changes)
                        && let Some(hook) = lock(&refreshed).as_ref()
                    {
                        hook();
                    }
                }
            });
        match spawned {
            Ok(handle) => *refresher = Some(handle),
            Err(e) => tracing::warn!(error = %e, "cannot start the refresher thread"),
        }
    }

    /// Sets what to do after a file a read found changed was indexed again.
    pub fn on_refresh(&self, hook: impl Fn() + Send + Sync + 'static) {
        *lock(&self.refreshed) = Some(Box::new(hook));
    }

    /// Starts (or restarts) the background walk alone.
    fn restart_walk(&self) {
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

    /// The model's generation (it moves with every change that reaches the model).
    pub fn generation(&self) -> u64 {
        self.shared.model().generation
    }

    /// True when the model is still at `generation`; false while a change is being applied
    /// (without waiting for it: this is asked on the protocol's threads).
    pub fn still_at(&self, generation: u64) -> bool {
        self.shared
            .try_model()
            .is_some_and(|m| m.generation == generation)
    }

    /// True while the background walk is at work (it submits, or what it submitted is not
    /// all resolved yet).
    pub fn walking(&self) -> bool {
        self.background_progress()
            .is_some_and(|(_, finished)| !(finished && self.scheduler.idle()))
    }

    /// Stops the walk, the refresher and the workers (in-flight work gets `deadline`).
    pub fn shutdown(&self, deadline: Duration) {
        self.sources.close();
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

    /// Applies changes to files (paths relative to the root): open documents' texts, closed
    /// documents, and changes on disk. What the disk holds is read as the workspace's one
    /// membership rule has it (`workspace::member_file`: no symbolic links), and compared with
    /// what the index was built from (the sources' basis), so an event that changes nothing (a
    /// save of the same text, a `touch`, a watcher's echo of a read) invalidates nothing and
    /// a change is never mistaken for one. Files that appear or disappear, and folders, are
    /// found by walking the workspace again (so `.powerpipeignore` and hidden folders are
    /// honoured exactly as on a fresh load); a change to the set of mods, or to an ignore
    /// file, reloads everything. Returns true when the model changed.
    pub fn apply(&self, changes: &[(String, Content)]) -> bool {
        let _edit = lock(&self.edits);
        let dyn_sources: Arc<dyn Sources> = self.sources.clone();
        let inputs = self.value_inputs();
        // Read and scan outside the model's lock: requests keep being answered meanwhile.
        let mut updates: BTreeMap<String, Update> = BTreeMap::new();
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
                    let fingerprint = Fingerprint::of(text);
                    let indexed = self.shared.model().index.file_by_path(rel).is_some();
                    if indexed && self.sources.basis(rel) == Some(fingerprint) {
                        // The text the index holds (a document opened as it is on disk):
                        // it only becomes the overlay, the same bytes.
                        self.sources.set_overlay(rel, Some(text.clone()));
                        updates.remove(rel);
                        continue;
                    }
                    updates.insert(
                        rel.clone(),
                        Update::Scan {
                            scan: Box::new(syntax::scan(text)),
                            fingerprint,
                            text: Some(text.clone()),
                            open: true,
                        },
                    );
                }
                Content::Disk => {
                    lock(&self.open).remove(rel);
                    self.read_disk(rel, &mut updates, &mut walk);
                    if !updates.contains_key(rel) {
                        // Nothing for the index to take: what it holds is the disk's text
                        // (or nothing). The overlay goes now.
                        self.sources.set_overlay(rel, None);
                    }
                }
                Content::Changed => self.disk_changed(rel, &mut updates, &mut walk),
            }
        }
        // A path that is not a file of the workspace and is not indexed changes nothing.
        let mut appears_or_goes = false;
        {
            let model = self.shared.model();
            updates.retain(|rel, u| {
                let known = model.index.file_by_path(rel).is_some();
                match u {
                    Update::Gone => {
                        appears_or_goes |= known;
                        if !known && !self.is_open(rel) {
                            self.sources.set_overlay(rel, None);
                        }
                        known
                    }
                    Update::Scan { .. } => {
                        appears_or_goes |= !known;
                        true
                    }
                }
            });
        }
        if updates.is_empty() && !walk {
            return false;
        }
        self.file_updates
            .fetch_add(updates.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if walk || appears_or_goes {
            return self.rewalk(updates, &dyn_sources, &inputs);
        }
        let mut model = self.shared.model_mut();
        // What the index is built from, for every file of the batch first: recomputing the
        // values after one file reads the others.
        for (rel, update) in &updates {
            self.take_basis(rel, update);
        }
        let mut high = Vec::new();
        for (rel, update) in updates {
            let Update::Scan { scan, .. } = update else {
                continue;
            };
            let Some(id) = model.index.file_by_path(&rel) else {
                continue;
            };
            let stale = model.replace_file(id, *scan, &dyn_sources, &inputs);
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

    /// Paths under the root that are not mod files changed (`changed`, workspace-relative:
    /// a document `file()` reads, an image, an editor's swap file): what read them through
    /// the file functions is resolved again, with the model's write lock held so that no
    /// resolve that read the old text is kept after it. Returns true when that may change
    /// something (the model's generation moves, so the next sweep computes diagnostics
    /// again); false, at the cost of a set lookup, when nothing computed read them.
    pub fn other_files_changed(&self, changed: &[String]) -> bool {
        if !self.shared.resolver.file_change_matters(changed) {
            return false;
        }
        let mut model = self.shared.model_mut();
        if !self.shared.resolver.invalidate_file_readers(changed) {
            return false;
        }
        model.generation += 1;
        true
    }

    /// The disk changed at `rel`: a closed document's file is read again; an open one keeps
    /// its text unless the path stopped being a file of the workspace (or became one).
    fn disk_changed(&self, rel: &str, updates: &mut BTreeMap<String, Update>, walk: &mut bool) {
        if !self.is_open(rel) {
            self.read_disk(rel, updates, walk);
            return;
        }
        let indexed = self.shared.model().index.file_by_path(rel).is_some();
        match workspace::member_file(&self.root, rel) {
            // A file of the workspace: the index holds its open text, or a walk says whether
            // it belongs (ignored, hidden, a nested mod's).
            Ok(_) => *walk |= !indexed,
            Err(NotMember::Folder) => self.folder_changed(rel, updates, walk),
            Err(_) => {
                updates.insert(rel.to_string(), Update::Gone);
                self.below_changed(rel, updates, walk);
            }
        }
    }

    /// Reads `rel` from the disk (as the membership rule allows) into `updates`, unless the
    /// index holds that text already.
    fn read_disk(&self, rel: &str, updates: &mut BTreeMap<String, Update>, walk: &mut bool) {
        match workspace::scan_member(&self.root, rel) {
            Ok(read) => {
                let indexed = self.shared.model().index.file_by_path(rel).is_some();
                if indexed && self.sources.basis(rel) == Some(read.fingerprint) {
                    // What the index holds already (an earlier change of this batch to it
                    // is undone).
                    tracing::trace!(file = %rel, "unchanged");
                    updates.remove(rel);
                    return;
                }
                updates.insert(rel.to_string(), Update::from_disk(read));
            }
            Err(NotMember::Folder) => self.folder_changed(rel, updates, walk),
            Err(_) => {
                updates.insert(rel.to_string(), Update::Gone);
                // A folder that went (or became a link) takes its files with it.
                self.below_changed(rel, updates, walk);
            }
        }
    }

    /// A folder changed (created, moved in, replaced; `""`: the whole workspace, after a
    /// watcher lost events): its indexed files are read again, and a walk finds new ones.
    fn folder_changed(&self, rel: &str, updates: &mut BTreeMap<String, Update>, walk: &mut bool) {
        *walk = true;
        self.below_changed(rel, updates, walk);
    }

    /// Every indexed file below the folder `rel` is looked at again.
    fn below_changed(&self, rel: &str, updates: &mut BTreeMap<String, Update>, walk: &mut bool) {
        let prefix = if rel.is_empty() {
            String::new()
        } else {
            format!("{rel}/")
        };
        let below: Vec<String> = self
            .shared
            .model()
            .index
            .files()
            .filter(|(_, f)| f.path.starts_with(&prefix))
            .map(|(_, f)| f.path.clone())
            .collect();
        if below.is_empty() {
            return;
        }
        *walk = true;
        for file in below {
            if self.is_open(&file) {
                match workspace::member_file(&self.root, &file) {
                    Ok(_) => {}
                    Err(_) => {
                        updates.insert(file, Update::Gone);
                    }
                }
            } else {
                // Each is a file path: no folder recursion from here.
                self.read_disk(&file, updates, &mut false);
            }
        }
    }

    /// Records in the sources what the index now holds of `rel` (call with the model's
    /// write lock held, before the index changes: no reader sees one without the other).
    fn take_basis(&self, rel: &str, update: &Update) {
        match update {
            Update::Scan {
                fingerprint,
                text,
                open: true,
                ..
            } => {
                self.sources.set_overlay(rel, text.clone());
                self.sources.indexed(rel, *fingerprint, None);
            }
            Update::Scan {
                fingerprint,
                text,
                open: false,
                ..
            } => {
                self.sources.set_overlay(rel, None);
                self.sources.indexed(rel, *fingerprint, text.clone());
            }
            Update::Gone => {
                if !self.is_open(rel) {
                    self.sources.set_overlay(rel, None);
                }
                self.sources.unindexed(rel);
            }
        }
    }

    /// Walks the workspace again and brings the index to the files found: files that
    /// appeared are added, files that went are removed, changed ones replaced; a different
    /// set of mods reloads everything. Returns true when the model changed.
    fn rewalk(
        &self,
        mut updates: BTreeMap<String, Update>,
        sources: &Arc<dyn Sources>,
        inputs: &ValueInputs,
    ) -> bool {
        let Ok(mut ws) = workspace::discover(&self.root) else {
            return false;
        };
        let open = lock(&self.open).clone();
        // Open documents with nothing on the disk yet (`:e new.pp`): files of the workspace,
        // their text the document's, where the walk would find them once saved.
        let unsaved: Vec<workspace::SourceFile> = open
            .keys()
            .filter(|rel| {
                ws.files
                    .binary_search_by(|f| f.rel.as_str().cmp(rel))
                    .is_err()
            })
            .filter_map(|rel| {
                Some(workspace::SourceFile {
                    path: self.root.join(rel),
                    rel: rel.clone(),
                    module: workspace::unsaved_member(&ws, rel)?,
                })
            })
            .collect();
        let mut model = self.shared.model_mut();
        let same_mods = ws.mods.len() == model.index.mods().len()
            && ws
                .mods
                .iter()
                .zip(model.index.mods())
                .all(|(a, b)| a.root == b.root && a.dependency == b.dependency);
        if !same_mods {
            // Everything again, with the open documents' texts.
            let (mut index, _, mut basis) = workspace::load_with_basis(&ws);
            for (rel, text) in &open {
                if let Some(id) = index.file_by_path(rel) {
                    index.replace_file(id, syntax::scan(text));
                    basis.insert(rel.clone(), Fingerprint::of(text));
                }
            }
            for f in &unsaved {
                if let Some(text) = open.get(&f.rel) {
                    index.add_file(f.rel.clone(), ModId(f.module as u32), syntax::scan(text));
                    basis.insert(f.rel.clone(), Fingerprint::of(text));
                }
            }
            for (rel, update) in &updates {
                if !matches!(update, Update::Scan { open: true, .. }) && !open.contains_key(rel) {
                    self.sources.set_overlay(rel, None);
                }
            }
            for (rel, text) in &open {
                self.sources.set_overlay(rel, Some(text.clone()));
            }
            self.sources.reset(basis);
            let generation = model.generation;
            *model = Model::new(index, sources, inputs);
            model.generation = generation + 1;
            self.shared.resolver.clear();
            drop(model);
            self.restart_walk();
            return true;
        }
        ws.files.extend(unsaved);
        ws.files.sort_by(|a, b| a.rel.cmp(&b.rel));
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
        let mut changed = false;
        // The sources first (what the index will hold), then the index.
        let mut replace: Vec<(FileId, Box<syntax::FileIndex>)> = Vec::new();
        for (id, path) in &present {
            if !wanted.contains_key(path.as_str()) {
                self.take_basis(path, &Update::Gone);
                model.index.remove_file(*id);
                changed = true;
                continue;
            }
            let update = match updates.remove(path) {
                Some(u @ Update::Scan { .. }) => u,
                // Not a file a moment ago, one again for the walk: read it again.
                Some(Update::Gone) if !open.contains_key(path) => {
                    match workspace::scan_member(&self.root, path) {
                        Ok(read) => Update::from_disk(read),
                        Err(_) => continue,
                    }
                }
                _ => continue,
            };
            self.take_basis(path, &update);
            if let Update::Scan { scan, .. } = update {
                replace.push((*id, scan));
            }
        }
        for (id, scan) in replace {
            model.index.replace_file(id, *scan);
            changed = true;
        }
        for f in &ws.files {
            if model.index.file_by_path(&f.rel).is_some() {
                continue;
            }
            let update = match updates.remove(&f.rel) {
                Some(u @ Update::Scan { .. }) => u,
                _ => match open.get(&f.rel) {
                    Some(text) => Update::Scan {
                        scan: Box::new(syntax::scan(text)),
                        fingerprint: Fingerprint::of(text),
                        text: Some(text.clone()),
                        open: true,
                    },
                    None => match workspace::scan_member(&self.root, &f.rel) {
                        Ok(read) => Update::from_disk(read),
                        // Gone again since the walk: its own event follows.
                        Err(_) => continue,
                    },
                },
            };
            self.take_basis(&f.rel, &update);
            if let Update::Scan { scan, .. } = update {
                model
                    .index
                    .add_file(f.rel.clone(), ModId(f.module as u32), *scan);
                changed = true;
            }
        }
        // What is left is not a file the walk found (ignored, hidden, a nested mod's, gone):
        // an open document keeps its overlay (it is its text), nothing else does.
        for (rel, _) in updates {
            if !open.contains_key(&rel) {
                self.sources.set_overlay(&rel, None);
            }
        }
        if changed {
            model.recompute(sources, inputs);
            self.shared.resolver.clear();
        }
        changed
    }

    /// Diagnostics of every file, from the index, the dependencies, the values and every
    /// resource (resolved through the cache; while the cache is full, resources not in it
    /// are resolved without being kept, so this never evicts what people are using).
    /// Files are resolved one at a time, the model's lock released in between.
    pub fn all_diagnostics(&self) -> BTreeMap<String, Vec<FileDiag>> {
        let generation = self.shared.model().generation;
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
        // Whole only if nothing changed meanwhile (a file's list may be of either model).
        let model = self.shared.model();
        if model.generation == generation {
            *lock(&self.diagnosed) = Some(generation);
        }
        out
    }

    /// True when every file's diagnostics were computed whole at the model as it is now:
    /// opening a document whose text the index holds has nothing to compute.
    pub fn diagnostics_current(&self) -> bool {
        let generation = self.shared.model().generation;
        *lock(&self.diagnosed) == Some(generation)
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

    /// False when `list` is what was published last for `rel` (nothing to send); nothing is
    /// recorded.
    pub fn publish_changes(&self, rel: &str, list: &[FileDiag]) -> bool {
        let p = lock(&self.published);
        match p.get(rel) {
            Some(last) => last.as_slice() != list,
            None => !list.is_empty(),
        }
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
