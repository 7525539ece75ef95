//! The scheduler: a priority queue (Critical > High > Normal > Low, FIFO within one) served
//! by a fixed pool of worker threads, generic over what it loads ([`Loader`]) and over time
//! ([`Clock`]), so every behaviour is tested deterministically.
//!
//! * A request for a key already queued or running joins it (one load, many waiters); a
//!   higher priority promotes a queued task.
//! * Background work (Low) is admitted by [`Scheduler::submit_background`], which waits
//!   while higher work is queued or the Low queue is full, and refuses while the loader says
//!   no (the cache is full) or the circuit breaker is open.
//! * A Low task that waited longer than `max_background_age` is dropped and queued again at
//!   the back, once.
//! * A transient failure (I/O) is retried with exponential back-off; any other failure is
//!   final. Background failures feed a circuit breaker that stops the background walk when
//!   they spike and lets it try again after a cool-down. Requests someone waits on are never
//!   held by the breaker.
//! * A ticket dropped before its task started cancels it (unless other waiters or the
//!   background still want it).
//! * Shutdown stops admitting, cancels what is queued, lets running loads finish within a
//!   deadline and joins every worker.
//!
//! Architecture invariant: nothing here knows about resources; `load::ResourceLoader` does.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Priority;
use super::metrics::Metrics;

/// Most background keys queued under one hold of the scheduler's lock.
const BATCH: usize = 32;

/// Monotonic time, injectable.
pub trait Clock: Send + Sync {
    /// Time since some fixed start.
    fn now(&self) -> Duration;
    /// How long a worker may block waiting for `d` to pass: `Some(d)` for real time, `None`
    /// for a clock that only moves when told (then the test wakes the scheduler).
    fn wait_hint(&self, d: Duration) -> Option<Duration>;
}

/// The real clock.
#[derive(Debug)]
pub struct SystemClock(std::time::Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(std::time::Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
    fn wait_hint(&self, d: Duration) -> Option<Duration> {
        Some(d)
    }
}

/// A clock for tests: moves only by [`ManualClock::advance`].
#[derive(Debug, Default)]
pub struct ManualClock(Mutex<Duration>);

impl ManualClock {
    /// Moves time forward.
    pub fn advance(&self, d: Duration) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *g += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn wait_hint(&self, _: Duration) -> Option<Duration> {
        None
    }
}

/// Why a load did not give a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// A failure that may pass (I/O): retried with back-off.
    #[error("{0}")]
    Transient(String),
    /// A failure that will not pass by trying again.
    #[error("{0}")]
    Permanent(String),
    /// The scheduler is shutting down.
    #[error("the scheduler is shutting down")]
    ShuttingDown,
    /// The queue for this priority is full.
    #[error("the queue is full")]
    QueueFull,
    /// Background work is refused now: the breaker is open.
    #[error("background work is paused: too many background loads failed")]
    Paused,
    /// Background work is refused: the cache is full (the background never evicts what
    /// people use).
    #[error("background work stopped: the cache is full")]
    CacheFull,
}

/// What the scheduler loads.
pub trait Loader: Send + Sync + 'static {
    /// What identifies a load.
    type Key: Clone + Eq + Hash + Send + Sync + std::fmt::Debug + 'static;
    /// What a load gives.
    type Value: Clone + Send + Sync + 'static;
    /// Does the work.
    fn load(&self, key: &Self::Key) -> Result<Self::Value, LoadError>;
    /// The keys a person usually asks for next after `key` (queued at Normal).
    fn predict(&self, _key: &Self::Key) -> Vec<Self::Key> {
        Vec::new()
    }
    /// False when background work must not start (the cache is full: the background never
    /// evicts what people use).
    fn background_allowed(&self) -> bool {
        true
    }
    /// Called when a task is picked to run, under the scheduler's lock (so the order of
    /// these calls is the order tasks start): must be quick and must not call the
    /// scheduler. For tracing and tests.
    fn on_start(&self, _key: &Self::Key, _priority: Priority) {}
}

/// Tuning.
#[derive(Clone, Debug)]
pub struct Config {
    /// Worker threads (at least 1).
    pub workers: usize,
    /// Most tasks queued per priority.
    pub queue_capacity: usize,
    /// A background task that waited longer than this is dropped and re-queued once.
    pub max_background_age: Duration,
    /// Most attempts of a load that fails transiently.
    pub retry_attempts: u32,
    /// First back-off; doubled at every attempt.
    pub retry_base: Duration,
    /// Longest back-off.
    pub retry_max: Duration,
    /// How many recent background results the breaker looks at.
    pub breaker_window: usize,
    /// Failures among them that open it.
    pub breaker_failures: usize,
    /// How long it stays open.
    pub breaker_cool_down: Duration,
    /// For this long after a request someone waits on (Critical or High), one worker is kept
    /// off work nobody waits for (background and predictions), so the next request finds a
    /// worker free (a person is active).
    pub interactive_window: Duration,
    /// The nice value of the workers other than the first (Linux): the operating system
    /// favours the threads that serve people over the background's. The first worker, the
    /// one kept free for requests while a person is active, keeps the process's priority.
    pub background_nice: i32,
    /// Every worker gets `background_nice`, the first too: for a user of
    /// [`Scheduler::load_here`], whose requests run on their own threads, so no worker needs
    /// the process's priority (the language server).
    pub nice_every_worker: bool,
    /// A niced worker runs work nobody waits for (Normal and Low: predictions and the
    /// background walk) under Linux's `SCHED_IDLE` policy, and goes back to the normal
    /// policy (at its nice value) for High and Critical work. A lower nice value only shares
    /// the processor out: a thread woken to serve a request still waits behind a niced one
    /// until that one's time slice ends (up to several milliseconds, measured as the p99 of
    /// the language server's requests during the background load), even while the other
    /// core is idle. A `SCHED_IDLE` thread is preempted the moment a normal one wakes.
    ///
    /// Leaving `SCHED_IDLE` needs `RLIMIT_NICE` to allow the thread's nice value, which the
    /// default limit (0) does not, or `CAP_SYS_NICE`: for most users a worker that went idle
    /// stays idle, High work included. Nobody waits on it for that: a request loads its
    /// resource beside a niced worker ([`Scheduler::load_here`]).
    pub idle_policy: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            workers: std::thread::available_parallelism()
                .map(|n| n.get().saturating_sub(1))
                .unwrap_or(1)
                .max(1),
            queue_capacity: 4096,
            max_background_age: Duration::from_secs(30),
            retry_attempts: 4,
            retry_base: Duration::from_millis(20),
            retry_max: Duration::from_secs(2),
            breaker_window: 32,
            breaker_failures: 16,
            breaker_cool_down: Duration::from_secs(5),
            interactive_window: Duration::from_secs(2),
            background_nice: 10,
            nice_every_worker: false,
            idle_policy: false,
        }
    }
}

/// What a waiter gets.
struct Waiter<V> {
    result: Mutex<Option<Result<V, LoadError>>>,
    cv: Condvar,
    /// Set when its ticket is dropped.
    gone: AtomicBool,
}

impl<V: Clone> Waiter<V> {
    fn new() -> Arc<Self> {
        Arc::new(Waiter {
            result: Mutex::new(None),
            cv: Condvar::new(),
            gone: AtomicBool::new(false),
        })
    }

    fn give(&self, r: Result<V, LoadError>) {
        let mut g = self.result.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            *g = Some(r);
        }
        self.cv.notify_all();
    }
}

struct Task<V> {
    priority: Priority,
    /// Matches the task's live queue entry (older entries of a promoted task are skipped).
    token: u64,
    running: bool,
    /// Running on a worker whose priority was lowered (see [`Scheduler::load_here`]).
    on_niced_worker: bool,
    queued_at: Duration,
    attempts: u32,
    /// Already dropped once for its age.
    requeued: bool,
    /// Queued by the background walk (kept when every waiter leaves).
    background: bool,
    waiters: Vec<Arc<Waiter<V>>>,
}

struct Breaker {
    recent: VecDeque<bool>,
    open_until: Option<Duration>,
}

struct State<K, V> {
    queues: [VecDeque<(u64, K)>; 4],
    tasks: HashMap<K, Task<V>>,
    /// Tasks waiting out a back-off: when they may run again.
    retry: Vec<(Duration, K)>,
    next_token: u64,
    metrics: Metrics,
    breaker: Breaker,
    shutdown: bool,
    /// Workers that have not exited.
    alive: usize,
    /// When the last request someone waits on (Critical or High) arrived.
    last_interactive: Option<Duration>,
    /// The background walk waits for room (on `admit`).
    walker_waiting: bool,
}

struct Shared<L: Loader> {
    loader: L,
    clock: Arc<dyn Clock>,
    config: Config,
    state: Mutex<State<L::Key, L::Value>>,
    /// Workers wait here for work.
    work: Condvar,
    /// Shutdown and `wait_idle` wait here for workers to exit / for the work to end.
    room: Condvar,
    /// The background walk waits here for room in the Low queue. It is woken when the queue
    /// has drained to half its capacity with nothing of higher priority queued, not at every
    /// load: on two cores a walk thread woken per load to admit one task takes a core's
    /// share from the workers.
    admit: Condvar,
}

impl<L: Loader> Shared<L> {
    fn lock(&self) -> MutexGuard<'_, State<L::Key, L::Value>> {
        // Every update keeps the state consistent before anything can panic, so a poisoned
        // lock is taken over.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A request's handle: wait for the value, or drop it to say nobody waits any more.
pub struct Ticket<L: Loader> {
    waiter: Arc<Waiter<L::Value>>,
    shared: Arc<Shared<L>>,
    key: L::Key,
}

impl<L: Loader> Ticket<L> {
    /// Waits for the result.
    pub fn wait(self) -> Result<L::Value, LoadError> {
        let mut g = self.waiter.result.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = g.as_ref() {
                return r.clone();
            }
            g = self.waiter.cv.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The result if it is there.
    pub fn try_result(&self) -> Option<Result<L::Value, LoadError>> {
        self.waiter
            .result
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl<L: Loader> Drop for Ticket<L> {
    fn drop(&mut self) {
        if self.try_result().is_some() {
            return;
        }
        self.waiter.gone.store(true, Ordering::SeqCst);
        let mut st = self.shared.lock();
        let Some(task) = st.tasks.get_mut(&self.key) else {
            return;
        };
        task.waiters.retain(|w| !Arc::ptr_eq(w, &self.waiter));
        if task.waiters.is_empty() && !task.running && !task.background {
            let p = task.priority;
            st.tasks.remove(&self.key);
            st.retry.retain(|(_, k)| *k != self.key);
            let c = st.metrics.of_mut(p);
            c.queued = c.queued.saturating_sub(1);
            c.dropped += 1;
        }
    }
}

/// What shutdown achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Queued tasks cancelled.
    pub cancelled: usize,
    /// True if every worker exited within the deadline (and was joined).
    pub clean: bool,
}

/// A priority scheduler over a fixed pool of workers.
pub struct Scheduler<L: Loader> {
    shared: Arc<Shared<L>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl<L: Loader> Scheduler<L> {
    /// Starts `config.workers` workers.
    pub fn new(loader: L, config: Config, clock: Arc<dyn Clock>) -> Scheduler<L> {
        let workers = config.workers.max(1);
        let shared = Arc::new(Shared {
            loader,
            clock,
            config,
            state: Mutex::new(State {
                queues: Default::default(),
                tasks: HashMap::new(),
                retry: Vec::new(),
                next_token: 0,
                metrics: Metrics::default(),
                breaker: Breaker {
                    recent: VecDeque::new(),
                    open_until: None,
                },
                shutdown: false,
                alive: workers,
                last_interactive: None,
                walker_waiting: false,
            }),
            work: Condvar::new(),
            room: Condvar::new(),
            admit: Condvar::new(),
        });
        let handles = (0..workers)
            .map(|i| {
                let s = shared.clone();
                std::thread::Builder::new()
                    .name(format!("modlens-load-{i}"))
                    .spawn(move || {
                        let niced = (i > 0 || s.config.nice_every_worker)
                            && lower_priority(s.config.background_nice);
                        worker(&s, i == 0, niced)
                    })
            })
            .filter_map(Result::ok)
            .collect::<Vec<_>>();
        {
            let mut st = shared.lock();
            st.alive = handles.len();
        }
        Scheduler {
            shared,
            workers: Mutex::new(handles),
        }
    }

    /// The tuning it was made with.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The loader.
    pub fn loader(&self) -> &L {
        &self.shared.loader
    }

    /// Asks for `key` at `priority`; the ticket gives the value. Joins a task already there
    /// (promoting it if this priority is higher).
    pub fn request(&self, key: L::Key, priority: Priority) -> Ticket<L> {
        let waiter = Waiter::new();
        let refused = {
            let mut st = self.shared.lock();
            if st.shutdown {
                Some(LoadError::ShuttingDown)
            } else {
                self.enqueue(&mut st, key.clone(), priority, Some(waiter.clone()), false)
                    .err()
            }
        };
        if let Some(e) = refused {
            waiter.give(Err(e));
        }
        Ticket {
            waiter,
            shared: self.shared.clone(),
            key,
        }
    }

    /// Asks for `key` at `priority` and waits for it; when no worker has started its load,
    /// the calling thread does the load itself. A request someone waits on then never waits
    /// behind a load a worker is in the middle of, nor for a worker to wake up: with one
    /// worker (two cores) that wait was most of a request's time. Merging, promotion,
    /// metrics, retries and predictions are as for a worker's load.
    ///
    /// A load already running on another request's thread is waited for. One running on a
    /// worker whose priority was lowered ([`Config::background_nice`]) is not: this thread
    /// loads the key too, beside it, and keeps its own result (the worker's still goes to
    /// the task's other waiters). Waiting would give the request the niced thread's share of
    /// the processor (a priority inversion), and a loader is a pure function of its key, so
    /// the two loads agree. Only a transient failure of this thread's load falls back to
    /// waiting for the worker's (which retries).
    pub fn load_here(&self, key: L::Key, priority: Priority) -> Result<L::Value, LoadError> {
        enum Here {
            /// This thread runs the task's load.
            Claimed(Priority, Duration),
            /// A niced worker runs it: load it here as well.
            Alongside,
            Wait,
        }
        let ticket = self.request(key.clone(), priority);
        let s = &self.shared;
        let here = {
            let mut st = s.lock();
            let now = s.clock.now();
            let shutdown = st.shutdown;
            match st.tasks.get_mut(&key) {
                Some(task) if !task.running && !shutdown => {
                    // Its queue entry stays and is skipped: the task is running.
                    task.running = true;
                    task.on_niced_worker = false;
                    let p = task.priority;
                    let waited = now.saturating_sub(task.queued_at);
                    s.loader.on_start(&key, p);
                    let c = st.metrics.of_mut(p);
                    c.queued = c.queued.saturating_sub(1);
                    c.in_flight += 1;
                    c.wait.push(waited);
                    Here::Claimed(p, now)
                }
                Some(task) if task.running && task.on_niced_worker && !shutdown => {
                    st.metrics.of_mut(priority).alongside += 1;
                    Here::Alongside
                }
                _ => Here::Wait,
            }
        };
        match here {
            Here::Claimed(p, started) => {
                let result = run_load(s, &key);
                complete(s, key, p, started, result);
            }
            Here::Alongside => match run_load(s, &key) {
                Err(LoadError::Transient(_)) => {}
                // Dropping the ticket takes this waiter off the task, which runs on.
                result => return result,
            },
            Here::Wait => {}
        }
        ticket.wait()
    }

    /// Queues `key` at `priority` with nobody waiting (a prediction); `false` if refused.
    pub fn submit(&self, key: L::Key, priority: Priority) -> bool {
        let mut st = self.shared.lock();
        !st.shutdown
            && self
                .enqueue(&mut st, key, priority, None, priority == Priority::Low)
                .is_ok()
    }

    /// Queues background work (Low), waiting while higher work is queued or the Low queue is
    /// full; refused while the loader or the breaker says no, and at shutdown.
    pub fn submit_background(&self, key: L::Key) -> Result<(), LoadError> {
        let mut one = std::iter::once(key);
        self.submit_background_batch(&mut one).map(|_| ())
    }

    /// Queues as much of `keys` as there is room for now, at Low (waiting first, while
    /// higher work is queued or the Low queue is full); returns how many it took (0 only
    /// when `keys` is empty). Refused while the loader or the breaker says no, and at
    /// shutdown. One lock for a batch: the background walk does not compete with the
    /// workers for every key.
    pub fn submit_background_batch(
        &self,
        keys: &mut dyn Iterator<Item = L::Key>,
    ) -> Result<usize, LoadError> {
        let s = &self.shared;
        let mut st = s.lock();
        loop {
            if st.shutdown {
                return Err(LoadError::ShuttingDown);
            }
            let now = s.clock.now();
            if breaker_open(&mut st, now) {
                return Err(LoadError::Paused);
            }
            if !s.loader.background_allowed() {
                return Err(LoadError::CacheFull);
            }
            let higher_waiting = higher_queued(&st);
            let room = s
                .config
                .queue_capacity
                .saturating_sub(st.metrics.of(Priority::Low).queued as usize);
            if !higher_waiting && room > 0 {
                // A short hold of the lock: a request arriving meanwhile waits for at most
                // this many insertions.
                let room = room.min(BATCH);
                let mut taken = 0;
                while taken < room {
                    let Some(key) = keys.next() else { break };
                    self.enqueue(&mut st, key, Priority::Low, None, true)?;
                    taken += 1;
                }
                return Ok(taken);
            }
            st.walker_waiting = true;
            st = match s.clock.wait_hint(Duration::from_millis(50)) {
                Some(d) => s
                    .admit
                    .wait_timeout(st, d)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0),
                None => s.admit.wait(st).unwrap_or_else(|p| p.into_inner()),
            };
            st.walker_waiting = false;
        }
    }

    fn enqueue(
        &self,
        st: &mut State<L::Key, L::Value>,
        key: L::Key,
        priority: Priority,
        waiter: Option<Arc<Waiter<L::Value>>>,
        background: bool,
    ) -> Result<(), LoadError> {
        let now = self.shared.clock.now();
        if priority <= Priority::High && waiter.is_some() {
            st.last_interactive = Some(now);
        }
        if let Some(task) = st.tasks.get_mut(&key) {
            task.background |= background;
            if let Some(w) = waiter {
                task.waiters.push(w);
            }
            let old = task.priority;
            let running = task.running;
            if priority < old && !running {
                // Promote: a new queue entry at the higher priority; the old one is skipped.
                task.priority = priority;
                st.next_token += 1;
                task.token = st.next_token;
                let token = task.token;
                st.queues[priority as usize].push_back((token, key));
                let o = st.metrics.of_mut(old);
                o.queued = o.queued.saturating_sub(1);
                let n = st.metrics.of_mut(priority);
                n.queued += 1;
                n.promoted += 1;
                self.shared.work.notify_one();
            } else {
                st.metrics.of_mut(priority).merged += 1;
            }
            return Ok(());
        }
        if st.metrics.of(priority).queued as usize >= self.shared.config.queue_capacity {
            return Err(LoadError::QueueFull);
        }
        insert_task(
            st,
            key,
            priority,
            now,
            background,
            waiter.into_iter().collect(),
        );
        self.shared.work.notify_one();
        Ok(())
    }

    /// Wakes the workers (after a [`ManualClock`] moved, so back-offs and the breaker's
    /// cool-down are looked at again).
    pub fn wake(&self) {
        let _g = self.shared.lock();
        self.shared.work.notify_all();
        self.shared.room.notify_all();
        self.shared.admit.notify_all();
    }

    /// A snapshot of the metrics.
    pub fn metrics(&self) -> Metrics {
        let mut st = self.shared.lock();
        let now = self.shared.clock.now();
        let open = breaker_open(&mut st, now);
        let mut m = st.metrics.clone();
        m.breaker_open = open;
        m
    }

    /// True when nothing is queued, waiting to retry or running.
    pub fn idle(&self) -> bool {
        self.shared.lock().tasks.is_empty()
    }

    /// Blocks until nothing is queued or running (or `deadline` passes, real time); `true` if
    /// idle.
    pub fn wait_idle(&self, deadline: Duration) -> bool {
        let start = std::time::Instant::now();
        let mut st = self.shared.lock();
        loop {
            if st.tasks.is_empty() {
                return true;
            }
            let left = deadline.saturating_sub(start.elapsed());
            if left.is_zero() {
                return false;
            }
            st = self
                .shared
                .room
                .wait_timeout(st, left.min(Duration::from_millis(50)))
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Stops admitting, cancels everything queued (its waiters get
    /// [`LoadError::ShuttingDown`]), lets running loads finish and joins every worker, waiting
    /// at most `deadline` (real time) for them.
    pub fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let cancelled = {
            let mut st = self.shared.lock();
            st.shutdown = true;
            let queued: Vec<L::Key> = st
                .tasks
                .iter()
                .filter(|(_, t)| !t.running)
                .map(|(k, _)| k.clone())
                .collect();
            for k in &queued {
                if let Some(t) = st.tasks.remove(k) {
                    for w in &t.waiters {
                        w.give(Err(LoadError::ShuttingDown));
                    }
                    let c = st.metrics.of_mut(t.priority);
                    c.queued = c.queued.saturating_sub(1);
                    c.dropped += 1;
                }
            }
            for q in st.queues.iter_mut() {
                q.clear();
            }
            st.retry.clear();
            self.shared.work.notify_all();
            self.shared.room.notify_all();
            self.shared.admit.notify_all();
            queued.len()
        };
        // Wait for the workers to leave (they finish what they run, then exit).
        let start = std::time::Instant::now();
        let mut clean = {
            let mut st = self.shared.lock();
            loop {
                if st.alive == 0 {
                    break true;
                }
                let left = deadline.saturating_sub(start.elapsed());
                if left.is_zero() {
                    break false;
                }
                st = self
                    .shared
                    .room
                    .wait_timeout(st, left)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
        };
        if clean {
            let handles: Vec<JoinHandle<()>> =
                std::mem::take(&mut *self.workers.lock().unwrap_or_else(|p| p.into_inner()));
            for h in handles {
                clean &= h.join().is_ok();
            }
        }
        ShutdownReport { cancelled, clean }
    }

    /// Worker threads not yet joined.
    pub fn threads(&self) -> usize {
        self.workers.lock().map(|w| w.len()).unwrap_or(0)
    }
}

impl<L: Loader> Drop for Scheduler<L> {
    fn drop(&mut self) {
        if self.threads() > 0 {
            self.shutdown(Duration::from_secs(5));
        }
    }
}

/// True while the breaker holds the background walk; closes it once the cool-down passed.
fn breaker_open<K, V>(st: &mut State<K, V>, now: Duration) -> bool {
    match st.breaker.open_until {
        Some(until) if now < until => true,
        Some(_) => {
            st.breaker.open_until = None;
            st.breaker.recent.clear();
            st.metrics.breaker_open = false;
            false
        }
        None => false,
    }
}

/// The next task to start: the highest priority first, FIFO within it; a stale entry (its
/// task was promoted, cancelled or finished) is skipped; background only while the breaker
/// and the loader allow; a background task that waited too long goes to the back, once.
fn pick<L: Loader>(
    s: &Shared<L>,
    st: &mut State<L::Key, L::Value>,
    now: Duration,
    interactive_worker: bool,
) -> Option<L::Key> {
    for p in Priority::ALL {
        if p == Priority::Low && breaker_open(st, now) {
            return None;
        }
        // A person is active: keep one worker off work nobody waits for (background and
        // predictions), so their next request finds it free.
        let workers = s.config.workers.max(1);
        let speculative =
            st.metrics.of(Priority::Normal).in_flight + st.metrics.of(Priority::Low).in_flight;
        let person_active = st
            .last_interactive
            .is_some_and(|t| now.saturating_sub(t) < s.config.interactive_window);
        if p >= Priority::Normal
            && workers > 1
            && person_active
            && (interactive_worker || speculative as usize >= workers - 1)
        {
            return None;
        }
        if p == Priority::Low && !s.loader.background_allowed() {
            // The cache is full: background work would only evict what people use. What
            // the background alone wanted is dropped; what someone waits on still runs.
            let queue = std::mem::take(&mut st.queues[p as usize]);
            for (token, key) in queue {
                let Some(task) = st.tasks.get(&key) else {
                    continue;
                };
                if task.token != token || task.running || task.priority != p {
                    continue;
                }
                if task.waiters.is_empty() {
                    st.tasks.remove(&key);
                    let c = st.metrics.of_mut(p);
                    c.queued = c.queued.saturating_sub(1);
                    c.dropped += 1;
                } else {
                    st.queues[p as usize].push_back((token, key));
                }
            }
        }
        while let Some((token, key)) = st.queues[p as usize].pop_front() {
            let Some(task) = st.tasks.get_mut(&key) else {
                continue;
            };
            if task.token != token || task.running || task.priority != p {
                continue;
            }
            if p == Priority::Low
                && !task.requeued
                && now.saturating_sub(task.queued_at) > s.config.max_background_age
            {
                task.requeued = true;
                task.queued_at = now;
                st.next_token += 1;
                task.token = st.next_token;
                let token = task.token;
                st.queues[p as usize].push_back((token, key));
                st.metrics.of_mut(p).dropped += 1;
                continue;
            }
            task.running = true;
            s.loader.on_start(&key, p);
            let waited = now.saturating_sub(task.queued_at);
            let c = st.metrics.of_mut(p);
            c.queued = c.queued.saturating_sub(1);
            c.in_flight += 1;
            c.wait.push(waited);
            return Some(key);
        }
    }
    None
}

/// Lowers the calling thread's scheduling priority (Linux: the nice value is per thread);
/// for the background's threads. True when it was lowered.
pub fn lower_priority(nice: i32) -> bool {
    #[cfg(target_os = "linux")]
    if nice > 0 {
        // SAFETY: `gettid` has no preconditions; `setpriority` on our own thread id only
        // changes this thread's nice value, and a failure (not permitted) is harmless.
        return unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, nice) == 0
        };
    }
    let _ = nice;
    false
}

/// Puts the calling thread under Linux's `SCHED_IDLE` policy (`idle`), or back under the
/// normal one, its nice value unchanged (allowed without privileges when the nice value is
/// within `RLIMIT_NICE`'s range, as a value the thread raised itself is). True when done;
/// false elsewhere than on Linux.
pub fn idle_policy(idle: bool) -> bool {
    #[cfg(target_os = "linux")]
    {
        let policy = if idle {
            libc::SCHED_IDLE
        } else {
            libc::SCHED_OTHER
        };
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `sched_setscheduler` with pid 0 changes only the calling thread's policy;
        // `param` is a valid `sched_param` for either policy (priority 0).
        unsafe { libc::sched_setscheduler(0, policy, &param) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = idle;
        false
    }
}

/// Puts the calling thread at the background's priority `config` asks for: its nice value,
/// then (with `idle_policy`) Linux's `SCHED_IDLE`. For threads that do nothing but
/// background work (the walk, the sweep); a worker changes policy per load instead.
pub fn enter_background(config: &Config) {
    if lower_priority(config.background_nice) && config.idle_policy {
        let _ = idle_policy(true);
    }
}

/// A worker's loop; `niced`: this worker's priority was lowered.
fn worker<L: Loader>(s: &Shared<L>, interactive_worker: bool, niced: bool) {
    // Whether this thread runs under `SCHED_IDLE` now, and whether it may (it stops trying
    // after a refusal).
    let mut idle = false;
    let mut may_idle = niced && s.config.idle_policy;
    loop {
        let (key, priority, started) = {
            let mut st = s.lock();
            loop {
                if st.shutdown {
                    st.alive = st.alive.saturating_sub(1);
                    s.room.notify_all();
                    return;
                }
                let now = s.clock.now();
                // Back-offs that are over: queue again.
                let due: Vec<L::Key> = st
                    .retry
                    .iter()
                    .filter(|(at, _)| *at <= now)
                    .map(|(_, k)| k.clone())
                    .collect();
                st.retry.retain(|(at, _)| *at > now);
                for k in due {
                    if let Some(t) = st.tasks.get_mut(&k) {
                        let p = t.priority;
                        st.next_token += 1;
                        let token = st.next_token;
                        if let Some(t) = st.tasks.get_mut(&k) {
                            t.token = token;
                            t.queued_at = now;
                        }
                        st.queues[p as usize].push_back((token, k));
                        st.metrics.of_mut(p).queued += 1;
                    }
                }
                if let Some(k) = pick(s, &mut st, now, interactive_worker) {
                    let p = match st.tasks.get_mut(&k) {
                        Some(t) => {
                            t.on_niced_worker = niced;
                            t.priority
                        }
                        None => Priority::Low,
                    };
                    break (k, p, now);
                }
                // Nothing to do now: wait for work, or for the next back-off or cool-down.
                let next = st
                    .retry
                    .iter()
                    .map(|(at, _)| *at)
                    .chain(st.breaker.open_until)
                    .min();
                st = match next.and_then(|at| s.clock.wait_hint(at.saturating_sub(now))) {
                    Some(d) => s
                        .work
                        .wait_timeout(st, d.max(Duration::from_micros(100)))
                        .map(|(g, _)| g)
                        .unwrap_or_else(|p| p.into_inner().0),
                    None => s.work.wait(st).unwrap_or_else(|p| p.into_inner()),
                };
            }
        };
        // After a refusal the thread stays as it is (under `SCHED_IDLE` when leaving it was
        // refused), without asking again.
        let want_idle = if may_idle {
            priority >= Priority::Normal
        } else {
            idle
        };
        if want_idle != idle {
            if idle_policy(want_idle) {
                idle = want_idle;
            } else {
                may_idle = false;
            }
        }
        // The load itself, outside the lock; a panic in it is a failure, not a dead worker.
        let result = run_load(s, &key);
        complete(s, key, priority, started, result);
    }
}

/// Runs one load; a panic in it is a failure.
fn run_load<L: Loader>(s: &Shared<L>, key: &L::Key) -> Result<L::Value, LoadError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.loader.load(key)))
        .unwrap_or_else(|_| Err(LoadError::Permanent("the load panicked".to_string())))
}

/// Records the end of a load that ran (on a worker, or on the thread of the request that
/// waited for it): gives the result to its waiters, or queues a retry of a transient
/// failure; queues its predictions; wakes whoever waits for the state to move.
fn complete<L: Loader>(
    s: &Shared<L>,
    key: L::Key,
    priority: Priority,
    started: Duration,
    result: Result<L::Value, LoadError>,
) {
    let predicted = match (&result, priority) {
        (Ok(_), Priority::Critical | Priority::High) => s.loader.predict(&key),
        _ => Vec::new(),
    };
    let mut st = s.lock();
    let now = s.clock.now();
    let c = st.metrics.of_mut(priority);
    c.in_flight = c.in_flight.saturating_sub(1);
    c.service.push(now.saturating_sub(started));
    let background = st
        .tasks
        .get(&key)
        .is_some_and(|t| t.background && t.waiters.is_empty());
    match result {
        Err(LoadError::Transient(e))
            if st
                .tasks
                .get(&key)
                .is_some_and(|t| t.attempts + 1 < s.config.retry_attempts)
                && !st.shutdown =>
        {
            let Some(t) = st.tasks.get_mut(&key) else {
                return;
            };
            t.attempts += 1;
            t.running = false;
            let backoff = s
                .config
                .retry_base
                .saturating_mul(1u32 << t.attempts.saturating_sub(1).min(16))
                .min(s.config.retry_max);
            tracing::debug!(?key, attempt = t.attempts, ?backoff, error = %e, "retrying a load");
            st.retry.push((now + backoff, key.clone()));
            st.metrics.of_mut(priority).retried += 1;
        }
        result => {
            let ok = result.is_ok();
            if let Some(t) = st.tasks.remove(&key) {
                for w in &t.waiters {
                    w.give(result.clone());
                }
            }
            let c = st.metrics.of_mut(priority);
            if ok {
                c.done += 1;
            } else {
                c.failed += 1;
            }
            if background {
                record(s, &mut st, ok, now);
            }
        }
    }
    for k in predicted {
        if !st.shutdown && !st.tasks.contains_key(&k) {
            let _ = enqueue_plain(s, &mut st, k, Priority::Normal, now);
        }
    }
    if st.tasks.is_empty() {
        s.room.notify_all();
    }
    if st.walker_waiting && walker_may_admit(s, &st) {
        st.walker_waiting = false;
        s.admit.notify_one();
    }
    s.work.notify_one();
}

/// True when work of a priority above Low is queued (the walk waits for it).
fn higher_queued<K, V>(st: &State<K, V>) -> bool {
    Priority::ALL[..3]
        .iter()
        .any(|p| st.metrics.of(*p).queued > 0)
}

/// True when the waiting walk should be woken: nothing of higher priority is queued and the
/// Low queue has drained to half its capacity (so it admits a batch, not one task).
fn walker_may_admit<L: Loader>(s: &Shared<L>, st: &State<L::Key, L::Value>) -> bool {
    !higher_queued(st)
        && st.metrics.of(Priority::Low).queued as usize <= s.config.queue_capacity / 2
}

/// Queues a task nobody waits on (used by the workers for predictions).
fn enqueue_plain<L: Loader>(
    s: &Shared<L>,
    st: &mut State<L::Key, L::Value>,
    key: L::Key,
    priority: Priority,
    now: Duration,
) -> bool {
    if st.metrics.of(priority).queued as usize >= s.config.queue_capacity {
        return false;
    }
    insert_task(st, key, priority, now, false, Vec::new());
    true
}

/// Adds a new task (the caller checked there is room and no task for the key).
fn insert_task<K: Clone + Eq + Hash, V>(
    st: &mut State<K, V>,
    key: K,
    priority: Priority,
    now: Duration,
    background: bool,
    waiters: Vec<Arc<Waiter<V>>>,
) {
    st.next_token += 1;
    let token = st.next_token;
    st.tasks.insert(
        key.clone(),
        Task {
            priority,
            token,
            running: false,
            on_niced_worker: false,
            queued_at: now,
            attempts: 0,
            requeued: false,
            background,
            waiters,
        },
    );
    st.queues[priority as usize].push_back((token, key));
    st.metrics.of_mut(priority).queued += 1;
}

/// Feeds a background result to the breaker.
fn record<L: Loader>(s: &Shared<L>, st: &mut State<L::Key, L::Value>, ok: bool, now: Duration) {
    let b = &mut st.breaker;
    b.recent.push_back(ok);
    while b.recent.len() > s.config.breaker_window.max(1) {
        b.recent.pop_front();
    }
    let failures = b.recent.iter().filter(|ok| !**ok).count();
    if b.open_until.is_none() && failures >= s.config.breaker_failures.max(1) {
        b.open_until = Some(now + s.config.breaker_cool_down);
        st.metrics.breaker_trips += 1;
        st.metrics.breaker_open = true;
        tracing::warn!(
            failures,
            cool_down = ?s.config.breaker_cool_down,
            "background loads keep failing: pausing the background walk"
        );
    }
}
