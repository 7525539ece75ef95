//! The language server: `modlens lsp` serves mod workspaces over stdio with
//! tower-lsp-server.
//!
//! * **Lifecycle.** `initialize` answers at once; the workspace folders' mods are indexed
//!   after `initialized`, with `$/progress` (files scanned, then resources resolved by the
//!   background walk). Requests that arrive before the index is ready wait for it.
//! * **Threads.** The protocol loop never touches the disk or parses: every handler hands
//!   its work to a blocking thread (`spawn_blocking`) and awaits it; resources are resolved
//!   by the scheduler's workers (Critical for a request someone waits on, High for open
//!   documents, Low for the background walk).
//! * **Documents.** An open document's text wins over the disk. A change is applied to the
//!   text at once (in protocol order), and to the index on the next request or after a
//!   short pause, whichever comes first, so a burst of keystrokes costs one rescan.
//! * **Positions.** Everything inside works in byte offsets; [`text`] is the one place
//!   that converts to and from LSP positions (UTF-16 columns).
//! * **Trust.** The server never keeps a text that differs from the client's: a change it
//!   cannot apply (or that the [`guard`] could not read) drops the document's copy, answers
//!   come from the file on disk and the user is told; the text sent with a save brings it
//!   back (or replaces a copy that drifted). A cancelled request's work stops ([`cancel`]),
//!   and no request waits for another's slot (tower-lsp-server's concurrency limit is set
//!   far above what a client keeps in flight; whole-workspace answers take turns instead).
//!
//! Architecture invariant: this module talks to the protocol and to `load`, `resolve`,
//! `index` and `workspace`; nothing below it knows about the protocol. Nothing here writes
//! to stdout, which belongs to the protocol (enforced by the lints below).

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod actions;
pub mod analysis;
pub mod calls;
pub mod cancel;
pub mod complete;
pub mod features;
pub mod formatting;
pub mod guard;
pub mod hints;
pub mod hover;
pub mod item_defaults;
pub mod project;
pub mod schema;
pub mod settings;
pub mod signature;
pub mod text;
pub mod watch;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tower_lsp_server::jsonrpc::{Error as RpcError, Result as RpcResult};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server as LspServer};

use crate::index::{FileId, ResourceId};
use crate::load::{Priority, ResourceKey};
use crate::resolve::{Model, Resource};
use crate::syntax::{Severity, Span};
use analysis::Target;
use project::{Content, FileDiag, Project, lock};
use settings::Settings;
use text::Lines;

/// How the process hosting the server lets it change what it logs.
pub type LogControl = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Options of a server instance.
#[derive(Clone, Default)]
pub struct Options {
    /// Sets the log filter (`info`, `modlens=debug`, ...); `None`: log level settings are
    /// ignored.
    pub log_control: Option<LogControl>,
    /// Watch files with notify even when the client offers to (for tests).
    pub force_notify_watcher: bool,
    /// Run the background's work (the workers, the walk, the sweep) at the process's
    /// priority instead of a lowered one (for tests: CPU-bound tests running beside the
    /// server in one process would hold it back for as long as they run).
    pub background_at_normal_priority: bool,
}

/// Serves the language server protocol on `input`/`output` until the client sends `exit`
/// (or closes the stream). Malformed messages are answered with errors by the [`guard`]
/// and never reach (or stop) the server.
pub async fn serve<I, O>(input: I, output: O, options: Options)
where
    I: tokio::io::AsyncRead + Unpin + Send + 'static,
    O: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    serve_until_exit(input, output, options).await;
}

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ending {
    /// The client asked for `shutdown` before `exit` (or before closing the stream).
    pub shut_down: bool,
}

impl Ending {
    /// The process's exit code: 0 after `shutdown`, 1 without (the protocol's rule for
    /// `exit`).
    pub fn exit_code(self) -> i32 {
        if self.shut_down { 0 } else { 1 }
    }
}

/// Requests tower-lsp-server runs at once. Its queue is first come, first served: a limit a
/// client can reach would make a cheap request (and a `$/cancelRequest`) wait for slow
/// ones. Slow work is bounded by [`HEAVY_AT_ONCE`] and by cancellation instead.
const CONCURRENCY: usize = 1 << 12;
/// Whole-workspace answers (`modlens/dump`, `modlens/dashboards`, `modlens/tree`) computed
/// at once; more wait their turn (and a cancelled one never starts).
const HEAVY_AT_ONCE: usize = 2;

/// [`serve`], telling how the session ended.
pub async fn serve_until_exit<I, O>(input: I, output: O, options: Options) -> Ending
where
    I: tokio::io::AsyncRead + Unpin + Send + 'static,
    O: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (service, socket) = LspService::build(|client| Backend::new(client, options))
        .custom_method("modlens/dashboards", Backend::dashboards)
        .custom_method("modlens/tree", Backend::tree)
        .custom_method("modlens/stats", Backend::stats)
        .custom_method("modlens/dump", Backend::dump)
        .custom_method(guard::LOST_EDIT, Backend::lost_edit)
        .finish();
    let (to_server, server_in) = tokio::io::duplex(1 << 20);
    let (server_out, from_server) = tokio::io::duplex(1 << 20);
    let (errors_tx, errors_rx) = tokio::sync::mpsc::unbounded_channel();
    let session = guard::Session::new();
    let filter = tokio::spawn(guard::filter_input(
        input,
        to_server,
        errors_tx,
        session.clone(),
    ));
    let merge = tokio::spawn(guard::merge_output(
        from_server,
        errors_rx,
        output,
        session.clone(),
    ));
    LspServer::new(server_in, server_out, socket)
        .concurrency_level(CONCURRENCY)
        .serve(item_defaults::WithItemDefaults::new(service))
        .await;
    // `exit` (or the end of the input): the server's output is closed, so the merge ends
    // once it has written everything; the input may still be open, and is left.
    filter.abort();
    let _ = merge.await;
    Ending {
        shut_down: session.shutdown_requested(),
    }
}

/// Runs the server on stdin/stdout in a runtime of its own (the `modlens lsp` command);
/// how the session ended gives the exit code.
pub fn run_stdio(options: Options) -> std::io::Result<Ending> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("modlens-lsp")
        .enable_all()
        .build()?;
    // The session runs on the runtime's workers, not on this thread: a worker woken by a
    // message then handles it itself, where `block_on` would wake this thread for it (and
    // again for its answer). On a busy processor each thread woken is a chance to wait a
    // scheduler tick (4 ms at 250 Hz) for a core.
    let ending = rt.block_on(async move {
        let session = tokio::spawn(async move {
            // Pipes (what editors give a language server) are read and written by the
            // runtime's own threads as they become ready; tokio's stdin/stdout hand every
            // read and write to a blocking thread and back, several thread hops per
            // message. Anything else (a terminal, a file, a socket) falls back to those.
            match stdio_pipes() {
                Some((input, output)) => serve_until_exit(input, output, options).await,
                None => serve_until_exit(tokio::io::stdin(), tokio::io::stdout(), options).await,
            }
        });
        session.await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "the session ended abnormally");
            Ending { shut_down: false }
        })
    });
    // Blocking tasks still running (a sweep) are abandoned rather than awaited.
    rt.shutdown_timeout(Duration::from_secs(2));
    Ok(ending)
}

/// Standard input and output as non-blocking pipes driven by the runtime, when both are
/// pipes. Must run inside the runtime.
#[cfg(unix)]
fn stdio_pipes() -> Option<(
    tokio::net::unix::pipe::Receiver,
    tokio::net::unix::pipe::Sender,
)> {
    use std::os::fd::AsFd;
    let input = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    let output = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    let input = tokio::net::unix::pipe::Receiver::from_owned_fd(input).ok()?;
    let output = tokio::net::unix::pipe::Sender::from_owned_fd(output).ok()?;
    tracing::debug!("stdin and stdout are pipes: read and written as they become ready");
    Some((input, output))
}

#[cfg(not(unix))]
fn stdio_pipes() -> Option<(tokio::io::Stdin, tokio::io::Stdout)> {
    None
}

/// What the client said it supports.
#[derive(Clone, Copy, Debug, Default)]
struct ClientCaps {
    snippets: bool,
    progress: bool,
    watch_registration: bool,
    config_registration: bool,
    /// The client answers `workspace/configuration`.
    configuration: bool,
    /// The client takes `workspace/inlayHint/refresh`.
    inlay_hint_refresh: bool,
    /// Workspace edits may create files (code actions).
    create_files: bool,
}

/// An open document.
#[derive(Debug)]
struct Doc {
    uri: Uri,
    path: PathBuf,
    text: String,
    version: i32,
    /// Changed since the index last saw it.
    dirty: bool,
}

/// The server's state, shared by every handler.
struct State {
    folders: RwLock<Vec<PathBuf>>,
    projects: RwLock<Vec<Arc<Project>>>,
    docs: Mutex<HashMap<String, Doc>>,
    settings: RwLock<Settings>,
    caps: RwLock<ClientCaps>,
    ready: tokio::sync::watch::Sender<bool>,
    /// Serialises bringing documents into the index.
    sync: Mutex<()>,
    /// The latest scheduled sweep (an older one that wakes up does nothing).
    sweep_seq: AtomicU64,
    sweeping: tokio::sync::Mutex<()>,
    /// The latest scheduled rescan of each document.
    change_seq: AtomicU64,
    watcher: Mutex<Option<watch::Watcher>>,
    shut_down: AtomicBool,
    options: Options,
    /// Documents whose copy was dropped (a change could not be applied): their path and the
    /// latest version the client sent, until a save's text or a reopen brings them back.
    lost: Mutex<HashMap<String, (PathBuf, i32)>>,
    /// Turns for whole-workspace answers ([`HEAVY_AT_ONCE`]).
    heavy: tokio::sync::Semaphore,
}

/// The language server.
#[derive(Clone)]
pub struct Backend {
    client: Client,
    state: Arc<State>,
}

/// How long a request waits for the first index before giving up.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Quiet time after a keystroke before the document is rescanned and its diagnostics sent.
const CHANGE_DEBOUNCE: Duration = Duration::from_millis(120);
/// Quiet time after a change before every file's diagnostics are brought up to date.
const SWEEP_DEBOUNCE: Duration = Duration::from_millis(400);
/// How often the background walk's progress is looked at (reports, a sweep waiting for it).
const WALK_POLL: Duration = Duration::from_millis(250);
/// How deep below a workspace folder mods are looked for.
const MOD_SEARCH_DEPTH: usize = 6;
/// Most workspace symbols returned.
const MAX_SYMBOLS: usize = 256;

fn internal(e: impl std::fmt::Display) -> RpcError {
    let mut err = RpcError::internal_error();
    err.message = e.to_string().into();
    err
}

/// LSP's `RequestFailed`: the request was understood, and its answer is that it cannot be done.
fn request_failed(message: impl std::fmt::Display) -> RpcError {
    RpcError {
        code: tower_lsp_server::jsonrpc::ErrorCode::ServerError(-32803),
        message: message.to_string().into(),
        data: None,
    }
}

fn invalid(message: impl Into<String>) -> RpcError {
    RpcError::invalid_params(message.into())
}

/// Runs blocking work off the protocol loop; if the request is cancelled meanwhile, the
/// work sees [`cancel::requested`].
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> RpcResult<T> {
    cancel::run(f).await.map_err(internal)
}

/// Runs work nobody waits for (the whole workspace's diagnostics) on a thread of its own,
/// at the background's priority (`config`'s nice value, and Linux's `SCHED_IDLE` when it
/// asks for it), so that a thread woken to answer a request takes the processor from it at
/// once. Not on the blocking pool: a pool thread serves requests next, and an unprivileged
/// thread cannot leave `SCHED_IDLE`. If no thread can be started, it runs on the pool.
async fn in_background<T: Send + 'static>(
    config: &crate::load::Config,
    f: impl FnOnce() -> T + Send + 'static,
) -> RpcResult<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let work = Arc::new(Mutex::new(Some(f)));
    let theirs = work.clone();
    let config = config.clone();
    let started = std::thread::Builder::new()
        .name("modlens-sweep".into())
        .spawn(move || {
            crate::load::scheduler::enter_background(&config);
            if let Some(f) = lock(&theirs).take() {
                let _ = tx.send(f());
            }
        });
    if let Err(e) = started {
        tracing::warn!(error = %e, "no thread for background work: running it on the pool");
        let Some(f) = lock(&work).take() else {
            return Err(internal("the background work was lost"));
        };
        return blocking(f).await;
    }
    rx.await
        .map_err(|_| internal("the background work ended without an answer"))
}

/// The error of a request whose work saw its cancellation (never sent: the request's
/// future is gone, and tower-lsp-server answered it).
fn cancelled() -> RpcError {
    RpcError::request_cancelled()
}

/// A file of a project, for a request.
#[derive(Clone)]
struct FileRef {
    project: Arc<Project>,
    rel: String,
}

/// Texts of files, read once per request.
struct Texts<'a> {
    project: &'a Project,
    lines: HashMap<String, Lines>,
}

impl<'a> Texts<'a> {
    fn new(project: &'a Project) -> Texts<'a> {
        Texts {
            project,
            lines: HashMap::new(),
        }
    }

    fn get(&mut self, rel: &str) -> Option<&Lines> {
        if cancel::requested() {
            return None;
        }
        if !self.lines.contains_key(rel) {
            let text = self.project.read(rel)?;
            self.lines.insert(rel.to_string(), Lines::new(text));
        }
        self.lines.get(rel)
    }

    fn location(
        &mut self,
        model: &Model,
        file: FileId,
        span: Span,
        docs: &DocUris,
    ) -> Option<Location> {
        let path = model.index.file(file)?.path.clone();
        let lines = self.get(&path)?;
        let range = lines.range(span.start as usize, span.end as usize);
        Some(Location::new(docs.uri(self.project, &path)?, range))
    }
}

/// The URIs of open documents, so answers name them as the client does.
struct DocUris(HashMap<PathBuf, Uri>);

impl DocUris {
    fn uri(&self, project: &Project, rel: &str) -> Option<Uri> {
        let path = project.root.join(rel);
        match self.0.get(&path) {
            Some(u) => Some(u.clone()),
            None => Uri::from_file_path(&path),
        }
    }
}

impl Backend {
    fn new(client: Client, options: Options) -> Backend {
        let (ready, _) = tokio::sync::watch::channel(false);
        Backend {
            client,
            state: Arc::new(State {
                folders: RwLock::new(Vec::new()),
                projects: RwLock::new(Vec::new()),
                docs: Mutex::new(HashMap::new()),
                settings: RwLock::new(Settings::default()),
                caps: RwLock::new(ClientCaps::default()),
                ready,
                sync: Mutex::new(()),
                sweep_seq: AtomicU64::new(0),
                sweeping: tokio::sync::Mutex::new(()),
                change_seq: AtomicU64::new(0),
                watcher: Mutex::new(None),
                shut_down: AtomicBool::new(false),
                options,
                lost: Mutex::new(HashMap::new()),
                heavy: tokio::sync::Semaphore::new(HEAVY_AT_ONCE),
            }),
        }
    }

    fn caps(&self) -> ClientCaps {
        *self.state.caps.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The `modlens` section of the client's configuration (`workspace/configuration`), when
    /// the client answers it within a few seconds.
    async fn pull_settings(&self) -> Option<serde_json::Value> {
        if !self.caps().configuration {
            return None;
        }
        let item = ConfigurationItem {
            scope_uri: None,
            section: Some("modlens".to_string()),
        };
        let asked = self.client.configuration(vec![item]);
        match tokio::time::timeout(Duration::from_secs(5), asked).await {
            // An answer holding no setting of modlens's (`null`, `{}`: a client with nothing
            // configured) changes nothing either: the settings given at initialisation stay.
            Ok(Ok(values)) if !values.is_empty() => Settings::section(&values[0]).cloned(),
            Ok(Ok(_)) => None,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the client did not give its configuration");
                None
            }
            Err(_) => {
                tracing::warn!("the client did not give its configuration in 5 s");
                None
            }
        }
    }

    fn settings(&self) -> Settings {
        self.state
            .settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Opens projects as the settings and the options say, on any thread: the settings
    /// as they are now, and the background's priority (lowered unless the options ask
    /// otherwise).
    fn project_opener(
        &self,
    ) -> impl Fn(&Path) -> Result<Project, project::ProjectError> + Send + 'static {
        let settings = self.settings();
        let lowered = !self.state.options.background_at_normal_priority;
        move |root| Project::open(root, &settings, lowered)
    }

    fn projects(&self) -> Vec<Arc<Project>> {
        self.state
            .projects
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn doc_uris(&self) -> DocUris {
        DocUris(
            lock(&self.state.docs)
                .values()
                .map(|d| (d.path.clone(), d.uri.clone()))
                .collect(),
        )
    }

    /// Waits until the first index is ready.
    async fn ready(&self) -> RpcResult<()> {
        let mut rx = self.state.ready.subscribe();
        match tokio::time::timeout(READY_TIMEOUT, rx.wait_for(|r| *r)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(internal("the workspace is still loading")),
        }
    }

    /// The project and relative path of a document (a file outside every project gets a
    /// project of its own, rooted at its mod).
    async fn file(&self, uri: &Uri) -> RpcResult<FileRef> {
        self.ready().await?;
        let path = uri
            .to_file_path()
            .map(|p| p.into_owned())
            .ok_or_else(|| invalid(format!("not a file URI: {}", uri.as_str())))?;
        if let Some(f) = self.locate(&path) {
            return Ok(f);
        }
        // Not in any project: open the mod it is in.
        let open = self.project_opener();
        let start = path.clone();
        let opened = blocking(move || {
            let root = if std::fs::symlink_metadata(&start).is_ok() {
                crate::workspace::find_root(&start).ok()?
            } else {
                // An unsaved document (nothing on the disk yet): the mod above the nearest
                // folder that exists, only when there is one — never a folder without a
                // mod file (it could be `/`).
                let dir = start
                    .ancestors()
                    .skip(1)
                    .find(|a| crate::workspace::is_real_dir(a))?;
                let root = crate::workspace::find_root(dir).ok()?;
                crate::workspace::has_mod_file(&root).then_some(root)?
            };
            open(&root).ok()
        })
        .await?;
        if let Some(p) = opened {
            let p = Arc::new(p);
            p.start_background();
            self.sweep_after_refresh(&p);
            self.state
                .projects
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .push(p);
            self.sync_open_docs().await;
        }
        self.locate(&path)
            .ok_or_else(|| invalid(format!("{} is not in a mod workspace", path.display())))
    }

    fn locate(&self, path: &Path) -> Option<FileRef> {
        let projects = self.projects();
        let find = |path: &Path| {
            projects
                .iter()
                .filter(|p| path.starts_with(&p.root))
                .max_by_key(|p| p.root.as_os_str().len())
                .and_then(|p| {
                    Some(FileRef {
                        project: p.clone(),
                        rel: p.relative(path)?,
                    })
                })
        };
        if let Some(f) = find(path) {
            return Some(f);
        }
        // The client's path may go through a symbolic link the roots do not.
        let canonical = std::fs::canonicalize(path).ok().or_else(|| {
            let parent = std::fs::canonicalize(path.parent()?).ok()?;
            Some(parent.join(path.file_name()?))
        })?;
        find(&canonical)
    }

    /// Brings a document's latest text into its project's index (when it changed since).
    /// The inlay hints of `range` if they can be given without waiting for anything: the
    /// document has no change still to index (nor is one being indexed), the model's lock is free, the text is in
    /// memory and every value and title in the range is computed already. `None` otherwise
    /// (nothing is evaluated here: this runs on an async thread).
    fn hints_at_hand(
        &self,
        f: &FileRef,
        key: &str,
        range: Range,
        kinds: settings::InlayHintSettings,
    ) -> Option<Vec<InlayHint>> {
        // No document being synced meanwhile (as `sync_doc` would wait for), none to sync.
        let _sync = self.state.sync.try_lock().ok()?;
        if lock(&self.state.docs).get(key).is_some_and(|d| d.dirty) {
            return None;
        }
        let model = f.project.shared.try_model()?;
        let file = model.index.file_by_path(&f.rel)?;
        let lines = Lines::new(f.project.sources().read_cached(&f.rel)?);
        let span = (
            lines.offset(range.start) as u32,
            lines.offset(range.end) as u32,
        );
        hints::inlay_hints(
            &model,
            &f.project.shared.resolver,
            file,
            &lines,
            span,
            kinds,
            hints::Eval::Ready,
        )
    }

    /// Brings every open document changed since it was last indexed into the index, and
    /// waits for one being brought in now (which is why every key is visited: a document
    /// whose sync is under way no longer looks changed, but its text is not in yet).
    fn sync_changed_docs(state: &State) {
        let keys: Vec<String> = lock(&state.docs).keys().cloned().collect();
        for k in keys {
            Backend::sync_doc(state, &k);
        }
    }

    fn sync_doc(state: &State, key: &str) {
        let _g = lock(&state.sync);
        let (path, text) = {
            let mut docs = lock(&state.docs);
            let Some(d) = docs.get_mut(key) else { return };
            if !d.dirty {
                return;
            }
            d.dirty = false;
            (d.path.clone(), Arc::<[u8]>::from(d.text.as_bytes()))
        };
        let projects = state
            .projects
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let project = projects
            .iter()
            .filter(|p| path.starts_with(&p.root))
            .max_by_key(|p| p.root.as_os_str().len());
        if let Some(p) = project
            && let Some(rel) = p.relative(&path)
        {
            p.apply(&[(rel, Content::Open(text))]);
        }
    }

    /// Drops the copy of a document (`None`: of every open document) whose text can no
    /// longer be the client's: the index takes the file on disk until the text of a save
    /// or a reopen brings the document back, and the user is told.
    async fn lose_docs(&self, key: Option<&str>, why: &str) {
        let lost: Vec<Doc> = {
            let mut docs = lock(&self.state.docs);
            let keys: Vec<String> = match key {
                Some(k) => vec![k.to_string()],
                None => docs.keys().cloned().collect(),
            };
            keys.iter().filter_map(|k| docs.remove(k)).collect()
        };
        if lost.is_empty() {
            if let Some(k) = key {
                tracing::warn!(uri = %k, %why, "a lost change to a document that is not open");
            }
            return;
        }
        lock(&self.state.lost).extend(
            lost.iter()
                .map(|d| (d.uri.as_str().to_string(), (d.path.clone(), d.version))),
        );
        for d in lost {
            tracing::error!(
                uri = %d.uri.as_str(),
                %why,
                "the document's text can no longer be the client's: its copy is dropped"
            );
            let name = d
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| d.uri.as_str().to_string());
            let state = self.state.clone();
            let (key, path) = (d.uri.as_str().to_string(), d.path.clone());
            let _ = blocking(move || Backend::forget_doc(&state, &key, &path)).await;
            self.client
                .show_message(
                    MessageType::WARNING,
                    format!(
                        "modlens lost track of your changes to {name} ({why}). It reads the \
                         file from disk until you save or reopen it."
                    ),
                )
                .await;
            if let Some(f) = self.locate(&d.path) {
                self.publish_file(f).await;
            }
        }
        self.schedule_sweep(SWEEP_DEBOUNCE);
    }

    /// Gives a closed or dropped document's file back to the index as it is on disk
    /// (unless it was opened again meanwhile).
    fn forget_doc(state: &State, key: &str, path: &Path) {
        let _g = lock(&state.sync);
        if lock(&state.docs).contains_key(key) {
            return;
        }
        let projects = state
            .projects
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let project = projects
            .iter()
            .filter(|p| path.starts_with(&p.root))
            .max_by_key(|p| p.root.as_os_str().len());
        if let Some(p) = project
            && let Some(rel) = p.relative(path)
        {
            p.apply(&[(rel, Content::Disk)]);
        }
    }

    /// The [`guard`] could not read a document change (its `uri`, or none: any document).
    async fn lost_edit(&self, params: LostEditParams) {
        let key = params
            .uri
            .as_deref()
            .and_then(|u| u.parse::<Uri>().ok())
            .map(|u| u.as_str().to_string());
        if params.uri.is_some() && key.is_none() {
            return;
        }
        self.lose_docs(key.as_deref(), &params.reason).await;
    }

    /// Brings every open document into the index (after a load).
    async fn sync_open_docs(&self) {
        {
            let mut docs = lock(&self.state.docs);
            for d in docs.values_mut() {
                d.dirty = true;
            }
        }
        let state = self.state.clone();
        let _ = blocking(move || Backend::sync_changed_docs(&state)).await;
    }

    /// The file name of an open document whose copy was dropped (its text in the editor is
    /// unknown) that `edit` changes, if any: such an edit must not be sent.
    fn dropped_doc_in(&self, edit: &WorkspaceEdit) -> Option<String> {
        let lost = lock(&self.state.lost);
        if lost.is_empty() {
            return None;
        }
        edited_uris(edit).into_iter().find_map(|u| {
            let (path, _) = lost.get(u.as_str())?;
            Some(
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| u.as_str().to_string()),
            )
        })
    }

    /// The edits that format an open document (`range`: those touching it), computed from
    /// the server's copy of the client's text. A document whose copy was dropped (a change
    /// that could not be applied) is not formatted: edits against any other text would
    /// corrupt it.
    async fn format_doc(
        &self,
        uri: &Uri,
        range: Option<Range>,
    ) -> RpcResult<Option<Vec<TextEdit>>> {
        let text = lock(&self.state.docs)
            .get(uri.as_str())
            .map(|d| d.text.clone());
        let Some(text) = text else {
            return Err(request_failed(
                "not formatted: modlens has no up-to-date copy of this document (open it, or save it)",
            ));
        };
        blocking(move || formatting::edits(&text, range))
            .await?
            .map(Some)
            .map_err(request_failed)
    }

    /// Runs `f` on a blocking thread with the document brought up to date.
    async fn on_file<T: Send + 'static>(
        &self,
        uri: &Uri,
        f: impl FnOnce(&FileRef, &DocUris) -> Option<T> + Send + 'static,
    ) -> RpcResult<Option<T>> {
        let t = Instant::now();
        let file = self.file(uri).await?;
        let state = self.state.clone();
        let key = uri.as_str().to_string();
        let uris = self.doc_uris();
        let r = blocking(move || {
            let work = Instant::now();
            // Its own text first; then every other document changed since, because an answer
            // may point into them (a rename's edits, a reference, a definition): positions
            // from a text the editor no longer holds would land in the wrong place.
            Backend::sync_doc(&state, &key);
            Backend::sync_changed_docs(&state);
            let r = f(&file, &uris);
            (r, work.elapsed())
        })
        .await;
        r.map(|(r, work)| {
            tracing::debug!(
                what = std::any::type_name::<T>().rsplit("::").next().unwrap_or(""),
                work_us = work.as_micros() as u64,
                total_us = t.elapsed().as_micros() as u64,
                "answered"
            );
            r
        })
    }

    // ----- loading ------------------------------------------------------------------------

    /// Opens the projects of the workspace folders and starts loading them.
    async fn load(&self) {
        let folders = self
            .state
            .folders
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let open = self.project_opener();
        let progress = self.begin_progress("modlens", "indexing").await;
        let roots = blocking(move || {
            let mut roots: Vec<PathBuf> = Vec::new();
            for f in &folders {
                match crate::workspace::mod_roots(f, MOD_SEARCH_DEPTH) {
                    Ok(r) => roots.extend(r),
                    Err(e) => tracing::warn!(folder = %f.display(), error = %e, "cannot open"),
                }
            }
            roots.sort();
            roots.dedup();
            roots
        })
        .await
        .unwrap_or_default();
        // Watch before reading: a file written while the projects open (or before the
        // watcher would otherwise start) is queued, not lost. The queue is read once the
        // projects are in place; a file read after its change is unchanged and costs nothing.
        let early = if self.notify_needed() {
            self.watch_roots(&roots)
        } else {
            None
        };
        let opened = blocking(move || {
            let mut projects = Vec::new();
            let mut errors = Vec::new();
            for r in roots {
                match open(&r) {
                    Ok(p) => projects.push(Arc::new(p)),
                    Err(e) => errors.push(format!("{}: {e}", r.display())),
                }
            }
            (projects, errors)
        })
        .await;
        let (projects, errors) = opened.unwrap_or_default();
        for e in errors {
            self.client.show_message(MessageType::WARNING, e).await;
        }
        let summary = {
            let files: usize = projects.iter().map(|p| p.figures.files).sum();
            let resources: usize = projects.iter().map(|p| p.figures.resources).sum();
            format!("{files} files, {resources} resources indexed")
        };
        *self
            .state
            .projects
            .write()
            .unwrap_or_else(|p| p.into_inner()) = projects.clone();
        // Documents opened meanwhile are in the index before any request is let in.
        self.sync_open_docs().await;
        self.state.ready.send_replace(true);
        if let Some(p) = &progress {
            p.report_with_message(summary, 10).await;
        }
        for p in &projects {
            p.start_background();
            self.sweep_after_refresh(p);
        }
        self.start_watching(&projects, early).await;
        // Diagnostics the index knows at once; the rest when the walk has resolved.
        for p in &projects {
            self.publish_all(p.clone(), false).await;
        }
        let this = self.clone();
        tokio::spawn(async move {
            this.follow_background(projects, progress).await;
        });
    }

    async fn begin_progress(
        &self,
        title: &str,
        message: &str,
    ) -> Option<
        tower_lsp_server::OngoingProgress<
            tower_lsp_server::Bounded,
            tower_lsp_server::NotCancellable,
        >,
    > {
        if !self.caps().progress {
            return None;
        }
        let token = NumberOrString::String(format!(
            "modlens/{}",
            self.state.sweep_seq.fetch_add(1, Ordering::Relaxed)
        ));
        self.client
            .create_work_done_progress(token.clone())
            .await
            .ok()?;
        Some(
            self.client
                .progress(token, title)
                .with_message(message)
                .with_percentage(0)
                .begin()
                .await,
        )
    }

    /// Reports the background walk's progress until it ends, then brings every file's
    /// diagnostics up to date.
    async fn follow_background(
        &self,
        projects: Vec<Arc<Project>>,
        progress: Option<
            tower_lsp_server::OngoingProgress<
                tower_lsp_server::Bounded,
                tower_lsp_server::NotCancellable,
            >,
        >,
    ) {
        loop {
            if self.state.shut_down.load(Ordering::Relaxed) {
                return;
            }
            let mut done = 0usize;
            let mut total = 0usize;
            let mut finished = true;
            for p in &projects {
                let m = p.scheduler.metrics();
                done += m.total(|c| c.done + c.failed) as usize;
                if let Some(((_, t), _)) = p.background_progress() {
                    total += t;
                }
                finished &= !p.walking();
            }
            if let Some(p) = &progress {
                let pct = (done.min(total) * 89)
                    .checked_div(total)
                    .map_or(100, |x| 10 + x as u32);
                p.report_with_message(format!("resolved {}/{total}", done.min(total)), pct)
                    .await;
            }
            if finished {
                break;
            }
            tokio::time::sleep(WALK_POLL).await;
        }
        for p in &projects {
            self.publish_all(p.clone(), true).await;
        }
        if let Some(p) = progress {
            p.finish_with_message("ready").await;
        }
    }

    /// True when the server watches files itself (the client cannot register a watch, or
    /// the options force notify).
    fn notify_needed(&self) -> bool {
        !self.caps().watch_registration || self.state.options.force_notify_watcher
    }

    /// Starts the notify watcher on `roots`; its batches queue in the returned receiver.
    fn watch_roots(
        &self,
        roots: &[PathBuf],
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<Vec<PathBuf>>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        match watch::watch(roots, tx) {
            Ok(w) => {
                *lock(&self.state.watcher) = Some(w);
                Some(rx)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the workspace");
                None
            }
        }
    }

    /// Registers the client's file watch, or serves the notify watcher's queue (`early`,
    /// started before the projects opened; started now if there is none).
    async fn start_watching(
        &self,
        projects: &[Arc<Project>],
        early: Option<tokio::sync::mpsc::UnboundedReceiver<Vec<PathBuf>>>,
    ) {
        if !self.notify_needed() {
            let watchers = [
                "**/*.{pp,sp,fp,tp,ppvars,spvars}",
                "**/.powerpipeignore",
                "**/.steampipeignore",
                // What the file functions commonly read (documentation, SQL, templates):
                // a change to one is seen when something read it (`other_files_changed`).
                "**/*.{md,markdown,txt,sql,json,yaml,yml,csv,html,svg,tpl,tmpl}",
            ]
            .into_iter()
            .map(|g| FileSystemWatcher {
                glob_pattern: GlobPattern::String(g.to_string()),
                kind: None,
            })
            .collect();
            let options = DidChangeWatchedFilesRegistrationOptions { watchers };
            let reg = Registration {
                id: "modlens-watch".to_string(),
                method: "workspace/didChangeWatchedFiles".to_string(),
                register_options: serde_json::to_value(options).ok(),
            };
            if self.client.register_capability(vec![reg]).await.is_ok() {
                return;
            }
        }
        let rx = match early {
            Some(rx) => Some(rx),
            None => {
                let roots: Vec<PathBuf> = projects.iter().map(|p| p.root.clone()).collect();
                self.watch_roots(&roots)
            }
        };
        let Some(mut rx) = rx else {
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            while let Some(paths) = rx.recv().await {
                this.files_changed(paths).await;
            }
        });
    }

    /// Files changed on disk: each project's changes applied as one batch (open documents
    /// keep their text; whether a path is a file of the workspace is the disk's to say).
    async fn files_changed(&self, paths: Vec<PathBuf>) {
        type Batch = (Arc<Project>, Vec<(String, Content)>);
        let mut by_project: HashMap<PathBuf, Batch> = HashMap::new();
        // By project, the paths that are not mod files: what `file()` read may have changed.
        let mut others: HashMap<PathBuf, (Arc<Project>, Vec<String>)> = HashMap::new();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mod_file = crate::workspace::is_indexed_file(&name)
                || name == ".powerpipeignore"
                || name == ".steampipeignore";
            // A folder created, removed or replaced (a checkout), or a link: a walk finds its
            // files.
            let relevant = mod_file || !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
            let Some(f) = self.locate(&path) else {
                continue;
            };
            if f.rel.split('/').any(|c| c == ".git") {
                continue;
            }
            // Any other path (written, created or removed) may be what `file()` reads.
            if !mod_file {
                others
                    .entry(f.project.root.clone())
                    .or_insert_with(|| (f.project.clone(), Vec::new()))
                    .1
                    .push(f.rel.clone());
            }
            if !relevant {
                continue;
            }
            by_project
                .entry(f.project.root.clone())
                .or_insert_with(|| (f.project.clone(), Vec::new()))
                .1
                .push((f.rel, Content::Changed));
        }
        for (_, (project, changes)) in by_project {
            let p = project.clone();
            let _ = blocking(move || p.apply(&changes)).await;
        }
        for (_, (project, changed)) in others {
            let _ = blocking(move || project.other_files_changed(&changed)).await;
        }
        self.schedule_sweep(Duration::from_millis(50));
    }

    // ----- diagnostics --------------------------------------------------------------------

    fn to_lsp_diagnostics(lines: &Lines, list: &[FileDiag]) -> Vec<Diagnostic> {
        list.iter()
            .map(|d| Diagnostic {
                range: lines.range(d.start as usize, d.end as usize),
                severity: Some(match d.severity {
                    Severity::Error => DiagnosticSeverity::ERROR,
                    Severity::Warning => DiagnosticSeverity::WARNING,
                }),
                source: Some("modlens".to_string()),
                message: d.message.clone(),
                ..Default::default()
            })
            .collect()
    }

    async fn publish(&self, project: &Project, rel: &str, list: Vec<FileDiag>) {
        if !project.publish_changes(rel, &list) {
            return;
        }
        // The text the positions are in: none when the file changed since it was indexed
        // (it is being indexed again, and published then) or went; nothing is recorded.
        let text = project.read(rel);
        if text.is_none() && !list.is_empty() {
            return;
        }
        if !project.record_published(rel, &list) {
            return;
        }
        let uris = self.doc_uris();
        let Some(uri) = uris.uri(project, rel) else {
            return;
        };
        let version = lock(&self.state.docs).get(uri.as_str()).map(|d| d.version);
        let diags = match text {
            Some(text) => Self::to_lsp_diagnostics(&Lines::new(text), &list),
            None => Vec::new(),
        };
        self.client.publish_diagnostics(uri, diags, version).await;
    }

    /// Publishes every file's diagnostics that changed (`resolve`: with those found by
    /// resolving every resource).
    async fn publish_all(&self, project: Arc<Project>, resolve: bool) {
        let p = project.clone();
        let work = move || {
            let generation = p.generation();
            let before = p.published_paths();
            let all = if resolve {
                p.all_diagnostics()
            } else {
                p.index_diagnostics()
            };
            (generation, all, before)
        };
        // Resolving every resource is the heaviest work the server does while people type:
        // in the background. The index's diagnostics are quick, and what is shown first.
        let done = if resolve {
            in_background(project.scheduler.config(), work).await
        } else {
            blocking(work).await
        };
        let Ok((generation, all, before)) = done else {
            return;
        };
        // Lists of a model that changed meanwhile would land on text they were not found in
        // (and over a newer file's publication): dropped. Every change schedules a sweep of
        // its own, which publishes in their place.
        let gone: Vec<(String, Vec<FileDiag>)> = before
            .into_iter()
            .filter(|rel| !all.contains_key(rel))
            .map(|rel| (rel, Vec::new()))
            .collect();
        let lists = gone.into_iter().chain(all);
        for (rel, list) in lists {
            if !project.still_at(generation) {
                tracing::debug!("the model changed during the sweep: its lists are dropped");
                return;
            }
            self.publish(&project, &rel, list).await;
        }
    }

    /// Publishes one file's diagnostics now (resolving its resources).
    async fn publish_file(&self, file: FileRef) {
        let f = file.clone();
        let state = self.state.clone();
        let uris = self.doc_uris();
        let key = uris
            .uri(&file.project, &file.rel)
            .map(|u| u.as_str().to_string());
        let Ok(list) = blocking(move || {
            if let Some(k) = key {
                Backend::sync_doc(&state, &k);
            }
            f.project.file_diagnostics(&f.rel)
        })
        .await
        else {
            return;
        };
        self.publish(&file.project, &file.rel, list).await;
    }

    /// Brings every file's diagnostics up to date after `delay` without another change.
    fn schedule_sweep(&self, delay: Duration) {
        let seq = self.state.sweep_seq.fetch_add(1, Ordering::SeqCst) + 1;
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            // Not beside a background walk: it resolves every resource anyway (and every
            // file's diagnostics are published when it ends), and a sweep beside it would
            // resolve them a second time, on the core the requests need. Open documents
            // get theirs meanwhile file by file.
            loop {
                if this.state.sweep_seq.load(Ordering::SeqCst) != seq
                    || this.state.shut_down.load(Ordering::Relaxed)
                {
                    return;
                }
                if !this.projects().iter().any(|p| p.walking()) {
                    break;
                }
                tokio::time::sleep(WALK_POLL).await;
            }
            let _g = this.state.sweeping.lock().await;
            for p in this.projects() {
                this.publish_all(p, true).await;
            }
        });
    }

    /// Diagnostics are brought up to date after the project indexes again a file that a read
    /// found changed (no event told of it, so nothing else would).
    fn sweep_after_refresh(&self, project: &Project) {
        // The state weakly: it holds the project, which holds this.
        let client = self.client.clone();
        let state = Arc::downgrade(&self.state);
        let runtime = tokio::runtime::Handle::current();
        project.on_refresh(move || {
            let Some(state) = state.upgrade() else {
                return;
            };
            if state.shut_down.load(Ordering::Relaxed) {
                return;
            }
            let this = Backend {
                client: client.clone(),
                state,
            };
            let _in_runtime = runtime.enter();
            this.schedule_sweep(SWEEP_DEBOUNCE);
        });
    }

    /// A document changed: rescan it and send its diagnostics after a pause.
    fn schedule_change(&self, uri: Uri) {
        let seq = self.state.change_seq.fetch_add(1, Ordering::SeqCst) + 1;
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(CHANGE_DEBOUNCE).await;
            if this.state.change_seq.load(Ordering::SeqCst) != seq {
                return;
            }
            if let Ok(f) = this.file(&uri).await {
                this.publish_file(f).await;
            }
            this.schedule_sweep(SWEEP_DEBOUNCE);
        });
    }

    // ----- custom requests ----------------------------------------------------------------

    fn project_for(&self, uri: Option<&Uri>) -> RpcResult<Arc<Project>> {
        let projects = self.projects();
        if let Some(u) = uri
            && let Some(path) = u.to_file_path()
        {
            if let Some(f) = self.locate(&path) {
                return Ok(f.project);
            }
            // The URI of a root folder itself.
            if let Some(p) = projects.iter().find(|p| p.root == *path) {
                return Ok(p.clone());
            }
        }
        projects
            .first()
            .cloned()
            .ok_or_else(|| invalid("no mod workspace is open"))
    }

    /// Waits for a turn to compute a whole-workspace answer (dropped with the request if
    /// it is cancelled while it waits).
    async fn heavy_turn(&self) -> RpcResult<tokio::sync::SemaphorePermit<'_>> {
        self.state.heavy.acquire().await.map_err(internal)
    }

    async fn dashboards(&self, params: ProjectParams) -> RpcResult<serde_json::Value> {
        self.ready().await?;
        let p = self.project_for(params.uri.as_ref())?;
        let state = self.state.clone();
        let _turn = self.heavy_turn().await?;
        blocking(move || {
            Backend::sync_changed_docs(&state);
            let payload = p.shared.dashboards();
            if cancel::requested() {
                return Err(cancelled());
            }
            serde_json::to_value(&*payload).map_err(internal)
        })
        .await?
    }

    async fn tree(&self, params: TreeParams) -> RpcResult<serde_json::Value> {
        self.ready().await?;
        let p = self.project_for(params.uri.as_ref())?;
        let state = self.state.clone();
        let _turn = self.heavy_turn().await?;
        blocking(move || {
            Backend::sync_changed_docs(&state);
            let model = p.shared.model();
            let root = model
                .index
                .lookup_qualified(&params.resource)
                .ok_or_else(|| invalid(format!("no resource named `{}`", params.resource)))?;
            let fields = |id, key| {
                if cancel::requested() {
                    return None;
                }
                p.shared.resolver.dump_field(&model, id, key)
            };
            let tree = crate::index::tree::tree(&model.index, &fields, root);
            if cancel::requested() {
                return Err(cancelled());
            }
            serde_json::to_value(tree).map_err(internal)
        })
        .await?
    }

    async fn stats(&self, _params: serde_json::Value) -> RpcResult<serde_json::Value> {
        self.ready().await?;
        let projects = self.projects();
        blocking(move || {
            let list: Vec<serde_json::Value> = projects
                .iter()
                .map(|p| {
                    let m = p.scheduler.metrics();
                    let (walk, finished) = p.background_progress().unwrap_or(((0, 0), true));
                    serde_json::json!({
                        "root": p.root.display().to_string(),
                        "load": p.figures,
                        "scheduler": crate::load::MetricsView::from(&m),
                        "idle": p.scheduler.idle(),
                        "background": {
                            "submitted": walk.0,
                            "total": walk.1,
                            "finished": finished,
                        },
                        "resolver": p.shared.resolver.stats(),
                        "model": {
                            "generation": p.shared.model().generation,
                            "file_updates": p.file_updates.load(Ordering::Relaxed),
                            "opens_without_work": p.opens_without_work.load(Ordering::Relaxed),
                        },
                    })
                })
                .collect();
            serde_json::json!({
                "projects": list,
                "rss_bytes": current_rss(),
                "requests": {
                    "cancelled_work_ended": cancel::STOPPED.load(Ordering::Relaxed),
                },
            })
        })
        .await
    }

    async fn dump(&self, params: ProjectParams) -> RpcResult<serde_json::Value> {
        self.ready().await?;
        let p = self.project_for(params.uri.as_ref())?;
        let state = self.state.clone();
        let _turn = self.heavy_turn().await?;
        blocking(move || {
            Backend::sync_changed_docs(&state);
            let model = p.shared.model();
            // Once cancelled, every field and text is skipped: the rest of the walk is cheap
            // and its result is dropped.
            let fields = |id, key| {
                if cancel::requested() {
                    return None;
                }
                p.shared.resolver.dump_field(&model, id, key)
            };
            let read = |rel: &str| {
                if cancel::requested() {
                    return None;
                }
                p.read(rel).map(|t| t.to_vec())
            };
            let dump = crate::index::dump::dump(&model.index, &read, &fields);
            if cancel::requested() {
                return Err(cancelled());
            }
            serde_json::to_value(dump).map_err(internal)
        })
        .await?
    }

    /// The calls to or from a call hierarchy item (`calls` lists them), once the item's
    /// resource is found again (see [`calls::find`]).
    async fn calls_of<T: Send + 'static>(
        &self,
        item: CallHierarchyItem,
        calls: impl FnOnce(
            &Model,
            &crate::resolve::Resolver,
            &mut Texts<'_>,
            &DocUris,
            ResourceId,
        ) -> Vec<T>
        + Send
        + 'static,
    ) -> RpcResult<Option<Vec<T>>> {
        let Some(name) = item
            .data
            .as_ref()
            .and_then(|d| d.get("name"))
            .and_then(|n| n.as_str())
            .map(str::to_string)
        else {
            return Err(invalid("a call hierarchy item without its `data.name`"));
        };
        let at = item.selection_range.start;
        self.on_file(&item.uri, move |f, uris| {
            let model = f.project.shared.model();
            let mut texts = Texts::new(&f.project);
            let file = model.index.file_by_path(&f.rel);
            let offset = texts.get(&f.rel).map(|l| l.offset(at) as u32);
            let id = calls::find(&model.index, file, offset, &name)?;
            let out = calls(&model, &f.project.shared.resolver, &mut texts, uris, id);
            (!cancel::requested()).then_some(out)
        })
        .await
    }

    /// The resolved resources, requested at Critical priority with no lock held: loaded on
    /// this (blocking) thread unless a worker is already at it.
    fn resolve_now(project: &Project, keys: Vec<ResourceKey>) -> Vec<Option<Arc<Resource>>> {
        keys.into_iter()
            .map(|k| project.scheduler.load_here(k, Priority::Critical).ok())
            .collect()
    }
}

/// Parameters of `modlens/dashboards` and `modlens/dump`: which workspace (a file or the
/// root folder's URI; the first project when absent).
#[derive(Debug, Default, Deserialize)]
pub struct ProjectParams {
    /// A file of the workspace, or its root.
    #[serde(default)]
    pub uri: Option<Uri>,
}

/// Parameters of the guard's [`guard::LOST_EDIT`] notification.
#[derive(Debug, Deserialize)]
pub struct LostEditParams {
    /// The document (absent: any open document).
    #[serde(default)]
    pub uri: Option<String>,
    /// What went wrong.
    #[serde(default)]
    pub reason: String,
}

/// Parameters of `modlens/tree`.
#[derive(Debug, Deserialize)]
pub struct TreeParams {
    /// `type.name` or `mod.type.name`.
    pub resource: String,
    /// A file of the workspace (the first project when absent).
    #[serde(default)]
    pub uri: Option<Uri>,
}

/// The process's resident set size now (Linux), in bytes.
pub fn current_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn read_caps(params: &InitializeParams) -> ClientCaps {
    let v = serde_json::to_value(&params.capabilities).unwrap_or_default();
    let flag = |p: &str| v.pointer(p).and_then(|x| x.as_bool()).unwrap_or(false);
    ClientCaps {
        snippets: flag("/textDocument/completion/completionItem/snippetSupport"),
        progress: flag("/window/workDoneProgress"),
        watch_registration: flag("/workspace/didChangeWatchedFiles/dynamicRegistration"),
        config_registration: flag("/workspace/didChangeConfiguration/dynamicRegistration"),
        configuration: flag("/workspace/configuration"),
        inlay_hint_refresh: flag("/workspace/inlayHint/refreshSupport"),
        create_files: flag("/workspace/workspaceEdit/documentChanges")
            && v.pointer("/workspace/workspaceEdit/resourceOperations")
                .and_then(|x| x.as_array())
                .is_some_and(|ops| ops.iter().any(|o| o == "create")),
    }
}

fn server_capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                // The text of a save is a point where the server's copy is made the
                // client's again, whatever happened to it before.
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(true),
                })),
                ..Default::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        document_range_formatting_provider: Some(OneOf::Left(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        document_highlight_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        workspace_symbol_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".to_string()]),
            resolve_provider: Some(true),
            ..Default::default()
        }),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        code_lens_provider: Some(CodeLensOptions {
            resolve_provider: Some(false),
        }),
        document_link_provider: Some(DocumentLinkOptions {
            resolve_provider: Some(false),
            work_done_progress_options: Default::default(),
        }),
        folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
        inlay_hint_provider: Some(OneOf::Left(true)),
        signature_help_provider: Some(SignatureHelpOptions {
            trigger_characters: Some(vec!["(".to_string(), ",".to_string()]),
            retrigger_characters: None,
            work_done_progress_options: Default::default(),
        }),
        call_hierarchy_provider: Some(CallHierarchyServerCapability::Simple(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            resolve_provider: Some(false),
            work_done_progress_options: Default::default(),
        })),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: SemanticTokensLegend {
                    token_types: features::TOKEN_TYPES.to_vec(),
                    token_modifiers: features::TOKEN_MODIFIERS.to_vec(),
                },
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                ..Default::default()
            },
        )),
        workspace: Some(WorkspaceServerCapabilities {
            workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                supported: Some(true),
                change_notifications: Some(OneOf::Left(true)),
            }),
            file_operations: None,
        }),
        ..Default::default()
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> RpcResult<InitializeResult> {
        *self.state.caps.write().unwrap_or_else(|p| p.into_inner()) = read_caps(&params);
        let settings = Settings::from_json(params.initialization_options.as_ref());
        if let (Some(level), Some(control)) = (&settings.log_level, &self.state.options.log_control)
            && !control(level)
        {
            tracing::warn!(level = %level, "unknown log level");
        }
        *self
            .state
            .settings
            .write()
            .unwrap_or_else(|p| p.into_inner()) = settings;
        let mut folders: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        #[allow(deprecated)]
        if folders.is_empty()
            && let Some(root) = params.root_uri.as_ref().and_then(|u| u.to_file_path())
        {
            folders.push(root.into_owned());
        }
        *self
            .state
            .folders
            .write()
            .unwrap_or_else(|p| p.into_inner()) = folders;
        Ok(InitializeResult {
            capabilities: server_capabilities(),
            server_info: Some(ServerInfo {
                name: "modlens".to_string(),
                version: Some(env!("CARGO_PKG_VERSION").to_string()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        if self.caps().config_registration {
            let reg = Registration {
                id: "modlens-config".to_string(),
                method: "workspace/didChangeConfiguration".to_string(),
                register_options: None,
            };
            let _ = self.client.register_capability(vec![reg]).await;
        }
        let this = self.clone();
        tokio::spawn(async move { this.load().await });
    }

    async fn shutdown(&self) -> RpcResult<()> {
        self.state.shut_down.store(true, Ordering::Relaxed);
        lock(&self.state.watcher).take();
        let projects = std::mem::take(
            &mut *self
                .state
                .projects
                .write()
                .unwrap_or_else(|p| p.into_inner()),
        );
        blocking(move || {
            for p in &projects {
                p.shutdown(Duration::from_secs(2));
            }
        })
        .await?;
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        let Some(path) = doc.uri.to_file_path().map(|p| p.into_owned()) else {
            return;
        };
        lock(&self.state.lost).remove(doc.uri.as_str());
        lock(&self.state.docs).insert(
            doc.uri.as_str().to_string(),
            Doc {
                uri: doc.uri.clone(),
                path,
                text: doc.text,
                version: doc.version,
                dirty: true,
            },
        );
        let this = self.clone();
        tokio::spawn(async move {
            let Ok(f) = this.file(&doc.uri).await else {
                return;
            };
            // Into the index now (unless a request did it first). A text the index held
            // already changes nothing: with every diagnostic current there is nothing to
            // resolve or publish, and the editor's first requests meet no work of the open's.
            let (state, key, p) = (
                this.state.clone(),
                doc.uri.as_str().to_string(),
                f.project.clone(),
            );
            let current = blocking(move || {
                Backend::sync_doc(&state, &key);
                let current = p.diagnostics_current();
                if current {
                    p.opens_without_work.fetch_add(1, Ordering::Relaxed);
                }
                current
            })
            .await
            .unwrap_or(false);
            if !current {
                this.publish_file(f).await;
                this.schedule_sweep(SWEEP_DEBOUNCE);
            }
        });
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        // Applied here, before any await: notifications are handled in the order they came.
        let key = params.text_document.uri.as_str().to_string();
        let version = params.text_document.version;
        let failed = {
            let mut docs = lock(&self.state.docs);
            let Some(d) = docs.get_mut(&key) else {
                if let Some(lost) = lock(&self.state.lost).get_mut(&key) {
                    lost.1 = version;
                } else {
                    // No copy is held, so none can be wrong (a client may send changes to
                    // documents it never opened here, like an untitled buffer).
                    tracing::debug!(uri = %key, "a change to a document that is not open");
                }
                return;
            };
            let mut failed = None;
            if version <= d.version {
                // The protocol's versions only grow: a change was repeated, or one between
                // was lost.
                failed = Some(format!(
                    "version {version} came after version {}",
                    d.version
                ));
            }
            for c in params.content_changes {
                if failed.is_some() {
                    break;
                }
                if let Err(e) = text::apply_change(&mut d.text, c.range, &c.text) {
                    failed = Some(format!("a change to version {version} does not fit: {e}"));
                }
            }
            d.version = version;
            d.dirty = true;
            failed
        };
        match failed {
            Some(why) => self.lose_docs(Some(&key), &why).await,
            None => self.schedule_change(params.text_document.uri),
        }
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        let key = params.text_document.uri.as_str().to_string();
        // The text of the save is the client's: it replaces a copy that drifted, and brings
        // back one that was dropped.
        let known = if let Some(text) = params.text {
            let mut docs = lock(&self.state.docs);
            match docs.get_mut(&key) {
                Some(d) => {
                    if d.text != text {
                        tracing::error!(
                            uri = %key,
                            "the document's text differed from the client's; resynchronised from the save"
                        );
                        d.text = text;
                        d.dirty = true;
                    }
                    true
                }
                None => match lock(&self.state.lost).remove(&key) {
                    Some((path, version)) => {
                        tracing::warn!(uri = %key, "the document is back in sync from its save");
                        docs.insert(
                            key.clone(),
                            Doc {
                                uri: params.text_document.uri.clone(),
                                path,
                                text,
                                version,
                                dirty: true,
                            },
                        );
                        true
                    }
                    None => false,
                },
            }
        } else {
            lock(&self.state.docs).contains_key(&key)
        };
        if known {
            self.schedule_change(params.text_document.uri);
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        lock(&self.state.lost).remove(uri.as_str());
        let removed = lock(&self.state.docs).remove(uri.as_str());
        if removed.is_none() {
            return;
        }
        let Some(path) = uri.to_file_path().map(|p| p.into_owned()) else {
            return;
        };
        let Some(f) = self.locate(&path) else { return };
        // Not if the document was opened again meanwhile (its text would lose to the disk).
        let (state, key, p) = (self.state.clone(), uri.as_str().to_string(), path.clone());
        let _ = blocking(move || Backend::forget_doc(&state, &key, &p)).await;
        self.publish_file(f).await;
        self.schedule_sweep(SWEEP_DEBOUNCE);
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        let paths: Vec<PathBuf> = params
            .changes
            .iter()
            .filter_map(|c| c.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        if self.state.ready.borrow().to_owned() {
            self.files_changed(paths).await;
        }
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        // A change notice without modlens's settings in it (`null`, as VS Code's client
        // sends for a change in any section, or another section's): asked for, when the
        // client can say; else nothing changed. Never taken for "every setting removed".
        let section = match Settings::section(&params.settings) {
            Some(v) => Some(v.clone()),
            None => self.pull_settings().await,
        };
        let Some(section) = section else {
            tracing::debug!(settings = %params.settings, "a configuration change without modlens settings: kept as they are");
            return;
        };
        let new = Settings::from_json(Some(&section));
        let old = self.settings();
        if let (Some(level), Some(control)) = (&new.log_level, &self.state.options.log_control)
            && new.log_level != old.log_level
            && !control(level)
        {
            tracing::warn!(level = %level, "unknown log level");
        }
        *self
            .state
            .settings
            .write()
            .unwrap_or_else(|p| p.into_inner()) = new.clone();
        if old.inlay_hints != new.inlay_hints && self.caps().inlay_hint_refresh {
            // Not awaited here: notifications are handled in order, and a client that is
            // slow to answer must not hold up the next one.
            let client = self.client.clone();
            tokio::spawn(async move {
                if let Err(e) = client.inlay_hint_refresh().await {
                    tracing::debug!(error = %e, "the client did not refresh its inlay hints");
                }
            });
        }
        if !*self.state.ready.borrow() {
            return;
        }
        if old.needs_reopen(&new) {
            // Limits and workers are fixed per project: open them again. Not ready first, so
            // that a request in between waits for the new projects instead of finding none.
            self.state.ready.send_replace(false);
            let old_projects = std::mem::take(
                &mut *self
                    .state
                    .projects
                    .write()
                    .unwrap_or_else(|p| p.into_inner()),
            );
            let _ = blocking(move || drop(old_projects)).await;
            self.load().await;
        } else if old.inputs_differ(&new) {
            let projects = self.projects();
            let _ = blocking(move || {
                for p in &projects {
                    p.set_inputs(project::inputs(&p.root, &new));
                }
            })
            .await;
            self.schedule_sweep(Duration::from_millis(10));
        }
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        let removed: Vec<PathBuf> = params
            .event
            .removed
            .iter()
            .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        let added: Vec<PathBuf> = params
            .event
            .added
            .iter()
            .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        {
            let mut folders = self
                .state
                .folders
                .write()
                .unwrap_or_else(|p| p.into_inner());
            folders.retain(|f| !removed.contains(f));
            folders.extend(added.iter().cloned());
        }
        let open = self.project_opener();
        let existing = self.projects();
        let Ok((keep, new)) = blocking(move || {
            let canon: Vec<PathBuf> = removed
                .iter()
                .filter_map(|r| std::fs::canonicalize(r).ok().or(Some(r.clone())))
                .collect();
            let keep: Vec<Arc<Project>> = existing
                .into_iter()
                .filter(|p| !canon.iter().any(|r| p.root.starts_with(r)))
                .collect();
            let mut new = Vec::new();
            for f in &added {
                for root in crate::workspace::mod_roots(f, MOD_SEARCH_DEPTH).unwrap_or_default() {
                    if keep
                        .iter()
                        .chain(new.iter())
                        .any(|p: &Arc<Project>| p.root == root)
                    {
                        continue;
                    }
                    if let Ok(p) = open(&root) {
                        let p = Arc::new(p);
                        p.start_background();
                        new.push(p);
                    }
                }
            }
            (keep, new)
        })
        .await
        else {
            return;
        };
        let mut all = keep;
        all.extend(new.iter().cloned());
        *self
            .state
            .projects
            .write()
            .unwrap_or_else(|p| p.into_inner()) = all;
        self.sync_open_docs().await;
        for p in new {
            self.sweep_after_refresh(&p);
            self.publish_all(p, false).await;
        }
        self.schedule_sweep(SWEEP_DEBOUNCE);
    }

    async fn formatting(
        &self,
        params: DocumentFormattingParams,
    ) -> RpcResult<Option<Vec<TextEdit>>> {
        self.format_doc(&params.text_document.uri, None).await
    }

    async fn range_formatting(
        &self,
        params: DocumentRangeFormattingParams,
    ) -> RpcResult<Option<Vec<TextEdit>>> {
        self.format_doc(&params.text_document.uri, Some(params.range))
            .await
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> RpcResult<Option<DocumentSymbolResponse>> {
        self.on_file(&params.text_document.uri, |f, _| {
            let model = f.project.shared.model();
            let file = model.index.file_by_path(&f.rel)?;
            let lines = Lines::new(f.project.read(&f.rel)?);
            Some(DocumentSymbolResponse::Nested(features::document_symbols(
                &model,
                &f.project.shared.resolver,
                file,
                &lines,
            )))
        })
        .await
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> RpcResult<Option<WorkspaceSymbolResponse>> {
        self.ready().await?;
        let projects = self.projects();
        let uris = self.doc_uris();
        let state = self.state.clone();
        blocking(move || {
            Backend::sync_changed_docs(&state);
            let mut all: Vec<(u32, WorkspaceSymbol)> = Vec::new();
            for p in &projects {
                let model = p.shared.model();
                let mut texts = Texts::new(p);
                for hit in features::workspace_symbols(&model.index, &params.query, MAX_SYMBOLS) {
                    let Some(b) = model.index.block(hit.id) else {
                        continue;
                    };
                    let Some(loc) = texts.location(&model, hit.id.file, b.name_span(), &uris)
                    else {
                        continue;
                    };
                    all.push((
                        hit.score,
                        WorkspaceSymbol {
                            name: hit.name,
                            kind: hit.kind,
                            tags: None,
                            container_name: Some(match hit.title {
                                Some(t) => format!("{} — {t}", hit.module),
                                None => hit.module,
                            }),
                            location: OneOf::Left(loc),
                            data: None,
                        },
                    ));
                }
            }
            all.sort_by_key(|a| std::cmp::Reverse(a.0));
            all.truncate(MAX_SYMBOLS);
            Some(WorkspaceSymbolResponse::Nested(
                all.into_iter().map(|(_, s)| s).collect(),
            ))
        })
        .await
    }

    async fn hover(&self, params: HoverParams) -> RpcResult<Option<Hover>> {
        let tdp = params.text_document_position_params;
        self.on_file(&tdp.text_document.uri, move |f, _| {
            // 1. What is there (index only), 2. resolve what the hover shows, with no lock
            // held, 3. write it.
            let (target, keys, range) = {
                let model = f.project.shared.model();
                let file = model.index.file_by_path(&f.rel)?;
                let lines = Lines::new(f.project.read(&f.rel)?);
                let offset = lines.offset(tdp.position) as u32;
                let hit = analysis::at(&model.index, file, offset)?;
                let target = hit.target?;
                let keys: Vec<ResourceKey> = hover::needs(&model, target)
                    .into_iter()
                    .map(|id| ResourceKey::of(&model.index, id))
                    .collect();
                // The range covers the cursor: on `var` of `var.x` or on a block's type, the
                // name the hit is about lies further on.
                (
                    target,
                    keys,
                    lines.range(
                        hit.span.start.min(offset) as usize,
                        hit.span.end.max(offset) as usize,
                    ),
                )
            };
            let resolved = Backend::resolve_now(&f.project, keys);
            let model = f.project.shared.model();
            let md = hover::render(&model, &f.project.shared.resolver, target, &resolved)?;
            Some(Hover {
                contents: HoverContents::Markup(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: md,
                }),
                range: Some(range),
            })
        })
        .await
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> RpcResult<Option<GotoDefinitionResponse>> {
        let tdp = params.text_document_position_params;
        self.on_file(&tdp.text_document.uri, move |f, uris| {
            let model = f.project.shared.model();
            let file = model.index.file_by_path(&f.rel)?;
            let mut texts = Texts::new(&f.project);
            let offset = texts.get(&f.rel)?.offset(tdp.position) as u32;
            let hit = analysis::at(&model.index, file, offset)?;
            let target = hit.target?;
            // Several definitions of one name (a duplicate): all of them.
            let ids: Vec<Target> = match (target, hit.reference) {
                (Target::Resource(_), Some(i)) => {
                    let r = model.index.file(file)?.index.refs.get(i as usize)?;
                    let all = model.index.resolve_ref(file, r);
                    if all.is_empty() {
                        vec![target]
                    } else {
                        all.into_iter().map(Target::Resource).collect()
                    }
                }
                _ => vec![target],
            };
            let locs: Vec<Location> = ids
                .into_iter()
                .filter_map(|t| {
                    let (fid, span) = analysis::declaration(&model.index, t)?;
                    texts.location(&model, fid, span, uris)
                })
                .collect();
            match locs.len() {
                0 => None,
                1 => locs.into_iter().next().map(GotoDefinitionResponse::Scalar),
                _ => Some(GotoDefinitionResponse::Array(locs)),
            }
        })
        .await
    }

    async fn references(&self, params: ReferenceParams) -> RpcResult<Option<Vec<Location>>> {
        let tdp = params.text_document_position;
        let include = params.context.include_declaration;
        self.on_file(&tdp.text_document.uri, move |f, uris| {
            let model = f.project.shared.model();
            let file = model.index.file_by_path(&f.rel)?;
            let mut texts = Texts::new(&f.project);
            let offset = texts.get(&f.rel)?.offset(tdp.position) as u32;
            let target = analysis::at(&model.index, file, offset)?.target?;
            let mut spans = analysis::references(&model.index, target);
            if include && let Some(d) = analysis::declaration(&model.index, target) {
                spans.insert(0, d);
            }
            Some(
                spans
                    .into_iter()
                    .filter_map(|(fid, span)| texts.location(&model, fid, span, uris))
                    .collect(),
            )
        })
        .await
    }

    async fn document_highlight(
        &self,
        params: DocumentHighlightParams,
    ) -> RpcResult<Option<Vec<DocumentHighlight>>> {
        let tdp = params.text_document_position_params;
        self.on_file(&tdp.text_document.uri, move |f, _| {
            let model = f.project.shared.model();
            let file = model.index.file_by_path(&f.rel)?;
            let lines = Lines::new(f.project.read(&f.rel)?);
            let offset = lines.offset(tdp.position) as u32;
            let target = analysis::at(&model.index, file, offset)?.target?;
            let mut out: Vec<DocumentHighlight> = analysis::references(&model.index, target)
                .into_iter()
                .filter(|(fid, _)| *fid == file)
                .map(|(_, s)| DocumentHighlight {
                    range: lines.range(s.start as usize, s.end as usize),
                    kind: Some(DocumentHighlightKind::READ),
                })
                .collect();
            if let Some((fid, s)) = analysis::declaration(&model.index, target)
                && fid == file
            {
                out.insert(
                    0,
                    DocumentHighlight {
                        range: lines.range(s.start as usize, s.end as usize),
                        kind: Some(DocumentHighlightKind::WRITE),
                    },
                );
            }
            Some(out)
        })
        .await
    }

    async fn completion(&self, params: CompletionParams) -> RpcResult<Option<CompletionResponse>> {
        let tdp = params.text_document_position;
        let caps = complete::Caps {
            snippets: self.caps().snippets,
        };
        self.on_file(&tdp.text_document.uri.clone(), move |f, _| {
            let model = f.project.shared.model();
            let file = model.index.file_by_path(&f.rel)?;
            let lines = Lines::new(f.project.read(&f.rel)?);
            let offset = lines.offset(tdp.position);
            let tag_keys = || f.project.tag_keys(&model);
            complete::complete(
                &model.index,
                file,
                &lines,
                offset,
                caps,
                &tag_keys,
                tdp.text_document.uri.as_str(),
            )
        })
        .await
    }

    async fn completion_resolve(&self, mut item: CompletionItem) -> RpcResult<CompletionItem> {
        let Some(data) = item.data.clone() else {
            return Ok(item);
        };
        let (Some(uri), Some(name)) = (
            data.get("uri")
                .and_then(|u| u.as_str())
                .and_then(|u| u.parse::<Uri>().ok()),
            data.get("name")
                .and_then(|n| n.as_str())
                .map(str::to_string),
        ) else {
            return Ok(item);
        };
        let doc = self
            .on_file(&uri, move |f, _| {
                let model = f.project.shared.model();
                let id = model.index.lookup_qualified(&name)?;
                hover::render(
                    &model,
                    &f.project.shared.resolver,
                    Target::Resource(id),
                    &[],
                )
            })
            .await?;
        if let Some(md) = doc {
            item.documentation = Some(Documentation::MarkupContent(MarkupContent {
                kind: MarkupKind::Markdown,
                value: md,
            }));
        }
        Ok(item)
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> RpcResult<Option<PrepareRenameResponse>> {
        let res = self
            .on_file(&params.text_document.uri, move |f, _| {
                let model = f.project.shared.model();
                let file = model.index.file_by_path(&f.rel)?;
                let lines = Lines::new(f.project.read(&f.rel)?);
                let offset = lines.offset(params.position) as u32;
                let hit = analysis::at(&model.index, file, offset)?;
                Some(match renameable(&model, hit.target) {
                    Ok(_) => Ok(PrepareRenameResponse::Range(
                        lines.range(hit.span.start as usize, hit.span.end as usize),
                    )),
                    Err(why) => Err(why),
                })
            })
            .await?;
        match res {
            Some(Ok(r)) => Ok(Some(r)),
            Some(Err(why)) => Err(invalid(why)),
            None => Ok(None),
        }
    }

    async fn rename(&self, params: RenameParams) -> RpcResult<Option<WorkspaceEdit>> {
        let tdp = params.text_document_position;
        let new_name = params.new_name;
        if !analysis::is_identifier(&new_name) {
            return Err(invalid(format!(
                "`{new_name}` is not a valid name (letters, digits, `_` and `-`, not starting with a digit)"
            )));
        }
        let res = self
            .on_file(&tdp.text_document.uri, move |f, uris| {
                let model = f.project.shared.model();
                let file = model.index.file_by_path(&f.rel)?;
                let mut texts = Texts::new(&f.project);
                let offset = texts.get(&f.rel)?.offset(tdp.position) as u32;
                let hit = analysis::at(&model.index, file, offset)?;
                Some(rename_edits(
                    &model, &f.project, &mut texts, hit.target, &new_name, uris,
                ))
            })
            .await?;
        match res {
            Some(Ok(edit)) => match self.dropped_doc_in(&edit) {
                Some(name) => Err(request_failed(format!(
                    "modlens lost track of your changes to {name}, so its edits could land in \
                     the wrong place; save it (or close and reopen it) and rename again"
                ))),
                None => Ok(Some(edit)),
            },
            Some(Err(why)) => Err(invalid(why)),
            None => Ok(None),
        }
    }

    async fn code_lens(&self, params: CodeLensParams) -> RpcResult<Option<Vec<CodeLens>>> {
        let uri = params.text_document.uri;
        let key = uri.as_str().to_string();
        self.on_file(&uri, move |f, _| {
            let model = f.project.shared.model();
            let file = model.index.file_by_path(&f.rel)?;
            let lines = Lines::new(f.project.read(&f.rel)?);
            Some(features::code_lenses(&model, file, &lines, &key))
        })
        .await
    }

    async fn code_action(&self, params: CodeActionParams) -> RpcResult<Option<CodeActionResponse>> {
        // `only` filters by kind prefix: `quickfix` (or a parent kind) asks for these.
        if let Some(only) = &params.context.only
            && !only.iter().any(|k| {
                let k = k.as_str();
                k.is_empty() || k == "quickfix" || k.starts_with("quickfix.")
            })
        {
            return Ok(None);
        }
        let caps = actions::Caps {
            create_files: self.caps().create_files,
        };
        let uri = params.text_document.uri.clone();
        let diagnostics = params.context.diagnostics;
        self.on_file(&uri, move |f, uris| {
            let model = f.project.shared.model();
            let file = model.index.file_by_path(&f.rel)?;
            let lines = Lines::new(f.project.read(&f.rel)?);
            let read = |rel: &str| f.project.read(rel);
            let uri_of = |rel: &str| uris.uri(&f.project, rel);
            let cx = actions::Context {
                model: &model,
                file,
                lines: &lines,
                uri: &params.text_document.uri,
                read: &read,
                uri_of: &uri_of,
                caps,
                names: &f.project.action_names,
            };
            let mut actions = actions::code_actions(&cx, &diagnostics);
            // An edit of a file that changed on disk since it was read would land in the
            // wrong place (the client applies it to the file as it is now).
            actions.retain(|a| match a {
                CodeActionOrCommand::CodeAction(CodeAction {
                    edit: Some(edit), ..
                }) => edited_uris(edit).into_iter().all(|u| {
                    u.to_file_path()
                        .and_then(|p| f.project.relative(&p))
                        .is_none_or(|rel| f.project.sources().unchanged_on_disk(&rel))
                }),
                _ => true,
            });
            Some(actions)
        })
        .await
        .map(|actions| {
            actions.map(|mut actions| {
                // Not one edit for a document whose text in the editor is unknown.
                actions.retain(|a| match a {
                    CodeActionOrCommand::CodeAction(a) => a
                        .edit
                        .as_ref()
                        .is_none_or(|e| self.dropped_doc_in(e).is_none()),
                    CodeActionOrCommand::Command(_) => true,
                });
                actions
            })
        })
    }

    async fn document_link(
        &self,
        params: DocumentLinkParams,
    ) -> RpcResult<Option<Vec<DocumentLink>>> {
        self.on_file(&params.text_document.uri, |f, _| {
            let model = f.project.shared.model();
            let file = model.index.file_by_path(&f.rel)?;
            let text = f.project.read(&f.rel)?;
            let lines = Lines::new(text.clone());
            Some(features::document_links(
                &model,
                file,
                &text,
                &lines,
                &f.project.root,
            ))
        })
        .await
    }

    async fn folding_range(
        &self,
        params: FoldingRangeParams,
    ) -> RpcResult<Option<Vec<FoldingRange>>> {
        self.on_file(&params.text_document.uri, |f, _| {
            let model = f.project.shared.model();
            let file = model.index.file_by_path(&f.rel)?;
            let lines = Lines::new(f.project.read(&f.rel)?);
            Some(features::folding_ranges(
                &model.index.file(file)?.index,
                &lines,
            ))
        })
        .await
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> RpcResult<Option<SemanticTokensResult>> {
        self.on_file(&params.text_document.uri, |f, _| {
            let model = f.project.shared.model();
            let file = model.index.file_by_path(&f.rel)?;
            let lines = Lines::new(f.project.read(&f.rel)?);
            let data = features::semantic_tokens(&model.index.file(file)?.index, &lines);
            Some(SemanticTokensResult::Tokens(SemanticTokens {
                result_id: None,
                data,
            }))
        })
        .await
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> RpcResult<Option<Vec<InlayHint>>> {
        let kinds = self.settings().inlay_hints;
        let range = params.range;
        let uri = params.text_document.uri;
        // Served at once, here, when everything it shows is at hand (the usual case): no
        // hand-over to a blocking thread, whose wake-up is most of the latency on a busy
        // machine. Otherwise on a blocking thread, computing what is missing.
        let t = Instant::now();
        let f = self.file(&uri).await?;
        if let Some(hints) = self.hints_at_hand(&f, uri.as_str(), range, kinds) {
            tracing::debug!(
                what = "InlayHint (at hand)",
                total_us = t.elapsed().as_micros() as u64,
                "answered"
            );
            return Ok(Some(hints));
        }
        self.on_file(&uri, move |f, _| {
            let model = f.project.shared.model();
            let file = model.index.file_by_path(&f.rel)?;
            let lines = Lines::new(f.project.read(&f.rel)?);
            let span = (
                lines.offset(range.start) as u32,
                lines.offset(range.end) as u32,
            );
            let hints = hints::inlay_hints(
                &model,
                &f.project.shared.resolver,
                file,
                &lines,
                span,
                kinds,
                hints::Eval::Compute,
            );
            hints.filter(|_| !cancel::requested())
        })
        .await
    }

    async fn signature_help(
        &self,
        params: SignatureHelpParams,
    ) -> RpcResult<Option<SignatureHelp>> {
        let tdp = params.text_document_position_params;
        self.on_file(&tdp.text_document.uri, move |f, _| {
            let model = f.project.shared.model();
            let file = model.index.file_by_path(&f.rel)?;
            let lines = Lines::new(f.project.read(&f.rel)?);
            let offset = lines.offset(tdp.position);
            signature::signature_help(&model.index.file(file)?.index, lines.text(), offset)
        })
        .await
    }

    async fn prepare_call_hierarchy(
        &self,
        params: CallHierarchyPrepareParams,
    ) -> RpcResult<Option<Vec<CallHierarchyItem>>> {
        let tdp = params.text_document_position_params;
        self.on_file(&tdp.text_document.uri, move |f, uris| {
            let model = f.project.shared.model();
            let file = model.index.file_by_path(&f.rel)?;
            let mut texts = Texts::new(&f.project);
            let offset = texts.get(&f.rel)?.offset(tdp.position) as u32;
            let id = calls::at(&model.index, file, offset)?;
            let item = calls::item(&model, &f.project.shared.resolver, &mut texts, uris, id)?;
            Some(vec![item])
        })
        .await
    }

    async fn incoming_calls(
        &self,
        params: CallHierarchyIncomingCallsParams,
    ) -> RpcResult<Option<Vec<CallHierarchyIncomingCall>>> {
        self.calls_of(params.item, |model, resolver, texts, uris, id| {
            calls::incoming(&model.index, id)
                .into_iter()
                .filter_map(|(from, spans)| {
                    Some(CallHierarchyIncomingCall {
                        from: calls::item(model, resolver, texts, uris, from)?,
                        from_ranges: calls::ranges(model, texts, &spans),
                    })
                })
                .collect()
        })
        .await
    }

    async fn outgoing_calls(
        &self,
        params: CallHierarchyOutgoingCallsParams,
    ) -> RpcResult<Option<Vec<CallHierarchyOutgoingCall>>> {
        self.calls_of(params.item, |model, resolver, texts, uris, id| {
            calls::outgoing(&model.index, id)
                .into_iter()
                .filter_map(|(to, spans)| {
                    Some(CallHierarchyOutgoingCall {
                        to: calls::item(model, resolver, texts, uris, to)?,
                        from_ranges: calls::ranges(model, texts, &spans),
                    })
                })
                .collect()
        })
        .await
    }
}

/// Whether a target can be renamed: a named resource, variable or local of the workspace's
/// own mods (an installed dependency is not edited), not a nested component or a member.
fn renameable(model: &Model, target: Option<Target>) -> Result<ResourceId, String> {
    let index = &model.index;
    let Some(Target::Resource(id)) = target else {
        return Err("only resources, variables and locals can be renamed".to_string());
    };
    let b = index.block(id).ok_or("no such block")?;
    if b.anonymous {
        return Err("an anonymous block has no name to rename".to_string());
    }
    if b.parent.is_some() && b.role != crate::syntax::BlockRole::Local {
        return Err("a nested block's name is local to its dashboard".to_string());
    }
    let module = index.mod_of(id).and_then(|m| index.module(m));
    if module.is_some_and(|m| m.dependency) {
        return Err("this is in an installed dependency mod, which is not edited".to_string());
    }
    if index.kind_of(id) == Some("mod") {
        return Err("renaming a mod is not supported".to_string());
    }
    Ok(id)
}

/// The documents whose text `edit` changes (not the files it creates, renames or deletes).
fn edited_uris(edit: &WorkspaceEdit) -> Vec<&Uri> {
    let mut uris: Vec<&Uri> = edit.changes.iter().flat_map(|c| c.keys()).collect();
    match &edit.document_changes {
        Some(DocumentChanges::Edits(edits)) => {
            uris.extend(edits.iter().map(|e| &e.text_document.uri));
        }
        Some(DocumentChanges::Operations(ops)) => {
            uris.extend(ops.iter().filter_map(|op| match op {
                DocumentChangeOperation::Edit(e) => Some(&e.text_document.uri),
                DocumentChangeOperation::Op(_) => None,
            }));
        }
        None => {}
    }
    uris
}

fn rename_edits(
    model: &Model,
    project: &Project,
    texts: &mut Texts<'_>,
    target: Option<Target>,
    new_name: &str,
    uris: &DocUris,
) -> Result<WorkspaceEdit, String> {
    let index = &model.index;
    let id = renameable(model, target)?;
    let kind = index.kind_of(id).unwrap_or("");
    let module = index.mod_of(id).unwrap_or(crate::index::ModId(0));
    let ref_kind = crate::index::reference_kind(kind);
    if !index.lookup(module, ref_kind, new_name).is_empty() {
        return Err(format!("`{ref_kind}.{new_name}` already exists"));
    }
    let mut spans =
        vec![analysis::declaration(index, Target::Resource(id)).ok_or("no declaration")?];
    spans.extend(analysis::references(index, Target::Resource(id)));
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    // Every file edited, checked below against the disk.
    let mut edited: BTreeSet<String> = BTreeSet::new();
    let unreadable = |path: &str| {
        format!(
            "{path} cannot be read as modlens indexed it (it changed on disk?); try again in a moment"
        )
    };
    for (fid, span) in spans {
        let path = index.file(fid).map(|f| f.path.clone()).unwrap_or_default();
        let Some(loc) = texts.location(model, fid, span, uris) else {
            // A partial rename leaves references to a name that is gone.
            return Err(unreadable(&path));
        };
        edited.insert(path);
        changes.entry(loc.uri).or_default().push(TextEdit {
            range: loc.range,
            new_text: new_name.to_string(),
        });
    }
    // A variable is also set by name in variable files.
    if kind == "variable" {
        let old = index
            .name_of(id)
            .map(|n| n.into_owned())
            .unwrap_or_default();
        for (fid, f) in index.files() {
            if f.module != module || !f.path.ends_with("vars") {
                continue;
            }
            let Some(lines) = texts.get(&f.path) else {
                return Err(unreadable(&f.path));
            };
            let Ok(src) = std::str::from_utf8(lines.text()) else {
                continue;
            };
            let Ok(body) = hcl::edit::parser::parse_body(src) else {
                continue;
            };
            for a in body.attributes() {
                use hcl::edit::Span as _;
                if a.key.as_str() == old
                    && let Some(s) = a.key.span()
                {
                    let range = lines.range(s.start, s.end);
                    if let Some(uri) = uris.uri(project, &f.path) {
                        edited.insert(f.path.clone());
                        changes.entry(uri).or_default().push(TextEdit {
                            range,
                            new_text: new_name.to_string(),
                        });
                    }
                }
            }
            let _ = fid;
        }
    }
    // The client applies the edits to each file as it is now: a file that changed on disk
    // since it was read would get them in the wrong places.
    if let Some(path) = edited
        .iter()
        .find(|p| !project.sources().unchanged_on_disk(p))
    {
        return Err(format!(
            "{path} changed on disk since modlens read it; rename again in a moment"
        ));
    }
    for edits in changes.values_mut() {
        edits.sort_by_key(|e| (e.range.start.line, e.range.start.character));
        edits.dedup_by(|a, b| a.range == b.range);
    }
    Ok(WorkspaceEdit {
        changes: Some(changes),
        document_changes: None,
        change_annotations: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn background_work_runs_idle_on_its_own_thread_and_the_pool_stays_normal() {
        // SAFETY: reads the calling thread's own policy.
        let policy = || unsafe { libc::sched_getscheduler(0) };
        let config = crate::load::Config {
            background_nice: 10,
            idle_policy: true,
            ..Default::default()
        };
        let permitted = std::thread::spawn(|| {
            crate::load::scheduler::lower_priority(10) && crate::load::scheduler::idle_policy(true)
        })
        .join()
        .unwrap_or(false);
        let (name, there) = in_background(&config, move || {
            (std::thread::current().name().map(str::to_string), policy())
        })
        .await
        .expect("ran");
        assert_eq!(name.as_deref(), Some("modlens-sweep"));
        // Where the system refuses (not Linux's rules), the work still runs, at its priority.
        let expected = if permitted {
            libc::SCHED_IDLE
        } else {
            libc::SCHED_OTHER
        };
        assert_eq!(there, expected);
        // Requests' threads are untouched.
        for _ in 0..4 {
            assert_eq!(blocking(policy).await.expect("ran"), libc::SCHED_OTHER);
        }
        assert_eq!(policy(), libc::SCHED_OTHER);
    }
}
