//! Write-back: values written to memory only move down to the other tiers when the memory
//! tier evicts them for space, and at `flush` / `close`.
//!
//! Each write-back value has a mark (key → sequence number of the value). Whoever moves a
//! value down holds the mark table's lock while writing it and drops the mark, so a value
//! moves down at most once, and a `remove` (which drops the mark first) can never be undone
//! by a late demotion. The lock is never held while calling into the memory tier, because
//! the memory tier calls back into here when it evicts.

use crate::cache::core::CacheInner;
use crate::cache::stats::bump;
use crate::cache::tier::TierKind;
use crate::cache::tier::memory::{Dropped, MemEntry};
use crate::error::Result;

impl CacheInner {
    /// Called by the memory tier for every value it drops on its own.
    pub fn on_memory_drop(&self, key: &[u8], entry: &MemEntry, why: Dropped) {
        if !self.write_back() {
            return;
        }
        let mut dirty = self.dirty.lock();
        if dirty.get(key) != Some(&entry.seq) {
            return;
        }
        dirty.remove(key);
        if why == Dropped::Expired {
            return;
        }
        if let Err(e) = self.demote(key, entry) {
            // The value was evicted and could not be kept below: it is lost, like any
            // evicted cache value, but loudly.
            log::error!(
                "stratacache: write-back of {:?} on memory eviction failed: {e}; the value is dropped",
                String::from_utf8_lossy(key)
            );
        }
    }

    /// Moves every marked value down. Stops at the first failure, keeping its mark.
    pub fn flush_dirty(&self) -> Result<usize> {
        let Some(memory) = &self.memory else {
            return Ok(0);
        };
        if !self.write_back() {
            return Ok(0);
        }
        // Values being evicted right now move down first.
        memory.settle_evictions();
        let marks: Vec<(Vec<u8>, u64)> = self
            .dirty
            .lock()
            .iter()
            .map(|(k, s)| (k.clone(), *s))
            .collect();
        let mut moved = 0;
        for (key, seq) in marks {
            // Read before taking the lock (the memory tier may call back into us).
            let Some(entry) = memory.get_entry(&key) else {
                // Expired, or being evicted right now (the eviction moves it).
                continue;
            };
            let mut dirty = self.dirty.lock();
            if entry.seq != seq || dirty.get(&key) != Some(&seq) {
                continue;
            }
            self.demote(&key, &entry)?;
            dirty.remove(&key);
            moved += 1;
        }
        Ok(moved)
    }

    /// Writes a memory value to every other tier.
    fn demote(&self, key: &[u8], entry: &MemEntry) -> Result<()> {
        for slot in self
            .slots
            .iter()
            .filter(|s| s.tier.kind() != TierKind::Memory)
        {
            let written = slot.tier.insert(key, &entry.bytes, entry.expires_at_ms);
            if self.absorb_or(slot, "demote", key, written)?.is_some() {
                bump(&slot.counters.demotions);
            }
        }
        Ok(())
    }
}

impl Drop for CacheInner {
    fn drop(&mut self) {
        if let Err(e) = self.flush_dirty() {
            log::error!("stratacache: moving write-back values down at drop failed: {e}");
        }
        if let Err(e) = self.save_hit_counts() {
            log::warn!("stratacache: could not save the hit counts of AfterHits: {e}");
        }
    }
}
