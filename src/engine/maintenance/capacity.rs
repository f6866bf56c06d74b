//! Keeping the store within its capacity.
//!
//! The bound: all files in the directory stay within 1.25 x capacity. Before a new segment
//! is created, if segments + index + the new segment would pass 1.10 x capacity, the oldest
//! segments are drained (recently read entries move forward, the rest are evicted) until
//! the total is at most 1.00 x capacity; each drained file goes after a durable commit. Between
//! checks the active segment grows by at most one segment (capacity / 16 by default).

use super::drain::{DrainMode, EvictionBatch};
use crate::engine::state::{Engine, WriterState};
use crate::error::{Error, Result};

/// Eviction starts above this fraction of capacity (in percent).
const HIGH_WATERMARK_PCT: u64 = 110;
/// Eviction stops at or below this fraction of capacity (in percent).
const LOW_WATERMARK_PCT: u64 = 100;
/// At most this many drained segments wait for one durable release commit.
const MAX_BATCH: usize = 16;

impl Engine {
    /// Bytes the store occupies by its own accounting: segments plus the index file.
    pub fn used_bytes(&self, w: &WriterState) -> u64 {
        w.segments().file_bytes() + self.index.file_len() + w.reserve_bytes()
    }

    /// Evicts until `incoming` more bytes fit under the watermarks. Returns true when
    /// anything was drained. Eviction's own appends (second chances) never evict: they go
    /// through the segment writer directly.
    pub fn make_room(&self, w: &mut WriterState, incoming: u64) -> Result<bool> {
        let cap = w.capacity();
        if self.used_bytes(w) + incoming <= cap / 100 * HIGH_WATERMARK_PCT {
            return Ok(false);
        }
        self.evict_down_to(w, incoming, cap / 100 * LOW_WATERMARK_PCT)
    }

    /// Drains the oldest segments until `incoming` more bytes fit under `target`. Recently
    /// read entries get a second chance (they move forward) until the moves of this run
    /// reach a quarter of the capacity; after that, or when a whole pass freed too little
    /// because everything was hot, segments are drained without second chances, so
    /// eviction always makes room.
    ///
    /// Drained segments are released in batches: one durable index commit for several
    /// files. A batch is released once its moved copies reach a quarter segment (the
    /// originals still take space until then) or it holds [`MAX_BATCH`] segments.
    fn evict_down_to(&self, w: &mut WriterState, incoming: u64, target: u64) -> Result<bool> {
        // What stays whatever this run drops: the index, the active segment, the incoming
        // write. Second chances may move only what fits beside them.
        let segments = w.segments();
        let kept = self.index.file_len()
            + w.reserve_bytes()
            + segments.active_len()
            + segments.doomed_bytes()
            + incoming;
        let mut batch = EvictionBatch::with_budget(target.saturating_sub(kept));
        let drained = self.drain_oldest(w, incoming, target, &mut batch);
        // Segments drained before a failure are released all the same, unless writes are
        // refused: then the durable index keeps referencing them and their files stay.
        if !w.is_poisoned() {
            self.release_evicted(w, batch)?;
        }
        drained
    }

    fn drain_oldest(
        &self,
        w: &mut WriterState,
        incoming: u64,
        target: u64,
        batch: &mut EvictionBatch,
    ) -> Result<bool> {
        // Eviction reads staged changes and the index together: no commit needed first.
        let mut drained = false;
        let mut moved = 0u64;
        let mut second_chances = true;
        for _pass in 0..2 {
            // Oldest first: segment ids grow with time, and moved entries go to the newest.
            let victims = w.segments().sealed_oldest_first();
            for id in victims {
                // Drained segments left the accounting already; their files go at release.
                if self.used_bytes(w) + incoming <= target {
                    return Ok(drained);
                }
                let mode = if second_chances {
                    DrainMode::KeepRecentlyRead
                } else {
                    DrainMode::DropAll
                };
                let done = match self.drain_segment(w, id, mode, batch) {
                    // No room to move recently read records forward (a full disk): drop
                    // them instead, so eviction still frees the segment.
                    Err(Error::DiskFull { .. }) if mode == DrainMode::KeepRecentlyRead => {
                        second_chances = false;
                        self.drain_segment(w, id, DrainMode::DropAll, batch)?
                    }
                    result => result?,
                };
                moved += done.moved_bytes;
                drained = true;
                second_chances &= moved < w.capacity() / 4;
                if batch.moved_bytes >= w.segments().segment_size() / 4 || batch.len() >= MAX_BATCH
                {
                    let full = std::mem::replace(batch, batch.continuing());
                    self.release_evicted(w, full)?;
                }
            }
            second_chances = false;
        }
        Ok(drained)
    }

    /// Evicts now if the store is over its capacity (at open, after a capacity change).
    pub fn enforce_capacity(&self) -> Result<()> {
        let mut w = self.writer.lock();
        if !w.is_poisoned() {
            self.make_room(&mut w, 0)?;
        }
        Ok(())
    }

    /// Applies a new capacity (from reopen or the CLI), evicting down to it at once.
    pub fn set_capacity(&self, capacity: u64) -> Result<()> {
        self.set_capacity_locked(capacity)?;
        self.flush()
    }

    fn set_capacity_locked(&self, capacity: u64) -> Result<()> {
        let mut w = self.writer.lock();
        w.check_writable()?;
        // An active segment reserved for a larger capacity is sealed: it would grow past
        // the new bound.
        w.set_capacity(capacity, self.settings.segment_size_for(capacity));
        self.access.set_capacity(capacity);
        // Down to the capacity itself at once, not only below the high watermark.
        if self.used_bytes(&w) > capacity {
            self.evict_down_to(&mut w, 0, capacity)?;
        }
        Ok(())
    }
}
