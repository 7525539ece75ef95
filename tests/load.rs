//! The scheduler on a real (generated) mod (start order recorded by the scheduler itself,
//! under its lock): while the background walk runs, a burst of
//! requests someone waits on are each served before any background task queued after them
//! starts; every resource ends resolved exactly once; no deadlock whatever the thread count.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use modlens::cache::Limits;
use modlens::load::{
    Background, Config, LoadError, Loader, Priority, ResourceKey, ResourceLoader, Scheduler,
    Shared, SystemClock, WalkEnd,
};
use modlens::resolve::{Resource, ValueInputs};

/// The resource loader, recording when each load starts (on one sequence shared with the
/// test's own events).
struct Recording {
    inner: ResourceLoader,
    seq: Arc<AtomicU64>,
    started: Mutex<Vec<(u64, ResourceKey)>>,
    low_starts: Mutex<Vec<(u64, ResourceKey)>>,
}

impl Loader for Recording {
    type Key = ResourceKey;
    type Value = Arc<Resource>;
    fn load(&self, key: &ResourceKey) -> Result<Arc<Resource>, LoadError> {
        self.inner.load(key)
    }
    fn on_start(&self, key: &ResourceKey, p: Priority) {
        let at = self.seq.fetch_add(1, Ordering::SeqCst);
        if p == Priority::Low {
            self.low_starts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((at, key.clone()));
        }
        self.started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((at, key.clone()));
    }
    fn predict(&self, key: &ResourceKey) -> Vec<ResourceKey> {
        self.inner.predict(key)
    }
    fn background_allowed(&self) -> bool {
        self.inner.background_allowed()
    }
}

/// Clears the flag when dropped (the walker's end, however it ends).
struct Defer(Arc<std::sync::atomic::AtomicBool>);

impl Drop for Defer {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// The generated mod the tests share: made once (into a temporary folder, then renamed,
/// so a concurrent test run never sees half of it) and reused by later runs.
fn generated() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!(
            "modlens-load-test-0.4-3-{}",
            env!("CARGO_PKG_VERSION")
        ));
        if !dir.join("mod.pp").exists() {
            let tmp =
                std::env::temp_dir().join(format!("modlens-load-test-tmp-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            modlens::generate::generate(
                &modlens::generate::GenerateOptions { size: 0.4, seed: 3 },
                &tmp,
            )
            .expect("generate");
            if std::fs::rename(&tmp, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&tmp); // another run made it first
            }
        }
        dir
    })
    .clone()
}

fn run(workers: usize) {
    let dir = generated();
    let o = common::open(&dir, &ValueInputs::default(), Limits::default());
    let shared = Arc::new(Shared::new(o.model, o.resolver));
    let seq = Arc::new(AtomicU64::new(0));
    let sched = Arc::new(Scheduler::new(
        Recording {
            inner: ResourceLoader {
                shared: shared.clone(),
            },
            seq: seq.clone(),
            started: Mutex::new(Vec::new()),
            low_starts: Mutex::new(Vec::new()),
        },
        Config {
            workers,
            queue_capacity: 64,
            ..Config::default()
        },
        Arc::new(SystemClock::default()),
    ));
    // The background walk, with the moment each task was queued recorded.
    let keys: Vec<ResourceKey> = {
        let m = shared.model();
        modlens::load::walk_order(&m.index)
            .into_iter()
            .map(|id| ResourceKey::of(&m.index, id))
            .collect()
    };
    let total = keys.len();
    let queued: Arc<Mutex<Vec<(u64, ResourceKey)>>> = Arc::new(Mutex::new(Vec::new()));
    let walking = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let walker = {
        let (sched, seq, queued, walking) =
            (sched.clone(), seq.clone(), queued.clone(), walking.clone());
        std::thread::spawn(move || {
            let _done = Defer(walking);
            for k in keys {
                // Ticked before queueing: a task ticked after a request's tick (taken once
                // the request is queued) was queued after it, whatever the threads did.
                let at = seq.fetch_add(1, Ordering::SeqCst);
                match sched.submit_background(k.clone()) {
                    Ok(()) => {
                        queued
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((at, k));
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    };
    // A burst of requests someone waits on, while the walk runs.
    let targets: Vec<ResourceKey> = {
        let m = shared.model();
        let ids: Vec<_> = m.index.resources().collect();
        ids.iter()
            .rev()
            .step_by((ids.len() / 40).max(1))
            .map(|id| ResourceKey::of(&m.index, *id))
            .collect()
    };
    let mut asked: Vec<(u64, ResourceKey)> = Vec::new();
    let mut tickets = Vec::new();
    for k in &targets {
        // Each request arrives while background work is waiting in the queue.
        let start = std::time::Instant::now();
        while sched.metrics().of(Priority::Low).queued == 0
            && walking.load(Ordering::SeqCst)
            && start.elapsed() < Duration::from_secs(5)
        {
            std::thread::yield_now();
        }
        let t = sched.request(k.clone(), Priority::Critical);
        asked.push((seq.fetch_add(1, Ordering::SeqCst), k.clone()));
        tickets.push(t);
    }
    for t in tickets {
        let r = t.wait().expect("a request is always served");
        assert!(!r.name.is_empty());
    }
    assert_eq!(walker.join().ok(), Some(Ok(())));
    assert!(
        sched.wait_idle(Duration::from_secs(120)),
        "{workers} workers: no deadlock"
    );
    let started = sched
        .loader()
        .started
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let queued = queued.lock().unwrap_or_else(|p| p.into_inner()).clone();
    // Each request started before any background task queued after it started.
    let start_of = |k: &ResourceKey| started.iter().find(|(_, s)| s == k).map(|(at, _)| *at);
    for (asked_at, k) in &asked {
        let Some(s) = start_of(k) else {
            continue; // merged into a background load already running: served by it
        };
        // The start of each background task queued after the request (the first start of
        // its key after it was queued: a key may also have been loaded earlier, by a
        // prediction).
        // A background start, not a request's: two requests run side by side, in either
        // order, and a key queued in the background may be one asked for too.
        let lows = sched
            .loader()
            .low_starts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let first_later_low = queued
            .iter()
            .filter(|(q, bk)| q > asked_at && bk != k)
            .filter_map(|(q, bk)| {
                lows.iter()
                    .filter(|(at, lk)| lk == bk && at > q)
                    .map(|(at, _)| *at)
                    .min()
            })
            .min();
        // And no background task at all started while it waited (priority beats FIFO).
        assert!(
            !lows.iter().any(|(l, _)| l > asked_at && *l < s),
            "{workers} workers: a background task started while {} waited",
            k.name
        );
        if let Some(low) = first_later_low {
            assert!(
                s < low,
                "{workers} workers: {} started at {s}, after a later background task at {low}",
                k.name
            );
        }
    }
    // Every resource resolved exactly once: one parse per resource, merged requests included.
    let stats = shared.resolver.stats();
    let distinct = {
        let m = shared.model();
        let mut keys: Vec<_> = m
            .index
            .resources()
            .map(|id| shared.resolver.key(&m, id))
            .collect();
        keys.sort();
        keys.dedup();
        keys.len()
    };
    assert_eq!(
        stats.resolved as usize, distinct,
        "{workers} workers: {stats:?}"
    );
    let m = sched.metrics();
    assert_eq!(m.total(|c| c.failed), 0);
    // Every background key was loaded by some task (its own, or one it joined).
    let loaded: std::collections::HashSet<&ResourceKey> = started.iter().map(|(_, k)| k).collect();
    assert_eq!(queued.len(), total);
    assert!(
        queued.iter().all(|(_, k)| loaded.contains(k)),
        "{workers} workers: a background key never loaded"
    );
    let report = sched.shutdown(Duration::from_secs(30));
    assert!(report.clean);
}

#[test]
fn requests_jump_the_background_and_everything_resolves_once_with_one_worker() {
    run(1);
}

#[test]
fn requests_jump_the_background_and_everything_resolves_once_with_two_workers() {
    run(2);
}

#[test]
fn requests_jump_the_background_and_everything_resolves_once_with_eight_workers() {
    run(8);
}

#[test]
fn the_background_walk_stops_when_the_cache_is_full_and_requests_still_work() {
    let dir = generated();
    let o = common::open(
        &dir,
        &ValueInputs::default(),
        Limits {
            max_entries: 50,
            max_bytes: 1 << 20,
        },
    );
    let shared = Arc::new(Shared::new(o.model, o.resolver));
    let sched = Arc::new(Scheduler::new(
        ResourceLoader {
            shared: shared.clone(),
        },
        Config {
            workers: 2,
            queue_capacity: 8,
            ..Config::default()
        },
        Arc::new(SystemClock::default()),
    ));
    let walk = Background::start(sched.clone());
    assert_eq!(walk.join(), WalkEnd::CacheFull);
    assert!(sched.wait_idle(Duration::from_secs(60)));
    let st = shared.resolver.stats().cache;
    assert!(st.entries <= 50, "{st:?}");
    let any = {
        let m = shared.model();
        let id = m.index.resources().last().expect("resources");
        ResourceKey::of(&m.index, id)
    };
    assert!(sched.request(any, Priority::Critical).wait().is_ok());
    assert!(sched.shutdown(Duration::from_secs(30)).clean);
}
