//! Scheduler metrics: counters per priority and latency samples (queue wait, service time)
//! kept in bounded rings, so percentiles are exact over the most recent samples and memory
//! does not grow with the run.

use std::time::Duration;

use super::Priority;

/// How many recent samples each ring keeps.
const RING: usize = 8192;

/// A ring of recent durations.
#[derive(Clone, Debug, Default)]
pub struct Ring {
    samples: Vec<Duration>,
    next: usize,
    total: u64,
}

impl Ring {
    /// Adds a sample (the oldest is dropped past [`RING`]).
    pub fn push(&mut self, d: Duration) {
        if self.samples.len() < RING {
            self.samples.push(d);
        } else {
            self.samples[self.next] = d;
        }
        self.next = (self.next + 1) % RING;
        self.total += 1;
    }

    /// The `q` quantile (0..=1) of the kept samples.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.samples.is_empty() {
            return None;
        }
        let mut v = self.samples.clone();
        v.sort_unstable();
        let i = ((v.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
        v.get(i).copied()
    }

    /// Samples ever pushed.
    pub fn count(&self) -> u64 {
        self.total
    }
}

/// Counters of one priority.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    /// Tasks waiting in the queue now.
    pub queued: u64,
    /// Tasks running now.
    pub in_flight: u64,
    /// Tasks finished successfully.
    pub done: u64,
    /// Tasks that failed for good.
    pub failed: u64,
    /// Requests that joined a task already queued or running.
    pub merged: u64,
    /// Queued tasks moved up to this priority.
    pub promoted: u64,
    /// Tasks dropped: too old (background, re-queued later), or nobody waits any more.
    pub dropped: u64,
    /// Failed attempts retried after a back-off.
    pub retried: u64,
    /// Requests that found their task running on a worker of lowered priority and loaded it
    /// on their own thread instead of waiting (`Scheduler::load_here`).
    pub alongside: u64,
    /// Time from queued to started.
    pub wait: Ring,
    /// Time from started to finished.
    pub service: Ring,
}

/// A snapshot of every counter.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// Counters by priority, Critical first.
    pub by_priority: [Counters; 4],
    /// True while the circuit breaker holds the background walk.
    pub breaker_open: bool,
    /// Times the breaker opened.
    pub breaker_trips: u64,
}

impl Metrics {
    /// The counters of one priority.
    pub fn of(&self, p: Priority) -> &Counters {
        &self.by_priority[p as usize]
    }

    pub(crate) fn of_mut(&mut self, p: Priority) -> &mut Counters {
        &mut self.by_priority[p as usize]
    }

    /// Sum of a counter over every priority.
    pub fn total(&self, f: impl Fn(&Counters) -> u64) -> u64 {
        self.by_priority.iter().map(f).sum()
    }
}

/// A plain view of [`Metrics`] for output (`--output json`, the language server).
#[derive(Clone, Debug, serde::Serialize)]
pub struct MetricsView {
    /// Per priority.
    pub priorities: Vec<PriorityView>,
    /// True while the breaker holds the background walk.
    pub breaker_open: bool,
    /// Times the breaker opened.
    pub breaker_trips: u64,
}

/// One priority's figures.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PriorityView {
    /// `critical`, `high`, `normal`, `low`.
    pub priority: &'static str,
    /// Waiting now.
    pub queued: u64,
    /// Running now.
    pub in_flight: u64,
    /// Done.
    pub done: u64,
    /// Failed.
    pub failed: u64,
    /// Merged into a task already there.
    pub merged: u64,
    /// Promoted to this priority.
    pub promoted: u64,
    /// Dropped.
    pub dropped: u64,
    /// Retried.
    pub retried: u64,
    /// Loaded on the request's own thread beside a niced worker's load.
    pub alongside: u64,
    /// Queue wait, p50 and p99, microseconds.
    pub wait_p50_us: Option<f64>,
    /// Queue wait p99.
    pub wait_p99_us: Option<f64>,
    /// Service time p50, microseconds.
    pub service_p50_us: Option<f64>,
    /// Service time p99.
    pub service_p99_us: Option<f64>,
}

impl From<&Metrics> for MetricsView {
    fn from(m: &Metrics) -> Self {
        let us = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e6);
        MetricsView {
            priorities: Priority::ALL
                .iter()
                .map(|p| {
                    let c = m.of(*p);
                    PriorityView {
                        priority: p.as_str(),
                        queued: c.queued,
                        in_flight: c.in_flight,
                        done: c.done,
                        failed: c.failed,
                        merged: c.merged,
                        promoted: c.promoted,
                        dropped: c.dropped,
                        retried: c.retried,
                        alongside: c.alongside,
                        wait_p50_us: us(c.wait.quantile(0.5)),
                        wait_p99_us: us(c.wait.quantile(0.99)),
                        service_p50_us: us(c.service.quantile(0.5)),
                        service_p99_us: us(c.service.quantile(0.99)),
                    }
                })
                .collect(),
            breaker_open: m.breaker_open,
            breaker_trips: m.breaker_trips,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_over_a_bounded_ring() {
        let mut r = Ring::default();
        for i in 1..=100u64 {
            r.push(Duration::from_micros(i));
        }
        assert_eq!(r.quantile(0.5), Some(Duration::from_micros(51)));
        assert_eq!(r.quantile(0.99), Some(Duration::from_micros(99)));
        for _ in 0..(RING * 2) {
            r.push(Duration::from_micros(7));
        }
        assert_eq!(r.quantile(0.99), Some(Duration::from_micros(7)));
        assert_eq!(r.count(), 100 + 2 * RING as u64);
    }
}
