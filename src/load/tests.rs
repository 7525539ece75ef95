//! Deterministic scheduler tests: a loader whose loads block until the test releases them
//! (so the test decides what runs when), a manual clock, one worker unless said otherwise.
//! Nothing here sleeps to wait for a thread: every wait is on a channel or the scheduler.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Priority;
use super::scheduler::{Config, LoadError, Loader, ManualClock, Scheduler};

/// What a test loader does for a key.
#[derive(Clone)]
enum Behaviour {
    Ok,
    /// Fails transiently this many times, then succeeds.
    FlakyTimes(u32),
    Fail,
}

struct TestLoader {
    /// Every load, in the order they started.
    started: Mutex<Vec<String>>,
    /// A load reports here when it starts.
    started_tx: Mutex<Sender<String>>,
    /// And waits here for the test's go (when gated).
    gate: Mutex<Receiver<()>>,
    gated: Mutex<bool>,
    /// Keys that never wait at the gate.
    free: Mutex<Vec<String>>,
    behaviour: Mutex<HashMap<String, Behaviour>>,
    attempts: Mutex<HashMap<String, u32>>,
    predictions: Mutex<HashMap<String, Vec<String>>>,
    background_ok: Mutex<bool>,
    /// The scheduling policy each key's last load ran under (Linux).
    policies: Mutex<HashMap<String, i32>>,
}

struct Harness {
    sched: Arc<Scheduler<Arc<TestLoader>>>,
    clock: Arc<ManualClock>,
    started: Receiver<String>,
    go: Sender<()>,
}

impl Loader for Arc<TestLoader> {
    type Key = String;
    type Value = String;

    fn load(&self, key: &String) -> Result<String, LoadError> {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: reads the calling thread's own policy.
            let policy = unsafe { libc::sched_getscheduler(0) };
            self.policies
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key.clone(), policy);
        }
        // Whether this load waits at the gate is settled before it is announced: a test that
        // frees a key once a load of it has started frees only the loads that start later.
        let held = *self.gated.lock().unwrap_or_else(|p| p.into_inner())
            && !self
                .free
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(key);
        self.started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(key.clone());
        let _ = self
            .started_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(key.clone());
        if held {
            let _ = self.gate.lock().unwrap_or_else(|p| p.into_inner()).recv();
        }
        let b = self
            .behaviour
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
            .unwrap_or(Behaviour::Ok);
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        let n = attempts.entry(key.clone()).or_insert(0);
        *n += 1;
        match b {
            Behaviour::Ok => Ok(format!("value of {key}")),
            Behaviour::FlakyTimes(k) if *n <= k => Err(LoadError::Transient(format!("{key}: io"))),
            Behaviour::FlakyTimes(_) => Ok(format!("value of {key}")),
            Behaviour::Fail => Err(LoadError::Permanent(format!("{key}: broken"))),
        }
    }

    fn predict(&self, key: &String) -> Vec<String> {
        self.predictions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    fn background_allowed(&self) -> bool {
        *self.background_ok.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn harness(workers: usize, gated: bool, config: impl FnOnce(&mut Config)) -> Harness {
    let (tx, started) = channel();
    let (go, gate) = channel();
    let loader = Arc::new(TestLoader {
        started: Mutex::new(Vec::new()),
        started_tx: Mutex::new(tx),
        gate: Mutex::new(gate),
        gated: Mutex::new(gated),
        free: Mutex::new(Vec::new()),
        behaviour: Mutex::new(HashMap::new()),
        attempts: Mutex::new(HashMap::new()),
        predictions: Mutex::new(HashMap::new()),
        background_ok: Mutex::new(true),
        policies: Mutex::new(HashMap::new()),
    });
    let clock = Arc::new(ManualClock::default());
    let mut c = Config {
        workers,
        ..Config::default()
    };
    config(&mut c);
    let sched = Arc::new(Scheduler::new(loader, c, clock.clone()));
    Harness {
        sched,
        clock,
        started,
        go,
    }
}

impl Harness {
    fn loader(&self) -> &TestLoader {
        self.sched.loader()
    }
    /// Waits until a load starts; its key.
    fn next_started(&self) -> String {
        self.started
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| "<nothing started>".into())
    }
    fn release(&self) {
        let _ = self.go.send(());
    }
    fn order(&self) -> Vec<String> {
        self.loader()
            .started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    fn set(&self, key: &str, b: Behaviour) {
        self.loader()
            .behaviour
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.into(), b);
    }
    fn ungate(&self) {
        *self
            .loader()
            .gated
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = false;
        // Whoever is blocked on the gate now.
        self.release();
    }
    /// Waits (spinning on the scheduler's state, not sleeping) until `cond` holds.
    fn until(&self, what: &str, cond: impl Fn(&super::Metrics) -> bool) {
        let start = std::time::Instant::now();
        while !cond(&self.sched.metrics()) {
            assert!(start.elapsed() < Duration::from_secs(10), "never: {what}");
            std::thread::yield_now();
        }
    }
    fn settle(&self) {
        // Generous: a worker under `SCHED_IDLE` gets almost no processor while the other
        // tests of this binary keep both cores busy.
        assert!(
            self.sched.wait_idle(Duration::from_secs(60)),
            "the scheduler never became idle"
        );
    }
}

#[test]
fn priorities_order_the_work_and_fifo_holds_within_one() {
    let h = harness(1, true, |_| {});
    // The worker takes `first` and blocks on it; everything else waits in the queue.
    let first = h.sched.request("first".into(), Priority::Low);
    assert_eq!(h.next_started(), "first");
    h.sched.submit("low_a".into(), Priority::Low);
    h.sched.submit("low_b".into(), Priority::Low);
    h.sched.submit("normal".into(), Priority::Normal);
    h.sched.submit("high".into(), Priority::High);
    let crit = h.sched.request("critical".into(), Priority::Critical);
    h.sched.submit("low_c".into(), Priority::Low);
    h.ungate();
    assert_eq!(first.wait(), Ok("value of first".into()));
    assert_eq!(crit.wait(), Ok("value of critical".into()));
    h.settle();
    assert_eq!(
        h.order(),
        vec![
            "first", "critical", "high", "normal", "low_a", "low_b", "low_c"
        ]
    );
    let m = h.sched.metrics();
    assert_eq!(m.total(|c| c.done), 7);
    assert_eq!(m.of(Priority::Low).done, 4);
    assert!(m.of(Priority::Critical).wait.count() == 1);
}

#[test]
fn a_higher_request_promotes_a_queued_task() {
    let h = harness(1, true, |_| {});
    let _first = h.sched.request("first".into(), Priority::Low);
    assert_eq!(h.next_started(), "first");
    h.sched.submit("x".into(), Priority::Low);
    h.sched.submit("y".into(), Priority::Low);
    let y = h.sched.request("y".into(), Priority::Critical);
    h.ungate();
    assert_eq!(y.wait(), Ok("value of y".into()));
    h.settle();
    assert_eq!(h.order(), vec!["first", "y", "x"]);
    let m = h.sched.metrics();
    assert_eq!(m.of(Priority::Critical).promoted, 1);
    assert_eq!(m.of(Priority::Low).queued, 0);
    assert_eq!(m.of(Priority::Critical).done, 1, "counted where it ran");
}

#[test]
fn requests_for_one_key_share_one_load() {
    let h = harness(1, true, |_| {});
    let a = h.sched.request("k".into(), Priority::High);
    assert_eq!(h.next_started(), "k");
    // While it runs: join it.
    let b = h.sched.request("k".into(), Priority::Critical);
    h.sched.submit("q".into(), Priority::Low);
    // While it is queued: join it too.
    let c = h.sched.request("q".into(), Priority::Low);
    let d = h.sched.request("q".into(), Priority::Low);
    h.ungate();
    assert_eq!(a.wait(), Ok("value of k".into()));
    assert_eq!(b.wait(), Ok("value of k".into()));
    assert_eq!(c.wait(), Ok("value of q".into()));
    assert_eq!(d.wait(), Ok("value of q".into()));
    h.settle();
    assert_eq!(h.order(), vec!["k", "q"]);
    let m = h.sched.metrics();
    assert_eq!(m.total(|c| c.merged), 3);
}

#[test]
fn an_old_background_task_is_dropped_and_queued_again_once() {
    let h = harness(1, true, |c| c.max_background_age = Duration::from_secs(10));
    let _first = h.sched.request("first".into(), Priority::Critical);
    assert_eq!(h.next_started(), "first");
    h.sched.submit("old".into(), Priority::Low);
    h.clock.advance(Duration::from_secs(11));
    h.sched.submit("fresh".into(), Priority::Low);
    h.ungate();
    h.settle();
    // `old` waited too long: it went to the back, behind `fresh`, and then ran.
    assert_eq!(h.order(), vec!["first", "fresh", "old"]);
    let m = h.sched.metrics();
    assert_eq!(m.of(Priority::Low).dropped, 1);
    assert_eq!(m.of(Priority::Low).done, 2);
}

#[test]
fn transient_failures_are_retried_with_backoff_and_permanent_ones_are_not() {
    let h = harness(1, false, |c| {
        c.retry_attempts = 4;
        c.retry_base = Duration::from_millis(100);
    });
    h.set("flaky", Behaviour::FlakyTimes(2));
    h.set("broken", Behaviour::Fail);
    let flaky = h.sched.request("flaky".into(), Priority::Critical);
    let broken = h.sched.request("broken".into(), Priority::Critical);
    assert_eq!(
        broken.wait(),
        Err(LoadError::Permanent("broken: broken".into()))
    );
    // First attempt failed; the retry waits 100 ms of (manual) time.
    assert_eq!(h.next_started(), "flaky");
    assert_eq!(h.next_started(), "broken");
    assert!(flaky.try_result().is_none());
    h.until("first retry scheduled", |m| {
        m.of(Priority::Critical).retried == 1
    });
    h.clock.advance(Duration::from_millis(100));
    h.sched.wake();
    assert_eq!(h.next_started(), "flaky");
    // Second failure: the back-off doubles.
    h.until("second retry scheduled", |m| {
        m.of(Priority::Critical).retried == 2
    });
    h.clock.advance(Duration::from_millis(100));
    h.sched.wake();
    assert!(
        h.started.recv_timeout(Duration::from_millis(200)).is_err(),
        "not before 200 ms of back-off"
    );
    h.clock.advance(Duration::from_millis(100));
    h.sched.wake();
    assert_eq!(h.next_started(), "flaky");
    assert_eq!(flaky.wait(), Ok("value of flaky".into()));
    let m = h.sched.metrics();
    assert_eq!(m.of(Priority::Critical).retried, 2);
    assert_eq!(m.of(Priority::Critical).failed, 1);
    assert_eq!(
        h.loader()
            .attempts
            .lock()
            .map(|a| a.get("broken").copied())
            .unwrap_or(None),
        Some(1),
        "a permanent failure is not retried"
    );
}

#[test]
fn transient_failures_give_up_after_the_last_attempt() {
    let h = harness(1, false, |c| {
        c.retry_attempts = 2;
        c.retry_base = Duration::from_millis(10);
    });
    h.set("down", Behaviour::FlakyTimes(100));
    let t = h.sched.request("down".into(), Priority::Critical);
    assert_eq!(h.next_started(), "down");
    h.until("retry scheduled", |m| m.of(Priority::Critical).retried == 1);
    h.clock.advance(Duration::from_millis(10));
    h.sched.wake();
    assert_eq!(t.wait(), Err(LoadError::Transient("down: io".into())));
    assert_eq!(h.sched.metrics().of(Priority::Critical).retried, 1);
}

#[test]
fn the_breaker_stops_the_background_and_never_a_request() {
    let h = harness(1, false, |c| {
        c.breaker_window = 4;
        c.breaker_failures = 3;
        c.breaker_cool_down = Duration::from_secs(5);
    });
    for k in ["b1", "b2", "b3"] {
        h.set(k, Behaviour::Fail);
        assert_eq!(h.sched.submit_background(k.into()), Ok(()));
        assert_eq!(h.next_started(), k);
    }
    h.settle();
    let m = h.sched.metrics();
    assert!(m.breaker_open);
    assert_eq!(m.breaker_trips, 1);
    assert_eq!(
        h.sched.submit_background("b4".into()),
        Err(LoadError::Paused)
    );
    // A request still works.
    assert_eq!(
        h.sched.request("user".into(), Priority::Critical).wait(),
        Ok("value of user".into())
    );
    // A background task queued by a prediction waits while it is open...
    h.sched.submit("b5".into(), Priority::Low);
    assert!(
        h.started
            .recv_timeout(Duration::from_millis(100))
            .is_ok_and(|k| k == "user")
    );
    assert!(
        h.started.recv_timeout(Duration::from_millis(200)).is_err(),
        "b5 is held"
    );
    // ...and runs after the cool-down.
    h.clock.advance(Duration::from_secs(5));
    h.sched.wake();
    assert_eq!(h.next_started(), "b5");
    h.settle();
    assert!(!h.sched.metrics().breaker_open);
    assert_eq!(h.sched.submit_background("b6".into()), Ok(()));
}

#[test]
fn background_stops_when_the_loader_says_the_cache_is_full() {
    let h = harness(1, false, |_| {});
    *h.loader()
        .background_ok
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = false;
    assert_eq!(
        h.sched.submit_background("a".into()),
        Err(LoadError::CacheFull)
    );
    assert_eq!(
        h.sched.request("b".into(), Priority::Critical).wait(),
        Ok("value of b".into())
    );
}

#[test]
fn background_admission_waits_while_higher_work_is_queued() {
    let h = harness(1, true, |_| {});
    let _first = h.sched.request("first".into(), Priority::Critical);
    assert_eq!(h.next_started(), "first");
    let _queued = h.sched.request("waiting".into(), Priority::High);
    let s = h.sched.clone();
    let (done_tx, done_rx) = channel();
    let walker = std::thread::spawn(move || {
        let r = s.submit_background("bg".into());
        let _ = done_tx.send(r);
    });
    assert!(
        done_rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "admission must wait while High work is queued"
    );
    h.ungate();
    assert_eq!(done_rx.recv_timeout(Duration::from_secs(10)), Ok(Ok(())));
    let _ = walker.join();
    h.settle();
    assert_eq!(h.order(), vec!["first", "waiting", "bg"]);
}

#[test]
fn a_dropped_ticket_cancels_a_task_that_has_not_started() {
    let h = harness(1, true, |_| {});
    let _first = h.sched.request("first".into(), Priority::Critical);
    assert_eq!(h.next_started(), "first");
    let gone = h.sched.request("abandoned".into(), Priority::Critical);
    let kept = h.sched.request("kept".into(), Priority::Critical);
    drop(gone);
    h.ungate();
    assert_eq!(kept.wait(), Ok("value of kept".into()));
    h.settle();
    assert_eq!(h.order(), vec!["first", "kept"]);
    assert_eq!(h.sched.metrics().of(Priority::Critical).dropped, 1);
}

#[test]
fn requests_predict_their_next_resources_at_normal() {
    let h = harness(1, false, |_| {});
    h.loader()
        .predictions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert("bench".into(), vec!["child_a".into(), "child_b".into()]);
    assert_eq!(
        h.sched.request("bench".into(), Priority::Critical).wait(),
        Ok("value of bench".into())
    );
    h.settle();
    assert_eq!(h.order(), vec!["bench", "child_a", "child_b"]);
    assert_eq!(h.sched.metrics().of(Priority::Normal).done, 2);
}

#[test]
fn shutdown_cancels_the_queue_finishes_what_runs_and_joins_every_worker() {
    let h = harness(2, true, |_| {});
    let running = h.sched.request("running".into(), Priority::Critical);
    assert_eq!(h.next_started(), "running");
    let other = h.sched.request("other".into(), Priority::Critical);
    assert_eq!(h.next_started(), "other");
    let queued = h.sched.request("queued".into(), Priority::Low);
    let sched = h.sched.clone();
    let stopper = std::thread::spawn(move || sched.shutdown(Duration::from_secs(10)));
    // The queued task is cancelled at once; the running ones finish.
    assert_eq!(queued.wait(), Err(LoadError::ShuttingDown));
    h.ungate();
    h.release();
    assert_eq!(running.wait(), Ok("value of running".into()));
    assert_eq!(other.wait(), Ok("value of other".into()));
    let report = stopper.join().unwrap_or(super::scheduler::ShutdownReport {
        cancelled: 0,
        clean: false,
    });
    assert!(report.clean, "{report:?}");
    assert_eq!(report.cancelled, 1);
    assert_eq!(h.sched.threads(), 0, "no thread left behind");
    assert_eq!(
        h.sched.request("late".into(), Priority::Critical).wait(),
        Err(LoadError::ShuttingDown)
    );
    assert_eq!(
        h.sched.submit_background("late".into()),
        Err(LoadError::ShuttingDown)
    );
}

#[test]
fn a_panicking_load_is_a_failure_and_the_worker_lives_on() {
    struct Panics;
    impl Loader for Panics {
        type Key = u32;
        type Value = u32;
        fn load(&self, k: &u32) -> Result<u32, LoadError> {
            if *k == 0 {
                panic!("boom");
            }
            Ok(*k)
        }
    }
    let s = Scheduler::new(
        Panics,
        Config {
            workers: 1,
            ..Config::default()
        },
        Arc::new(ManualClock::default()),
    );
    assert!(matches!(
        s.request(0, Priority::Critical).wait(),
        Err(LoadError::Permanent(_))
    ));
    assert_eq!(s.request(7, Priority::Critical).wait(), Ok(7));
    assert!(s.shutdown(Duration::from_secs(5)).clean);
}

#[test]
fn while_a_person_is_active_one_worker_stays_off_background_work() {
    let h = harness(2, true, |c| c.interactive_window = Duration::from_secs(2));
    // A request: the person is active from now on.
    let first = h.sched.request("hover".into(), Priority::Critical);
    assert_eq!(h.next_started(), "hover");
    h.release();
    assert_eq!(first.wait(), Ok("value of hover".into()));
    h.sched.submit("bg1".into(), Priority::Low);
    h.sched.submit("bg2".into(), Priority::Low);
    assert_eq!(h.next_started(), "bg1");
    // bg1 holds one worker; the other stays free for the person.
    assert!(
        h.started.recv_timeout(Duration::from_millis(200)).is_err(),
        "bg2 must not take the last worker while the person is active"
    );
    assert_eq!(h.sched.metrics().of(Priority::Low).in_flight, 1);
    // The person stops: after the window, both workers may do background work again.
    h.clock.advance(Duration::from_secs(3));
    h.sched.wake();
    assert_eq!(h.next_started(), "bg2");
    h.ungate();
    h.release();
    h.settle();
}

#[test]
fn the_walk_admits_in_batches_not_one_task_per_load() {
    // On two cores a walk woken at every load to admit one task takes a core's share from
    // the workers: it is woken when the queue has drained to half, and admits a batch.
    let h = harness(1, false, |c| c.queue_capacity = 64);
    let keys: Vec<String> = (0..1000).map(|i| format!("bg{i}")).collect();
    let mut keys = keys.into_iter().peekable();
    let mut calls = 0;
    while keys.peek().is_some() {
        let n = h
            .sched
            .submit_background_batch(&mut keys)
            .expect("admitted");
        assert!(n > 0, "an admission admits something");
        calls += 1;
    }
    h.settle();
    assert_eq!(h.sched.metrics().of(Priority::Low).done, 1000);
    // In batches, about 2 * 1000 / 32 calls: a call can admit a few tasks when a worker
    // takes one between two calls, so the bound leaves room for that. Woken per load, it
    // would be about 1000.
    assert!(
        calls <= 1000 / 8,
        "{calls} admissions for 1000 tasks: woken per load"
    );
}

#[test]
fn a_request_loaded_here_does_not_wait_for_a_busy_worker() {
    // The only worker is in the middle of a background load; a request loaded on its own
    // thread is answered without it (through `request`, it would wait for that load).
    let h = harness(1, true, |_| {});
    assert!(h.sched.submit("bg".into(), Priority::Low));
    assert_eq!(h.next_started(), "bg");
    h.loader()
        .free
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push("now".into());
    let s = h.sched.clone();
    let (tx, rx) = channel();
    let asker = std::thread::spawn(move || {
        let _ = tx.send(s.load_here("now".into(), Priority::Critical));
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)),
        Ok(Ok("value of now".to_string())),
        "answered while the worker is busy"
    );
    let m = h.sched.metrics();
    assert_eq!(m.of(Priority::Low).in_flight, 1, "bg is still running");
    assert_eq!(m.of(Priority::Critical).done, 1);
    let _ = asker.join();
    assert_eq!(h.next_started(), "now");
    h.release();
    h.settle();
    // A load already running on a worker is joined, not done twice.
    assert!(h.sched.submit("slow".into(), Priority::Low));
    assert_eq!(h.next_started(), "slow");
    let s = h.sched.clone();
    let (tx, rx) = channel();
    let joiner = std::thread::spawn(move || {
        let _ = tx.send(s.load_here("slow".into(), Priority::Critical));
    });
    h.until("the request joined the running load", |m| {
        m.of(Priority::Critical).merged == 1
    });
    h.release();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)),
        Ok(Ok("value of slow".to_string()))
    );
    let _ = joiner.join();
    assert_eq!(h.order(), vec!["bg", "now", "slow"]);
}

#[test]
fn a_request_loads_beside_a_niced_worker_instead_of_waiting_for_it() {
    // The worker runs at a lowered priority: a request waiting for its load would get the
    // niced thread's share of the processor. It loads the key itself, beside the worker.
    let can_nice = std::thread::spawn(|| super::scheduler::lower_priority(1))
        .join()
        .unwrap_or(false);
    if !can_nice {
        eprintln!("skipped: this system does not let a thread lower its priority");
        return;
    }
    let h = harness(1, true, |c| c.nice_every_worker = true);
    assert!(h.sched.submit("slow".into(), Priority::Low));
    assert_eq!(h.next_started(), "slow");
    // The worker's load is held at the gate; this thread's is not.
    h.loader()
        .free
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push("slow".into());
    let s = h.sched.clone();
    let (tx, rx) = channel();
    let asker = std::thread::spawn(move || {
        let _ = tx.send(s.load_here("slow".into(), Priority::Critical));
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)),
        Ok(Ok("value of slow".to_string())),
        "answered while the niced worker is still at it"
    );
    let _ = asker.join();
    let m = h.sched.metrics();
    assert_eq!(m.of(Priority::Critical).alongside, 1);
    assert_eq!(
        m.of(Priority::Low).in_flight,
        1,
        "the worker's load runs on"
    );
    h.release();
    h.settle();
    let m = h.sched.metrics();
    assert_eq!(m.of(Priority::Low).done, 1);
    assert_eq!(h.order(), vec!["slow", "slow"]);
}

#[cfg(target_os = "linux")]
#[test]
fn background_work_runs_under_the_idle_policy_and_awaited_work_does_not() {
    // Only on a system that lets a thread lower its priority (the workers are niced first).
    let can_nice = std::thread::spawn(|| {
        super::scheduler::lower_priority(1) && super::scheduler::idle_policy(true)
    })
    .join()
    .unwrap_or(false);
    if !can_nice {
        eprintln!("skipped: this system does not let a thread lower its priority");
        return;
    }
    let h = harness(1, false, |c| {
        c.nice_every_worker = true;
        c.idle_policy = true;
    });
    assert!(h.sched.submit("walk".into(), Priority::Low));
    h.settle();
    let awaited = h.sched.request("open".into(), Priority::High);
    assert_eq!(awaited.wait(), Ok("value of open".to_string()));
    assert!(h.sched.submit("walk again".into(), Priority::Low));
    h.settle();
    let policies = h
        .loader()
        .policies
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    // Without the privilege to leave `SCHED_IDLE` (an ordinary user's `RLIMIT_NICE`), the
    // worker stays idle for the awaited work too.
    let may_leave = std::thread::spawn(|| {
        super::scheduler::lower_priority(10)
            && super::scheduler::idle_policy(true)
            && super::scheduler::idle_policy(false)
    })
    .join()
    .unwrap_or(false);
    let awaited = if may_leave {
        libc::SCHED_OTHER
    } else {
        libc::SCHED_IDLE
    };
    assert_eq!(policies.get("walk"), Some(&libc::SCHED_IDLE));
    assert_eq!(policies.get("open"), Some(&awaited));
    assert_eq!(policies.get("walk again"), Some(&libc::SCHED_IDLE));
}
