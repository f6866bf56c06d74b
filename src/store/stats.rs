//! `stats()`: a serializable snapshot of the store.

use redb::{ReadableDatabase, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

use crate::error::{Result, index_err};
use crate::index::tables::ENTRIES;
use crate::store::counters::Counters;
use crate::store::inner::Inner;

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

impl Inner {
    /// Collects the current stats (commits staged changes first, non-durably).
    pub fn stats(&self) -> Result<Stats> {
        self.checkpoint_unless_poisoned()?;
        let (live_bytes, segments, capacity) = {
            let w = self.writer.lock();
            (
                // Segments being compacted keep their live bytes until the checkpoint that
                // credits the moved copies: count both, or a drain in between reads as loss.
                w.seg_meta
                    .values()
                    .chain(w.doomed.values())
                    .map(|m| m.live_bytes)
                    .sum(),
                (w.seg_meta.len() + w.doomed.len()) as u64,
                w.capacity,
            )
        };
        let txn = self
            .db
            .read()
            .begin_read()
            .map_err(index_err(&self.index_path))?;
        let table = txn
            .open_table(ENTRIES)
            .map_err(index_err(&self.index_path))?;
        let entries = table.len().map_err(index_err(&self.index_path))?;
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

    /// Sum of the lengths of the files in the store directory (one level of subdirectories).
    pub fn disk_bytes(&self) -> u64 {
        fn sum(dir: &std::path::Path, depth: u32) -> u64 {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return 0;
            };
            entries
                .filter_map(|e| e.ok())
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() && depth > 0 => sum(&e.path(), depth - 1),
                    Ok(m) if m.is_file() => m.len(),
                    _ => 0,
                })
                .sum()
        }
        sum(&self.dir, 1)
    }
}
