//! Helpers shared by the resolve tests: open a fixture (or any folder) ready to resolve.
#![allow(dead_code)]

pub mod lsp;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use modlens::cache::Limits;
use modlens::resolve::{Model, Resolver, ValueInputs};
use modlens::workspace::{self, DiskSources, Workspace};

/// A fresh folder for one test, removed with what it holds when the test drops it; it
/// derefs to its path, so `dir.join(..)` and `&dir` work as on a `PathBuf`.
pub struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.0.path()
    }
}

/// A fresh folder named `modlens-<tag>-<random>` in the system's temporary folder.
pub fn scratch(tag: &str) -> Scratch {
    Scratch(
        tempfile::Builder::new()
            .prefix(&format!("modlens-{tag}-"))
            .tempdir()
            .expect("temp dir"),
    )
}

/// A workspace ready to resolve.
pub struct Opened {
    pub ws: Workspace,
    pub model: Model,
    pub resolver: Resolver,
    pub sources: Arc<DiskSources>,
}

impl Opened {
    /// The sources as the model takes them.
    pub fn dyn_sources(&self) -> Arc<dyn modlens::resolve::Sources> {
        self.sources.clone()
    }
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Every fixture folder, sorted.
pub fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures folder is part of the repository")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

pub fn open(dir: &Path, inputs: &ValueInputs, limits: Limits) -> Opened {
    let ws = workspace::discover(dir).expect("the folder is a workspace");
    let (index, _) = workspace::load(&ws);
    let sources = Arc::new(DiskSources::new(ws.root.clone(), 1 << 22));
    let shared: Arc<dyn modlens::resolve::Sources> = sources.clone();
    let resolver = Resolver::new(shared.clone(), limits);
    let model = Model::new(index, &shared, inputs);
    Opened {
        ws,
        model,
        resolver,
        sources,
    }
}

pub fn open_fixture(name: &str) -> Opened {
    open(&fixture(name), &ValueInputs::default(), Limits::default())
}

/// `file:line:col: severity: message` for every diagnostic of the index, the model and
/// every resolved resource, sorted: what `modlens check` prints.
pub fn check(o: &Opened) -> Vec<String> {
    let index = &o.model.index;
    let mut out: Vec<(String, u32, String)> = Vec::new();
    let line = |file: &str, d: &modlens::syntax::Diagnostic| {
        (
            file.to_string(),
            d.start.byte,
            format!(
                "{file}:{}:{}: {}: {}",
                d.start.line,
                d.start.column,
                d.severity.as_str(),
                d.message
            ),
        )
    };
    for (f, d) in index.diagnostics() {
        let path = index.file(f).map(|f| f.path.clone()).unwrap_or_default();
        out.push(line(&path, &d));
    }
    o.model.values.force(index);
    for fd in o.model.diagnostics() {
        out.push(line(&fd.file, &fd.diagnostic));
    }
    let ids: Vec<_> = index.resources().collect();
    for id in ids {
        let r = o.resolver.resolve(&o.model, id);
        for d in &r.diagnostics {
            out.push(line(&r.file, d));
        }
    }
    out.sort();
    out.dedup();
    out.into_iter().map(|(_, _, l)| l).collect()
}

/// Copies the folder `from` to `to` (created), symbolic links as links.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("readable").flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        let t = e.file_type().expect("file type");
        if t.is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(std::fs::read_link(&p).expect("link"), &dest).expect("link");
        } else if t.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}

/// Runs the `modlens` binary from the repository root.
pub fn modlens(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_modlens"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the modlens binary runs")
}

/// Bytes of a process's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
