//! Pathological-input benchmark: every shape of `modlens::generate::pathological` against a
//! well-formed file of the same size, and against itself at four times the size.
//!
//! `cargo bench --bench scan_shapes` (a plain `main`, `harness = false`). For each shape and
//! size it times, best of several runs (the machine is shared: the minimum is the run least
//! disturbed):
//!
//! * **scan**: `syntax::scan` of the file;
//! * **index**: the scan, then what the CLI and the language server build from it without a
//!   parse: the merged index, every resource's qualified name, its children, the dashboards
//!   payload and the `--index-only` dump serialised (to a sink), and the benchmark tree of
//!   every benchmark.
//!
//! It prints nanoseconds per byte at the large size, the ratio to the normal file's at the
//! same size, and how much that ratio grows from the small size to the large one (1.0 is
//! linear, 4.0 quadratic). It ends with a budget table and exits 1 when any shape's time per
//! byte is over [`RATIO_LIMIT`] times the normal file's, or its ratio grows more than
//! [`GROWTH_LIMIT`] times for four times the bytes: a super-linear path fails loudly,
//! whatever the machine's speed.
//!
//! `--quick` (what `.ci/run` runs): 128 KiB and 512 KiB, fewer runs. Otherwise 256 KiB and
//! 1 MiB. `MODLENS_BENCH_RUNS` sets the runs per measurement.

use std::time::{Duration, Instant};

use modlens::generate::pathological::{NORMAL, Shape, shapes};
use modlens::index::{Index, dashboards, dump, tree};
use modlens::syntax;

#[path = "common/budgets.rs"]
mod budgets;
use budgets::Budget;

/// A shape's time per byte may be at most this many times the normal file's (a file of only
/// tokens costs more per byte than one that is mostly SQL text, which the scanner skips with
/// SIMD searches; a quadratic path at these sizes is hundreds of times slower).
const RATIO_LIMIT: f64 = 40.0;

/// From the small size to four times it, a shape's time per byte relative to the normal
/// file's may grow at most this much (1.0 is linear; a quadratic path gives about 4). Relative,
/// because every file's time per byte grows a little once its index no longer fits the CPU
/// caches.
const GROWTH_LIMIT: f64 = 2.5;

/// The best of `runs` runs of `f`.
fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// The scan, then the index-only views of it (see the module doc).
fn index_views(src: &[u8]) -> usize {
    let mut index = Index::new();
    let module = index.add_mod(String::new(), false);
    index.add_file("f.pp".to_string(), module, syntax::scan(src));
    let mut work = 0usize;
    let ids: Vec<_> = index.resources().collect();
    for &id in &ids {
        work += index.qualified_name(id).map_or(0, |n| n.len());
        work += index.child_ids(id).len();
    }
    let payload = dashboards::payload(&index, &dump::literal_fields);
    work += serde_json::to_writer(std::io::sink(), &payload).map_or(0, |_| 1);
    let text = src.to_vec();
    let d = dump::dump(&index, &|_| Some(text.clone()), &dump::literal_fields);
    work += serde_json::to_writer(std::io::sink(), &d).map_or(0, |_| 1);
    for &id in &ids {
        if index.kind_of(id) == Some("benchmark") {
            let t = tree::tree(&index, &dump::literal_fields, id);
            work += serde_json::to_writer(std::io::sink(), &t).map_or(0, |_| 1);
        }
    }
    work
}

struct Row {
    name: &'static str,
    /// ns per byte, [small, large], for scan and index.
    scan: [f64; 2],
    index: [f64; 2],
}

fn measure(shape: &Shape, sizes: [usize; 2], runs: usize) -> Row {
    let mut scan = [0.0; 2];
    let mut index = [0.0; 2];
    for (k, &size) in sizes.iter().enumerate() {
        let src = (shape.make)(size);
        let n = src.len() as f64;
        scan[k] = best(runs, || {
            std::hint::black_box(syntax::scan(std::hint::black_box(&src)));
        })
        .as_nanos() as f64
            / n;
        index[k] = best(runs, || {
            std::hint::black_box(index_views(std::hint::black_box(&src)));
        })
        .as_nanos() as f64
            / n;
    }
    Row {
        name: shape.name,
        scan,
        index,
    }
}

fn main() {
    let started = Instant::now();
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes = if quick {
        [128 * 1024, 512 * 1024]
    } else {
        [256 * 1024, 1024 * 1024]
    };
    let runs = std::env::var("MODLENS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 3 } else { 7 });
    println!(
        "== scan shapes: {} and {} KiB, best of {runs} runs",
        sizes[0] / 1024,
        sizes[1] / 1024
    );
    let all = shapes();
    let rows: Vec<Row> = all.iter().map(|s| measure(s, sizes, runs)).collect();
    let Some(normal) = rows.iter().find(|r| r.name == NORMAL) else {
        eprintln!("no {NORMAL} shape");
        std::process::exit(2);
    };
    let (n_scan, n_index) = (normal.scan, normal.index);
    println!(
        "  {:<36} {:>9} {:>7} {:>7} {:>9} {:>7} {:>7}",
        "shape", "scan ns/B", "x norm", "growth", "index ns/B", "x norm", "growth"
    );
    let mut worst_ratio = (0.0f64, "");
    let mut worst_growth = (0.0f64, "");
    for r in &rows {
        let scan_ratio = r.scan[1] / n_scan[1];
        let index_ratio = r.index[1] / n_index[1];
        // Growth of the time per byte relative to the normal file's.
        let growth = |v: [f64; 2], n: [f64; 2]| (v[1] / n[1]) / (v[0] / n[0]);
        let (sg, ig) = (growth(r.scan, n_scan), growth(r.index, n_index));
        println!(
            "  {:<36} {:>9.2} {:>7.1} {:>7.2} {:>9.2} {:>7.1} {:>7.2}",
            r.name, r.scan[1], scan_ratio, sg, r.index[1], index_ratio, ig
        );
        for v in [scan_ratio, index_ratio] {
            if v > worst_ratio.0 {
                worst_ratio = (v, r.name);
            }
        }
        for v in [sg, ig] {
            if v > worst_growth.0 {
                worst_growth = (v, r.name);
            }
        }
    }
    let budgets = [
        Budget {
            what: format!("worst time per byte vs normal ({})", worst_ratio.1),
            limit: format!("<= {RATIO_LIMIT:.0}x"),
            measured: format!("{:.1}x", worst_ratio.0),
            pass: worst_ratio.0 <= RATIO_LIMIT,
        },
        Budget {
            what: format!("worst relative growth, 4x the bytes ({})", worst_growth.1),
            limit: format!("<= {GROWTH_LIMIT:.1}x"),
            measured: format!("{:.2}x", worst_growth.0),
            pass: worst_growth.0 <= GROWTH_LIMIT,
        },
    ];
    if budgets::print(&budgets, started) > 0 {
        eprintln!("scan_shapes: a shape is super-linear or far slower than a normal file");
        std::process::exit(1);
    }
}
