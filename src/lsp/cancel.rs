//! Cooperative cancellation of a request's work.
//!
//! tower-lsp-server answers `$/cancelRequest` by dropping the request's future; work that
//! future handed to a blocking thread would go on to the end, holding a core, while newer
//! requests wait. [`run`] hands work to a blocking thread with a flag that is raised when
//! the waiting future is dropped, and the work asks [`requested`] in its long loops and
//! stops early (its result is thrown away). The flag is per thread, so code deep in a
//! request's work asks without being passed anything.
//!
//! It must not: stop anything that changes state (applying a change, publishing) — only
//! work whose whole result is an answer nobody waits for any more.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

thread_local! {
    static CURRENT: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Requests whose work ended after they were cancelled (for `modlens/stats`).
pub static STOPPED: AtomicU64 = AtomicU64::new(0);

/// True when the request whose work runs on this thread was cancelled.
pub fn requested() -> bool {
    CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    })
}

/// Raises the flag when dropped, unless disarmed (the work's answer was received).
struct RaiseOnDrop(Option<Arc<AtomicBool>>);

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f.store(true, Ordering::Relaxed);
        }
    }
}

/// Runs `f` on a blocking thread; if the returned future is dropped before `f` ends (the
/// request was cancelled), [`requested`] turns true on that thread.
pub async fn run<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    let flag = Arc::new(AtomicBool::new(false));
    let mut raise = RaiseOnDrop(Some(flag.clone()));
    let result = tokio::task::spawn_blocking(move || {
        // The thread is the pool's: the flag is taken off it however `f` ends.
        struct Scope;
        impl Drop for Scope {
            fn drop(&mut self) {
                CURRENT.with(|c| *c.borrow_mut() = None);
            }
        }
        CURRENT.with(|c| *c.borrow_mut() = Some(flag.clone()));
        let scope = Scope;
        let r = f();
        drop(scope);
        if flag.load(Ordering::Relaxed) {
            STOPPED.fetch_add(1, Ordering::Relaxed);
        }
        r
    })
    .await;
    raise.0 = None;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_future_stops_the_work() {
        let (started_tx, started_rx) = mpsc::channel();
        let (ended_tx, ended_rx) = mpsc::channel();
        let work = run(move || {
            let _ = started_tx.send(());
            let mut rounds = 0u64;
            while !requested() {
                rounds += 1;
                std::hint::spin_loop();
            }
            let _ = ended_tx.send(rounds);
        });
        let task = tokio::spawn(work);
        tokio::task::spawn_blocking(move || started_rx.recv_timeout(Duration::from_secs(30)))
            .await
            .expect("joined")
            .expect("the work started");
        task.abort();
        let ended =
            tokio::task::spawn_blocking(move || ended_rx.recv_timeout(Duration::from_secs(30)))
                .await
                .expect("joined");
        assert!(ended.is_ok(), "the work saw the cancellation and stopped");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_that_is_awaited_is_not_cancelled_and_the_flag_does_not_leak() {
        let r = run(requested).await.expect("ran");
        assert!(!r);
        // Outside a request's work: never cancelled.
        assert!(!requested());
    }
}
