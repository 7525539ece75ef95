//! A counting global allocator for the benches: counts heap traffic only between [`start`]
//! and [`stop`]: live bytes and their peak relative to the start, and bytes allocated (a reallocation counts its new size, as the
//! binary's allocator does). Outside a window each call costs one relaxed load.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::Relaxed};

pub struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    TOTAL.fetch_add(by, Relaxed);
    CALLS.fetch_add(1, Relaxed);
    let live = LIVE.fetch_add(by as isize, Relaxed) + by as isize;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && ON.load(Relaxed) {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() && ON.load(Relaxed) {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the pointer came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        if ON.load(Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() && ON.load(Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Relaxed);
            grew(new_size);
        }
        p
    }
}

/// Counters since [`start`].
#[derive(Debug, Clone, Copy, Default)]
#[allow(dead_code)] // each bench reads the figures it reports
pub struct Window {
    /// Live bytes now minus live bytes at the start (negative if more was freed).
    pub live: isize,
    /// The largest `live` seen.
    pub peak: isize,
    /// Bytes allocated.
    pub total: usize,
    /// Allocation calls (allocations and reallocations).
    pub calls: usize,
}

/// Opens a window (nothing else should allocate meanwhile).
pub fn start() {
    LIVE.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    TOTAL.store(0, Relaxed);
    CALLS.store(0, Relaxed);
    ON.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Reads the counters of the open window.
pub fn read() -> Window {
    Window {
        live: LIVE.load(Relaxed),
        peak: PEAK.load(Relaxed),
        total: TOTAL.load(Relaxed),
        calls: CALLS.load(Relaxed),
    }
}

/// Closes the window and returns its counters.
pub fn stop() -> Window {
    ON.store(false, std::sync::atomic::Ordering::SeqCst);
    read()
}
