//! Resolve benchmark: on-demand resolve of one control with its query (cold and from the
//! cache), `check` (resolve everything) on generated 1x/10x/100x mods with a fixed cache
//! limit, and the cache hit rate of a replayed editing session.
//!
//! `cargo bench --bench resolve` (a plain `main`, `harness = false`). Figures are printed as
//! medians and p99 of many samples and as ratios measured in this run; this machine is shared
//! and noisy, so only the ratios and orders of magnitude compare across runs.
//!
//! * **resolve one control**: controls that run a query (`query = query.x`) on the 10x mod.
//!   *Cold*: the resolver's cache is cleared before each sample, so the control and its query
//!   are both parsed and evaluated (their files' text is in the source cache, as it is while a
//!   person works; *cold + read* also reads the file). *Cached*: the same request again.
//! * **check with a fixed cache limit**: every resource resolved, file by file in parallel,
//!   with the cache bounded at `MODLENS_BENCH_CACHE_MB` (default 1 MiB, small enough that even
//!   the 1x mod fills it). Heap is counted by a counting allocator over the resolve phase only
//!   (the index is loaded and every value evaluated before the window opens; they grow with
//!   the mod by design — `index_load` holds the index to its budget — and are shown in the
//!   `index+values` column): its peak must stay flat as the mod grows.
//! * **editing session**: a scripted sequence of file opens (every resource of the file),
//!   hovers (a resource or a reference's target) and edits (the text changed in an overlay,
//!   the file rescanned, the model updated and the stale entries dropped) over the 10x mod,
//!   with the default cache; the hit rate is the cache's over every lookup of the session.
//!
//! Environment: `MODLENS_BENCH_DIR`, `MODLENS_BENCH_REGEN` as for `index_load`;
//! `MODLENS_BENCH_SIZES` (default `1,10,100`) for the check; `MODLENS_BENCH_CACHE_MB`;
//! `MODLENS_BENCH_THREADS` (default: all cores).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use modlens::cache::Limits;
use modlens::index::ResourceId;
use modlens::resolve::{Model, Resolver, Sources, ValueInputs};
use modlens::syntax::{AttrKey, AttrValue};
use modlens::workspace::{self, DiskSources};
use rayon::prelude::*;

#[path = "common/budgets.rs"]
mod budgets;
#[path = "common/counting.rs"]
mod counting;
#[path = "common/mods.rs"]
mod mods;
use budgets::Budget;

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok()?.trim().parse().ok()
}

struct Opened {
    model: Model,
    resolver: Resolver,
    sources: Arc<DiskSources>,
    bytes: u64,
}

fn open(dir: &Path, limits: Limits) -> Opened {
    let ws = workspace::discover(dir).expect("the generated mod is a workspace");
    let (index, stats) = workspace::load(&ws);
    let sources = Arc::new(DiskSources::new(ws.root.clone(), 4 * 1024 * 1024));
    let dyn_sources: Arc<dyn Sources> = sources.clone();
    let resolver = Resolver::new(dyn_sources.clone(), limits);
    let model = Model::new(index, &dyn_sources, &ValueInputs::default());
    Opened {
        model,
        resolver,
        sources,
        bytes: stats.bytes,
    }
}

/// Nanoseconds, sorted.
struct Samples(Vec<f64>);

impl Samples {
    fn at(&self, q: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        v[((v.len() - 1) as f64 * q).round() as usize]
    }
    fn median(&self) -> f64 {
        self.at(0.5)
    }
    fn p99(&self) -> f64 {
        self.at(0.99)
    }
}

fn us(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

/// Controls that run a query, spread over the mod.
fn controls_with_a_query(o: &Opened, n: usize) -> Vec<ResourceId> {
    let index = &o.model.index;
    let all: Vec<ResourceId> = index
        .resources_of_type("control")
        .filter(|id| {
            let (Some(f), Some(b)) = (index.file(id.file), index.block(*id)) else {
                return false;
            };
            matches!(
                f.index.attr(b, AttrKey::Query).map(|a| a.value()),
                Some(AttrValue::Ref(_))
            )
        })
        .collect();
    let step = (all.len() / n.max(1)).max(1);
    all.into_iter().step_by(step).take(n).collect()
}

fn one_control(dir: &Path, budgets: &mut Vec<Budget>) {
    let o = open(dir, Limits::default());
    let controls = controls_with_a_query(&o, 300);
    // One untimed pass: code and the file cache warm, as in a session.
    for id in &controls {
        o.resolver.resolve(&o.model, *id);
    }
    let mut cold = Vec::new();
    let mut cold_read = Vec::new();
    let mut cached = Vec::new();
    for round in 0..3 {
        for id in &controls {
            o.resolver.clear();
            if round == 2 {
                let path = o
                    .model
                    .index
                    .file(id.file)
                    .map(|f| f.path.clone())
                    .unwrap_or_default();
                o.sources.forget(&path);
                let t = Instant::now();
                let r = o.resolver.resolve(&o.model, *id);
                cold_read.push(t.elapsed().as_nanos() as f64);
                assert!(r.query.is_some() && r.diagnostics.is_empty(), "{}", r.name);
                continue;
            }
            let t = Instant::now();
            let r = o.resolver.resolve(&o.model, *id);
            cold.push(t.elapsed().as_nanos() as f64);
            assert!(r.query.is_some() && r.diagnostics.is_empty(), "{}", r.name);
            // Its query was resolved with it: it is in the cache now.
            let q = r
                .query
                .as_deref()
                .and_then(|q| o.model.index.lookup_qualified(q));
            assert!(q.is_some_and(|q| o.resolver.cached(&o.model, q).is_some()));
            for _ in 0..20 {
                let t = Instant::now();
                let again = o.resolver.resolve(&o.model, *id);
                cached.push(t.elapsed().as_nanos() as f64);
                std::hint::black_box(again);
            }
        }
    }
    let (cold, cold_read, cached) = (Samples(cold), Samples(cold_read), Samples(cached));
    println!(
        "\n== resolve one control with its query (10x mod, {} controls)",
        controls.len()
    );
    println!(
        "  {:<24} {:>10} {:>10} {:>8}",
        "", "median", "p99", "samples"
    );
    for (name, s) in [
        ("cold", &cold),
        ("cold + file read", &cold_read),
        ("from cache", &cached),
    ] {
        println!(
            "  {name:<24} {:>10} {:>10} {:>8}",
            us(s.median()),
            us(s.p99()),
            s.0.len()
        );
    }
    budgets.push(Budget {
        what: "cold resolve, control + query (p99)".into(),
        limit: "<= 0.5 ms".into(),
        measured: us(cold.p99()),
        pass: cold.p99() <= 500_000.0,
    });
    budgets.push(Budget {
        what: "cached resolve (p99)".into(),
        limit: "<= 5 µs".into(),
        measured: us(cached.p99()),
        pass: cached.p99() <= 5_000.0,
    });
}

struct CheckRow {
    size: f64,
    resources: usize,
    bytes: u64,
    ms: f64,
    resolve_peak: isize,
    allocated: usize,
    held_before: usize,
    cache_peak: u64,
    limit: usize,
    errors: usize,
}

fn check(dir: &Path, size: f64, limit: usize) -> CheckRow {
    let o = open(
        dir,
        Limits {
            max_entries: 1_000_000,
            max_bytes: limit,
        },
    );
    // The values are part of the model, like the index (they grow with the mod's variables
    // and locals, by design): evaluated before the window opens, so the window holds what
    // resolving adds.
    o.model.values.force(&o.model.index);
    let held_before = o.model.index.heap_bytes() + o.model.values.heap_bytes();
    let files: Vec<_> = o.model.index.files().map(|(id, _)| id).collect();
    counting::start();
    let t = Instant::now();
    let (resources, errors) = files
        .par_iter()
        .map(|f| {
            let mut n = 0;
            let mut e = 0;
            for id in o.model.index.resources_in_file(*f) {
                let r = o.resolver.resolve(&o.model, id);
                n += 1;
                e += usize::from(r.has_errors());
            }
            (n, e)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let w = counting::stop();
    CheckRow {
        size,
        resources,
        bytes: o.bytes,
        ms,
        resolve_peak: w.peak,
        allocated: w.total,
        held_before,
        cache_peak: o.resolver.stats().cache.peak_bytes,
        limit,
        errors,
    }
}

fn checks(base: &Path, sizes: &[f64], limit: usize, budgets: &mut Vec<Budget>) {
    let mut rows = Vec::new();
    for &size in sizes {
        let dir = mods::ensure_mod(base, size, false);
        rows.push(check(&dir, size, limit));
    }
    println!(
        "\n== check (resolve every resource) with the cache bounded at {} KiB",
        limit / 1024
    );
    println!(
        "  {:>5} {:>9} {:>10} {:>10} {:>8} {:>14} {:>12} {:>13} {:>12} {:>7}",
        "size",
        "resources",
        "source MB",
        "time ms",
        "µs/res",
        "resolve peak",
        "alloc/src",
        "index+values",
        "cache peak",
        "errors"
    );
    for r in &rows {
        println!(
            "  {:>5} {:>9} {:>10.1} {:>10.1} {:>8.1} {:>11.0} KiB {:>11.1}x {:>9.0} KiB {:>8.0} KiB {:>7}",
            mods::size_label(r.size),
            r.resources,
            r.bytes as f64 / 1e6,
            r.ms,
            r.ms * 1e3 / r.resources.max(1) as f64,
            r.resolve_peak as f64 / 1024.0,
            r.allocated as f64 / r.bytes.max(1) as f64,
            r.held_before as f64 / 1024.0,
            r.cache_peak as f64 / 1024.0,
            r.errors
        );
    }
    if let Some(first) = rows.first() {
        for r in rows.iter().skip(1) {
            let growth = r.resolve_peak as f64 / first.resolve_peak.max(1) as f64;
            println!(
                "  resolve-phase heap peak {}x -> {}x: {growth:.2}x for {:.1}x the resources",
                mods::size_label(first.size),
                mods::size_label(r.size),
                r.resources as f64 / first.resources.max(1) as f64
            );
            if (r.size / first.size - 10.0).abs() < 0.5 {
                budgets.push(Budget {
                    what: format!(
                        "resolve heap peak {}x -> {}x",
                        mods::size_label(first.size),
                        mods::size_label(r.size)
                    ),
                    limit: "within 20%".into(),
                    measured: format!("{growth:.2}x"),
                    pass: (0.8..=1.2).contains(&growth),
                });
            }
        }
    }
    for r in &rows {
        budgets.push(Budget {
            what: format!("cache peak <= limit, size {}", mods::size_label(r.size)),
            limit: format!("<= {} KiB", r.limit / 1024),
            measured: format!("{:.0} KiB", r.cache_peak as f64 / 1024.0),
            pass: r.cache_peak as usize <= r.limit,
        });
        budgets.push(Budget {
            what: format!(
                "check errors on the generated mod, size {}",
                mods::size_label(r.size)
            ),
            limit: "0".into(),
            measured: r.errors.to_string(),
            pass: r.errors == 0,
        });
    }
}

/// A small deterministic generator (the session must replay identically).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// The session's figures: opens, hovers, edits, ms, hits, misses, invalidations.
struct SessionFigures {
    opens: usize,
    hovers: usize,
    edits: usize,
    ms: f64,
    hits: u64,
    misses: u64,
    invalidations: u64,
}

fn session(dir: &Path, budgets: &mut Vec<Budget>) {
    let cold = replay(dir, false);
    let warm = replay(dir, true);
    println!("\n== replayed editing session (10x mod, default cache)");
    for (name, f) in [
        ("cold start (nothing resolved before)", &cold),
        (
            "after the background load (the server's steady state)",
            &warm,
        ),
    ] {
        println!(
            "  {name}: {} opens, {} hovers, {} edits in {:.0} ms; {} lookups, {} hits, {} misses: hit rate {:.1}%; {} invalidations",
            f.opens,
            f.hovers,
            f.edits,
            f.ms,
            f.hits + f.misses,
            f.hits,
            f.misses,
            f.hits as f64 * 100.0 / (f.hits + f.misses).max(1) as f64,
            f.invalidations
        );
    }
    let rate = warm.hits as f64 / (warm.hits + warm.misses).max(1) as f64;
    budgets.push(Budget {
        what: "cache hit rate, replayed session (warm)".into(),
        limit: ">= 95%".into(),
        measured: format!("{:.1}%", rate * 100.0),
        pass: rate >= 0.95,
    });
}

/// Replays the session; `warm`: everything resolved first, as the language server's
/// background load does before a person has done much.
fn replay(dir: &Path, warm: bool) -> SessionFigures {
    let mut o = open(dir, Limits::default());
    if warm {
        let files: Vec<_> = o.model.index.files().map(|(id, _)| id).collect();
        files.par_iter().for_each(|f| {
            for id in o.model.index.resources_in_file(*f) {
                o.resolver.resolve(&o.model, id);
            }
        });
    }
    let inputs = ValueInputs::default();
    let files: Vec<_> = o
        .model
        .index
        .files()
        .filter(|(_, f)| f.path.ends_with(".pp"))
        .map(|(id, _)| id)
        .collect();
    let mut rng = Lcg(42);
    let mut recent: Vec<modlens::index::FileId> = Vec::new();
    let (mut opens, mut hovers, mut edits) = (0usize, 0usize, 0usize);
    let before = o.resolver.stats().cache;
    let t = Instant::now();
    for visit in 0..80 {
        // Mostly back to a file of the working set, sometimes somewhere new.
        let file = if !recent.is_empty() && rng.next(10) < 7 {
            recent[rng.next(recent.len())]
        } else {
            files[rng.next(files.len())]
        };
        recent.retain(|f| *f != file);
        recent.push(file);
        if recent.len() > 8 {
            recent.remove(0);
        }
        let open_file = |o: &Opened| {
            for id in o.model.index.resources_in_file(file) {
                o.resolver.resolve(&o.model, id);
            }
        };
        let hover = |o: &Opened, rng: &mut Lcg| {
            let index = &o.model.index;
            let ids: Vec<ResourceId> = index.resources_in_file(file).collect();
            let refs = index.file(file).map(|f| f.index.refs.len()).unwrap_or(0);
            if refs > 0 && rng.next(2) == 0 {
                let i = rng.next(refs);
                if let Some(r) = index.file(file).and_then(|f| f.index.refs.get(i))
                    && let Some(target) = index.resolve_ref(file, r).first()
                {
                    o.resolver.resolve(&o.model, *target);
                }
            } else if !ids.is_empty() {
                o.resolver.resolve(&o.model, ids[rng.next(ids.len())]);
            }
        };
        open_file(&o);
        opens += 1;
        for _ in 0..30 {
            hover(&o, &mut rng);
            hovers += 1;
        }
        for e in 0..2 {
            // An edit: a title gets longer; the file is rescanned and the model updated.
            let Some(path) = o.model.index.file(file).map(|f| f.path.clone()) else {
                continue;
            };
            let Some(text) = o.sources.read(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&text).into_owned();
            let edited = match text.find("title") {
                Some(at) => match text[at..].find('"') {
                    Some(q) => {
                        let mut s = text.clone();
                        s.insert_str(at + q + 1, &format!("(edit {visit}.{e}) "));
                        s
                    }
                    None => format!("{text}\n# edit {visit}.{e}\n"),
                },
                None => format!("{text}\n# edit {visit}.{e}\n"),
            };
            o.sources
                .set_overlay(&path, Some(Arc::from(edited.as_bytes())));
            let scan = modlens::syntax::scan(edited.as_bytes());
            let stale = o.model.replace_file(
                file,
                scan,
                &(o.sources.clone() as Arc<dyn Sources>),
                &inputs,
            );
            let stale = o.resolver.refine(&o.model, stale);
            o.resolver.invalidate_stale(&stale);
            edits += 1;
            // The file's diagnostics again, then more hovers.
            open_file(&o);
            for _ in 0..10 {
                hover(&o, &mut rng);
                hovers += 1;
            }
        }
    }
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let after = o.resolver.stats().cache;
    SessionFigures {
        opens,
        hovers,
        edits,
        ms,
        hits: after.hits - before.hits,
        misses: after.misses - before.misses,
        invalidations: after.invalidations - before.invalidations,
    }
}

fn main() {
    let base = std::env::var_os("MODLENS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("modlens-bench"));
    let regen = std::env::var("MODLENS_BENCH_REGEN").is_ok_and(|v| v == "1");
    let sizes: Vec<f64> = std::env::var("MODLENS_BENCH_SIZES")
        .unwrap_or_else(|_| "1,10,100".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .collect();
    let limit = env::<usize>("MODLENS_BENCH_CACHE_MB").unwrap_or(1).max(1) * 1024 * 1024;
    if let Some(n) = env::<usize>("MODLENS_BENCH_THREADS").filter(|n| *n > 0) {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    println!(
        "resolve: sizes {sizes:?}, cache limit {} KiB for check, {} rayon threads, mods under {}",
        limit / 1024,
        rayon::current_num_threads(),
        base.display()
    );
    let t = Instant::now();
    let ten = mods::ensure_mod(&base, 10.0, regen);
    let mut budgets = Vec::new();
    one_control(&ten, &mut budgets);
    checks(&base, &sizes, limit, &mut budgets);
    session(&ten, &mut budgets);
    budgets::print(&budgets, t);
}
