//! Draining a segment: every live record is either moved forward (to the active segment) or
//! dropped, and the segment is doomed. Its file is deleted only after the next durable commit
//! (DESIGN invariant 3), by `commit_locked`; callers decide when to make that commit.

use redb::ReadableDatabase;

use crate::error::{IndexResultExt, Result};
use crate::index::EntryLoc;
use crate::index::tables::ENTRIES;
use crate::segment::Segment;
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
            let plan = self.plan_drain(&seg, id, mode, &mut done)?;
            // All moved records go out in one positional write.
            let base = match plan.moved.is_empty() {
                true => None,
                false => Some(self.append(w, &[&plan.moved])?),
            };
            for fate in plan.fates {
                let op = match (fate.moved_at, base) {
                    (Some(at), Some((segment, offset))) => Pending::Put(EntryLoc {
                        segment,
                        offset: offset + at,
                        ..fate.old
                    }),
                    _ => Pending::Remove,
                };
                self.stage(w, &fate.key, op)?;
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

    /// Decides the fate of each live record: moved (copied, verbatim, into `moved`) or
    /// dropped.
    fn plan_drain(
        &self,
        seg: &Segment,
        id: u32,
        mode: DrainMode,
        done: &mut Drained,
    ) -> Result<DrainPlan> {
        let path = &self.index_path;
        let txn = self.db.read().begin_read().ix(path)?;
        let table = txn.open_table(ENTRIES).ix(path)?;
        let now = self.config.clock.now_ms();
        let bytes = seg.tail(0).unwrap_or(&[]);
        let mut plan = DrainPlan::default();
        for (offset, view) in RecordScan::new(bytes) {
            let current = match self.pending.read().get(view.key) {
                Some(Pending::Put(loc)) => Some(*loc),
                Some(Pending::Remove) => None,
                None => table.get(view.key).ix(path)?.map(|g| g.value()),
            };
            let Some(loc) = current.filter(|l| l.segment == id && l.offset == offset) else {
                continue;
            };
            let expired = loc.is_expired(now);
            let keep = !expired
                && match mode {
                    DrainMode::KeepAll => true,
                    DrainMode::KeepRecentlyRead => self.access.recently_read(view.key),
                    DrainMode::DropAll => false,
                };
            let record = &bytes[offset as usize..offset as usize + view.header.record_len()];
            let moved_at = keep.then_some(plan.moved.len() as u32);
            if keep {
                done.moved += 1;
                done.moved_bytes += record.len() as u64;
                plan.moved.extend_from_slice(record);
            } else if expired {
                done.expired += 1;
            } else {
                done.evicted += 1;
                done.evicted_bytes += record.len() as u64;
            }
            plan.fates.push(Fate {
                key: view.key.to_vec(),
                old: loc,
                moved_at,
            });
        }
        Ok(plan)
    }
}

/// What happens to one live record of a drained segment.
struct Fate {
    key: Vec<u8>,
    old: EntryLoc,
    /// Offset of the record within `DrainPlan::moved`, when it moves.
    moved_at: Option<u32>,
}

/// The live records of a segment and the bytes of those that move.
#[derive(Default)]
struct DrainPlan {
    fates: Vec<Fate>,
    moved: Vec<u8>,
}
