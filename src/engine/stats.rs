//! `stats()`: a serializable snapshot of the store.

use redb::ReadableTableMetadata;
use serde::{Deserialize, Serialize};

use crate::engine::index::tables::ENTRIES;
use crate::engine::segment::Log;
use crate::engine::state::{Counters, Engine};
use crate::error::Result;

/// Entries and live bytes as of one moment: the index's, then each staged change.
struct Sizes {
    entries: u64,
    live_bytes: u64,
}

/// A snapshot of a store's size and lifetime counters (the fields of `stats --json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Index entries (expired ones count until swept).
    pub entries: u64,
    /// Stored bytes of live records (header, key and stored value).
    pub live_bytes: u64,
    /// Bytes of the store's files: segments, index, and the space reserve when held (the
    /// figure the capacity bounds).
    pub disk_bytes: u64,
    /// Configured capacity.
    pub capacity_bytes: u64,
    /// The capacity the store keeps to now: `capacity_bytes`, or less while the file system
    /// cannot hold that much (what the store holds plus what is free, less a margin).
    #[serde(default)]
    pub effective_capacity_bytes: u64,
    /// Segment files.
    pub segments: u64,
    /// Reads that found a value.
    pub hits: u64,
    /// Reads that found nothing (absent, expired or corrupt).
    pub misses: u64,
    /// Values written.
    pub inserts: u64,
    /// Explicit removes.
    pub removes: u64,
    /// Entries evicted to stay within capacity.
    pub evictions: u64,
    /// Expired entries swept.
    pub expirations: u64,
    /// Bad records found by reads or verify.
    pub corruptions: u64,
    /// The eviction policy the store runs with: `s3-fifo` or `lru`.
    #[serde(default)]
    pub eviction_policy: String,
    /// Bytes of the segments of the probation log (S3-FIFO: new entries not yet read),
    /// which eviction keeps to a tenth of the capacity; 0 under LRU.
    #[serde(default)]
    pub probation_bytes: u64,
    /// The memory budget: what the engine's bookkeeping may take in anonymous memory.
    #[serde(default)]
    pub memory_budget_bytes: u64,
    /// What it takes now: the sum of the four `memory_*` parts below.
    #[serde(default)]
    pub memory_bytes: u64,
    /// Index pages redb holds in memory.
    #[serde(default)]
    pub memory_index_cache_bytes: u64,
    /// The location cache's table (its pages are touched as slots are first used).
    #[serde(default)]
    pub memory_location_cache_bytes: u64,
    /// Index changes staged for the next checkpoint (an estimate).
    #[serde(default)]
    pub memory_staged_bytes: u64,
    /// The eviction policy's tables.
    #[serde(default)]
    pub memory_policy_bytes: u64,
}

impl Engine {
    /// Collects the current stats, exact as of one moment, without a checkpoint: nothing is
    /// synced or committed. Staged changes are counted by looking their keys up in an index
    /// snapshot taken together with them (under the writer lock, released before the
    /// lookups), so the cost grows with the changes staged since the last checkpoint (none
    /// on an idle store), not with the store.
    pub fn stats(&self) -> Result<Stats> {
        let w = self.writer.lock();
        let snapshot = self.index.snapshot()?;
        let changes = self.staged.read().final_changes();
        let segments = w.segments();
        let (live_bytes, segment_count) = (segments.live_bytes(), segments.count());
        let probation_bytes = segments.file_bytes_of(Log::Probation);
        let (capacity, budget, disk_bytes) = (w.capacity(), w.budget(), self.used_bytes(&w));
        drop(w);
        let sizes = self.index.read_snapshot(&snapshot, |txn| {
            let table = txn.open_table(ENTRIES)?;
            let mut sizes = Sizes {
                entries: table.len()?,
                live_bytes,
            };
            for (key, new_len) in changes {
                let old_len = table.get(&*key)?.map(|g| g.value().record_len());
                sizes.change(old_len, new_len);
            }
            Ok(sizes)
        })?;
        let c = &self.counters;
        let memory = self.memory_usage();
        Ok(Stats {
            entries: sizes.entries,
            live_bytes: sizes.live_bytes,
            disk_bytes,
            capacity_bytes: capacity,
            effective_capacity_bytes: budget,
            segments: segment_count,
            hits: Counters::get(&c.hits),
            misses: Counters::get(&c.misses),
            inserts: Counters::get(&c.inserts),
            removes: Counters::get(&c.removes),
            evictions: Counters::get(&c.evictions),
            expirations: Counters::get(&c.expirations),
            corruptions: Counters::get(&c.corruptions),
            eviction_policy: self.eviction.policy().name().to_string(),
            probation_bytes,
            memory_budget_bytes: self.memory.budget,
            memory_bytes: memory.total(),
            memory_index_cache_bytes: memory.index_cache,
            memory_location_cache_bytes: memory.locations,
            memory_staged_bytes: memory.staged,
            memory_policy_bytes: memory.policy,
        })
    }
}

impl Sizes {
    /// A key's record goes from `old` to `new` bytes (`None`: absent).
    fn change(&mut self, old: Option<u64>, new: Option<u64>) {
        self.entries =
            (self.entries + u64::from(new.is_some())).saturating_sub(u64::from(old.is_some()));
        self.live_bytes = (self.live_bytes + new.unwrap_or(0)).saturating_sub(old.unwrap_or(0));
    }
}
