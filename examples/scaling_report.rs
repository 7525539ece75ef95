//! The scaling report: `cargo run --release --example scaling_report -- docs/` measures
//! modlens on generated mods of 1x, 10x, 100x and 300x and writes `docs/benchmarks.md` with
//! its tables and `docs/plots/*.svg` (the tables are printed to stdout too, the same text).
//!
//! Per size: (a) load time in process for the read floor, `workspace::load` and hcl-rs
//! (interleaved rounds on one rayon pool, medians), and Go `hclsyntax` in its own process
//! (`examples/go_parse_peer/main.go`, built as `tests/fmt_reference` builds its program;
//! "unavailable" when Go or Debian's hcl source is missing); (b) memory: the index's heap
//! (a counting allocator), peak RSS of `modlens index DIR --index-only`, the heap after
//! resolving every resource with the default cache, and the `hcl_parse_peer` example keeping
//! every hcl-rs body (under an address-space cap); (c) the first `workspace/symbol` answer of
//! `modlens lsp` over stdio.
//!
//! Arguments: `[OUT_DIR] [--sizes 1,10,100,300]` (OUT_DIR defaults to `docs`). Environment:
//! `MODLENS_REPORT_SIZES` (the sizes, when `--sizes` is not given), `MODLENS_BENCH_DIR`
//! (where the generated mods live; the system temp dir by default; never in the repository),
//! `MODLENS_BENCH_RUNS` (timed rounds, default 5), `MODLENS_BENCH_THREADS` (threads of every
//! peer; default `RAYON_NUM_THREADS`, else all cores), `MODLENS_REPORT_EAGER_CAP_GB` (the
//! address-space cap of the eager baseline, default 6), `MODLENS_BIN` / `MODLENS_PEER_BIN`
//! (the binaries; built with cargo in this example's profile otherwise).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Instant;

use modlens::cache::Limits;
use modlens::resolve::{Model, Resolver, Sources, ValueInputs};
use modlens::workspace::{self, DiskSources, SourceFile, Workspace};
use rayon::prelude::*;

#[path = "../benches/common/counting.rs"]
mod counting;
#[path = "../tests/fmt_reference/reference.rs"]
mod go_build;
#[path = "../benches/common/mods.rs"]
mod mods;
#[path = "../benches/common/peers.rs"]
mod peers;
#[path = "scaling_report/procs.rs"]
mod procs;
#[path = "scaling_report/render.rs"]
mod render;

use render::{Fig, Machine, SizeRow};

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

/// Seconds of timed hcl-rs parsing per size before fewer rounds are taken (at least one).
const HCL_BUDGET_S: f64 = 40.0;
/// Seconds of Go parsing per size before fewer rounds are taken (at least one).
const GO_BUDGET_S: f64 = 60.0;
/// A Go round longer than this goes without its untimed warm-up round.
const GO_WARMUP_UNDER_MS: f64 = 5_000.0;
/// How long a timed in-process sample should last at least (repetitions averaged).
const TARGET_SAMPLE_MS: f64 = 20.0;
/// Bytes written before each timed run to evict the CPU caches (as `benches/index_load.rs`).
const FLUSH_BYTES: usize = 64 << 20;
/// The `workspace/symbol` query of the LSP measurement (matches many generated resources).
const SYMBOL_QUERY: &str = "s3";

struct Settings {
    out: PathBuf,
    base: PathBuf,
    sizes: Vec<f64>,
    runs: usize,
    threads: usize,
    eager_cap: u64,
}

fn env_parse<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok()?.trim().parse().ok()
}

fn parse_sizes(text: &str) -> Result<Vec<f64>, String> {
    let mut sizes = Vec::new();
    for s in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match s.parse::<f64>() {
            Ok(x) if x > 0.0 && x.is_finite() => sizes.push(x),
            _ => return Err(format!("not a size: {s:?}")),
        }
    }
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    Ok(sizes)
}

fn settings() -> Result<Settings, String> {
    let mut out = None;
    let mut sizes = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--sizes" => sizes = Some(args.next().ok_or("--sizes needs a list, e.g. 1,10")?),
            "-h" | "--help" => {
                return Err(
                    "usage: scaling_report [OUT_DIR] [--sizes 1,10,100,300] (see the example's doc)"
                        .into(),
                );
            }
            _ if a.starts_with("--sizes=") => sizes = Some(a["--sizes=".len()..].to_string()),
            _ if out.is_none() && !a.starts_with('-') => out = Some(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument {a:?}")),
        }
    }
    let sizes = sizes
        .or_else(|| std::env::var("MODLENS_REPORT_SIZES").ok())
        .unwrap_or_else(|| "1,10,100,300".into());
    let sizes = parse_sizes(&sizes)?;
    if sizes.is_empty() {
        return Err("no sizes to run".into());
    }
    let threads = env_parse::<usize>("MODLENS_BENCH_THREADS")
        .or_else(|| env_parse("RAYON_NUM_THREADS"))
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let cap_gb = env_parse::<f64>("MODLENS_REPORT_EAGER_CAP_GB")
        .filter(|g| *g > 0.0)
        .unwrap_or(6.0);
    Ok(Settings {
        out: out.unwrap_or_else(|| PathBuf::from("docs")),
        base: std::env::var_os("MODLENS_BENCH_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("modlens-bench")),
        sizes,
        runs: env_parse::<usize>("MODLENS_BENCH_RUNS")
            .filter(|&n| n > 0)
            .unwrap_or(5),
        threads,
        eager_cap: (cap_gb * 1e9) as u64,
    })
}

// ----- binaries ------------------------------------------------------------------------------

struct Binaries {
    modlens: PathBuf,
    peer: PathBuf,
    /// The Go peer, or why it is unavailable.
    go: Result<go_build::Reference, String>,
}

/// The `modlens` binary and the `hcl_parse_peer` example beside this example (same profile),
/// built now unless given by `MODLENS_BIN` / `MODLENS_PEER_BIN`; and the Go peer.
fn binaries() -> Result<Binaries, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let examples = exe.parent().ok_or("no folder around this example")?;
    let profile_dir = examples.parent().ok_or("no target folder")?;
    let given = |var: &str| std::env::var_os(var).map(PathBuf::from);
    let (modlens, peer) = (given("MODLENS_BIN"), given("MODLENS_PEER_BIN"));
    if modlens.is_none() || peer.is_none() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR")).arg("build");
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        cmd.args(["--bin", "modlens", "--example", "hcl_parse_peer"]);
        eprintln!("building: {cmd:?}");
        let status = cmd
            .status()
            .map_err(|e| format!("cannot run {cargo}: {e}"))?;
        if !status.success() {
            return Err(format!("building the binaries failed: {status}"));
        }
    }
    let exe_suffix = std::env::consts::EXE_SUFFIX;
    let go_source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/go_parse_peer/main.go");
    let go = go_build::build_program(&go_source, "go_parse_peer");
    if let Err(why) = &go {
        eprintln!("Go hclsyntax peer unavailable: {why}");
    }
    Ok(Binaries {
        modlens: modlens.unwrap_or_else(|| profile_dir.join(format!("modlens{exe_suffix}"))),
        peer: peer.unwrap_or_else(|| examples.join(format!("hcl_parse_peer{exe_suffix}"))),
        go,
    })
}

// ----- the machine -----------------------------------------------------------------------------

fn command_line(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("unavailable ({cmd}: {e})"))?;
    if !out.status.success() {
        return Err(format!("unavailable ({cmd} {args:?}: {})", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

fn machine(settings: &Settings, go: &Result<go_build::Reference, String>) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|x| x.1))
        .map_or("n/a".into(), |s| s.trim().to_string());
    let ram = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let kb: f64 = m
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some(format!("{:.1} GiB", kb / (1024.0 * 1024.0)))
        })
        .unwrap_or_else(|| "n/a".into());
    let os_name = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| std::env::consts::OS.into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let go = match go {
        Ok(_) => command_line("go", &["version"]).unwrap_or_else(|e| e),
        Err(why) => format!("unavailable: {why}"),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        ram,
        os: format!("{os_name}, Linux {}", kernel.trim()),
        rustc: command_line("rustc", &["--version"]).unwrap_or_else(|e| e),
        go,
        load_before: load_average(),
        load_after: String::new(),
        date: chrono::DateTime::from_timestamp(now, 0)
            .map_or("n/a".into(), |d| d.format("%Y-%m-%d %H:%M").to_string()),
        command: String::new(),
        seconds: 0.0,
        threads: settings.threads,
        runs: settings.runs,
    }
}

// ----- in-process timing --------------------------------------------------------------------

/// Evicts the CPU caches of every thread of a pool before a timed run.
struct Flusher(Vec<u8>);

impl Flusher {
    fn flush(&mut self, pool: &rayon::ThreadPool) {
        pool.install(|| {
            self.0.par_chunks_mut(256 << 10).for_each(|chunk| {
                for line in chunk.chunks_mut(64) {
                    line[0] = line[0].wrapping_add(1);
                }
            })
        });
        std::hint::black_box(&self.0);
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Mean ms of `reps` runs of `f` on the pool, each after evicting the CPU caches.
fn sample<R: Send>(
    pool: &rayon::ThreadPool,
    flusher: &mut Flusher,
    reps: usize,
    f: impl Fn() -> R + Sync,
) -> f64 {
    let mut total = 0.0;
    for _ in 0..reps {
        flusher.flush(pool);
        let t = Instant::now();
        let r = pool.install(&f);
        total += ms_since(t);
        drop(std::hint::black_box(r));
    }
    total / reps as f64
}

fn reps_for(one_ms: f64) -> usize {
    ((TARGET_SAMPLE_MS / one_ms.max(1e-3)).ceil() as usize).clamp(1, 40)
}

fn median(v: &[f64]) -> Fig {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => Err("n/a".into()),
        n if n % 2 == 1 => Ok(v[n / 2]),
        n => Ok((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// The read floor: read every file into a reused per-thread buffer.
fn read_all(files: &[SourceFile]) -> u64 {
    files
        .par_iter()
        .map(|f| {
            peers::BUF.with(|b| {
                let mut buf = b.borrow_mut();
                peers::read_into(&f.path, &mut buf).map_or(0, |()| buf.len() as u64)
            })
        })
        .sum()
}

/// hcl-rs over every file, each body dropped at once: files parsed, their top-level blocks,
/// and the first parse error met.
fn hcl_parse_all(files: &[SourceFile]) -> (usize, usize, Option<String>) {
    files
        .par_iter()
        .map(|f| match peers::hcl_parse_file(&f.path).0 {
            peers::Outcome::Parsed(body) => (1, body.blocks().count(), None),
            peers::Outcome::Invalid(e) => (0, 0, Some(format!("{}: {e}", f.rel))),
            peers::Outcome::Unreadable | peers::Outcome::BadUtf8 => (0, 0, None),
        })
        .reduce(|| (0, 0, None), |a, b| (a.0 + b.0, a.1 + b.1, a.2.or(b.2)))
}

struct Timings {
    bytes: u64,
    read: Fig,
    load: Fig,
    hcl: Fig,
    rounds: usize,
    hcl_rounds: usize,
}

fn time_in_process(settings: &Settings, ws: &Workspace, pool: &rayon::ThreadPool) -> Timings {
    let files = &ws.files;
    pool.install(|| read_all(files)); // the page cache and the read buffers warm
    let t = Instant::now();
    let bytes = pool.install(|| read_all(files));
    let read_one = ms_since(t);
    let t = Instant::now();
    drop(pool.install(|| workspace::load(ws)));
    let load_one = ms_since(t);
    let t = Instant::now();
    let (parsed, _, first_error) = pool.install(|| hcl_parse_all(files));
    let hcl_one = ms_since(t);
    if let Some(e) = first_error {
        eprintln!(
            "note: hcl-rs parsed {parsed} of {} files; first error: {e}",
            files.len()
        );
    }
    let mut hcl_rounds =
        ((HCL_BUDGET_S * 1e3 / hcl_one.max(1e-3)) as usize).clamp(1, settings.runs);
    let (mut read, mut load, mut hcl) = (Vec::new(), Vec::new(), Vec::new());
    if hcl_one * 2.0 > HCL_BUDGET_S * 1e3 {
        // One parse takes more than half the budget (the largest sizes): the first run, with
        // the page cache already warm, is the only round.
        hcl.push(hcl_one);
        hcl_rounds = 1;
    }
    let mut flusher = Flusher(vec![1; FLUSH_BYTES]);
    for round in 0..settings.runs {
        read.push(sample(pool, &mut flusher, reps_for(read_one), || {
            read_all(files)
        }));
        load.push(sample(pool, &mut flusher, reps_for(load_one), || {
            workspace::load(ws)
        }));
        if hcl.len() < hcl_rounds && round < hcl_rounds {
            hcl.push(sample(pool, &mut flusher, reps_for(hcl_one), || {
                hcl_parse_all(files)
            }));
        }
    }
    Timings {
        bytes,
        read: median(&read),
        load: median(&load),
        hcl: median(&hcl),
        rounds: settings.runs,
        hcl_rounds,
    }
}

// ----- Go ------------------------------------------------------------------------------------

/// Go's median ms over `rounds` (with an untimed warm-up round when `warmup`), or why not.
fn go_parse(
    go: &Result<go_build::Reference, String>,
    ws: &Workspace,
    threads: usize,
    rounds: usize,
    warmup: bool,
) -> Result<(f64, usize), String> {
    let Ok(go) = go else {
        return Err("unavailable".into());
    };
    let list: String = ws
        .files
        .iter()
        .map(|f| format!("{}\n", f.path.display()))
        .collect();
    let mut child = Command::new(go.exe())
        .args([
            rounds.to_string(),
            threads.to_string(),
            u8::from(warmup).to_string(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("unavailable ({e})"))?;
    let mut stdin = child.stdin.take().ok_or("unavailable (no stdin)")?;
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, list.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("unavailable ({e})"))?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(format!("failed ({})", out.status));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("failed (output: {e})"))?;
    if v["unreadable"].as_u64().unwrap_or(0) > 0 || v["with_errors"].as_u64().unwrap_or(0) > 0 {
        eprintln!(
            "note: Go read {} bytes; {} unreadable, {} with errors",
            v["bytes"], v["unreadable"], v["with_errors"]
        );
    }
    let times: Vec<f64> = v["rounds_ms"]
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
        .unwrap_or_default();
    Ok((median(&times)?, times.len()))
}

// ----- memory ----------------------------------------------------------------------------------

/// Heap freed by dropping `value`: what it held.
fn freed_by_drop<T>(value: T) -> isize {
    counting::start();
    drop(value);
    -counting::stop().live
}

/// Heap held by the index after a load (on warm threads), and its resource count.
fn index_heap(ws: &Workspace, pool: &rayon::ThreadPool) -> (isize, usize) {
    let (index, _) = pool.install(|| workspace::load(ws));
    drop(index);
    counting::start();
    let (index, _) = pool.install(|| workspace::load(ws));
    counting::stop();
    let resources = index.resources().count();
    (freed_by_drop(index), resources)
}

/// Live heap after resolving every resource through one resolver with the default cache
/// (everything it needs counted, from before the load), and the ms the resolving took.
fn resolved_heap(ws: &Workspace, pool: &rayon::ThreadPool) -> (isize, f64) {
    // The per-thread buffers grown before the window opens.
    drop(pool.install(|| workspace::load(ws)));
    counting::start();
    let (index, _) = pool.install(|| workspace::load(ws));
    let sources: Arc<dyn Sources> = Arc::new(DiskSources::new(ws.root.clone(), 4 * 1024 * 1024));
    let resolver = Resolver::new(sources.clone(), Limits::default());
    let model = Model::new(index, &sources, &ValueInputs::default());
    let files: Vec<_> = model.index.files().map(|(id, _)| id).collect();
    let t = Instant::now();
    pool.install(|| {
        files.par_iter().for_each(|f| {
            for id in model.index.resources_in_file(*f) {
                drop(resolver.resolve(&model, id));
            }
        })
    });
    let ms = ms_since(t);
    let live = counting::read().live;
    counting::stop();
    drop((resolver, model, sources));
    (live, ms)
}

// ----- one size --------------------------------------------------------------------------------

/// Figures of the empty mod, the baselines of the process measurements.
struct Baseline {
    dump_rss: Fig,
    peer_rss: Fig,
}

fn empty_mod_baseline(settings: &Settings, bins: &Binaries) -> Baseline {
    let dir = settings.base.join("empty-mod");
    if let Err(e) = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("mod.pp"), "mod \"empty\" {\n}\n"))
    {
        let why = format!("n/a (cannot write the empty mod: {e})");
        return Baseline {
            dump_rss: Err(why.clone()),
            peer_rss: Err(why),
        };
    }
    let text = dir.display().to_string();
    Baseline {
        dump_rss: procs::run_measured(
            &bins.modlens,
            &["index", &text, "--index-only"],
            settings.threads,
        )
        .map(|r| r.peak_rss as f64),
        peer_rss: procs::eager_peer_rss(&bins.peer, &dir, settings.threads, settings.eager_cap)
            .map(|b| b as f64),
    }
}

/// What the previous (smaller) size measured, to predict the cost of this one.
#[derive(Default)]
struct Previous {
    /// Go ms per source byte.
    go_ms_per_byte: Option<f64>,
    /// Eager peer RSS per source byte.
    eager_per_byte: Option<f64>,
}

fn above(total: &Fig, base: &Fig) -> Fig {
    match (total, base) {
        (Ok(t), Ok(b)) => Ok((t - b).max(0.0)),
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
    }
}

fn measure(
    settings: &Settings,
    size: f64,
    dir: &Path,
    bins: &Binaries,
    baseline: &Baseline,
    prev: &mut Previous,
) -> Result<SizeRow, String> {
    let label = mods::size_label(size);
    let ws = workspace::discover(dir).map_err(|e| format!("discover {}: {e}", dir.display()))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.threads)
        .build()
        .map_err(|e| format!("rayon pool: {e}"))?;
    let t0 = Instant::now();

    // (a) in process, then Go in its own.
    let t = time_in_process(settings, &ws, &pool);
    let go_estimate = prev.go_ms_per_byte.map(|p| p * t.bytes as f64);
    let (go_rounds, go_warmup) = match go_estimate {
        None => (settings.runs, true),
        Some(ms) => (
            ((GO_BUDGET_S * 1e3 / ms.max(1e-3)) as usize).clamp(1, settings.runs),
            ms < GO_WARMUP_UNDER_MS,
        ),
    };
    eprintln!(
        "  size {label}: in-process timing done ({:.0} s); Go: {go_rounds} rounds{}",
        t0.elapsed().as_secs_f64(),
        if go_warmup { " after a warm-up" } else { "" }
    );
    let go = go_parse(&bins.go, &ws, settings.threads, go_rounds, go_warmup);
    if let Ok((ms, _)) = &go {
        prev.go_ms_per_byte = Some(ms / t.bytes.max(1) as f64);
    }

    // (b) memory.
    let (index_heap, resources) = index_heap(&ws, &pool);
    let (resolved_heap, resolve_ms) = resolved_heap(&ws, &pool);
    eprintln!(
        "  size {label}: heap measured ({:.0} s; resolving everything took {resolve_ms:.0} ms)",
        t0.elapsed().as_secs_f64()
    );
    let dir_text = dir.display().to_string();
    let runs = |args: &[&str]| -> (Fig, Fig) {
        let mut ms = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..settings.runs {
            match procs::run_measured(&bins.modlens, args, settings.threads) {
                Ok(r) => {
                    ms.push(r.ms);
                    rss.push(r.peak_rss as f64);
                }
                Err(e) => return (Err(e.clone()), Err(e)),
            }
        }
        (median(&ms), median(&rss))
    };
    let (dump_ms, dump_rss) = runs(&["index", &dir_text, "--index-only"]);
    let (stats_ms, _) = runs(&["index", &dir_text, "--stats"]);
    let cap_gb = settings.eager_cap as f64 / 1e9;
    let predicted = prev.eager_per_byte.map(|p| p * t.bytes as f64 * 1.2);
    let eager_total: Fig = match predicted {
        Some(p) if p > settings.eager_cap as f64 => Err(format!(
            "not measured (about {:.1} GB expected, above {cap_gb:.0} GB)",
            p / 1e9
        )),
        _ => procs::eager_peer_rss(&bins.peer, dir, settings.threads, settings.eager_cap)
            .map(|b| b as f64)
            .map_err(|e| {
                eprintln!("note: eager baseline at size {label}: {e}");
                format!("not measured (above {cap_gb:.0} GB)")
            }),
    };
    if let Ok(b) = eager_total {
        prev.eager_per_byte = Some(b / t.bytes.max(1) as f64);
    }
    let eager_rss_above = match &eager_total {
        Ok(_) => above(&eager_total, &baseline.peer_rss),
        Err(e) => Err(e.clone()),
    };

    // (c) the language server.
    let root = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut lsp = Vec::new();
    let mut lsp_err = None;
    for _ in 0..settings.runs {
        match procs::lsp_first_answer(&bins.modlens, &root, SYMBOL_QUERY, settings.threads) {
            Ok(ms) => lsp.push(ms),
            Err(e) => {
                lsp_err = Some(e);
                break;
            }
        }
    }
    let lsp_ms = match lsp_err {
        Some(e) => Err(format!("failed ({e})")),
        None => median(&lsp),
    };
    eprintln!(
        "  size {label}: done in {:.0} s",
        t0.elapsed().as_secs_f64()
    );
    Ok(SizeRow {
        label,
        files: ws.files.len(),
        bytes: t.bytes,
        resources,
        read_ms: t.read,
        load_ms: t.load,
        hcl_ms: t.hcl,
        go_ms: go.as_ref().map(|g| g.0).map_err(Clone::clone),
        rounds: (t.rounds, t.hcl_rounds, go.as_ref().map_or(0, |g| g.1)),
        index_heap: Ok(index_heap as f64),
        dump_rss_above: above(&dump_rss, &baseline.dump_rss),
        dump_rss,
        resolved_heap: Ok(resolved_heap as f64),
        eager_rss_above,
        dump_ms,
        stats_ms,
        lsp_ms,
    })
}

// ----- main ------------------------------------------------------------------------------------

fn the_command(settings: &Settings) -> String {
    let mut c = format!(
        "cargo run --release --example scaling_report -- {}",
        settings.out.display()
    );
    let sizes: Vec<String> = settings
        .sizes
        .iter()
        .map(|&s| mods::size_label(s))
        .collect();
    if sizes != ["1", "10", "100", "300"] {
        let _ = write!(c, " --sizes {}", sizes.join(","));
    }
    c
}

fn run() -> Result<(), String> {
    let settings = settings()?;
    let started = Instant::now();
    let bins = binaries()?;
    let mut machine = machine(&settings, &bins.go);
    machine.command = the_command(&settings);
    eprintln!(
        "scaling report: sizes {:?}, {} threads, {} rounds, mods under {}",
        settings.sizes,
        settings.threads,
        settings.runs,
        settings.base.display()
    );
    let dirs: Vec<PathBuf> = settings
        .sizes
        .iter()
        .map(|&s| mods::ensure_mod(&settings.base, s, false))
        .collect();
    let baseline = empty_mod_baseline(&settings, &bins);
    let mut prev = Previous::default();
    let mut rows = Vec::new();
    for (&size, dir) in settings.sizes.iter().zip(&dirs) {
        rows.push(measure(&settings, size, dir, &bins, &baseline, &mut prev)?);
    }
    machine.load_after = load_average();
    machine.seconds = started.elapsed().as_secs_f64();

    let plots = render::plots(&rows)?;
    let md = render::markdown(&machine, &rows);
    let plot_dir = settings.out.join("plots");
    std::fs::create_dir_all(&plot_dir).map_err(|e| format!("{}: {e}", plot_dir.display()))?;
    for (name, svg) in &plots {
        let path = plot_dir.join(name);
        std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let md_path = settings.out.join("benchmarks.md");
    std::fs::write(&md_path, &md).map_err(|e| format!("{}: {e}", md_path.display()))?;
    println!("{md}");
    eprintln!(
        "wrote {} and {} plots under {} in {:.0} s",
        md_path.display(),
        plots.len(),
        plot_dir.display(),
        machine.seconds
    );
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == procs::MEASURE_ARG) {
        let Some(bin) = args.next() else {
            return ExitCode::FAILURE;
        };
        let rest: Vec<_> = args.collect();
        return procs::measure_here(Path::new(&bin), &rest);
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scaling_report: {e}");
            ExitCode::FAILURE
        }
    }
}
