//! Subcommands, argument parsing (clap) and output. Exit codes: 0 ok, 1 diagnostics of error
//! severity, 2 usage or I/O failure.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use modlens::cache::Limits;
use modlens::index::tree::TreeNode;
use modlens::index::{Index, ResourceId, dump};
use modlens::resolve::{Model, Resolver, ValueInputs, VarFile};
use modlens::syntax::Severity;
use modlens::workspace::{self, DiskSources, Workspace};

use crate::alloc;

/// modlens: index and serve Powerpipe / Steampipe mod workspaces.
#[derive(Parser, Debug)]
#[command(name = "modlens", version, about)]
struct Cli {
    /// Worker threads for scanning and resolving (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Set a variable: `--var name=value` (`--var dep.name=value` for a dependency mod's);
    /// repeatable, later ones win.
    #[arg(long = "var", value_name = "NAME=VALUE", global = true, value_parser = var_option)]
    vars: Vec<String>,
    /// Read variable values from a file (`.ppvars` syntax); repeatable, later ones win.
    #[arg(long = "var-file", value_name = "FILE", global = true)]
    var_files: Vec<PathBuf>,
    /// Most resolved resources kept in the cache.
    #[arg(long, global = true, default_value_t = Limits::default().max_entries)]
    cache_entries: usize,
    /// Most megabytes of resolved resources kept in the cache.
    #[arg(long, global = true, default_value_t = Limits::default().max_bytes / (1024 * 1024))]
    cache_mb: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Index a mod workspace and print the JSON dump (format 2).
    Index {
        /// The mod folder (or any folder or file inside it).
        dir: PathBuf,
        /// Index only: nothing is evaluated or resolved; literal titles, descriptions and
        /// tags are shown, any other as its expression (`title_expr`, ...).
        #[arg(long)]
        index_only: bool,
        /// Print figures (files, bytes, resources by type, time, heap) instead of the dump.
        #[arg(long)]
        stats: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Json)]
        output: Output,
    },
    /// List the resources of one type (`control`, `benchmark`, `dashboard`, ...).
    List {
        /// The resource type.
        kind: String,
        /// The mod folder.
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
    /// Print a benchmark's or dashboard's hierarchy.
    Tree {
        /// The mod folder.
        dir: PathBuf,
        /// `type.name` or `mod.type.name`.
        resource: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
    /// Print one resolved resource: title, description, tags, rendered SQL, params, children.
    Show {
        /// The mod folder.
        dir: PathBuf,
        /// `type.name` or `mod.type.name` (`var.x`, `local.x` too).
        resource: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
    /// Resolve every resource and print every diagnostic; exit 1 if any is an error.
    Check {
        /// The mod folder.
        dir: PathBuf,
        /// Also print timings, cache figures and heap use.
        #[arg(long)]
        stats: bool,
        /// Output format (of `--stats` and the diagnostics list); `github`: one GitHub
        /// Actions annotation (`::error file=…,line=…,col=…::message`) per diagnostic.
        #[arg(long, value_enum, default_value_t = CheckOutput::Human)]
        output: CheckOutput,
    },
    /// Load everything in the background as the language server does, and print the
    /// scheduler's and the cache's figures.
    Stats {
        /// The mod folder.
        dir: PathBuf,
        /// Worker threads (default: cores - 1, at least 1).
        #[arg(long)]
        workers: Option<usize>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
    /// Print the dashboards payload (Powerpipe's `available_dashboards` message): every
    /// dashboard and benchmark with title, tags and the benchmark tree, from the index.
    Dashboards {
        /// The mod folder.
        dir: PathBuf,
        /// Output format (`human`: dashboards, then benchmark trees).
        #[arg(long, value_enum, default_value_t = Output::Json)]
        output: Output,
    },
    /// Print a shell completion script (`modlens completions bash > …`).
    Completions {
        /// The shell.
        shell: Shell,
    },
    /// Serve the Language Server Protocol on stdin/stdout (for editors). Logs go to stderr,
    /// or to `--log-file`; the level comes from `MODLENS_LOG`, `--log-level` or the
    /// client's `logLevel` setting.
    Lsp {
        /// Accepted for editors that pass it; stdio is the only transport.
        #[arg(long)]
        stdio: bool,
        /// Append logs to this file instead of stderr.
        #[arg(long, value_name = "FILE")]
        log_file: Option<PathBuf>,
        /// Log filter (`error`, `warn`, `info`, `debug`, `trace`, or a `tracing` filter).
        #[arg(long, value_name = "FILTER")]
        log_level: Option<String>,
    },
    /// Rewrite mod files in HCL's canonical format (what `terraform fmt` writes): each PATH
    /// is a file, a folder (its mod files, below it too) or `-` (standard input to standard
    /// output); none means the current folder. Prints the files it changes. Exit 1 if a file
    /// has a syntax error (it is left alone) or, with `--check`, would change.
    Fmt {
        /// Write nothing; list the files that would change and exit 1 if there are any.
        #[arg(long)]
        check: bool,
        /// Print a unified diff of each change (with `--check` too).
        #[arg(long)]
        diff: bool,
        /// Files, folders, or `-`.
        paths: Vec<PathBuf>,
    },
    /// Write a generated mod of about SIZE x 1,000 resources (for tests and benchmarks).
    Generate {
        /// Thousands of resources (decimals allowed: 0.1 is 100 resources).
        #[arg(long)]
        size: f64,
        /// Seed for the generator; the same size and seed give the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output folder (must not exist or be empty).
        out: PathBuf,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    Human,
    Json,
}

/// `check`'s output formats.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CheckOutput {
    Human,
    Json,
    /// GitHub Actions workflow commands, one per diagnostic.
    Github,
}

/// The shells `completions` writes a script for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    if let Command::Lsp {
        log_file,
        log_level,
        ..
    } = &cli.command
    {
        return match lsp(log_file.as_deref(), log_level.as_deref()) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("modlens: error: {e:#}");
                2
            }
        };
    }
    init_tracing();
    match run(cli) {
        Ok(code) => code,
        // The reader went away (`modlens index . | head`): nothing to say.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            0
        }
        Err(e) => {
            eprintln!("modlens: error: {e:#}");
            2
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MODLENS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `modlens lsp`: tracing to stderr or a file, with a filter the client's settings can
/// change, then the server until the client says `exit`. The exit code is 0 after
/// `shutdown`, 1 without.
fn lsp(log_file: Option<&Path>, log_level: Option<&str>) -> Result<i32> {
    use tracing_subscriber::prelude::*;
    let initial = log_level
        .map(str::to_string)
        .or_else(|| std::env::var("MODLENS_LOG").ok())
        .unwrap_or_else(|| "warn".to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(&initial)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let (filter, handle) = tracing_subscriber::reload::Layer::new(filter);
    let writer: tracing_subscriber::fmt::writer::BoxMakeWriter = match log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the log file {}", path.display()))?;
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::sync::Mutex::new(file))
        }
        None => tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false),
        )
        .try_init();
    let control: modlens::lsp::LogControl = std::sync::Arc::new(move |level: &str| {
        match tracing_subscriber::EnvFilter::try_new(level) {
            Ok(f) => handle.reload(f).is_ok(),
            Err(_) => false,
        }
    });
    let ending = modlens::lsp::run_stdio(modlens::lsp::Options {
        log_control: Some(control),
        ..Default::default()
    })
    .context("the language server stopped")?;
    Ok(ending.exit_code())
}

fn run(cli: Cli) -> Result<i32> {
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("cannot start the worker threads")?;
    }
    let opts = Options {
        inputs: inputs(&cli.vars, &cli.var_files)?,
        limits: Limits {
            max_entries: cli.cache_entries.max(1),
            max_bytes: cli.cache_mb.max(1).saturating_mul(1024 * 1024),
        },
    };
    match cli.command {
        Command::Index {
            dir,
            index_only,
            stats,
            output,
        } => index(&dir, &opts, index_only, stats, output),
        Command::List { kind, dir, output } => list(&kind, &dir, &opts, output),
        Command::Tree {
            dir,
            resource,
            output,
        } => tree(&dir, &resource, &opts, output),
        Command::Show {
            dir,
            resource,
            output,
        } => crate::show::show(&dir, &resource, &opts, output),
        Command::Check { dir, stats, output } => crate::show::check(&dir, &opts, stats, output),
        Command::Stats {
            dir,
            workers,
            output,
        } => crate::show::stats(&dir, &opts, workers, output),
        Command::Dashboards { dir, output } => dashboards(&dir, &opts, output),
        Command::Completions { shell } => completions(shell),
        Command::Generate { size, seed, out } => generate(size, seed, &out),
        Command::Fmt { check, diff, paths } => {
            crate::formatting::fmt(&crate::formatting::FmtArgs { check, diff, paths })
        }
        // Handled before tracing is set up (it needs a filter it can change).
        Command::Lsp { .. } => Ok(0),
    }
}

/// What every command that evaluates needs.
pub(crate) struct Options {
    pub(crate) inputs: ValueInputs,
    pub(crate) limits: Limits,
}

/// A `--var` option as written, once it is `name=value` with a name: anything else is a usage
/// error (exit 2, with the usage), not a diagnostic of the mod.
fn var_option(v: &str) -> std::result::Result<String, String> {
    match v.split_once('=') {
        Some((name, _)) if !name.trim().is_empty() => Ok(v.to_string()),
        _ => Err(format!(
            "{v:?} is not name=value: write it as --var name=value"
        )),
    }
}

/// The environment and the `--var`/`--var-file` options as the resolver takes them.
fn inputs(vars: &[String], var_files: &[PathBuf]) -> Result<ValueInputs> {
    let mut files = Vec::new();
    for f in var_files {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read the --var-file {}", f.display()))?;
        files.push(VarFile {
            name: f.display().to_string(),
            text,
        });
    }
    Ok(ValueInputs {
        env: std::env::vars()
            .filter(|(k, _)| k.starts_with("PP_VAR_") || k.starts_with("SP_VAR_"))
            .collect(),
        var_files: files,
        vars: vars.to_vec(),
    })
}

/// A loaded workspace with the figures of its load.
pub(crate) struct Loaded {
    pub(crate) ws: Workspace,
    pub(crate) index: Index,
    pub(crate) stats: workspace::LoadStats,
    pub(crate) basis: workspace::Basis,
    pub(crate) discover_ms: f64,
    pub(crate) load_ms: f64,
    pub(crate) allocated_during_load: usize,
}

pub(crate) fn load(dir: &Path) -> Result<Loaded> {
    load_how(dir, How::Plain)
}

/// What a CLI load keeps besides the index.
#[derive(Clone, Copy, PartialEq)]
enum How {
    Plain,
    /// Each file's fingerprint ([`workspace::load_with_basis`]).
    Basis,
    /// The fingerprints and the text a dump shows ([`workspace::load_with_text`]).
    Text,
    /// The fingerprints, the text the index-only dump shows and only the references it
    /// follows ([`workspace::load_for_dump`]).
    Dump,
}

/// Loads, keeping what `how` says.
fn load_how(dir: &Path, how: How) -> Result<Loaded> {
    let t0 = Instant::now();
    let ws = workspace::discover(dir)?;
    let discover_ms = t0.elapsed().as_secs_f64() * 1e3;
    let before = alloc::snapshot();
    let t1 = Instant::now();
    let (index, stats, basis) = match how {
        How::Basis => workspace::load_with_basis(&ws),
        How::Text => workspace::load_with_text(&ws),
        How::Dump => workspace::load_for_dump(&ws),
        How::Plain => {
            let (index, stats) = workspace::load(&ws);
            (index, stats, workspace::Basis::default())
        }
    };
    let load_ms = t1.elapsed().as_secs_f64() * 1e3;
    let allocated_during_load = alloc::snapshot().total - before.total;
    Ok(Loaded {
        ws,
        index,
        stats,
        basis,
        discover_ms,
        load_ms,
        allocated_during_load,
    })
}

/// A workspace ready to resolve: the model (index, dependencies, values) and a resolver.
pub(crate) struct Resolving {
    pub(crate) ws: Workspace,
    pub(crate) model: Model,
    pub(crate) resolver: Resolver,
    pub(crate) load: Loaded,
    pub(crate) values_ms: f64,
}

pub(crate) fn open(dir: &Path, opts: &Options) -> Result<Resolving> {
    open_with(dir, opts, true)
}

/// Opens a workspace; `force`: evaluate every variable and local now (the commands that
/// print every diagnostic), else on first need (the background load).
pub(crate) fn open_with(dir: &Path, opts: &Options, force: bool) -> Result<Resolving> {
    open_how(dir, opts, force, How::Basis)
}

/// [`open_with`], the load keeping what `how` says.
fn open_how(dir: &Path, opts: &Options, force: bool, how: How) -> Result<Resolving> {
    let mut l = load_how(dir, how)?;
    let t = Instant::now();
    let sources: std::sync::Arc<dyn modlens::resolve::Sources> =
        std::sync::Arc::new(DiskSources::with_basis(
            l.ws.root.clone(),
            workspace::source_cache_bytes(&opts.limits),
            std::mem::take(&mut l.basis),
        ));
    let resolver = Resolver::new(sources.clone(), opts.limits);
    let index = std::mem::take(&mut l.index);
    let model = Model::new(index, &sources, &opts.inputs);
    if force {
        model.values.force(&model.index);
    }
    let values_ms = t.elapsed().as_secs_f64() * 1e3;
    Ok(Resolving {
        ws: l.ws.clone(),
        model,
        resolver,
        load: l,
        values_ms,
    })
}

/// One diagnostic line for stderr.
pub(crate) struct Line {
    pub(crate) file: String,
    pub(crate) severity: Severity,
    pub(crate) line: u32,
    pub(crate) column: u32,
    pub(crate) byte: u32,
    pub(crate) message: String,
}

/// The index's diagnostics and those of dependencies and values, sorted.
pub(crate) fn model_diagnostics(r: &Resolving) -> Vec<Line> {
    model_lines(&r.model)
}

/// The index's diagnostics and those of the model's dependencies and values, sorted.
pub(crate) fn model_lines(model: &Model) -> Vec<Line> {
    let mut out = index_lines(&model.index);
    out.extend(
        model
            .diagnostics()
            .into_iter()
            .map(|fd| Line::new(&fd.file, &fd.diagnostic)),
    );
    sort_lines(&mut out);
    out
}

impl Line {
    /// A line for a diagnostic of `file`.
    pub(crate) fn new(file: &str, d: &modlens::syntax::Diagnostic) -> Line {
        Line {
            file: file.to_string(),
            severity: d.severity,
            line: d.start.line,
            column: d.start.column,
            byte: d.start.byte,
            message: d.message.clone(),
        }
    }
}

pub(crate) fn sort_lines(lines: &mut Vec<Line>) {
    lines.sort_by(|a, b| (&a.file, a.byte, &a.message).cmp(&(&b.file, b.byte, &b.message)));
    lines.dedup_by(|a, b| a.file == b.file && a.byte == b.byte && a.message == b.message);
}

/// Prints diagnostics as `file:line:col: severity: message` on stderr; returns true if any
/// is an error.
pub(crate) fn print_lines(lines: &[Line]) -> bool {
    let mut stderr = std::io::stderr().lock();
    let mut errors = false;
    for d in lines {
        errors |= d.severity == Severity::Error;
        let _ = writeln!(
            stderr,
            "{}:{}:{}: {}: {}",
            d.file,
            d.line,
            d.column,
            d.severity.as_str(),
            d.message
        );
    }
    errors
}

/// Reads evaluated titles, descriptions and tags for the outputs built from the index (the
/// dump, lists, trees, the dashboards payload), keeping every field that fails to evaluate:
/// they are errors there as in `check`.
pub(crate) struct FieldReader<'r> {
    r: &'r Resolving,
    errors: std::sync::Mutex<Vec<Line>>,
}

impl<'r> FieldReader<'r> {
    pub(crate) fn new(r: &'r Resolving) -> FieldReader<'r> {
        FieldReader {
            r,
            errors: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// One field, as [`modlens::index::dump::FieldReader`] wants it.
    pub(crate) fn read(
        &self,
        id: ResourceId,
        key: modlens::syntax::AttrKey,
    ) -> Option<modlens::index::dump::FieldText> {
        // A literal is what the index holds, and a field set nowhere is absent: the dump
        // writes them as `--index-only` does, with nothing evaluated or kept for them.
        let index = &self.r.model.index;
        if index.field_is_literal(id, key) || index.field_is_unset(id, key) {
            return None;
        }
        let (text, error) = self.r.resolver.dump_field_and_error(&self.r.model, id, key);
        if let Some(fd) = error {
            self.errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Line::new(&fd.file, &fd.diagnostic));
        }
        Some(text)
    }

    /// The model's diagnostics and the fields' errors met so far, sorted.
    pub(crate) fn lines(&self) -> Vec<Line> {
        let mut lines = model_diagnostics(self.r);
        lines.append(&mut self.errors.lock().unwrap_or_else(|p| p.into_inner()));
        sort_lines(&mut lines);
        lines
    }
}

/// The title of a resource as lists show it: evaluated, or its expression in parentheses.
pub(crate) fn title_of(fields: &FieldReader<'_>, id: ResourceId) -> Option<String> {
    let read = |id, key| fields.read(id, key);
    modlens::index::tree::title(&read, &fields.r.model.index, id)
}

pub(crate) fn exit_code(errors: bool) -> i32 {
    if errors { 1 } else { 0 }
}

/// Standard output, buffered: Rust's stdout is line-buffered, one `write` per line, which
/// made writing a large dump cost more than the whole load.
pub(crate) fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock())
}

pub(crate) fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let mut out = stdout();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

#[derive(Serialize)]
struct Stats {
    root: String,
    files: usize,
    bytes: u64,
    resources: usize,
    resources_by_type: BTreeMap<String, usize>,
    diagnostics: usize,
    discover_ms: f64,
    load_ms: f64,
    elapsed_ms: f64,
    mb_per_s: f64,
    index_heap_bytes: usize,
    index_heap_per_source_byte: f64,
    index_bytes_per_resource: f64,
    allocated_during_load_bytes: usize,
    allocated_per_source_byte: f64,
    live_heap_bytes: usize,
    peak_heap_bytes: usize,
    peak_rss_bytes: Option<u64>,
}

fn index(dir: &Path, opts: &Options, index_only: bool, stats: bool, output: Output) -> Result<i32> {
    if !stats && index_only {
        return index_only_dump(dir);
    }
    if !stats {
        return evaluated_dump(dir, opts);
    }
    let l = load(dir)?;
    let errors = print_lines(&index_lines(&l.index));
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    for r in l.index.resources() {
        *by_type
            .entry(l.index.kind_of(r).unwrap_or("?").to_string())
            .or_default() += 1;
    }
    let resources: usize = by_type.values().sum();
    let heap = l.index.heap_bytes();
    let bytes = l.stats.bytes.max(1) as f64;
    let snap = alloc::snapshot();
    let s = Stats {
        root: l.ws.root.display().to_string(),
        files: l.stats.files,
        bytes: l.stats.bytes,
        resources,
        resources_by_type: by_type,
        diagnostics: l.index.diagnostics().len(),
        discover_ms: l.discover_ms,
        load_ms: l.load_ms,
        elapsed_ms: l.discover_ms + l.load_ms,
        mb_per_s: l.stats.bytes as f64 / 1e6 / ((l.discover_ms + l.load_ms) / 1e3).max(1e-9),
        index_heap_bytes: heap,
        index_heap_per_source_byte: heap as f64 / bytes,
        index_bytes_per_resource: heap as f64 / resources.max(1) as f64,
        allocated_during_load_bytes: l.allocated_during_load,
        allocated_per_source_byte: l.allocated_during_load as f64 / bytes,
        live_heap_bytes: snap.live,
        peak_heap_bytes: snap.peak,
        peak_rss_bytes: peak_rss(),
    };
    match output {
        Output::Json => print_json(&s)?,
        Output::Human => {
            let mut out = crate::cli::stdout();
            writeln!(out, "root           {}", s.root)?;
            writeln!(out, "files          {}", s.files)?;
            writeln!(out, "bytes          {}", s.bytes)?;
            writeln!(out, "resources      {}", s.resources)?;
            for (k, n) in &s.resources_by_type {
                writeln!(out, "  {k:<20} {n}")?;
            }
            writeln!(out, "diagnostics    {}", s.diagnostics)?;
            writeln!(
                out,
                "elapsed        {:.1} ms (discover {:.1} ms, read+scan+merge {:.1} ms), {:.0} MB/s",
                s.elapsed_ms, s.discover_ms, s.load_ms, s.mb_per_s
            )?;
            writeln!(
                out,
                "index heap     {} bytes ({:.3}x source, {:.0} bytes/resource)",
                s.index_heap_bytes, s.index_heap_per_source_byte, s.index_bytes_per_resource
            )?;
            writeln!(
                out,
                "allocated      {} bytes during load ({:.3}x source)",
                s.allocated_during_load_bytes, s.allocated_per_source_byte
            )?;
            writeln!(
                out,
                "heap           {} live, {} peak",
                s.live_heap_bytes, s.peak_heap_bytes
            )?;
            if let Some(rss) = s.peak_rss_bytes {
                writeln!(out, "peak RSS       {rss} bytes")?;
            }
        }
    }
    leave(l);
    Ok(exit_code(errors))
}

/// `modlens index --index-only`: the dump from the index alone, written as it is produced.
/// No value is evaluated and no resource resolved. The load keeps in the index the text the
/// dump shows (`workspace::load_for_dump`), so no file is read back; were a field still held
/// as a span, its file would be read once, and only if it is still the text the index was
/// built from. The one thing
/// read besides the index is each mod's `require` list (its `mod` block), without which a
/// reference through a dependency of a dependency would be taken as a child.
fn index_only_dump(dir: &Path) -> Result<i32> {
    let mut l = load_how(dir, How::Dump)?;
    // No cache: only the mod files are read through it, once.
    let sources = DiskSources::with_basis(l.ws.root.clone(), 1, std::mem::take(&mut l.basis));
    let deps = modlens::resolve::Dependencies::compute(&l.index, &sources);
    l.index
        .set_requires(deps.requires_by_mod(l.index.mods().len()));
    let mut lines = index_lines(&l.index);
    lines.extend(
        deps.diagnostics
            .iter()
            .map(|fd| Line::new(&fd.file, &fd.diagnostic)),
    );
    sort_lines(&mut lines);
    let errors = print_lines(&lines);
    // Not called with an index that kept its text; else each file would be read back once,
    // from where the load read it, and used only if it is still the text the index was built
    // from.
    let files = &l.ws.files;
    let read = |rel: &str, buf: &mut Vec<u8>| {
        let Ok(at) = files.binary_search_by(|f| f.rel.as_str().cmp(rel)) else {
            return false;
        };
        sources
            .basis(rel)
            .is_some_and(|basis| workspace::read_again_into(&files[at].path, basis, buf))
    };
    let mut out = stdout();
    dump::write(
        &mut out,
        &l.index,
        &read,
        &dump::literal_fields,
        dump::WriteOptions {
            // Files read back and written on every thread, each into its own buffer, a few
            // ahead of the one going out; the buffers are written in order, so the bytes
            // are those of one thread.
            files_per_batch: batch_files(),
            progress: None,
        },
    )?;
    leave((l, sources));
    Ok(exit_code(errors))
}

/// `modlens index`: the dump with titles, descriptions and tags evaluated, in parallel over
/// batches of files (written in order, so the bytes do not depend on `--threads`).
fn evaluated_dump(dir: &Path, opts: &Options) -> Result<i32> {
    // The variables and locals no field uses are evaluated beside the dump (their
    // diagnostics are printed), not before it: fields evaluate what they use on demand, and
    // each value is computed once whichever thread asks first.
    // The index keeps the descriptions and the expressions' text: neither the writer nor
    // the resolver reads a file back for them.
    let r = open_how(dir, opts, false, How::Text)?;
    let reader = FieldReader::new(&r);
    let fields = |id, key| reader.read(id, key);
    // Text read back through the sources: only what the index was built from.
    let read = |rel: &str, buf: &mut Vec<u8>| {
        r.resolver
            .sources()
            .read(rel)
            .map(|t| buf.extend_from_slice(&t))
            .is_some()
    };
    let bar = progress_bar(r.model.index.resources().count() as u64, "evaluating");
    let tick = |n: u64| bar.inc(n);
    let mut out = stdout();
    beside_values(&r, || {
        dump::write(
            &mut out,
            &r.model.index,
            &read,
            &fields,
            dump::WriteOptions {
                files_per_batch: batch_files(),
                progress: Some(&tick),
            },
        )
    })
    .0?;
    bar.finish_and_clear();
    let errors = print_lines(&reader.lines());
    drop(reader);
    leave(r);
    Ok(exit_code(errors))
}

/// Runs `work` while every variable and local of a workspace opened without them
/// ([`open_with`], `force` false) is evaluated on a pool thread beside it, not before it on
/// one thread: `work` evaluates what it uses on demand, each value once, whichever thread
/// asks first. Afterwards every value is evaluated, so [`model_diagnostics`] lists all of
/// their diagnostics. Gives `work`'s result and the milliseconds the values took.
pub(crate) fn beside_values<R>(r: &Resolving, work: impl FnOnce() -> R) -> (R, f64) {
    let mut values_ms = 0.0;
    let result = rayon::in_place_scope(|scope| {
        scope.spawn(|_| {
            let t = Instant::now();
            r.model.values.force(&r.model.index);
            values_ms = t.elapsed().as_secs_f64() * 1e3;
        });
        work()
    });
    (result, values_ms)
}

/// Leaves `value` to the process's exit instead of freeing it piece by piece: a command's
/// last use of a large structure (a resolver's caches, an index), when freeing its many
/// small allocations one by one would be a noticeable part of the command's time. The
/// memory goes back to the system when the process exits right after.
pub(crate) fn leave<T>(value: T) {
    std::mem::forget(value);
}

/// Files whose resources a streamed dump builds at once, in parallel: a few per thread, so
/// that one large file does not leave the others idle, and few enough to hold.
fn batch_files() -> usize {
    (rayon::current_num_threads() * 4).max(2)
}

/// A progress bar on stderr for `len` steps of long work when stderr is a terminal; hidden
/// otherwise (piped, redirected) and for short work.
pub(crate) fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() || len < 2_000 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{spinner}} {what} {{pos}}/{{len}} {{wide_bar}} {{eta}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn index_lines(index: &Index) -> Vec<Line> {
    index
        .diagnostics()
        .into_iter()
        .map(|(file, d)| Line::new(index.file(file).map(|f| f.path.as_str()).unwrap_or(""), &d))
        .collect()
}

/// Peak resident set size from `/proc/self/status` (Linux); `None` elsewhere.
pub(crate) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[derive(Serialize)]
struct ListRow {
    qualified_name: String,
    name: String,
    title: Option<String>,
    file: String,
    line: u32,
    column: u32,
}

fn list(kind: &str, dir: &Path, opts: &Options, output: Output) -> Result<i32> {
    // `list` takes the type first, unlike `tree` and `show`: say so when they were swapped.
    let dir_missing =
        std::fs::metadata(dir).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
    let dir_is_a_word = dir.to_str().is_some_and(|d| {
        !d.is_empty() && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    if dir_missing && dir_is_a_word && Path::new(kind).is_dir() {
        bail!(
            "cannot open {}: no such folder (the type comes first: `modlens list {} {kind}`)",
            dir.display(),
            dir.display()
        );
    }
    let r = open(dir, opts)?;
    let reader = FieldReader::new(&r);
    let index = &r.model.index;
    let mut rows: Vec<ListRow> = index
        .resources_of_type(kind)
        .filter_map(|id| {
            let f = index.file(id.file)?;
            let b = f.index.block(id.block)?;
            Some(ListRow {
                qualified_name: index.qualified_name(id)?,
                name: index.name_of(id)?.to_string(),
                title: title_of(&reader, id),
                file: f.path.clone(),
                line: b.start.line,
                column: b.start.column,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        a.qualified_name
            .cmp(&b.qualified_name)
            .then(a.file.cmp(&b.file))
    });
    let errors = print_lines(&reader.lines());
    if rows.is_empty()
        && let Some(hint) = unknown_type_hint(index, kind)
    {
        eprintln!("modlens: warning: {hint}");
    }
    match output {
        Output::Json => print_json(&rows)?,
        Output::Human => {
            let mut out = crate::cli::stdout();
            let w_name = rows
                .iter()
                .map(|r| r.qualified_name.chars().count())
                .max()
                .unwrap_or(4)
                .max(4);
            let w_title = rows
                .iter()
                .map(|r| r.title.as_deref().unwrap_or("").chars().count().min(60))
                .max()
                .unwrap_or(5)
                .max(5);
            writeln!(out, "{:<w_name$}  {:<w_title$}  LOCATION", "NAME", "TITLE")?;
            for r in &rows {
                let title: String = r.title.as_deref().unwrap_or("").chars().take(60).collect();
                writeln!(
                    out,
                    "{:<w_name$}  {:<w_title$}  {}:{}",
                    r.qualified_name, title, r.file, r.line
                )?;
            }
        }
    }
    Ok(exit_code(errors))
}

/// For a type no resource of the workspace has: the types it does have, and the likely one
/// when the type was written as a plural (`controls`) or with another case.
fn unknown_type_hint(index: &Index, kind: &str) -> Option<String> {
    let kinds: BTreeSet<&str> = index
        .resources()
        .filter_map(|id| index.kind_of(id))
        .collect();
    if kinds.contains(kind) {
        return None;
    }
    if kinds.is_empty() {
        return Some(format!(
            "no resource of type `{kind}` here: the workspace has none"
        ));
    }
    let lower = kind.to_ascii_lowercase();
    let singular_ies = lower.strip_suffix("ies").map(|s| format!("{s}y"));
    let candidates = [
        Some(lower.clone()),
        lower.strip_suffix('s').map(str::to_string),
        singular_ies,
        // The reference spelling of a type (`var.x`, `local.x`).
        match lower.as_str() {
            "var" | "vars" => Some("variable".to_string()),
            "locals" => Some("local".to_string()),
            _ => None,
        },
    ];
    let near = candidates
        .into_iter()
        .flatten()
        .find(|k| k != kind && kinds.contains(k.as_str()));
    let present = kinds.iter().copied().collect::<Vec<_>>().join(", ");
    Some(match near {
        Some(k) => format!(
            "no resource of type `{kind}` here; did you mean `{k}`? (types here: {present})"
        ),
        None => format!("no resource of type `{kind}` here (types here: {present})"),
    })
}

/// A name from the command line as an error shows it: cut short past 120 characters.
pub(crate) fn shown(name: &str) -> String {
    match name.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &name[..at]),
        None => name.to_string(),
    }
}

/// When a name given on the command line fits several resources (inputs of the same name in
/// several dashboards), says on stderr which one is shown and how to name the others.
pub(crate) fn note_namesakes(index: &Index, id: ResourceId) {
    let others = index.namesakes(id);
    if others.is_empty() {
        return;
    }
    let place = |id: ResourceId| {
        let at = index
            .file(id.file)
            .zip(index.block(id))
            .map(|(f, b)| format!("{}:{}:{}", f.path, b.start.line, b.start.column))
            .unwrap_or_default();
        format!("`{}` ({at})", index.nested_name(id).unwrap_or_default())
    };
    let also: Vec<String> = others.into_iter().map(place).collect();
    eprintln!(
        "modlens: note: showing {}; the same name also fits {}",
        place(id),
        also.join(", ")
    );
}

fn tree(dir: &Path, resource: &str, opts: &Options, output: Output) -> Result<i32> {
    let r = open(dir, opts)?;
    let Some(root) = r.model.index.lookup_qualified(resource) else {
        print_lines(&model_diagnostics(&r));
        bail!(
            "no resource named `{}` in {}",
            shown(resource),
            r.ws.root.display()
        );
    };
    note_namesakes(&r.model.index, root);
    let reader = FieldReader::new(&r);
    let fields = |id, key| reader.read(id, key);
    let node = modlens::index::tree::tree(&r.model.index, &fields, root);
    let errors = print_lines(&reader.lines());
    match output {
        Output::Json => print_json(&node)?,
        Output::Human => {
            let mut out = crate::cli::stdout();
            writeln!(out, "{}", label(&node))?;
            print_children(&mut out, &node.children, "")?;
        }
    }
    Ok(exit_code(errors))
}

fn label(n: &TreeNode) -> String {
    let mut s = n.qualified_name.clone();
    if let Some(t) = &n.title {
        s.push_str(" — ");
        s.push_str(t);
    }
    if let Some(note) = &n.note {
        s.push_str(&format!(" [{note}]"));
    }
    s
}

fn print_children(out: &mut impl Write, children: &[TreeNode], prefix: &str) -> Result<()> {
    for (i, c) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        writeln!(
            out,
            "{prefix}{}{}",
            if last { "└── " } else { "├── " },
            label(c)
        )?;
        let next = format!("{prefix}{}", if last { "    " } else { "│   " });
        print_children(out, &c.children, &next)?;
    }
    Ok(())
}

fn dashboards(dir: &Path, opts: &Options, output: Output) -> Result<i32> {
    let r = open(dir, opts)?;
    let reader = FieldReader::new(&r);
    let fields = |id, key| reader.read(id, key);
    let payload = modlens::index::dashboards::payload(&r.model.index, &fields);
    let errors = print_lines(&reader.lines());
    match output {
        Output::Json => print_json(&payload)?,
        Output::Human => print_dashboards(&payload)?,
    }
    Ok(exit_code(errors))
}

/// The dashboards payload for people: each dashboard with its title, then each top-level
/// benchmark (and any no top-level one reaches) with its tree.
fn print_dashboards(p: &modlens::index::dashboards::Payload) -> Result<()> {
    use modlens::index::dashboards::Benchmark;
    fn named(name: &str, title: Option<&str>) -> String {
        match title {
            Some(t) => format!("{name} — {t}"),
            None => name.to_string(),
        }
    }
    fn children(out: &mut impl Write, list: &[Benchmark], prefix: &str) -> Result<()> {
        for (i, c) in list.iter().enumerate() {
            let last = i + 1 == list.len();
            let d = &c.data;
            writeln!(
                out,
                "{prefix}{}{}",
                if last { "└── " } else { "├── " },
                named(&d.full_name, d.title.as_deref())
            )?;
            let next = format!("{prefix}{}", if last { "    " } else { "│   " });
            children(out, &c.children, &next)?;
        }
        Ok(())
    }
    let mut out = stdout();
    writeln!(out, "dashboards ({})", p.dashboards.len())?;
    for d in p.dashboards.values() {
        writeln!(out, "  {}", named(&d.full_name, d.title.as_deref()))?;
    }
    writeln!(out, "benchmarks ({})", p.benchmarks.len())?;
    for b in p.benchmarks.values() {
        if !b.is_top_level && b.trunks.as_ref().is_some_and(|t| !t.is_empty()) {
            continue;
        }
        let d = &b.data;
        writeln!(
            out,
            "  {} [{}]",
            named(&d.full_name, d.title.as_deref()),
            d.benchmark_type
        )?;
        children(&mut out, &b.children, "  ")?;
    }
    out.flush()?;
    Ok(())
}

/// `modlens completions SHELL`: the completion script on stdout.
fn completions(shell: Shell) -> Result<i32> {
    use clap::CommandFactory;
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut out = stdout();
    clap_complete::generate(shell, &mut Cli::command(), "modlens", &mut out);
    out.flush()?;
    Ok(0)
}

fn generate(size: f64, seed: u64, out: &Path) -> Result<i32> {
    if !(size > 0.0 && size.is_finite()) {
        bail!("--size must be a positive number of thousands of resources");
    }
    let t = Instant::now();
    let report =
        modlens::generate::generate(&modlens::generate::GenerateOptions { size, seed }, out)
            .with_context(|| format!("cannot generate into {}", out.display()))?;
    eprintln!(
        "modlens: wrote {} files, {} bytes, {} resources into {} in {:.1} s",
        report.files,
        report.bytes,
        report.resources,
        out.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(0)
}
