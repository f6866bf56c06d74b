//! Compaction: sparse segments are rewritten forward and their files deleted, so disk usage
//! tracks live data; the redb file is compacted when most of it is free space.

use serde::{Deserialize, Serialize};

use crate::error::{IndexResultExt, Result};
use crate::evict::drain::DrainMode;
use crate::store::inner::{Inner, Writer};

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
        let mut report = CompactReport {
            disk_bytes_before: self.disk_bytes(),
            ..Default::default()
        };
        {
            let mut w = self.writer.lock();
            self.check_writable(&w)?;
            self.commit_locked(&mut w, false)?;
            w.in_maintenance = true;
            let result = self.compact_segments(&mut w, force, &mut report);
            w.in_maintenance = false;
            result?;
            self.commit_locked(&mut w, true)?;
        }
        report.index_compacted = self.compact_index_if_sparse()?;
        report.disk_bytes_after = self.disk_bytes();
        Ok(report)
    }

    fn compact_segments(
        &self,
        w: &mut Writer,
        force: bool,
        report: &mut CompactReport,
    ) -> Result<()> {
        let threshold = self.config.compaction_threshold;
        let sparse: Vec<u32> = w
            .seg_meta
            .iter()
            .filter(|(_, m)| force || (m.live_bytes as f64) < threshold * m.len.max(1) as f64)
            .map(|(id, _)| *id)
            .collect();
        // Moved records must not land in a segment this run will drain later.
        if let Some(active) = w.active.take_if(|a| sparse.contains(&a.id())) {
            w.seg_meta.entry(active.id()).or_default().sealed = true;
            w.dirty_meta.insert(active.id());
        }
        for id in sparse {
            let drained = self.drain_segment(w, id, DrainMode::KeepAll)?;
            self.release_doomed_over_budget(w)?;
            report.segments_compacted += 1;
            report.records_moved += drained.moved;
            report.bytes_moved += drained.moved_bytes;
        }
        Ok(())
    }

    /// Originals and their moved copies both take space until a durable commit lets the
    /// originals go: commit once they reach an eighth of the capacity (one fsync round per
    /// several segments, not per segment).
    fn release_doomed_over_budget(&self, w: &mut Writer) -> Result<()> {
        if w.doomed_bytes >= (w.capacity / 8).max(w.segment_size) {
            self.commit_locked(w, true)?;
        }
        Ok(())
    }

    /// Background compaction: only when some sealed segment is below the threshold.
    pub fn compact_if_needed(&self) -> Result<()> {
        let needed = {
            let w = self.writer.lock();
            let active = w.active.as_ref().map(|s| s.id());
            let threshold = self.config.compaction_threshold;
            w.seg_meta.iter().any(|(id, m)| {
                Some(*id) != active && m.sealed && (m.live_bytes as f64) < threshold * m.len as f64
            })
        };
        if needed {
            let mut w = self.writer.lock();
            if w.poisoned.is_none() {
                let active = w.active.as_ref().map(|s| s.id());
                let threshold = self.config.compaction_threshold;
                let sparse: Vec<u32> = w
                    .seg_meta
                    .iter()
                    .filter(|(id, m)| {
                        Some(**id) != active
                            && m.sealed
                            && (m.live_bytes as f64) < threshold * m.len as f64
                    })
                    .map(|(id, _)| *id)
                    .collect();
                self.commit_locked(&mut w, false)?;
                w.in_maintenance = true;
                let mut result = Ok(());
                for id in sparse {
                    let drained = self.drain_segment(&mut w, id, DrainMode::KeepAll);
                    if let Err(e) = drained.and_then(|_| self.release_doomed_over_budget(&mut w)) {
                        result = Err(e);
                        break;
                    }
                }
                w.in_maintenance = false;
                result?;
                self.commit_locked(&mut w, true)?;
            }
        }
        self.compact_index_if_sparse().map(|_| ())
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
