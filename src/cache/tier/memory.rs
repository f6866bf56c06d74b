//! The memory tier: a bytes-bounded [quick_cache](https://docs.rs/quick_cache) cache
//! (CLOCK-PRO-like hot/cold queues with ghost entries, a scan-resistant S3-FIFO relative)
//! holding envelopes, with expiry on the cache's clock.
//!
//! quick_cache replaced moka here: with the tier full, a moka insert of a 4 KiB value cost
//! several microseconds (its concurrent map rehashed away the tombstones of evicted entries,
//! and its housekeeping ran on the inserting thread), which made `Cache` inserts 30% slower
//! than `DiskStore` inserts alone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::cache::tier::Blob;
use crate::cache::tier::{Evictions, Tier, TierKind, TierValue, Usage};
use crate::clock::Clock;
use crate::error::Result;

/// Bytes charged per entry on top of key and value (the cache's slot, our entry, the Arc).
const ENTRY_OVERHEAD: usize = 96;

/// Average entry size assumed when sizing the cache's tables (and its ghost entries).
const TYPICAL_ENTRY_BYTES: u64 = 2048;

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

/// Each shard of the memory tier holds at least this much (or the whole budget): quick_cache
/// rejects a value heavier than about a shard, so this is the largest value the tier keeps.
const MIN_SHARD_BYTES: u64 = 16 << 20;

/// Shards for a budget: a power of two, as many as quick_cache would use for this machine
/// (4 per core) but none smaller than [`MIN_SHARD_BYTES`].
fn shards_for(budget_bytes: u64) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let by_size = (budget_bytes / MIN_SHARD_BYTES).max(1);
    let wanted = by_size.min(4 * cores as u64);
    // Round down to a power of two, so no shard is smaller than the minimum.
    1 << (63 - wanted.leading_zeros())
}

/// Charges each entry its key, envelope and [`ENTRY_OVERHEAD`].
#[derive(Clone, Copy)]
struct EntryWeight;

impl quick_cache::Weighter<Vec<u8>, MemEntry> for EntryWeight {
    fn weight(&self, key: &Vec<u8>, entry: &MemEntry) -> u64 {
        (key.len() + entry.bytes.len() + ENTRY_OVERHEAD) as u64
    }
}

/// Collects what quick_cache reports as evicted by an insert (the replaced value too), to be
/// handed on after its lock is released.
#[derive(Clone, Copy, Default)]
struct CollectEvicted;

impl quick_cache::Lifecycle<Vec<u8>, MemEntry> for CollectEvicted {
    type RequestState = Vec<(Vec<u8>, MemEntry)>;

    fn on_evict(&self, evicted: &mut Self::RequestState, key: Vec<u8>, entry: MemEntry) {
        evicted.push((key, entry));
    }
}

type Map = quick_cache::sync::Cache<
    Vec<u8>,
    MemEntry,
    EntryWeight,
    quick_cache::DefaultHashBuilder,
    CollectEvicted,
>;

/// The memory tier.
///
/// Expiry is checked on the cache's clock when a value is read (an expired value is dropped
/// then), and a sweep on the insert path drops the expired values nobody read, at most once
/// per [`SWEEP_INTERVAL_MS`].
pub struct MemoryTier {
    map: Map,
    clock: Arc<dyn Clock>,
    counts: Counts,
    on_drop: Arc<OnceLock<DropHook>>,
    /// Values with a TTL inserted since the last sweep.
    expiring: AtomicU64,
    /// When the last sweep ran, ms on the cache's clock.
    last_sweep_ms: AtomicU64,
    /// Read-held by each insert until its evicted values are handed on.
    inserting: parking_lot::RwLock<()>,
}

impl MemoryTier {
    /// A memory tier holding at most `budget_bytes` (keys, values and per-entry overhead).
    /// `on_drop` is read when a value is dropped, so it can be set after construction.
    pub fn new(budget_bytes: u64, clock: Arc<dyn Clock>, on_drop: Arc<OnceLock<DropHook>>) -> Self {
        let items = (budget_bytes / TYPICAL_ENTRY_BYTES).clamp(64, 1 << 22) as usize;
        let options = quick_cache::OptionsBuilder::new()
            .estimated_items_capacity(items)
            .weight_capacity(budget_bytes)
            .shards(shards_for(budget_bytes))
            .build()
            .expect("item and weight capacities and a shard count are all set");
        let map = Map::with_options(
            options,
            EntryWeight,
            quick_cache::DefaultHashBuilder::default(),
            CollectEvicted,
        );
        let last_sweep_ms = AtomicU64::new(clock.now_ms());
        Self {
            map,
            clock,
            counts: Counts::default(),
            on_drop,
            expiring: AtomicU64::new(0),
            last_sweep_ms,
            inserting: Default::default(),
        }
    }

    /// Counts a value the tier let go of on its own and tells the hook.
    fn dropped(&self, key: &[u8], entry: &MemEntry, why: Dropped) {
        let counter = match why {
            Dropped::ForSpace => &self.counts.size,
            Dropped::Expired => &self.counts.expired,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(hook) = self.on_drop.get() {
            hook(key, entry, why);
        }
    }

    /// Counts a value taken out by a remove or a clear: an expired one was dropped for
    /// expiry (and the hook hears of it), a live one was removed explicitly.
    fn taken_out(&self, key: &[u8], entry: &MemEntry) {
        if is_expired(entry, &*self.clock) {
            self.dropped(key, entry, Dropped::Expired);
        } else {
            self.counts.explicit.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The live entry under `key`. An entry found expired (on the cache's clock) is
    /// dropped, so it neither takes up the budget nor counts as held.
    pub fn get_entry(&self, key: &[u8]) -> Option<MemEntry> {
        let entry = self.map.get(key)?;
        if !is_expired(&entry, &*self.clock) {
            return Some(entry);
        }
        self.drop_if_expired(key);
        None
    }

    /// True when the tier holds a value under `key` (expired or not; nothing is counted
    /// and the key's standing in the tier is unchanged).
    pub fn holds(&self, key: &[u8]) -> bool {
        self.map.contains_key(key)
    }

    /// Removes the value under `key` if it is (still) expired: a fresh one may have
    /// replaced it meanwhile.
    fn drop_if_expired(&self, key: &[u8]) {
        let clock = &*self.clock;
        if let Some((key, entry)) = self.map.remove_if(key, |e| is_expired(e, clock)) {
            self.dropped(&key, &entry, Dropped::Expired);
        }
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
        let expired: Vec<Vec<u8>> = self
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

    /// Stores an entry. quick_cache reports the value it replaces, the values it evicts
    /// for space, and the new value itself when it is too heavy for a shard, all as evicted:
    /// the replaced one is counted as such, the others are counted and handed to the drop
    /// hook once quick_cache's lock is released.
    pub fn insert_entry(&self, key: &[u8], entry: MemEntry) {
        if entry.expires_at_ms.is_some() {
            self.expiring.fetch_add(1, Ordering::Relaxed);
        }
        let new_bytes = entry.bytes.clone();
        let mut evicted = Vec::new();
        {
            // Held until the evicted values are handed on: see `settle_evictions`.
            let _handing_on = self.inserting.read();
            self.map
                .insert_with_lifecycle(key.to_vec(), entry, &mut evicted);
            for (k, e) in &evicted {
                if k.as_slice() == key && !Arc::ptr_eq(&e.bytes, &new_bytes) {
                    self.counts.replaced.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.dropped(k, e, Dropped::ForSpace);
                }
            }
        }
        self.maybe_sweep();
    }

    /// Returns once every insert that started before it has handed its evicted values to
    /// the drop hook (write-back's flush calls it: a value being evicted right now is in
    /// neither the tier nor, yet, the tier below).
    pub fn settle_evictions(&self) {
        drop(self.inserting.write());
    }

    /// Drops every value (after an interruption of invalidation messages).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub fn clear(&self) {
        for (key, entry) in self.map.drain() {
            self.taken_out(&key, &entry);
        }
    }
}

impl Tier for MemoryTier {
    fn kind(&self) -> TierKind {
        TierKind::Memory
    }

    fn get(&self, key: &[u8]) -> Result<Option<TierValue>> {
        Ok(self
            .get_entry(key)
            .map(|e| TierValue::whole(Blob::Shared(e.bytes), e.expires_at_ms)))
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

    fn set_expiry(&self, key: &[u8], expires_at_ms: Option<u64>) -> Result<bool> {
        if self.get_entry(key).is_none() {
            return Ok(false);
        }
        // In place: the same bytes and sequence number (write-back tracks values by it).
        let changed = self
            .map
            .entry(key, Some(std::time::Duration::ZERO), |_, entry| {
                entry.expires_at_ms = expires_at_ms;
                quick_cache::sync::EntryAction::Retain(())
            });
        let held = matches!(changed, quick_cache::sync::EntryResult::Retained(()));
        if held && expires_at_ms.is_some() {
            self.expiring.fetch_add(1, Ordering::Relaxed);
        }
        Ok(held)
    }

    fn remove(&self, key: &[u8]) -> Result<bool> {
        // An expired value goes too, but does not count as removed (as on disk).
        Ok(match self.map.remove(key) {
            Some((key, entry)) => {
                self.taken_out(&key, &entry);
                !is_expired(&entry, &*self.clock)
            }
            None => false,
        })
    }

    fn remove_prefix(&self, prefix: &[u8]) -> Result<u64> {
        let keys: Vec<Vec<u8>> = self
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
        let c = &self.counts;
        Usage {
            size_bytes: Some(self.map.weight()),
            entries: Some(self.map.len() as u64),
            memory_bytes: None,
            memory_budget_bytes: None,
            evictions: Evictions {
                expired: c.expired.load(Ordering::Relaxed),
                size: c.size.load(Ordering::Relaxed),
                explicit: c.explicit.load(Ordering::Relaxed),
                replaced: c.replaced.load(Ordering::Relaxed),
            },
        }
    }
}
