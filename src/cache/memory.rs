//! The memory tier: a bytes-bounded [moka](https://docs.rs/moka) cache (TinyLFU admission,
//! LRU eviction) holding envelopes, with expiry on the cache's clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use moka::notification::RemovalCause;

use crate::cache::blob::Blob;
use crate::cache::tier::{Evictions, Tier, TierKind, TierValue, Usage};
use crate::clock::Clock;
use crate::error::Result;

/// Bytes charged per entry on top of key and value (moka's node, our entry, the Arc).
const ENTRY_OVERHEAD: usize = 96;

/// One value in the memory tier.
#[derive(Clone)]
pub struct MemEntry {
    /// The envelope.
    pub bytes: Arc<[u8]>,
    /// Absolute expiry in ms on the cache's clock.
    pub expires_at_ms: Option<u64>,
    /// Write sequence number; write-back uses it to tell a value from its successors.
    pub seq: u64,
}

/// Why the memory tier let go of a value on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Evicted for space.
    ForSpace,
    /// Expired.
    Expired,
}

/// Told about every value the memory tier drops on its own (write-back demotes them).
pub type DropHook = Box<dyn Fn(&[u8], &MemEntry, Dropped) + Send + Sync>;

#[derive(Default)]
struct Counts {
    expired: AtomicU64,
    size: AtomicU64,
    explicit: AtomicU64,
    replaced: AtomicU64,
}

/// True when `entry` has expired on `clock` (read only for entries that can expire).
fn is_expired(entry: &MemEntry, clock: &dyn Clock) -> bool {
    entry.expires_at_ms.is_some_and(|at| at <= clock.now_ms())
}

/// Longest time between sweeps of expired entries, in ms (a sweep runs on an insert).
const SWEEP_INTERVAL_MS: u64 = 60_000;

/// The memory tier.
///
/// Expiry is checked on the cache's clock when a value is read (an expired value is dropped
/// then), and a sweep on the insert path drops the expired values nobody read, at most once
/// per [`SWEEP_INTERVAL_MS`]. moka's own per-entry expiry is not used: it costs a clock read
/// and timer-wheel work on every hit, which doubled the hit latency in our measurements.
pub struct MemoryTier {
    map: moka::sync::Cache<Vec<u8>, MemEntry>,
    clock: Arc<dyn Clock>,
    counts: Arc<Counts>,
    /// Values with a TTL inserted since the last sweep.
    expiring: AtomicU64,
    /// When the last sweep ran, ms on the cache's clock.
    last_sweep_ms: AtomicU64,
}

impl MemoryTier {
    /// A memory tier holding at most `budget_bytes` (keys, values and per-entry overhead).
    /// `on_drop` is read when a value is dropped, so it can be set after construction.
    pub fn new(budget_bytes: u64, clock: Arc<dyn Clock>, on_drop: Arc<OnceLock<DropHook>>) -> Self {
        let counts = Arc::new(Counts::default());
        let listener_counts = counts.clone();
        let listener_clock = clock.clone();
        let map = moka::sync::Cache::builder()
            .max_capacity(budget_bytes)
            .weigher(|key: &Vec<u8>, entry: &MemEntry| {
                u32::try_from(key.len() + entry.bytes.len() + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
            })
            .eviction_listener(move |key: Arc<Vec<u8>>, entry: MemEntry, cause| {
                let c = &listener_counts;
                let dropped = match cause {
                    RemovalCause::Expired => {
                        c.expired.fetch_add(1, Ordering::Relaxed);
                        Dropped::Expired
                    }
                    RemovalCause::Size => {
                        c.size.fetch_add(1, Ordering::Relaxed);
                        Dropped::ForSpace
                    }
                    // Our clock, not moka's timer, says when a value expires (they differ under
                    // an injected clock or a wall-clock jump): a value removed once it had
                    // expired (by a read finding it, or a remove) was dropped for expiry.
                    RemovalCause::Explicit if is_expired(&entry, &*listener_clock) => {
                        c.expired.fetch_add(1, Ordering::Relaxed);
                        Dropped::Expired
                    }
                    RemovalCause::Explicit => {
                        c.explicit.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    RemovalCause::Replaced => {
                        c.replaced.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                };
                if let Some(hook) = on_drop.get() {
                    hook(&key, &entry, dropped);
                }
            })
            .build();
        let last_sweep_ms = AtomicU64::new(clock.now_ms());
        Self {
            map,
            clock,
            counts,
            expiring: AtomicU64::new(0),
            last_sweep_ms,
        }
    }

    /// The live entry under `key`. An entry found expired (on the cache's clock, which
    /// moka's own timer may lag behind) is dropped, so it neither takes up the budget nor
    /// counts as held.
    pub fn get_entry(&self, key: &[u8]) -> Option<MemEntry> {
        let entry = self.map.get(key)?;
        if !is_expired(&entry, &*self.clock) {
            return Some(entry);
        }
        self.drop_if_expired(key);
        None
    }

    /// Removes the value under `key` if it is (still) expired: a fresh one may have
    /// replaced it meanwhile.
    fn drop_if_expired(&self, key: &[u8]) {
        let clock = &*self.clock;
        self.map
            .entry_by_ref(key)
            .and_compute_with(|current| match current {
                Some(e) if is_expired(e.value(), clock) => moka::ops::compute::Op::Remove,
                _ => moka::ops::compute::Op::Nop,
            });
    }

    /// Drops every expired value, if values with a TTL were inserted and the last sweep is
    /// more than [`SWEEP_INTERVAL_MS`] ago. One caller sweeps; the others go on.
    fn maybe_sweep(&self) {
        if self.expiring.load(Ordering::Relaxed) == 0 {
            return;
        }
        let now = self.clock.now_ms();
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < SWEEP_INTERVAL_MS
            || self
                .last_sweep_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.expiring.store(0, Ordering::Relaxed);
        self.sweep_expired();
    }

    /// Drops every expired value now; returns how many went.
    pub fn sweep_expired(&self) -> usize {
        let expired: Vec<Arc<Vec<u8>>> = self
            .map
            .iter()
            .filter(|(_, e)| is_expired(e, &*self.clock))
            .map(|(k, _)| k)
            .collect();
        for key in &expired {
            self.drop_if_expired(key);
        }
        expired.len()
    }

    /// Stores an entry.
    pub fn insert_entry(&self, key: &[u8], entry: MemEntry) {
        if entry.expires_at_ms.is_some() {
            self.expiring.fetch_add(1, Ordering::Relaxed);
        }
        self.map.insert(key.to_vec(), entry);
        self.maybe_sweep();
    }

    /// Drops every value (after an interruption of invalidation messages).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub fn clear(&self) {
        self.map.invalidate_all();
        self.map.run_pending_tasks();
    }

    /// Runs moka's pending maintenance (evictions, expirations, listener calls) now.
    pub fn run_pending_tasks(&self) {
        self.map.run_pending_tasks();
    }
}

impl Tier for MemoryTier {
    fn kind(&self) -> TierKind {
        TierKind::Memory
    }

    fn get(&self, key: &[u8]) -> Result<Option<TierValue>> {
        Ok(self.get_entry(key).map(|e| TierValue {
            blob: Blob::Shared(e.bytes),
            expires_at_ms: e.expires_at_ms,
        }))
    }

    fn insert(&self, key: &[u8], envelope: &Arc<[u8]>, expires_at_ms: Option<u64>) -> Result<()> {
        self.insert_entry(
            key,
            MemEntry {
                bytes: envelope.clone(),
                expires_at_ms,
                seq: 0,
            },
        );
        Ok(())
    }

    fn remove(&self, key: &[u8]) -> Result<bool> {
        // An expired value goes too, but does not count as removed (as on disk).
        Ok(self
            .map
            .remove(key)
            .is_some_and(|e| !is_expired(&e, &*self.clock)))
    }

    fn remove_prefix(&self, prefix: &[u8]) -> Result<u64> {
        let keys: Vec<Arc<Vec<u8>>> = self
            .map
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k)
            .collect();
        let mut removed = 0;
        for key in keys {
            removed += u64::from(self.remove(&key)?);
        }
        Ok(removed)
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn usage(&self) -> Usage {
        // Deliver the evictions moka has queued, so the counts agree with `entries`.
        self.map.run_pending_tasks();
        let c = &self.counts;
        Usage {
            size_bytes: self.map.weighted_size(),
            entries: self.map.entry_count(),
            evictions: Evictions {
                expired: c.expired.load(Ordering::Relaxed),
                size: c.size.load(Ordering::Relaxed),
                explicit: c.explicit.load(Ordering::Relaxed),
                replaced: c.replaced.load(Ordering::Relaxed),
            },
        }
    }
}
