//! Whole-process CLI benchmark: the dumps and `check` as users run them.
//!
//! `cargo bench --bench cli` (a plain `main`, `harness = false`; run it by hand, the machine
//! is shared and noisy). On generated mods (1x and 10x by default) it runs the bench-profile
//! `modlens` binary as a child, stdout to `/dev/null`, and takes the median wall time and the
//! median peak RSS (`wait4`'s `ru_maxrss`) of five runs of each:
//!
//! * `index DIR --stats` (the load alone) against `index DIR --index-only`: budget ≤ 1.5x
//!   the time and ≤ 1.3x the peak RSS;
//! * `--threads 2 index DIR` (evaluated) against `--threads 2 index DIR --index-only`:
//!   budget ≤ 3x the time;
//! * `--threads 1 check DIR` against `--threads 2 check DIR`: budget ≥ 1.7x faster.
//!
//! The runs of a comparison interleave (a, b, a, b, ...) so that noise hits both alike; only
//! ratios of the same run mean anything. It ends with the budget table and exits 1 when a
//! budget fails.
//!
//! It also runs the first comparison on every fixture under `fixtures/` (tiny mods: the
//! process start dominates; whole process, judged the same way) and judges the worst
//! fixture's ratios; `MODLENS_BENCH_FIXTURES=0` leaves them out.
//!
//! Environment: `MODLENS_BENCH_DIR` (where the generated mods live, default the system temp
//! dir; reused while their marker matches), `MODLENS_BENCH_SIZES` (default `1,10`),
//! `MODLENS_BENCH_RUNS` (default 5), `MODLENS_BENCH_FIXTURES` (default 1).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "common/budgets.rs"]
mod budgets;
#[path = "common/mods.rs"]
mod mods;
use budgets::Budget;

/// One run of a child: wall seconds and peak RSS in bytes.
#[derive(Clone, Copy)]
struct Run {
    secs: f64,
    rss: u64,
}

/// The argument that makes this bench measure one process for its parent (see [`run`]).
const MEASURE_ARG: &str = "--measure-process";

/// Runs `modlens ARGS` once, stdout and stderr discarded; its wall time and peak RSS.
///
/// The child is started by a fresh copy of this bench ([`MEASURE_ARG`]), not by this
/// process: Linux carries the peak RSS of the address space a process was started from into
/// its own (`vfork` shares the parent's and `exec` keeps the larger peak), so a child of this
/// process, which generates mods and holds their figures, would report this process's peak
/// whenever that is the larger (seen: 321 MB reported for an 8 MB run).
fn run(args: &[&str]) -> Run {
    let me = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let out = Command::new(me)
        .arg(MEASURE_ARG)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run the measuring copy: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "modlens {args:?}: {text}");
    let mut parts = text.split_whitespace().map(str::parse::<f64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(secs)), Some(Ok(rss))) => Run {
            secs,
            rss: rss as u64,
        },
        _ => panic!("the measuring copy printed {text:?}"),
    }
}

/// The measuring copy's work: runs `modlens ARGS` and prints `SECONDS PEAK_RSS_BYTES`.
fn measure_here(args: &[String]) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run_child(&args);
    println!("{} {}", r.secs, r.rss);
}

/// Runs `modlens ARGS` as a child of this process; its wall time and peak RSS.
fn run_child(args: &[&str]) -> Run {
    let t = Instant::now();
    // Waited for below with `wait4`, which also gives its peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_modlens"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run modlens {args:?}: {e}"));
    let mut status = 0;
    // SAFETY: `rusage` is plain data that `wait4` fills; the pid is our own child, waited for
    // here once (std's `Child` is not waited for afterwards).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed for {args:?}");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    assert!(
        matches!(code, Some(0 | 1)),
        "modlens {args:?} ended with {status:#x}"
    );
    Run {
        secs,
        // Linux reports kilobytes.
        rss: usage.ru_maxrss.max(0) as u64 * 1024,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The medians of `runs` interleaved runs of `a` and `b`: (time a, rss a, time b, rss b).
fn compare(a: &[&str], b: &[&str], runs: usize) -> (f64, f64, f64, f64) {
    // One untimed run each: the page cache holds the mod for both.
    run(a);
    run(b);
    let (mut ta, mut ra, mut tb, mut rb) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let x = run(a);
        let y = run(b);
        ta.push(x.secs);
        ra.push(x.rss as f64);
        tb.push(y.secs);
        rb.push(y.rss as f64);
    }
    (median(ta), median(ra), median(tb), median(rb))
}

fn mb(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some(MEASURE_ARG) {
        measure_here(&argv[1..]);
        return;
    }
    let started = Instant::now();
    let base = std::env::var_os("MODLENS_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let sizes: Vec<f64> = std::env::var("MODLENS_BENCH_SIZES")
        .unwrap_or_else(|_| "1,10".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = std::env::var("MODLENS_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
    let mut budgets = Vec::new();
    for size in sizes {
        let dir = mods::ensure_mod(Path::new(&base), size, false);
        let d = dir.to_string_lossy().into_owned();
        let label = mods::size_label(size);
        println!("== size {label}x ({d}), median of {runs}");

        let (t_stats, r_stats, t_only, r_only) = compare(
            &["index", &d, "--stats", "--output", "json"],
            &["index", &d, "--index-only"],
            runs,
        );
        println!(
            "  index --stats          {:>9.1} ms {:>8.1} MB peak RSS",
            t_stats * 1e3,
            mb(r_stats)
        );
        println!(
            "  index --index-only     {:>9.1} ms {:>8.1} MB peak RSS   ({:.2}x time, {:.2}x RSS)",
            t_only * 1e3,
            mb(r_only),
            t_only / t_stats,
            r_only / r_stats
        );
        budgets.push(Budget {
            what: format!("{label}x index-only time / --stats"),
            limit: "<= 1.5x".into(),
            measured: format!("{:.2}x", t_only / t_stats),
            pass: t_only / t_stats <= 1.5,
        });
        budgets.push(Budget {
            what: format!("{label}x index-only peak RSS / --stats"),
            limit: "<= 1.3x".into(),
            measured: format!("{:.2}x", r_only / r_stats),
            pass: r_only / r_stats <= 1.3,
        });

        let (t_eval, r_eval, t_only2, _) = compare(
            &["--threads", "2", "index", &d],
            &["--threads", "2", "index", &d, "--index-only"],
            runs,
        );
        println!(
            "  index (2 threads)      {:>9.1} ms {:>8.1} MB peak RSS   ({:.2}x index-only's {:.1} ms)",
            t_eval * 1e3,
            mb(r_eval),
            t_eval / t_only2,
            t_only2 * 1e3
        );
        budgets.push(Budget {
            what: format!("{label}x index evaluated / index-only (2 thr)"),
            limit: "<= 3x".into(),
            measured: format!("{:.2}x", t_eval / t_only2),
            pass: t_eval / t_only2 <= 3.0,
        });

        let (t_one, _, t_two, _) = compare(
            &["--threads", "1", "check", &d],
            &["--threads", "2", "check", &d],
            runs,
        );
        println!(
            "  check 1 thread         {:>9.1} ms\n  check 2 threads        {:>9.1} ms   ({:.2}x faster)",
            t_one * 1e3,
            t_two * 1e3,
            t_one / t_two
        );
        budgets.push(Budget {
            what: format!("{label}x check 2 threads vs 1"),
            limit: ">= 1.7x".into(),
            measured: format!("{:.2}x", t_one / t_two),
            pass: t_one / t_two >= 1.7,
        });
    }
    if std::env::var("MODLENS_BENCH_FIXTURES").as_deref() != Ok("0") {
        budgets.extend(fixture_rows(runs));
    }
    budgets::print(&budgets, started);
    if budgets.iter().any(|b| !b.pass) {
        std::process::exit(1);
    }
}

/// `index --index-only` against `index --stats` on every fixture: a line each, and the
/// worst fixture's time and peak RSS ratios judged by the same budgets.
fn fixture_rows(runs: usize) -> Vec<Budget> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    println!("== fixtures ({} mods), median of {runs}", dirs.len());
    let (mut worst_time, mut worst_rss) = ((0.0f64, String::new()), (0.0f64, String::new()));
    for dir in &dirs {
        let d = dir.to_string_lossy().into_owned();
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (t_stats, r_stats, t_only, r_only) = compare(
            &["index", &d, "--stats", "--output", "json"],
            &["index", &d, "--index-only"],
            runs,
        );
        let (time, rss) = (t_only / t_stats, r_only / r_stats);
        println!(
            "  {name:<36} --stats {:>6.1} ms {:>5.1} MB   --index-only {:>6.1} ms {:>5.1} MB   ({time:.2}x time, {rss:.2}x RSS)",
            t_stats * 1e3,
            mb(r_stats),
            t_only * 1e3,
            mb(r_only),
        );
        if time > worst_time.0 {
            worst_time = (time, name.clone());
        }
        if rss > worst_rss.0 {
            worst_rss = (rss, name);
        }
    }
    vec![
        Budget {
            what: format!(
                "fixtures index-only time / --stats (worst: {})",
                worst_time.1
            ),
            limit: "<= 1.5x".into(),
            measured: format!("{:.2}x", worst_time.0),
            pass: worst_time.0 <= 1.5,
        },
        Budget {
            what: format!(
                "fixtures index-only peak RSS / --stats (worst: {})",
                worst_rss.1
            ),
            limit: "<= 1.3x".into(),
            measured: format!("{:.2}x", worst_rss.0),
            pass: worst_rss.0 <= 1.3,
        },
    ]
}
