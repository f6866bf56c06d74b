//! Draining a segment: every live record is either moved forward (to the active segment) or
//! dropped, and the segment is doomed. Its file is deleted only after the next durable commit
//! (DESIGN invariant 3), by `commit_locked`.

use redb::ReadableDatabase;

use crate::error::{IndexResultExt, Result};
use crate::index::EntryLoc;
use crate::segment::scan::RecordScan;
use crate::store::counters::Counters;
use crate::store::inner::{Inner, Pending, Writer};

/// What to do with the live records of a drained segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainMode {
    /// Keep every live record (compaction).
    KeepAll,
    /// Keep only records read recently, drop the rest (eviction).
    KeepRecentlyRead,
    /// Drop every record (eviction when second chances cannot free enough).
    DropAll,
}

/// Counts from draining one segment.
#[derive(Debug, Default, Clone, Copy)]
pub struct Drained {
    /// Records moved forward.
    pub moved: u64,
    /// Bytes moved forward.
    pub moved_bytes: u64,
    /// Records dropped by eviction.
    pub evicted: u64,
    /// Bytes dropped by eviction.
    pub evicted_bytes: u64,
    /// Expired records dropped.
    pub expired: u64,
}

impl Inner {
    /// Drains segment `id` (caller holds the writer lock and has committed staged changes).
    pub fn drain_segment(&self, w: &mut Writer, id: u32, mode: DrainMode) -> Result<Drained> {
        let mut done = Drained::default();
        // Never append into the segment being drained: moved records go to a fresh one.
        if w.active.as_ref().is_some_and(|a| a.id() == id) {
            w.active = None;
        }
        let has_live = w.seg_meta.get(&id).is_some_and(|m| m.live_count > 0);
        let segment = self.segments.read().get(&id).cloned().filter(|_| has_live);
        if let Some(seg) = segment {
            let ops = self.plan_drain(&seg, id, mode, &mut done)?;
            for (key, old, bytes) in ops {
                let op = match bytes {
                    Some(bytes) => {
                        let (segment, offset) = self.append(w, &[bytes])?;
                        Pending::Put(EntryLoc {
                            segment,
                            offset,
                            ..old
                        })
                    }
                    None => Pending::Remove,
                };
                self.stage(w, &key, op)?;
            }
        }
        if let Some(meta) = w.seg_meta.remove(&id) {
            w.doomed_bytes += meta.len;
        }
        w.dirty_meta.insert(id);
        w.doomed.insert(id);
        Counters::add(&self.counters.evictions, done.evicted);
        Counters::add(&self.counters.expirations, done.expired);
        if mode != DrainMode::KeepAll {
            self.access
                .note_drained(done.evicted_bytes + done.moved_bytes);
        }
        Ok(done)
    }

    /// Decides the fate of each live record: `Some(record bytes)` to move, `None` to drop.
    fn plan_drain<'s>(
        &self,
        seg: &'s crate::segment::Segment,
        id: u32,
        mode: DrainMode,
        done: &mut Drained,
    ) -> Result<Vec<(Vec<u8>, EntryLoc, Option<&'s [u8]>)>> {
        let txn = self.db.read().begin_read().ix(&self.index_path)?;
        let table = txn
            .open_table(crate::index::tables::ENTRIES)
            .ix(&self.index_path)?;
        let now = self.config.clock.now_ms();
        let bytes = seg.tail(0).unwrap_or(&[]);
        let mut ops = Vec::new();
        for (offset, view) in RecordScan::new(bytes) {
            let current = match self.pending.read().get(view.key) {
                Some(Pending::Put(loc)) => Some(*loc),
                Some(Pending::Remove) => None,
                None => table.get(view.key).ix(&self.index_path)?.map(|g| g.value()),
            };
            let Some(loc) = current.filter(|l| l.segment == id && l.offset == offset) else {
                continue;
            };
            let keep = !loc.is_expired(now)
                && match mode {
                    DrainMode::KeepAll => true,
                    DrainMode::KeepRecentlyRead => self.access.recently_read(view.key),
                    DrainMode::DropAll => false,
                };
            let record = &bytes[offset as usize..offset as usize + view.header.record_len()];
            if keep {
                done.moved += 1;
                done.moved_bytes += record.len() as u64;
            } else if loc.is_expired(now) {
                done.expired += 1;
            } else {
                done.evicted += 1;
                done.evicted_bytes += record.len() as u64;
            }
            ops.push((view.key.to_vec(), loc, keep.then_some(record)));
        }
        Ok(ops)
    }
}
