//! A bounded LRU map: at most `max_entries` entries and about `max_bytes` bytes (each value
//! says what it weighs), with hits, misses, insertions, evictions and resident size counted.
//!
//! It knows nothing of resources: the resolver keys it by qualified name and decides what to
//! invalidate. Thread-safe behind one mutex; every operation is O(1) except
//! [`Cache::retain`], which visits every entry (the cache is bounded, so that is bounded too).

use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// What a cached value weighs.
pub trait Weigh {
    /// Approximate heap bytes held by the value (its share of shared data included).
    fn weight(&self) -> usize;
}

impl<T: Weigh> Weigh for std::sync::Arc<T> {
    fn weight(&self) -> usize {
        (**self).weight()
    }
}

/// The cache's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// At most this many entries.
    pub max_entries: usize,
    /// At most about this many bytes of values.
    pub max_bytes: usize,
}

impl Default for Limits {
    /// 20,000 entries or 64 MiB: every resource of the largest public mods fits, and a mod
    /// 100 times larger stays at 64 MiB.
    fn default() -> Self {
        Limits {
            max_entries: 20_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Counters since the cache was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Lookups that found their entry.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// Entries added.
    pub inserts: u64,
    /// Entries dropped to make room.
    pub evictions: u64,
    /// Entries dropped by invalidation.
    pub invalidations: u64,
    /// Values refused because one alone is over the byte limit.
    pub too_large: u64,
    /// Entries resident now.
    pub entries: u64,
    /// Bytes resident now.
    pub bytes: u64,
    /// The most bytes ever resident.
    pub peak_bytes: u64,
}

impl CacheStats {
    /// Hits over lookups (1 when there were none).
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            1.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

struct Inner<K: Hash + Eq, V> {
    lru: lru::LruCache<K, (V, usize)>,
    bytes: usize,
    peak: usize,
}

/// A bounded LRU cache.
pub struct Cache<K: Hash + Eq, V> {
    inner: Mutex<Inner<K, V>>,
    limits: Limits,
    hits: AtomicU64,
    misses: AtomicU64,
    inserts: AtomicU64,
    evictions: AtomicU64,
    invalidations: AtomicU64,
    too_large: AtomicU64,
}

impl<K: Hash + Eq, V> std::fmt::Debug for Cache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("limits", &self.limits)
            .finish()
    }
}

impl<K: Hash + Eq + Clone, V: Clone + Weigh> Cache<K, V> {
    /// An empty cache with these limits.
    pub fn new(limits: Limits) -> Self {
        Cache {
            inner: Mutex::new(Inner {
                lru: lru::LruCache::unbounded(),
                bytes: 0,
                peak: 0,
            }),
            limits: Limits {
                max_entries: limits.max_entries.max(1),
                max_bytes: limits.max_bytes.max(1),
            },
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            inserts: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            too_large: AtomicU64::new(0),
        }
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock leaves consistent data (every update is a few
        // field writes), so a poisoned lock is taken over rather than propagated.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value for `key`, marking it most recently used; counts a hit or a miss.
    pub fn get(&self, key: &K) -> Option<V> {
        let found = self.lock().lru.get(key).map(|(v, _)| v.clone());
        match found {
            Some(_) => self.hits.fetch_add(1, Relaxed),
            None => self.misses.fetch_add(1, Relaxed),
        };
        found
    }

    /// The value for `key` without touching its recency or the counters.
    pub fn peek(&self, key: &K) -> Option<V> {
        self.lock().lru.peek(key).map(|(v, _)| v.clone())
    }

    /// True if `key` is resident (no recency change, no counting).
    pub fn contains(&self, key: &K) -> bool {
        self.lock().lru.contains(key)
    }

    /// Adds or replaces an entry, evicting least recently used ones to stay in the limits.
    /// A value over the byte limit by itself is not kept.
    pub fn insert(&self, key: K, value: V) {
        let w = value.weight();
        if w > self.limits.max_bytes {
            self.too_large.fetch_add(1, Relaxed);
            return;
        }
        let mut g = self.lock();
        if let Some((_, old)) = g.lru.put(key, (value, w)) {
            g.bytes -= old;
        }
        g.bytes += w;
        self.inserts.fetch_add(1, Relaxed);
        while g.lru.len() > self.limits.max_entries || g.bytes > self.limits.max_bytes {
            match g.lru.pop_lru() {
                Some((_, (_, w))) => {
                    g.bytes -= w;
                    self.evictions.fetch_add(1, Relaxed);
                }
                None => break,
            }
        }
        g.peak = g.peak.max(g.bytes);
    }

    /// True if adding a value of `weight` bytes would evict something.
    pub fn would_evict(&self, weight: usize) -> bool {
        let g = self.lock();
        g.lru.len() + 1 > self.limits.max_entries || g.bytes + weight > self.limits.max_bytes
    }

    /// Removes an entry (counted as an invalidation).
    pub fn remove(&self, key: &K) -> Option<V> {
        let mut g = self.lock();
        let (v, w) = g.lru.pop(key)?;
        g.bytes -= w;
        self.invalidations.fetch_add(1, Relaxed);
        Some(v)
    }

    /// Keeps only the entries for which `keep` is true; returns the keys removed (counted as
    /// invalidations).
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) -> Vec<K> {
        let mut g = self.lock();
        let doomed: Vec<K> = g
            .lru
            .iter()
            .filter(|(k, (v, _))| !keep(k, v))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &doomed {
            if let Some((_, w)) = g.lru.pop(k) {
                g.bytes -= w;
            }
        }
        self.invalidations.fetch_add(doomed.len() as u64, Relaxed);
        doomed
    }

    /// Every resident key and value, most recently used first.
    pub fn entries(&self) -> Vec<(K, V)> {
        self.lock()
            .lru
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    }

    /// Drops everything (counted as invalidations).
    pub fn clear(&self) {
        let mut g = self.lock();
        self.invalidations.fetch_add(g.lru.len() as u64, Relaxed);
        g.lru.clear();
        g.bytes = 0;
    }

    /// The counters and resident size.
    pub fn stats(&self) -> CacheStats {
        let g = self.lock();
        CacheStats {
            hits: self.hits.load(Relaxed),
            misses: self.misses.load(Relaxed),
            inserts: self.inserts.load(Relaxed),
            evictions: self.evictions.load(Relaxed),
            invalidations: self.invalidations.load(Relaxed),
            too_large: self.too_large.load(Relaxed),
            entries: g.lru.len() as u64,
            bytes: g.bytes as u64,
            peak_bytes: g.peak as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct W(usize);
    impl Weigh for W {
        fn weight(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn evicts_least_recently_used_by_count_and_bytes() {
        let c = Cache::new(Limits {
            max_entries: 3,
            max_bytes: 100,
        });
        c.insert("a", W(10));
        c.insert("b", W(10));
        c.insert("c", W(10));
        assert_eq!(c.get(&"a"), Some(W(10))); // a is now the most recent
        c.insert("d", W(10)); // evicts b
        assert!(!c.contains(&"b"));
        assert!(c.contains(&"a"));
        c.insert("e", W(85)); // bytes: a, d, e = 105 > 100: evicts a (oldest)... then fits
        let s = c.stats();
        assert!(s.bytes <= 100, "{s:?}");
        assert!(s.evictions >= 2);
        assert_eq!(s.hits, 1);
        c.insert("huge", W(1000));
        assert!(!c.contains(&"huge"));
        assert_eq!(c.stats().too_large, 1);
        assert!(c.stats().peak_bytes <= 100);
    }

    #[test]
    fn replacing_an_entry_keeps_the_byte_count_right() {
        let c = Cache::new(Limits::default());
        c.insert(1, W(50));
        c.insert(1, W(20));
        assert_eq!(c.stats().bytes, 20);
        assert_eq!(c.remove(&1), Some(W(20)));
        assert_eq!(c.stats().bytes, 0);
        c.insert(2, W(5));
        c.insert(3, W(5));
        let gone = c.retain(|k, _| *k != 2);
        assert_eq!(gone, vec![2]);
        assert_eq!(c.stats().entries, 1);
        assert_eq!(c.stats().invalidations, 2);
        assert_eq!(c.get(&9), None);
        assert_eq!(c.stats().misses, 1);
    }
}
