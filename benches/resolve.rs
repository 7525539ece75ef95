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
//!   with the default cache; the hit rate is the cache's over every lookup of the session,
//!   judged from a cold start (nothing resolved before the session; the session after the
//!   background load is printed too).
//! * **reference chains**: generated mods of 1,000 / 10,000 / 100,000 links — queries whose
//!   title or SQL is the next one's (`title = query.next.title`), controls inheriting through
//!   `base`, locals each using the one before, locals each wrapping the one before in a list
//!   (stopped by the depth limit). Per link: the time and heap to resolve the head of the
//!   chain (and the links built and looked at), to evaluate its title alone, to resolve every
//!   link in file order with the default cache, to evaluate every local, what an edit of
//!   the first local affects and what taking in an edit of one local costs. Linear work
//!   shows as flat figures per link.
//!
//! Environment: `MODLENS_BENCH_DIR`, `MODLENS_BENCH_REGEN` as for `index_load`;
//! `MODLENS_BENCH_SIZES` (default `1,10,100`) for the check; `MODLENS_BENCH_CACHE_MB`;
//! `MODLENS_BENCH_THREADS` (default: all cores); `MODLENS_BENCH_CHAINS` (default
//! `1000,10000,100000`) for the chains; `MODLENS_BENCH_ONLY` (a comma-separated list of
//! `control`, `check`, `session`, `chains`) to run some parts only.

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
    inserts: u64,
    evictions: u64,
    invalidations: u64,
}

fn session(dir: &Path, budgets: &mut Vec<Budget>) {
    let cold = replay(dir, false, Limits::default());
    let warm = replay(dir, true, Limits::default());
    // The same cold session with a cache that never evicts: its misses are the ones no
    // cache policy can avoid (a resource's first lookup, and lookups after an edit made the
    // entry stale); the default cache's extra misses are the policy's.
    let unbounded = replay(
        dir,
        false,
        Limits {
            max_entries: 1 << 40,
            max_bytes: 1 << 40,
        },
    );
    println!("\n== replayed editing session (10x mod, default cache)");
    for (name, f) in [
        ("cold start (nothing resolved before; judged)", &cold),
        (
            "after the background load (the server's steady state)",
            &warm,
        ),
        ("cold start, a cache that never evicts", &unbounded),
    ] {
        println!(
            "  {name}: {} opens, {} hovers, {} edits in {:.0} ms; {} lookups, {} hits, {} misses: hit rate {:.1}%; {} inserts, {} evictions, {} invalidations",
            f.opens,
            f.hovers,
            f.edits,
            f.ms,
            f.hits + f.misses,
            f.hits,
            f.misses,
            f.hits as f64 * 100.0 / (f.hits + f.misses).max(1) as f64,
            f.inserts,
            f.evictions,
            f.invalidations
        );
    }
    println!(
        "  cold misses: {} that no policy avoids (first lookups, stale after an edit), {} from evictions (the policy's)",
        unbounded.misses,
        cold.misses.saturating_sub(unbounded.misses)
    );
    // Judged on the cold session: a person who opens the editor and starts working does not
    // wait for the background load first. The warm figure is printed above, not judged.
    let rate = cold.hits as f64 / (cold.hits + cold.misses).max(1) as f64;
    budgets.push(Budget {
        what: "cache hit rate, replayed session (cold start)".into(),
        limit: ">= 95%".into(),
        measured: format!("{:.1}%", rate * 100.0),
        pass: rate >= 0.95,
    });
}

/// Replays the session with a cache of `limits`; `warm`: everything resolved first, as the
/// language server's background load does before a person has done much.
fn replay(dir: &Path, warm: bool, limits: Limits) -> SessionFigures {
    let mut o = open(dir, limits);
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
        inserts: after.inserts - before.inserts,
        evictions: after.evictions - before.evictions,
        invalidations: after.invalidations - before.invalidations,
    }
}

/// A comma-separated list from the environment (`default` when unset); what does not parse
/// is left out.
fn env_list<T: std::str::FromStr>(name: &str, default: &str) -> Vec<T> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn main() {
    let base = std::env::var_os("MODLENS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("modlens-bench"));
    let regen = std::env::var("MODLENS_BENCH_REGEN").is_ok_and(|v| v == "1");
    let sizes: Vec<f64> = env_list("MODLENS_BENCH_SIZES", "1,10,100")
        .into_iter()
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
    let only: Option<String> = std::env::var("MODLENS_BENCH_ONLY").ok();
    let part = |p: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|x| x.trim() == p))
    };
    let chain_sizes: Vec<usize> = env_list("MODLENS_BENCH_CHAINS", "1000,10000,100000")
        .into_iter()
        .filter(|n: &usize| *n > 1)
        .collect();
    let t = Instant::now();
    let mut budgets = Vec::new();
    if part("control") || part("check") || part("session") {
        let ten = mods::ensure_mod(&base, 10.0, regen);
        if part("control") {
            one_control(&ten, &mut budgets);
        }
        if part("check") {
            checks(&base, &sizes, limit, &mut budgets);
        }
        if part("session") {
            session(&ten, &mut budgets);
        }
    }
    if part("chains") {
        chains(&base, &chain_sizes, &mut budgets);
    }
    budgets::finish(&budgets, t);
}

/// The shapes of generated chain.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Chain {
    /// `query "qK" { title = query.qK+1.title  sql = "select 1" }`.
    Title,
    /// `query "qK" { sql = query.qK+1.sql }`.
    Sql,
    /// `control "qK" { base = control.qK+1 }`.
    Base,
    /// `locals { lK = local.lK-1 + 1 }`.
    Locals,
    /// `locals { lK = [local.lK-1] }`: past 128 levels every one fails (the depth limit).
    Nested,
}

impl Chain {
    fn label(self) -> &'static str {
        match self {
            Chain::Title => "title = query.next.title",
            Chain::Sql => "sql = query.next.sql",
            Chain::Base => "base = control.next",
            Chain::Locals => "lK = local.lK-1 + 1",
            Chain::Nested => "lK = [local.lK-1]",
        }
    }

    fn head(self) -> &'static str {
        match self {
            Chain::Base => "control.q0",
            _ => "query.q0",
        }
    }
}

/// Writes (once) a mod holding a chain of `n` links of `shape`, 1,000 links a file (as
/// real mods spread their resources; a single file larger than the source cache is read
/// again by every resource's resolve, which would measure the disk, not the chain).
fn chain_mod(base: &Path, shape: Chain, n: usize) -> PathBuf {
    let dir = base.join(format!("chain-{shape:?}-{n}").to_lowercase());
    let done = dir.join(".complete");
    if done.exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the chain folder");
    std::fs::write(dir.join("mod.pp"), "mod \"m\" {}\n").expect("write");
    const PER_FILE: usize = 1_000;
    let mut text = String::new();
    let flush = |text: &mut String, k: usize| {
        if (k + 1).is_multiple_of(PER_FILE) || k + 1 == n {
            let file = dir.join(format!("chain_{:05}.pp", k / PER_FILE));
            std::fs::write(file, std::mem::take(text)).expect("write");
        }
    };
    match shape {
        Chain::Locals | Chain::Nested => {
            // One file, one `locals` block (what an edit of one local costs is measured
            // on it).
            text.push_str("locals {\n  l0 = 1\n");
            for k in 1..n {
                let p = k - 1;
                if shape == Chain::Locals {
                    text.push_str(&format!("  l{k} = local.l{p} + 1\n"));
                } else {
                    text.push_str(&format!("  l{k} = [local.l{p}]\n"));
                }
            }
            text.push_str("}\n");
            std::fs::write(dir.join("locals.pp"), &text).expect("write");
        }
        _ => {
            for k in 0..n {
                let next = k + 1;
                let last = next == n;
                text.push_str(&match (shape, last) {
                    (Chain::Title, false) => format!(
                        "query \"q{k}\" {{\n  title = query.q{next}.title\n  sql = \"select 1\"\n}}\n"
                    ),
                    (Chain::Sql, false) => {
                        format!("query \"q{k}\" {{\n  sql = query.q{next}.sql\n}}\n")
                    }
                    (Chain::Base, false) => {
                        format!("control \"q{k}\" {{\n  base = control.q{next}\n}}\n")
                    }
                    (Chain::Base, true) => format!(
                        "control \"q{k}\" {{\n  title = \"last\"\n  sql = \"select 1\"\n}}\n"
                    ),
                    _ => format!(
                        "query \"q{k}\" {{\n  title = \"last\"\n  sql = \"select 1\"\n}}\n"
                    ),
                });
                flush(&mut text, k);
            }
        }
    }
    std::fs::write(&done, "").expect("write");
    dir
}

/// One chain's figures.
struct ChainRow {
    shape: Chain,
    n: usize,
    /// Resolving the head: ms, links built, links looked at, heap peak.
    head_ms: f64,
    built: u64,
    explored: u64,
    head_peak: isize,
    /// Evaluating the head's title alone (fresh resolver): ms, fields looked at.
    field_ms: f64,
    fields: u64,
    /// Resolving every link in file order (default cache): ms, links built.
    sweep_ms: f64,
    sweep_built: u64,
    /// Locals: evaluating them all, what an edit of the first affects, and taking in an
    /// edit of the one in the middle (`Model::replace_file`).
    force_ms: f64,
    affected_ms: f64,
    affected: usize,
    edit_ms: f64,
}

fn chain_row(base: &Path, shape: Chain, n: usize) -> ChainRow {
    let dir = chain_mod(base, shape, n);
    let mut row = ChainRow {
        shape,
        n,
        head_ms: 0.0,
        built: 0,
        explored: 0,
        head_peak: 0,
        field_ms: 0.0,
        fields: 0,
        sweep_ms: 0.0,
        sweep_built: 0,
        force_ms: 0.0,
        affected_ms: 0.0,
        affected: 0,
        edit_ms: 0.0,
    };
    let mut o = open(&dir, Limits::default());
    if matches!(shape, Chain::Locals | Chain::Nested) {
        let t = Instant::now();
        o.model.values.force(&o.model.index);
        row.force_ms = t.elapsed().as_secs_f64() * 1e3;
        let seeds = [(modlens::index::ModId(0), false, "l0".to_string())];
        let t = Instant::now();
        row.affected = o.model.values.affected(&seeds).len();
        row.affected_ms = t.elapsed().as_secs_f64() * 1e3;
        // An edit of the local in the middle, as the language server takes it in.
        let path = dir.join("locals.pp");
        let text = std::fs::read_to_string(&path).expect("read");
        let m = n / 2;
        let edited = text.replacen(&format!("  l{m} = "), &format!("  l{m} = 0 + "), 1);
        std::fs::write(&path, &edited).expect("write");
        o.sources.forget("locals.pp");
        let file = o.model.index.file_by_path("locals.pp").expect("indexed");
        let sources: Arc<dyn Sources> = o.sources.clone();
        let t = Instant::now();
        let stale = o.model.replace_file(
            file,
            modlens::syntax::scan(edited.as_bytes()),
            &sources,
            &ValueInputs::default(),
        );
        row.edit_ms = t.elapsed().as_secs_f64() * 1e3;
        std::fs::write(&path, &text).expect("write");
        assert!(stale.names.len() >= n - m, "{}", stale.names.len());
        return row;
    }
    let head = o
        .model
        .index
        .lookup_qualified(shape.head())
        .expect("the chain has a head");
    counting::start();
    let t = Instant::now();
    let r = o.resolver.resolve(&o.model, head);
    row.head_ms = t.elapsed().as_secs_f64() * 1e3;
    row.head_peak = counting::stop().peak;
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let stats = o.resolver.stats();
    (row.built, row.explored) = (stats.resolved, stats.explored);
    drop(r);
    // The title alone, as the index's dump and lists ask for it.
    let fresh = open(&dir, Limits::default());
    let t = Instant::now();
    let title = fresh
        .resolver
        .field(&fresh.model, head, modlens::syntax::AttrKey::Title);
    row.field_ms = t.elapsed().as_secs_f64() * 1e3;
    row.fields = fresh.resolver.stats().fields_explored;
    assert!(
        shape == Chain::Sql || title.value().is_some(),
        "{shape:?}: {title:?}"
    );
    // Every link, in file order, through the default cache (as `check` does).
    let sweep = open(&dir, Limits::default());
    let t = Instant::now();
    for id in sweep.model.index.resources() {
        sweep.resolver.resolve(&sweep.model, id);
    }
    row.sweep_ms = t.elapsed().as_secs_f64() * 1e3;
    row.sweep_built = sweep.resolver.stats().resolved;
    row
}

fn chains(base: &Path, sizes: &[usize], budgets: &mut Vec<Budget>) {
    let shapes = [
        Chain::Title,
        Chain::Sql,
        Chain::Base,
        Chain::Locals,
        Chain::Nested,
    ];
    let mut rows: Vec<ChainRow> = Vec::new();
    for shape in shapes {
        for &n in sizes {
            rows.push(chain_row(base, shape, n));
        }
    }
    println!("\n== reference chains (per link; flat figures = linear work)");
    println!(
        "  {:<26} {:>7} {:>10} {:>8} {:>8} {:>10} {:>9} {:>9} {:>10} {:>9}",
        "shape",
        "links",
        "head µs",
        "built",
        "looked",
        "heap B",
        "title µs",
        "fields",
        "sweep µs",
        "built"
    );
    for r in rows
        .iter()
        .filter(|r| !matches!(r.shape, Chain::Locals | Chain::Nested))
    {
        let per = |x: f64| x / r.n as f64;
        println!(
            "  {:<26} {:>7} {:>10.1} {:>8.2} {:>8.2} {:>10.0} {:>9.2} {:>9.2} {:>10.1} {:>9.2}",
            r.shape.label(),
            r.n,
            per(r.head_ms * 1e3),
            per(r.built as f64),
            per(r.explored as f64),
            per(r.head_peak as f64),
            per(r.field_ms * 1e3),
            per(r.fields as f64),
            per(r.sweep_ms * 1e3),
            per(r.sweep_built as f64),
        );
    }
    println!(
        "  {:<26} {:>7} {:>10} {:>12} {:>9} {:>9}",
        "locals", "links", "force µs", "affected µs", "affected", "edit µs"
    );
    for r in rows
        .iter()
        .filter(|r| matches!(r.shape, Chain::Locals | Chain::Nested))
    {
        let per = |x: f64| x / r.n as f64;
        println!(
            "  {:<26} {:>7} {:>10.2} {:>12.3} {:>9} {:>9.2}",
            r.shape.label(),
            r.n,
            per(r.force_ms * 1e3),
            per(r.affected_ms * 1e3),
            r.affected,
            per(r.edit_ms * 1e3)
        );
    }
    // Linear: the figure per link at the largest chain within 3x of the smallest's (the
    // quadratic walks these replace grew 100x from 1,000 to 100,000 links).
    let growth = |shape: Chain, f: &dyn Fn(&ChainRow) -> f64| -> Option<(usize, usize, f64)> {
        let of: Vec<&ChainRow> = rows.iter().filter(|r| r.shape == shape).collect();
        let (first, last) = (of.first()?, of.last()?);
        if last.n <= first.n {
            return None;
        }
        let per = |r: &ChainRow| f(r) / r.n as f64;
        Some((first.n, last.n, per(last) / per(first).max(1e-9)))
    };
    type Figure<'a> = &'a dyn Fn(&ChainRow) -> f64;
    let checks: [(&str, Chain, Figure); 8] = [
        ("resolve head, title chain", Chain::Title, &|r| r.head_ms),
        ("resolve head, sql chain", Chain::Sql, &|r| r.head_ms),
        ("resolve head, base chain", Chain::Base, &|r| r.head_ms),
        ("head heap peak, sql chain", Chain::Sql, &|r| {
            r.head_peak as f64
        }),
        ("title alone, title chain", Chain::Title, &|r| r.field_ms),
        ("force locals, nested chain", Chain::Nested, &|r| r.force_ms),
        ("affected, locals chain", Chain::Locals, &|r| r.affected_ms),
        ("edit one local, locals chain", Chain::Locals, &|r| {
            r.edit_ms
        }),
    ];
    for (what, shape, f) in checks {
        if let Some((a, b, g)) = growth(shape, f) {
            budgets.push(Budget {
                what: format!("{what}, per link {a} -> {b}"),
                limit: "<= 3x".into(),
                measured: format!("{g:.2}x"),
                pass: g <= 3.0,
            });
        }
    }
    for r in rows
        .iter()
        .filter(|r| !matches!(r.shape, Chain::Locals | Chain::Nested))
    {
        budgets.push(Budget {
            what: format!("links built for the head, {:?} {}", r.shape, r.n),
            limit: format!("{}", r.n),
            measured: r.built.to_string(),
            pass: r.built == r.n as u64,
        });
    }
}
