//! Keeping the store within its capacity.
//!
//! The bound: the store's files (segments, index, reserve, lock) never take more than its
//! budget, which is the capacity, or less while the file system cannot hold that much. The
//! check counts what the files *may* take before the next check, not only what they take
//! now: the active segment at its full reserved size, and the index at twice its length
//! (redb grows its file by doubling). A segment of the budget is kept spare: the next
//! eviction writes its second chances there, and compaction its copies, before the files
//! they come from are deleted. Before a new segment is started, if it would not fit beside
//! the spare, the oldest segments are drained (entries the eviction policy keeps move
//! forward, the rest are evicted) until it does; each drained file goes after a durable
//! commit. Under S3-FIFO the victim is the oldest segment of the probation log while that
//! log takes more than its share, of the main log otherwise (see `state/eviction.rs`).

use super::drain::{DrainMode, EvictionBatch};
use crate::engine::segment::Log;
use crate::engine::segment::format::SEGMENT_HEADER_LEN;
use crate::engine::state::{Engine, LOW_SPACE, WriterState, index_bytes_limit};
use crate::error::{Error, Result, free_bytes};

/// The part of the budget kept free for second chances and compaction's copies: a
/// segment (eviction drains a segment at a time, and all of it may be read recently), at
/// most 1/16 of the budget.
fn spare_bytes(segment_size: u64, budget: u64) -> u64 {
    segment_size.min(budget / 16)
}

/// What eviction brings the files down to: the budget less the spare.
fn eviction_target(w: &WriterState) -> u64 {
    let budget = w.budget();
    budget.saturating_sub(spare_bytes(w.segments().segment_size(), budget))
}

/// At most this many drained segments wait for one durable release commit.
const MAX_BATCH: usize = 16;

impl Engine {
    /// Bytes the store's files take now: segments, index, reserve and lock file.
    pub fn used_bytes(&self, w: &WriterState) -> u64 {
        w.segments().file_bytes() + self.fixed_files_bytes(w)
    }

    /// Bytes the store's files may take before the next check: the segments with the rest
    /// of the active one, the index with room to double, reserve and lock file.
    pub fn spoken_for_bytes(&self, w: &WriterState) -> u64 {
        w.segments().spoken_for_bytes() + self.fixed_files_bytes(w) + self.index_growth()
    }

    /// [`Self::spoken_for_bytes`] when `incoming` bytes start a new segment of `log`: that
    /// log's active segment (by then perhaps one that eviction's second chances started) is
    /// sealed first, so the rest of it is not spoken for.
    fn spoken_for_with(&self, w: &WriterState, incoming: u64, log: Log) -> u64 {
        let sealed_room = if incoming > 0 {
            w.segments().room_in(log)
        } else {
            0
        };
        self.spoken_for_bytes(w) - sealed_room + incoming
    }

    /// Index, reserve and lock file.
    fn fixed_files_bytes(&self, w: &WriterState) -> u64 {
        self.index.file_len() + w.reserve_bytes() + self.lock_file_len()
    }

    /// How much the index file may grow by its next commits: redb doubles its file when it
    /// runs out of pages (up to a region of 4 GiB), a file compacted since open may grow
    /// back to the longest it was (see `IndexDb::peak_len`), and the staged keys need room
    /// twice over while a commit copies the pages it changes.
    pub(super) fn index_growth(&self) -> u64 {
        let len = self.index.file_len();
        let regrowth = self.index.peak_len().saturating_sub(len);
        len.min(4 << 30).max(regrowth) + 2 * self.staged.read().index_bytes()
    }

    /// Evicts until `incoming` more bytes (a new segment of `log`) fit in the budget with a
    /// spare segment beside them. Returns true when anything was drained. The spare is what the next eviction's
    /// second chances and compaction's copies are written into before the files they come
    /// from are deleted. Eviction's own appends (second chances) never evict: they go
    /// through the segment writer directly.
    pub fn make_room(&self, w: &mut WriterState, incoming: u64, log: Log) -> Result<bool> {
        let budget = w.budget();
        let target = eviction_target(w);
        // A new segment must leave the spare; otherwise (at open, after a checkpoint) only
        // the budget itself makes eviction start.
        let trigger = if incoming > 0 { target } else { budget };
        if self.spoken_for_with(w, incoming, log) <= trigger {
            return Ok(false);
        }
        self.evict_down_to(w, (incoming, log), target)
    }

    /// True when `incoming` more bytes (a new segment of `log`) fit in the budget with a
    /// spare segment beside them: what [`Self::make_room`] evicts for, which it may not
    /// reach when only active segments are left to evict.
    pub fn has_room_for(&self, w: &WriterState, incoming: u64, log: Log) -> bool {
        self.spoken_for_with(w, incoming, log) <= eviction_target(w)
    }

    /// Bytes that second chances may move forward now without the files passing the
    /// budget: the drained files stay until their batch is released, and the index may
    /// double at that release's commit.
    pub(super) fn room_for_moves(&self, w: &WriterState) -> u64 {
        w.budget()
            .saturating_sub(self.used_bytes(w) + self.index_growth())
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
    fn evict_down_to(
        &self,
        w: &mut WriterState,
        incoming: (u64, Log),
        target: u64,
    ) -> Result<bool> {
        let mut batch = EvictionBatch::with_budget(self.room_for_moves(w));
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
        (incoming, log): (u64, Log),
        target: u64,
        batch: &mut EvictionBatch,
    ) -> Result<bool> {
        // Eviction reads staged changes and the index together: no commit needed first.
        let mut drained = false;
        let mut moved = 0u64;
        let mut second_chances = true;
        // As many segments as are sealed now get second chances (a pass over the store);
        // after that, or once a quarter of the capacity moved, segments are drained
        // without, so the loop ends: without moves, every drain takes a segment away.
        let mut with_chances = w.segments().sealed_count();
        // Drained segments left the accounting already; their files go at release.
        while self.spoken_for_with(w, incoming, log) > target {
            let Some(id) = self.next_victim(w) else {
                break;
            };
            second_chances &= with_chances > 0;
            with_chances = with_chances.saturating_sub(1);
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
            if batch.moved_bytes >= w.segments().segment_size() / 4 || batch.len() >= MAX_BATCH {
                let full = std::mem::take(batch);
                self.release_evicted(w, full)?;
                *batch = EvictionBatch::with_budget(self.room_for_moves(w));
            }
        }
        Ok(drained)
    }

    /// The segment eviction drains next: the oldest sealed one, of the probation log while
    /// it takes more than its share of the budget (S3-FIFO), of the main log otherwise.
    fn next_victim(&self, w: &WriterState) -> Option<u32> {
        let segments = w.segments();
        let Some(share) = self.eviction.probation_share(w.budget()) else {
            return segments.oldest_sealed(None);
        };
        let probation = segments.oldest_sealed(Some(Log::Probation));
        let main = segments.oldest_sealed(Some(Log::Main));
        if segments.spoken_for_by(Log::Probation) > share {
            probation.or(main)
        } else {
            main.or(probation)
        }
    }

    /// Sets the disk budget from the file system: what the store's files take plus what is
    /// free, less what the reserve does not hold (room the index needs to commit), while
    /// the file system is getting full; no disk budget while it has plenty of room. A
    /// smaller budget also means smaller segments (unless the size was set explicitly), so
    /// eviction can free space in steps that fit it.
    pub fn keep_to_file_system(&self, w: &mut WriterState) {
        let free = free_bytes(&self.dir);
        let budget = if free >= LOW_SPACE {
            None
        } else {
            let holds = self.used_bytes(w) + free;
            Some(holds.saturating_sub(w.reserve_shortfall()))
        };
        w.set_disk_budget(budget);
        let segment_size = self.settings.segment_size_for(w.budget());
        if segment_size != w.segments().segment_size() {
            w.segments_mut().set_segment_size(segment_size);
        }
    }

    /// True when a record of `need` bytes would fit in the budget with every segment
    /// evicted (the index and its room to grow stay).
    pub fn could_fit(&self, w: &WriterState, need: u64) -> bool {
        let kept = self.fixed_files_bytes(w) + self.index_growth() + SEGMENT_HEADER_LEN as u64;
        kept + need <= w.budget()
    }

    /// Evicts now if the store is over its budget (at open, after a capacity change),
    /// looking at the file system first.
    pub fn enforce_capacity(&self) -> Result<()> {
        let mut w = self.writer.lock();
        if !w.is_poisoned() {
            self.keep_to_file_system(&mut w);
            self.make_room(&mut w, 0, Log::Main)?;
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
        (self.staged.write()).set_index_bytes_limit(index_bytes_limit(capacity));
        self.eviction.set_capacity(capacity);
        // Down to the new budget at once.
        let budget = w.budget();
        if self.spoken_for_bytes(&w) > budget {
            self.evict_down_to(&mut w, (0, Log::Main), budget)?;
        }
        Ok(())
    }
}
