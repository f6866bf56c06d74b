//! Compaction: sparse segments are rewritten forward and their files deleted, so disk usage
//! tracks live data; the redb file is compacted when most of it is free space.

use serde::{Deserialize, Serialize};

use crate::error::{IndexResultExt, Result};
use crate::evict::drain::{DrainMode, EvictionBatch};
use crate::index::SegmentMeta;
use crate::store::inner::Inner;

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

impl Inner {
    /// Compacts every segment whose live ratio is below the threshold (all of them when
    /// `force`), including the active one, then the index file if it is mostly free space.
    pub fn compact(&self, force: bool) -> Result<CompactReport> {
        // A checkpoint first, so the live accounting covers every acknowledged change.
        self.flush()?;
        let mut report = CompactReport {
            disk_bytes_before: self.disk_bytes(),
            ..Default::default()
        };
        let threshold = self.config.compaction_threshold;
        self.compact_matching(|m, _| force || is_sparse(m, threshold), &mut report)?;
        // Makes the moved copies durable, then deletes the originals.
        self.flush()?;
        report.index_compacted = self.compact_index_if_sparse()?;
        report.disk_bytes_after = self.disk_bytes();
        Ok(report)
    }

    /// Background compaction: sealed segments below the threshold only.
    pub fn compact_if_needed(&self) -> Result<()> {
        // Live accounting is brought up to date by checkpoints: take one first.
        self.flush()?;
        let threshold = self.config.compaction_threshold;
        let pick = |m: &SegmentMeta, active: bool| !active && m.sealed && is_sparse(m, threshold);
        let needed = self.writer.lock().seg_meta.values().any(|m| pick(m, false));
        if needed {
            self.compact_matching(pick, &mut CompactReport::default())?;
            self.flush()?;
        }
        self.compact_index_if_sparse().map(|_| ())
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
            self.check_writable(&w)?;
            let active = w.active.as_ref().map(|s| s.id());
            // Staged changes are not in the live accounting yet: a segment they point into
            // only looks sparse.
            let staged = self.segments_with_staged_changes();
            let chosen: Vec<u32> = w
                .seg_meta
                .iter()
                .filter(|(id, m)| !staged.contains(id) && pick(m, Some(**id) == active))
                .map(|(id, _)| *id)
                .collect();
            // Moved records must not land in a segment this run will drain later.
            if let Some(active) = w.active.take_if(|a| chosen.contains(&a.id())) {
                w.seg_meta.entry(active.id()).or_default().sealed = true;
                w.dirty_meta.insert(active.id());
            }
            chosen
        };
        for id in chosen {
            let over_budget = {
                let mut w = self.writer.lock();
                self.check_writable(&w)?;
                if !w.seg_meta.contains_key(&id) {
                    continue; // evicted meanwhile
                }
                w.in_maintenance = true;
                let mut none = EvictionBatch::default();
                let drained = self.drain_segment(&mut w, id, DrainMode::KeepAll, &mut none);
                w.in_maintenance = false;
                let drained = drained?;
                report.segments_compacted += 1;
                report.records_moved += drained.moved;
                report.bytes_moved += drained.moved_bytes;
                w.doomed.values().map(|m| m.len).sum::<u64>()
                    >= (w.capacity / 8).max(w.segment_size)
            };
            // Originals and their copies both take space until a checkpoint lets the
            // originals go: one checkpoint per eighth of the capacity, not per segment.
            if over_budget {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Compacts the redb file when over 4 MiB and more than half of it is unused.
    fn compact_index_if_sparse(&self) -> Result<bool> {
        let len = std::fs::metadata(&self.index_path).map_or(0, |m| m.len());
        if len < 4 << 20 {
            return Ok(false);
        }
        let mut db = self.db.write();
        let stats = {
            let txn = db.begin_write().ix(&self.index_path)?;
            let stats = txn.stats().ix(&self.index_path)?;
            txn.abort().ix(&self.index_path)?;
            stats
        };
        let used = stats.stored_bytes() + stats.metadata_bytes();
        if used * 2 > len {
            return Ok(false);
        }
        match db.compact() {
            Ok(done) => Ok(done),
            // A reader still holds a transaction: try again at a later round.
            Err(redb::CompactionError::TransactionInProgress) => Ok(false),
            Err(e) => Err(e).ix(&self.index_path),
        }
    }
}

impl Inner {
    /// Segments that staged (not yet checkpointed) changes point into.
    fn segments_with_staged_changes(&self) -> std::collections::HashSet<u32> {
        let staged = self.pending.read();
        let ops = staged.current.values().chain(staged.committing.values());
        ops.filter_map(|op| op.loc().map(|l| l.segment)).collect()
    }
}

fn is_sparse(m: &SegmentMeta, threshold: f64) -> bool {
    (m.live_bytes as f64) < threshold * m.len.max(1) as f64
}
