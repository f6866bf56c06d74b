//! Compaction: sparse segments are rewritten forward and their files deleted, so disk usage
//! tracks live data; the redb file is compacted when most of it is free space.

use serde::{Deserialize, Serialize};

use super::drain::{DrainMode, EvictionBatch};
use crate::engine::segment::SegmentMeta;
use crate::engine::state::{Engine, WriterState};
use crate::error::Result;

/// What a compaction run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactReport {
    /// Segments rewritten and deleted.
    pub segments_compacted: u64,
    /// Live records copied forward.
    pub records_moved: u64,
    /// Bytes copied forward.
    pub bytes_moved: u64,
    /// Disk bytes before.
    pub disk_bytes_before: u64,
    /// Disk bytes after.
    pub disk_bytes_after: u64,
    /// Whether the index file was compacted too.
    pub index_compacted: bool,
}

impl Engine {
    /// Compacts every segment whose live ratio is below the threshold (all of them when
    /// `force`), including the active one, then the index file if it is mostly free space.
    pub fn compact(&self, force: bool) -> Result<CompactReport> {
        // A checkpoint first, so the live accounting covers every acknowledged change.
        self.flush()?;
        let mut report = CompactReport {
            disk_bytes_before: self.disk_bytes(),
            ..Default::default()
        };
        let threshold = self.settings.compaction_threshold;
        self.compact_matching(|m, _| force || is_sparse(m, threshold), &mut report)?;
        // Makes the moved copies durable, then deletes the originals.
        self.flush()?;
        report.index_compacted = self.index.compact_if_sparse()?;
        report.disk_bytes_after = self.disk_bytes();
        Ok(report)
    }

    /// Background compaction: sealed segments below the threshold only.
    pub fn compact_if_needed(&self) -> Result<()> {
        // Live accounting is brought up to date by checkpoints: take one first.
        self.flush()?;
        let threshold = self.settings.compaction_threshold;
        let pick = |m: &SegmentMeta, active: bool| !active && m.sealed && is_sparse(m, threshold);
        let needed = !self
            .writer
            .lock()
            .segments()
            .select(|_, m, _| pick(m, false))
            .is_empty();
        if needed {
            self.compact_matching(pick, &mut CompactReport::default())?;
            self.flush()?;
        }
        self.index.compact_if_grown().map(|_| ())
    }

    /// Drains every segment `pick` selects (given its accounting and whether it is the
    /// active one), one writer-lock section per segment so inserts go on in between.
    fn compact_matching(
        &self,
        pick: impl Fn(&SegmentMeta, bool) -> bool,
        report: &mut CompactReport,
    ) -> Result<()> {
        let chosen: Vec<u32> = {
            let mut w = self.writer.lock();
            w.check_writable()?;
            // Staged changes are not in the live accounting yet: a segment they point into
            // only looks sparse.
            let staged = self.staged.read().segments_referenced();
            let chosen = w
                .segments()
                .select(|id, m, active| !staged.contains(&id) && pick(m, active));
            // Moved records must not land in a segment this run will drain later.
            w.segments_mut()
                .seal_active_if(|a| chosen.contains(&a.id()));
            chosen
        };
        for id in chosen {
            if !self.room_for_copies_after_flush(id)? {
                continue; // at the budget: eviction reclaims the space instead
            }
            let over_budget = {
                let mut w = self.writer.lock();
                w.check_writable()?;
                if !w.segments().contains(id) || !self.room_for_copies(&w, id) {
                    continue; // evicted meanwhile, or the room went to inserts
                }
                let mut none = EvictionBatch::default();
                let drained = self.drain_segment(&mut w, id, DrainMode::KeepAll, &mut none)?;
                report.segments_compacted += 1;
                report.records_moved += drained.moved;
                report.bytes_moved += drained.moved_bytes;
                w.segments().doomed_bytes() >= (w.capacity() / 8).max(w.segments().segment_size())
            };
            // Originals and their copies both take space until a checkpoint lets the
            // originals go: one checkpoint per eighth of the capacity, not per segment.
            if over_budget {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// True when the live records of segment `id` can be copied forward within the budget
    /// (the originals stay until a checkpoint lets them go), after a checkpoint that
    /// releases the segments compacted so far when that is what it takes.
    fn room_for_copies_after_flush(&self, id: u32) -> Result<bool> {
        if self.room_for_copies(&self.writer.lock(), id) {
            return Ok(true);
        }
        self.flush()?;
        Ok(self.room_for_copies(&self.writer.lock(), id))
    }

    /// True when the live records of segment `id` fit beside every file there is now.
    fn room_for_copies(&self, w: &WriterState, id: u32) -> bool {
        let live = w.segments().live_bytes_of(id);
        self.room_for_moves(w) >= live
    }
}

fn is_sparse(m: &SegmentMeta, threshold: f64) -> bool {
    (m.live_bytes as f64) < threshold * m.len.max(1) as f64
}
