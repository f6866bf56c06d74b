//! `stats()`: a serializable snapshot of the store.

use redb::ReadableTableMetadata;
use serde::{Deserialize, Serialize};

use crate::engine::index::tables::ENTRIES;
use crate::engine::state::{Counters, Engine};
use crate::error::Result;

/// A snapshot of a store's size and lifetime counters (the fields of `stats --json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Index entries (expired ones count until swept).
    pub entries: u64,
    /// Stored bytes of live records (header, key and stored value).
    pub live_bytes: u64,
    /// Sum of the lengths of all files in the directory.
    pub disk_bytes: u64,
    /// Configured capacity.
    pub capacity_bytes: u64,
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
}

impl Engine {
    /// Collects the current stats (commits staged changes first, non-durably).
    pub fn stats(&self) -> Result<Stats> {
        self.checkpoint_unless_poisoned()?;
        let (live_bytes, segments, capacity) = {
            let w = self.writer.lock();
            let segments = w.segments();
            (segments.live_bytes(), segments.count(), w.capacity())
        };
        let entries = self.index.read(|txn| Ok(txn.open_table(ENTRIES)?.len()?))?;
        let c = &self.counters;
        Ok(Stats {
            entries,
            live_bytes,
            disk_bytes: self.disk_bytes(),
            capacity_bytes: capacity,
            segments,
            hits: Counters::get(&c.hits),
            misses: Counters::get(&c.misses),
            inserts: Counters::get(&c.inserts),
            removes: Counters::get(&c.removes),
            evictions: Counters::get(&c.evictions),
            expirations: Counters::get(&c.expirations),
            corruptions: Counters::get(&c.corruptions),
        })
    }
}
