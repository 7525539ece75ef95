//! Index-load benchmark: modlens against a read floor and against hcl-rs, on generated mods.
//!
//! `cargo bench --bench index_load` (a plain `main`, `harness = false`). For each size it
//! prints the median time of three peers over the same file list, on the same rayon pool:
//!
//! * **read floor**: read every file into a reused per-thread buffer, nothing else;
//! * **modlens**: `workspace::load` (read + scan + merge; index-only);
//! * **hcl-rs**: read the same way, strip a BOM, skip invalid UTF-8, `hcl::parse` every file
//!   and keep every body (no evaluation).
//!
//! Discovery is excluded from all three: the workspace is discovered once and its file list
//! shared. The rounds interleave the peers (read, modlens, hcl-rs, read, ...) so that noise on
//! this shared machine hits them alike; only ratios measured in the same run are meaningful.
//! A sample is the mean of enough runs to add up to ~20 ms (the `reps` column, at most 40), so
//! that the small sizes are not mostly timer noise; before every run the CPU caches are
//! evicted (64 MiB written from the pool's threads, untimed), so a repeated run never finds
//! the sources in cache: warm page cache, cold CPU caches, as for a one-shot load. An extra
//! row times modlens's read + scan without the merge, to show where its time goes.
//!
//! Heap figures come from a counting global allocator that counts only inside a measurement
//! window (outside it, one relaxed load per call), so the timed rounds run uncounted.
//!
//! Whole processes: the release `modlens index DIR --stats --output json` against the
//! `read_peer` example (the same discovery, then every file read and nothing else), timed
//! from spawn to exit in interleaved rounds (median); and peak RSS against the
//! `hcl_parse_peer` example (hcl-rs keeping every body). All three also run once on an empty
//! mod: peak RSS is judged above each process's empty-mod baseline at every size (DESIGN
//! §4), and as totals from 10x up (at 1x the baseline, not the mod, is most of either total).
//!
//! It ends with the budget table of DESIGN §4's load rows, in DESIGN's form, and exits 1
//! when one fails. Linearity (time and heap per byte at each size, growth between sizes) is
//! printed, never judged.
//!
//! Environment:
//! * `MODLENS_BENCH_DIR`: where the generated mods live (default: the system temp dir); a mod
//!   is reused when its completion marker matches the files on disk. `MODLENS_BENCH_REGEN=1`
//!   regenerates anyway (do it after changing the generator).
//! * `MODLENS_BENCH_SIZES`: comma-separated sizes (default `1,10,100`).
//! * `MODLENS_BENCH_RUNS`: timed rounds per size (default 5).
//! * `MODLENS_BENCH_HCL_RUNS`: timed hcl-rs rounds per size (default: the rounds, fewer when
//!   one hcl-rs parse is slow, see [`HCL_TIME_BUDGET_S`]; `0` skips hcl-rs timing).
//! * `MODLENS_BENCH_THREADS`: rayon threads for every peer, in and out of process (default:
//!   `RAYON_NUM_THREADS`, else all cores).
//! * `MODLENS_BIN`, `MODLENS_PEER_BIN`, `MODLENS_READ_PEER_BIN`: the three binaries
//!   (default: `target/release/modlens`, `target/release/examples/hcl_parse_peer` and
//!   `target/release/examples/read_peer`, built with `cargo build --release` when missing,
//!   or always with `MODLENS_BENCH_BUILD=1`; a warning says when one is older than its
//!   sources).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use modlens::workspace::{self, SourceFile, Workspace};
use rayon::prelude::*;

#[path = "common/budgets.rs"]
mod budgets;
#[path = "common/mods.rs"]
mod mods;
#[path = "common/peers.rs"]
mod peers;
use mods::{SEED, ensure_mod, size_label};
use peers::{BUF, Outcome, hcl_parse_file, read_into};

/// Seconds of timed hcl-rs parsing allowed per size before the bench takes fewer rounds
/// (at least 3, or all of them if fewer were asked).
const HCL_TIME_BUDGET_S: f64 = 45.0;

// ----- counting allocator ----------------------------------------------------------------

#[path = "common/counting.rs"]
mod counting;

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

// ----- settings --------------------------------------------------------------------------

struct Settings {
    base: PathBuf,
    sizes: Vec<f64>,
    runs: usize,
    hcl_runs: Option<usize>,
    threads: usize,
    regen: bool,
}

fn env_parse<T: std::str::FromStr>(name: &str) -> Option<T> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse() {
        Ok(x) => Some(x),
        Err(_) => {
            eprintln!("warning: ignoring {name}={v:?} (not a valid value)");
            None
        }
    }
}

fn settings() -> Settings {
    let base = std::env::var_os("MODLENS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("modlens-bench"));
    let sizes_text = std::env::var("MODLENS_BENCH_SIZES").unwrap_or_else(|_| "1,10,100".into());
    let mut sizes: Vec<f64> = Vec::new();
    for s in sizes_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match s.parse::<f64>() {
            Ok(x) if x > 0.0 && x.is_finite() => sizes.push(x),
            _ => eprintln!("warning: ignoring size {s:?} in MODLENS_BENCH_SIZES"),
        }
    }
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    let threads = env_parse::<usize>("MODLENS_BENCH_THREADS")
        .or_else(|| env_parse("RAYON_NUM_THREADS"))
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    Settings {
        base,
        sizes,
        runs: env_parse::<usize>("MODLENS_BENCH_RUNS")
            .filter(|&n| n > 0)
            .unwrap_or(5),
        hcl_runs: env_parse("MODLENS_BENCH_HCL_RUNS"),
        threads,
        regen: std::env::var("MODLENS_BENCH_REGEN").is_ok_and(|v| v == "1"),
    }
}

// ----- the peers ---------------------------------------------------------------------------

/// The read floor: bytes read, and files that could not be read.
fn read_all(files: &[SourceFile]) -> (u64, usize) {
    files
        .par_iter()
        .map(|f| {
            BUF.with(|b| {
                let mut buf = b.borrow_mut();
                match read_into(&f.path, &mut buf) {
                    Ok(()) => (buf.len() as u64, 0),
                    Err(_) => (0, 1),
                }
            })
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

thread_local! {
    /// A read buffer and scan scratch per worker thread, as `workspace::load` keeps.
    static SCAN: RefCell<(Vec<u8>, modlens::syntax::Scratch)> = RefCell::default();
}

/// modlens's read and scan of every file, without the merge into an index.
fn read_and_scan_all(files: &[SourceFile]) -> Vec<(modlens::syntax::FileIndex, u64)> {
    files
        .par_iter()
        .map(|f| {
            SCAN.with(|s| {
                let (buf, scratch) = &mut *s.borrow_mut();
                workspace::read_and_scan(&f.path, buf, scratch)
            })
        })
        .collect()
}

/// hcl-rs over every file, every body kept (in file order).
fn hcl_parse_all(files: &[SourceFile]) -> Vec<(Outcome, u64)> {
    files.par_iter().map(|f| hcl_parse_file(&f.path)).collect()
}

struct HclTally {
    bytes: u64,
    parsed: usize,
    unreadable: usize,
    bad_utf8: usize,
    invalid: usize,
    first_error: Option<String>,
    /// Top-level labelled blocks hcl-rs saw (modlens's resources, seen by hcl-rs).
    labelled_blocks: usize,
}

fn hcl_tally(files: &[SourceFile], outcomes: &[(Outcome, u64)]) -> HclTally {
    let mut t = HclTally {
        bytes: 0,
        parsed: 0,
        unreadable: 0,
        bad_utf8: 0,
        invalid: 0,
        first_error: None,
        labelled_blocks: 0,
    };
    for ((outcome, bytes), f) in outcomes.iter().zip(files) {
        t.bytes += bytes;
        match outcome {
            Outcome::Parsed(body) => {
                t.parsed += 1;
                t.labelled_blocks += body.blocks().filter(|b| !b.labels.is_empty()).count();
            }
            Outcome::Unreadable => t.unreadable += 1,
            Outcome::BadUtf8 => t.bad_utf8 += 1,
            Outcome::Invalid(e) => {
                t.invalid += 1;
                t.first_error
                    .get_or_insert_with(|| format!("{}: {e}", f.rel));
            }
        }
    }
    t
}

// ----- measurements ------------------------------------------------------------------------

/// Times of one peer, in milliseconds.
#[derive(Default)]
struct Times(Vec<f64>);

impl Times {
    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }
    fn median(&self) -> Option<f64> {
        let v = self.sorted();
        let n = v.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(v[n / 2]),
            _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
        }
    }
    fn spread(&self) -> String {
        let v = self.sorted();
        match (v.first(), v.last()) {
            (Some(lo), Some(hi)) => format!("{lo:.2}-{hi:.2}"),
            _ => "-".into(),
        }
    }
}

/// How long a timed sample should last, at least.
const TARGET_SAMPLE_MS: f64 = 20.0;

/// Repetitions per timed sample, per peer.
struct Reps {
    read: usize,
    modlens: usize,
    scan: usize,
    hcl: usize,
}

fn reps_for(one_ms: f64) -> usize {
    ((TARGET_SAMPLE_MS / one_ms.max(1e-3)).ceil() as usize).clamp(1, 40)
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Bytes written through before every timed run to evict the CPU caches (twice the L3 of
/// the usual 2-core cloud machine), so that a repeated run does not find the previous run's
/// sources in cache: every run starts with a warm page cache and cold CPU caches.
const FLUSH_BYTES: usize = 64 << 20;

/// A buffer for evicting the CPU caches of every thread of a pool.
struct Flusher(Vec<u8>);

impl Flusher {
    fn new() -> Self {
        Flusher(vec![1; FLUSH_BYTES])
    }

    /// Writes one byte per cache line, from the pool's threads (each core's own caches).
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

/// Runs `f` on the pool `reps` times, each after evicting the CPU caches, and returns the
/// mean time of one run in milliseconds; each result is dropped outside the timing.
///
/// One untimed run comes first: the peers run in turn, and whichever allocates first after
/// hcl-rs dropped its bodies would otherwise pay for the allocator growing the heap back
/// (page faults worth several milliseconds at size 10), an artefact of the order, not of the
/// peer.
fn sample<R: Send>(
    pool: &rayon::ThreadPool,
    flusher: &mut Flusher,
    reps: usize,
    f: impl Fn() -> R + Sync,
) -> f64 {
    drop(std::hint::black_box(pool.install(&f)));
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

/// Figures from a child process's JSON.
#[derive(Default)]
struct ChildFigures {
    peak_rss: Option<u64>,
    /// Wall time from spawn to exit, milliseconds.
    wall_ms: Option<f64>,
    note: String,
}

struct SizeResult {
    label: String,
    files: usize,
    bytes: u64,
    resources: usize,
    /// Top-level labelled blocks in hcl-rs's bodies, for comparison with `resources`.
    hcl_labelled_blocks: usize,
    runs: usize,
    hcl_runs: usize,
    read: Times,
    modlens: Times,
    /// modlens's parallel read + scan without the merge (informational).
    scan: Times,
    hcl: Times,
    reps: Reps,
    /// Heap freed by dropping the index after a load on warm threads: what it holds.
    index_held: isize,
    /// Live heap after that load minus before (the index, plus any growth of the per-thread
    /// buffers).
    live_warm: isize,
    /// `Index::heap_bytes()`, the index's own estimate.
    index_estimate: usize,
    /// Allocated during a load on fresh threads (as the one-shot binary does).
    alloc_cold: usize,
    alloc_cold_calls: usize,
    /// Live heap after a load on fresh threads: the index plus the per-thread buffers.
    live_cold: isize,
    /// Peak live heap during the load on fresh threads.
    peak_cold: isize,
    /// What stayed live after the load on fresh threads besides the index: the per-thread
    /// read buffers and scan scratch.
    buffers_cold: isize,
    /// Allocated during a load on warm threads.
    alloc_warm: usize,
    /// hcl-rs: heap freed by dropping every body, peak while parsing, allocated.
    hcl_held: isize,
    hcl_peak: isize,
    hcl_alloc: usize,
    hcl_calls: usize,
    modlens_rss: ChildFigures,
    peer_rss: ChildFigures,
    /// Whole processes, interleaved rounds: `modlens index --stats` and the read-only peer.
    process_modlens: Times,
    process_read: Times,
    read_peer: ChildFigures,
}

/// Drops `value` and returns the heap bytes that freed: what it held, whatever else (such as
/// per-thread buffers) stayed live.
fn freed_by_drop<T>(value: T) -> isize {
    counting::start();
    drop(value);
    -counting::stop().live
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("cannot build a rayon thread pool")
}

fn measure(settings: &Settings, size: f64, dir: &Path, bins: &Binaries) -> SizeResult {
    let ws: Workspace = workspace::discover(dir)
        .unwrap_or_else(|e| panic!("cannot discover {}: {e}", dir.display()));
    let files = &ws.files;
    let main_pool = pool(settings.threads);

    // Warm the page cache (and the read buffers of the main pool's threads).
    main_pool.install(|| read_all(files));
    let t = Instant::now();
    let (bytes, unreadable) = main_pool.install(|| read_all(files));
    let read_one_ms = ms_since(t);
    if unreadable > 0 {
        eprintln!("warning: {unreadable} files could not be read");
    }

    // --- heap, modlens: a load on fresh threads (cold buffers), as the binary does ---
    let (alloc_cold, alloc_cold_calls, live_cold, peak_cold, buffers_cold) = {
        // Threads spawned here so that they can be joined: their buffers are freed (by
        // thread-local destructors) before the next counting window opens.
        let mut threads = Vec::new();
        let cold_pool = rayon::ThreadPoolBuilder::new()
            .num_threads(settings.threads)
            .spawn_handler(|t| {
                threads.push(std::thread::Builder::new().spawn(|| t.run())?);
                Ok(())
            })
            .build()
            .expect("cannot build a rayon thread pool");
        counting::start();
        let (index, _) = cold_pool.install(|| workspace::load(&ws));
        let w = counting::stop();
        let index_bytes = freed_by_drop(index);
        drop(cold_pool);
        for t in threads {
            t.join().expect("a rayon worker panicked");
        }
        (w.total, w.calls, w.live, w.peak, w.live - index_bytes)
    };

    // --- heap, modlens: a load on warm threads; what stays live is the index ---
    let modlens_one_ms;
    let (index_held, live_warm, alloc_warm, index_estimate, resources, load_bytes) = {
        let t = Instant::now();
        let warm_up = main_pool.install(|| workspace::load(&ws));
        modlens_one_ms = ms_since(t);
        drop(warm_up);
        counting::start();
        let (index, stats) = main_pool.install(|| workspace::load(&ws));
        let w = counting::stop();
        let est = index.heap_bytes();
        let resources = index.resources().count();
        let held = freed_by_drop(index);
        (held, w.live, w.total, est, resources, stats.bytes)
    };
    if load_bytes != bytes {
        eprintln!("warning: modlens read {load_bytes} bytes, the read floor {bytes}");
    }

    // --- read + scan without the merge (where modlens's time goes; not a peer) ---
    drop(main_pool.install(|| read_and_scan_all(files)));
    let t = Instant::now();
    drop(main_pool.install(|| read_and_scan_all(files)));
    let scan_one_ms = ms_since(t);

    // --- heap, hcl-rs: every body held (this run also warms hcl-rs up) ---
    let t = Instant::now();
    counting::start();
    let outcomes = main_pool.install(|| hcl_parse_all(files));
    let w = counting::stop();
    let hcl_one_ms = ms_since(t);
    let (hcl_peak, hcl_alloc, hcl_calls) = (w.peak, w.total, w.calls);
    let hcl = hcl_tally(files, &outcomes);
    let hcl_held = freed_by_drop(outcomes);
    if hcl.bytes != bytes {
        eprintln!(
            "warning: hcl-rs read {} bytes, the read floor {bytes}",
            hcl.bytes
        );
    }
    if hcl.unreadable + hcl.bad_utf8 + hcl.invalid > 0 {
        eprintln!(
            "note: hcl-rs parsed {} of {} files ({} unreadable, {} invalid UTF-8, {} parse errors; first: {})",
            hcl.parsed,
            files.len(),
            hcl.unreadable,
            hcl.bad_utf8,
            hcl.invalid,
            hcl.first_error.as_deref().unwrap_or("-")
        );
    }

    let hcl_runs = match settings.hcl_runs {
        Some(n) => n,
        None => {
            let affordable = (HCL_TIME_BUDGET_S * 1e3 / hcl_one_ms.max(1e-3)) as usize;
            affordable.clamp(settings.runs.min(3), settings.runs)
        }
    };

    // --- timed rounds, interleaved, uncounted ---
    // A sample repeats a peer enough times to last about TARGET_SAMPLE_MS (calibrated on
    // the warm-up runs above), so that the small sizes are not all timer and scheduler noise.
    let reps = Reps {
        read: reps_for(read_one_ms),
        modlens: reps_for(modlens_one_ms),
        scan: reps_for(scan_one_ms),
        hcl: reps_for(hcl_one_ms),
    };
    let mut flusher = Flusher::new();
    let mut read = Times::default();
    let mut modlens_t = Times::default();
    let mut scan_t = Times::default();
    let mut hcl_t = Times::default();
    for round in 0..settings.runs {
        read.0.push(sample(&main_pool, &mut flusher, reps.read, || {
            read_all(files)
        }));
        modlens_t
            .0
            .push(sample(&main_pool, &mut flusher, reps.modlens, || {
                workspace::load(&ws)
            }));
        scan_t
            .0
            .push(sample(&main_pool, &mut flusher, reps.scan, || {
                read_and_scan_all(files)
            }));
        if round < hcl_runs {
            hcl_t.0.push(sample(&main_pool, &mut flusher, reps.hcl, || {
                hcl_parse_all(files)
            }));
        }
    }

    // --- whole processes: modlens's load against the read-only peer, interleaved ---
    let dir_text = dir.display().to_string();
    let modlens_args = ["index", &dir_text, "--stats", "--output", "json"];
    let read_args = [dir_text.as_str()];
    // One untimed run each (the page cache holds the mod for both).
    run_child(&bins.modlens, &modlens_args, settings.threads);
    run_child(&bins.read_peer, &read_args, settings.threads);
    let (mut process_modlens, mut process_read) = (Times::default(), Times::default());
    let (mut modlens_runs, mut read_runs) = (Vec::new(), Vec::new());
    for _ in 0..settings.runs {
        let m = run_child(&bins.modlens, &modlens_args, settings.threads);
        let r = run_child(&bins.read_peer, &read_args, settings.threads);
        process_modlens.0.extend(m.wall_ms);
        process_read.0.extend(r.wall_ms);
        modlens_runs.push(m);
        read_runs.push(r);
    }
    // --- peak RSS: modlens's (the median run's) and the hcl-rs peer's ---
    let modlens_rss = median_child(modlens_runs);
    let read_peer = median_child(read_runs);
    let peer_rss = run_child(&bins.peer, &read_args, settings.threads);

    SizeResult {
        label: size_label(size),
        files: files.len(),
        bytes,
        resources,
        hcl_labelled_blocks: hcl.labelled_blocks,
        runs: settings.runs,
        hcl_runs,
        read,
        modlens: modlens_t,
        scan: scan_t,
        hcl: hcl_t,
        reps,
        index_held,
        index_estimate,
        alloc_cold,
        alloc_cold_calls,
        live_cold,
        peak_cold,
        buffers_cold,
        live_warm,
        alloc_warm,
        hcl_held,
        hcl_peak,
        hcl_alloc,
        hcl_calls,
        modlens_rss,
        peer_rss,
        process_modlens,
        process_read,
        read_peer,
    }
}

/// The run with the median peak RSS (the first run's note says why when none has one).
fn median_child(mut runs: Vec<ChildFigures>) -> ChildFigures {
    runs.sort_by_key(|c| c.peak_rss);
    let with_rss = runs.iter().filter(|c| c.peak_rss.is_some()).count();
    if with_rss == 0 {
        return runs.into_iter().next().unwrap_or_default();
    }
    let skip = runs.len() - with_rss;
    runs.into_iter()
        .nth(skip + with_rss / 2)
        .unwrap_or_default()
}

// ----- child processes ---------------------------------------------------------------------

/// Peak RSS of both binaries on an empty mod: what each process holds before any mod content
/// (the dynamic loader, libc, the code pages it touches, its threads).
struct Baseline {
    modlens: ChildFigures,
    peer: ChildFigures,
}

fn process_baseline(settings: &Settings, bins: &Binaries) -> Baseline {
    let dir = settings.base.join("empty-mod");
    if let Err(e) = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("mod.pp"), "mod \"empty\" {\n}\n"))
    {
        eprintln!("warning: cannot write {}: {e}", dir.display());
    }
    let text = dir.display().to_string();
    let modlens = run_child(
        &bins.modlens,
        &["index", &text, "--stats", "--output", "json"],
        settings.threads,
    );
    let peer = run_child(&bins.peer, &[&text], settings.threads);
    let read_peer = run_child(&bins.read_peer, &[&text], settings.threads);
    let rss = |c: &ChildFigures| {
        c.peak_rss
            .map_or("n/a".into(), |b| format!("{:.1} MB", mb(b as f64)))
    };
    println!(
        "  process baseline (peak RSS on an empty mod): modlens {} ({}) / hcl-rs peer {} ({}) / read peer {} ({})\n",
        rss(&modlens),
        modlens.note,
        rss(&peer),
        peer.note,
        rss(&read_peer),
        read_peer.note
    );
    Baseline { modlens, peer }
}

struct Binaries {
    modlens: PathBuf,
    peer: PathBuf,
    read_peer: PathBuf,
}

/// The release binaries, built when missing (and not given by `MODLENS_BIN` /
/// `MODLENS_PEER_BIN`).
fn binaries() -> Binaries {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_relative() { manifest.join(t) } else { t })
        .unwrap_or_else(|| manifest.join("target"));
    let exe = std::env::consts::EXE_SUFFIX;
    let release = target.join("release");
    let force = std::env::var("MODLENS_BENCH_BUILD").is_ok_and(|v| v == "1");
    // (given by the environment, path, cargo target arguments, sources), per binary.
    let given = |var: &str| std::env::var_os(var).map(PathBuf::from);
    let modlens = given("MODLENS_BIN");
    let peer = given("MODLENS_PEER_BIN");
    let read_peer = given("MODLENS_READ_PEER_BIN");
    let wanted = [
        (
            modlens.is_some(),
            modlens.unwrap_or_else(|| release.join(format!("modlens{exe}"))),
            ["--bin", "modlens"],
            vec![manifest.join("src")],
        ),
        (
            peer.is_some(),
            peer.unwrap_or_else(|| {
                release
                    .join("examples")
                    .join(format!("hcl_parse_peer{exe}"))
            }),
            ["--example", "hcl_parse_peer"],
            vec![
                manifest.join("src"),
                manifest.join("examples").join("hcl_parse_peer.rs"),
            ],
        ),
        (
            read_peer.is_some(),
            read_peer.unwrap_or_else(|| release.join("examples").join(format!("read_peer{exe}"))),
            ["--example", "read_peer"],
            vec![
                manifest.join("src"),
                manifest.join("examples").join("read_peer.rs"),
            ],
        ),
    ];
    let mut args: Vec<&str> = Vec::new();
    for (given, path, target_args, _) in &wanted {
        if !given && (force || !path.exists()) {
            args.extend(target_args);
        }
    }
    if !args.is_empty() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        eprintln!("building: {cargo} build --release {}", args.join(" "));
        let status = Command::new(&cargo)
            .current_dir(&manifest)
            .args(["build", "--release"])
            .args(&args)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cargo}: {e}"));
        assert!(status.success(), "cargo build --release failed: {status}");
    }
    for (_, path, _, sources) in &wanted {
        assert!(path.exists(), "binary missing at {}", path.display());
        if is_older_than(path, sources) {
            eprintln!(
                "warning: {} is older than its sources; its figures may be stale (MODLENS_BENCH_BUILD=1 rebuilds)",
                path.display()
            );
        }
    }
    let [(_, modlens, ..), (_, peer, ..), (_, read_peer, ..)] = wanted;
    Binaries {
        modlens,
        peer,
        read_peer,
    }
}

/// The newest modification time of a file or of any file under a folder.
fn newest_mtime(path: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            for entry in std::fs::read_dir(&p).ok()?.flatten() {
                stack.push(entry.path());
            }
        } else if let Ok(m) = meta.modified() {
            newest = newest.max(Some(m));
        }
    }
    newest
}

fn is_older_than(bin: &Path, sources: &[PathBuf]) -> bool {
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return false;
    };
    sources
        .iter()
        .filter_map(|d| newest_mtime(d))
        .any(|m| m > built)
}

/// Runs a child that prints a JSON object with `peak_rss_bytes`.
fn run_child(bin: &Path, args: &[&str], threads: usize) -> ChildFigures {
    let started = Instant::now();
    let out = match Command::new(bin)
        .args(args)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            return ChildFigures {
                peak_rss: None,
                wall_ms: None,
                note: format!("cannot run {}: {e}", bin.display()),
            };
        }
    };
    let wall_ms = Some(ms_since(started));
    // `modlens index` exits 1 when the mod has error diagnostics; its JSON is still printed.
    match serde_json::from_slice::<serde_json::Value>(&out.stdout) {
        Ok(v) => ChildFigures {
            peak_rss: v.get("peak_rss_bytes").and_then(serde_json::Value::as_u64),
            wall_ms,
            note: format!(
                "exit {}, {:.0} ms in process",
                out.status.code().map_or("signal".into(), |c| c.to_string()),
                v.get("elapsed_ms")
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(f64::NAN)
            ),
        },
        Err(e) => ChildFigures {
            peak_rss: None,
            wall_ms: None,
            note: format!(
                "{} printed no JSON ({e}; {}): {}",
                bin.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or("")
            ),
        },
    }
}

// ----- report ------------------------------------------------------------------------------

fn mb(bytes: f64) -> f64 {
    bytes / 1e6
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// The spread of the per-round ratios `a[i] / b[i]` (rounds are interleaved, so a ratio
/// within one round sees the same machine load on both sides).
fn paired_spread(a: &Times, b: &Times) -> String {
    let mut v: Vec<f64> =
        a.0.iter()
            .zip(&b.0)
            .filter(|(_, b)| **b > 0.0)
            .map(|(a, b)| a / b)
            .collect();
    v.sort_by(f64::total_cmp);
    match (v.first(), v.last()) {
        (Some(lo), Some(hi)) => format!(" (rounds {lo:.2}-{hi:.2}x)"),
        _ => String::new(),
    }
}

fn fmt_x(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.2}x"))
}

fn fmt_ms(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.2}"))
}

fn fmt_mbs(bytes: u64, ms: Option<f64>) -> String {
    ms.filter(|&ms| ms > 0.0).map_or("n/a".into(), |ms| {
        format!("{:.0}", mb(bytes as f64) / (ms / 1e3))
    })
}

impl SizeResult {
    fn src(&self) -> f64 {
        self.bytes.max(1) as f64
    }
    fn modlens_over_read(&self) -> Option<f64> {
        ratio(self.modlens.median(), self.read.median())
    }
    fn hcl_over_modlens(&self) -> Option<f64> {
        ratio(self.hcl.median(), self.modlens.median())
    }
    fn held_per_src(&self) -> f64 {
        self.index_held as f64 / self.src()
    }
    fn alloc_per_src(&self) -> f64 {
        self.alloc_cold as f64 / self.src()
    }
    fn rss_ratio(&self) -> Option<f64> {
        ratio(
            self.modlens_rss.peak_rss.map(|b| b as f64),
            self.peer_rss.peak_rss.map(|b| b as f64),
        )
    }
    /// Whole process: `modlens index --stats` over the read-only peer (medians).
    fn process_over_read(&self) -> Option<f64> {
        ratio(self.process_modlens.median(), self.process_read.median())
    }
    /// Peak RSS above each process's empty-mod baseline: (modlens, hcl-rs peer, ratio).
    fn rss_above(&self, baseline: &Baseline) -> (Option<f64>, Option<f64>, Option<f64>) {
        let above = |c: &ChildFigures, base: &ChildFigures| match (c.peak_rss, base.peak_rss) {
            (Some(a), Some(b)) => Some(a.saturating_sub(b) as f64),
            _ => None,
        };
        let m = above(&self.modlens_rss, &baseline.modlens);
        let p = above(&self.peer_rss, &baseline.peer);
        (m, p, ratio(m, p))
    }
}

fn print_size(r: &SizeResult, threads: usize, baseline: &Baseline) {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "== size {}: {} files, {} bytes ({:.1} MB), {} resources (hcl-rs: {} top-level labelled blocks); {} threads, {} rounds ({} for hcl-rs)",
        r.label,
        r.files,
        r.bytes,
        mb(r.bytes as f64),
        r.resources,
        r.hcl_labelled_blocks,
        threads,
        r.runs,
        r.hcl_runs
    );
    let _ = writeln!(
        s,
        "  {:<23} {:>9} {:>15} {:>5} {:>6}  ratio",
        "time (discovery excl.)", "median ms", "min-max ms", "reps", "MB/s"
    );
    let rows = [
        (
            "read floor",
            &r.read,
            r.reps.read,
            "1.00x read floor".to_string(),
        ),
        (
            "modlens index-only",
            &r.modlens,
            r.reps.modlens,
            format!(
                "{} read floor{}",
                fmt_x(r.modlens_over_read()),
                paired_spread(&r.modlens, &r.read)
            ),
        ),
        (
            "  (read+scan, no merge)",
            &r.scan,
            r.reps.scan,
            format!(
                "{} read floor, {} of modlens",
                fmt_x(ratio(r.scan.median(), r.read.median())),
                ratio(r.scan.median(), r.modlens.median())
                    .map_or("n/a".into(), |f| format!("{:.0}%", f * 100.0))
            ),
        ),
        (
            "hcl-rs parse (keep)",
            &r.hcl,
            r.reps.hcl,
            format!(
                "{} modlens{}",
                fmt_x(r.hcl_over_modlens()),
                paired_spread(&r.hcl, &r.modlens)
            ),
        ),
    ];
    for (name, t, reps, ratio) in rows {
        let _ = writeln!(
            s,
            "  {:<23} {:>9} {:>15} {:>5} {:>6}  {}",
            name,
            fmt_ms(t.median()),
            t.spread(),
            format!("x{reps}"),
            fmt_mbs(r.bytes, t.median()),
            ratio
        );
    }
    let src = r.src();
    let res = r.resources.max(1) as f64;
    let _ = writeln!(s, "  heap (counted in process)");
    let _ = writeln!(
        s,
        "    modlens index held        {:>12} B  {:.3}x source  {:.0} B/resource, {:.0} B/top-level block  (freed by dropping it; live after - before load {} B; Index::heap_bytes() estimate {} B = {:.3}x)",
        r.index_held,
        r.held_per_src(),
        r.index_held as f64 / res,
        r.index_held as f64 / r.hcl_labelled_blocks.max(1) as f64,
        r.live_warm,
        r.index_estimate,
        r.index_estimate as f64 / src
    );
    let _ = writeln!(
        s,
        "    modlens allocated in load {:>12} B  {:.3}x source  in {} calls (fresh threads; warm threads {} B = {:.3}x)",
        r.alloc_cold,
        r.alloc_per_src(),
        r.alloc_cold_calls,
        r.alloc_warm,
        r.alloc_warm as f64 / src
    );
    let _ = writeln!(
        s,
        "    modlens peak during load  {:>12} B  {:.3}x source  (fresh threads; live after {} B, of which per-thread buffers {} B)",
        r.peak_cold,
        r.peak_cold as f64 / src,
        r.live_cold,
        r.buffers_cold
    );
    let _ = writeln!(
        s,
        "    hcl-rs peak, bodies held  {:>12} B  {:.3}x source  {:.1}x modlens index held (bodies held {} B; allocated {} B = {:.2}x in {} calls)",
        r.hcl_peak,
        r.hcl_peak as f64 / src,
        r.hcl_peak as f64 / (r.index_held.max(1) as f64),
        r.hcl_held,
        r.hcl_alloc,
        r.hcl_alloc as f64 / src,
        r.hcl_calls
    );
    let rss = |c: &ChildFigures| {
        c.peak_rss
            .map_or("n/a".into(), |b| format!("{:.1} MB", mb(b as f64)))
    };
    let _ = writeln!(
        s,
        "  peak RSS (child processes)  modlens {} ({}) / hcl-rs peer {} ({}) = {}",
        rss(&r.modlens_rss),
        r.modlens_rss.note,
        rss(&r.peer_rss),
        r.peer_rss.note,
        fmt_x(r.rss_ratio())
    );
    // What each process holds for the mod itself, above what the same binary holds for an
    // empty mod (its loader, libraries, code pages and threads): DESIGN's budget at every
    // size; the totals above are judged from 10x up.
    let (m, p, x) = r.rss_above(baseline);
    let _ = writeln!(
        s,
        "    above an empty mod's RSS  modlens +{} / hcl-rs peer +{} = {}",
        m.map_or("n/a".into(), |b| format!("{:.1} MB", mb(b))),
        p.map_or("n/a".into(), |b| format!("{:.1} MB", mb(b))),
        fmt_x(x)
    );
    let _ = writeln!(
        s,
        "  whole process, spawn to exit (median of {}; read peer peak RSS {})\n    modlens index --stats {:>9} ms ({})\n    read-only peer        {:>9} ms ({})\n    = {} the read-only process{}",
        r.process_modlens.0.len(),
        rss(&r.read_peer),
        fmt_ms(r.process_modlens.median()),
        r.process_modlens.spread(),
        fmt_ms(r.process_read.median()),
        r.process_read.spread(),
        fmt_x(r.process_over_read()),
        paired_spread(&r.process_modlens, &r.process_read)
    );
    println!("{s}");
}

fn print_linearity(results: &[SizeResult]) {
    if results.len() < 2 {
        return;
    }
    println!(
        "== linearity (per MB of source, then growth factors between consecutive sizes; printed, never judged)"
    );
    println!(
        "  {:>6} {:>10} {:>10} {:>10} {:>11} {:>11} {:>11}",
        "size", "read ms/MB", "mdl ms/MB", "hcl ms/MB", "held B/B", "alloc B/B", "hcl pk B/B"
    );
    for r in results {
        let per = |t: &Times| t.median().map(|ms| ms / mb(r.src()));
        println!(
            "  {:>6} {:>10} {:>10} {:>10} {:>11.3} {:>11.3} {:>11.3}",
            r.label,
            per(&r.read).map_or("n/a".into(), |v| format!("{v:.2}")),
            per(&r.modlens).map_or("n/a".into(), |v| format!("{v:.2}")),
            per(&r.hcl).map_or("n/a".into(), |v| format!("{v:.1}")),
            r.held_per_src(),
            r.alloc_per_src(),
            r.hcl_peak as f64 / r.src()
        );
    }
    println!(
        "  {:>12} {:>7} {:>7} {:>8} {:>7} {:>10} {:>10} {:>9} {:>9}",
        "growth", "bytes", "res.", "read t", "mdl t", "hcl t", "held", "alloc", "hcl peak"
    );
    for w in results.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let g = |x: f64, y: f64| {
            if x > 0.0 {
                format!("{:.2}x", y / x)
            } else {
                "n/a".into()
            }
        };
        let gt = |x: &Times, y: &Times| fmt_x(ratio(y.median(), x.median()));
        println!(
            "  {:>12} {:>7} {:>7} {:>8} {:>7} {:>10} {:>10} {:>9} {:>9}",
            format!("{} -> {}", a.label, b.label),
            g(a.bytes as f64, b.bytes as f64),
            g(a.resources as f64, b.resources as f64),
            gt(&a.read, &b.read),
            gt(&a.modlens, &b.modlens),
            gt(&a.hcl, &b.hcl),
            g(a.index_held as f64, b.index_held as f64),
            g(a.alloc_cold as f64, b.alloc_cold as f64),
            g(a.hcl_peak as f64, b.hcl_peak as f64)
        );
    }
    println!();
}

/// DESIGN §4's load rows, judged in its form, for every size.
fn load_budgets(results: &[SizeResult], baseline: &Baseline) -> Vec<budgets::Budget> {
    let mut out = Vec::new();
    for r in results {
        let mut add =
            |what: &str, limit: String, measured: Option<f64>, pass: &dyn Fn(f64) -> bool| {
                out.push(budgets::Budget {
                    what: format!("{}x {what}", r.label),
                    limit,
                    measured: fmt_x(measured),
                    // Not measured is not a pass.
                    pass: measured.is_some_and(pass),
                });
            };
        add(
            "load, whole process / read-only process",
            "<= 2x".into(),
            r.process_over_read(),
            &|m| m <= 2.0,
        );
        add(
            "load in process / read floor",
            "<= 3.5x (goal 2x)".into(),
            r.modlens_over_read(),
            &|m| m <= 3.5,
        );
        if r.hcl_runs > 0 {
            add(
                "hcl-rs parse / index load",
                ">= 10x".into(),
                r.hcl_over_modlens(),
                &|m| m >= 10.0,
            );
        }
        add(
            "heap held by the index / source",
            "<= 0.5x".into(),
            Some(r.held_per_src()),
            &|m| m <= 0.5,
        );
        add(
            "bytes allocated in the load / source",
            "<= 1.5x".into(),
            Some(r.alloc_per_src()),
            &|m| m <= 1.5,
        );
        add(
            "peak RSS above empty mod, modlens / hcl-rs",
            "<= 0.35x".into(),
            r.rss_above(baseline).2,
            &|m| m <= 0.35,
        );
        if results_size(r) >= 10.0 {
            add(
                "peak RSS totals, modlens / hcl-rs",
                "<= 0.35x".into(),
                r.rss_ratio(),
                &|m| m <= 0.35,
            );
        }
    }
    out
}

/// The size of a result, from its label.
fn results_size(r: &SizeResult) -> f64 {
    r.label.parse().unwrap_or(0.0)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to filter here.
    let settings = settings();
    if settings.sizes.is_empty() {
        eprintln!("no sizes to run (MODLENS_BENCH_SIZES)");
        return;
    }
    let started = Instant::now();
    let bins = binaries();
    let dirs: Vec<PathBuf> = settings
        .sizes
        .iter()
        .map(|&s| ensure_mod(&settings.base, s, settings.regen))
        .collect();
    println!(
        "index_load: sizes {:?}, {} rounds, {} rayon threads, seed {SEED}, mods under {}",
        settings
            .sizes
            .iter()
            .map(|&s| size_label(s))
            .collect::<Vec<_>>(),
        settings.runs,
        settings.threads,
        settings.base.display()
    );
    println!(
        "  times: median over interleaved rounds of one sample each, a sample being the mean of `reps`\n  runs (~{TARGET_SAMPLE_MS} ms), each after evicting the CPU caches; warm page cache;\n  discovery excluded from every peer\n"
    );
    let baseline = process_baseline(&settings, &bins);
    let mut results = Vec::new();
    for (&size, dir) in settings.sizes.iter().zip(&dirs) {
        let r = measure(&settings, size, dir, &bins);
        print_size(&r, settings.threads, &baseline);
        results.push(r);
    }
    print_linearity(&results);
    budgets::finish(&load_budgets(&results, &baseline), started);
}
