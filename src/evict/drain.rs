//! Draining a segment: every live record is either moved forward (appended again, verbatim)
//! or dropped, and the segment goes away.
//!
//! - Compaction (`KeepAll`) moves every live record. The moved copies are staged like
//!   inserts, so the old file is deleted by the first checkpoint that starts after the drain:
//!   it makes the copies durable before the file goes (DESIGN invariant 3).
//! - Eviction drops entries, keeping recently read ones by moving them. It removes every
//!   index entry that points into the segment in one durable transaction of pure removals
//!   (no data sync needed: redb never references unsynced bytes), then deletes the file at
//!   once. A moved entry's new location is staged; if a crash comes before the next
//!   checkpoint, that entry is simply gone, as if evicted.

use redb::{ReadableDatabase, ReadableTable};

use crate::error::{IndexResultExt, Result};
use crate::index::tables::{ENTRIES, EXPIRY};
use crate::index::{EntryLoc, SegmentMeta};
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

/// Where the current location of a key was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Staged since the last checkpoint began.
    Current,
    /// Being committed by a running checkpoint.
    Committing,
    /// In redb.
    Index,
}

/// What happens to one live record of a drained segment.
struct Fate {
    key: Vec<u8>,
    old: EntryLoc,
    source: Source,
    /// Offset of the record within `DrainPlan::moved`, when it moves.
    moved_at: Option<u32>,
}

/// The live records of a segment and the bytes of those that move.
#[derive(Default)]
struct DrainPlan {
    fates: Vec<Fate>,
    moved: Vec<u8>,
    /// Index entries pointing into the segment (eviction removes them all durably, live or
    /// superseded by a staged change, before the file goes).
    index_entries: Vec<(Vec<u8>, EntryLoc)>,
}

impl Inner {
    /// Drains segment `id` (caller holds the writer lock).
    pub fn drain_segment(&self, w: &mut Writer, id: u32, mode: DrainMode) -> Result<Drained> {
        let mut done = Drained::default();
        // Never append into the segment being drained: moved records go to a fresh one.
        if w.active.as_ref().is_some_and(|a| a.id() == id) {
            w.active = None;
        }
        // Always scan: the accounting is a hint, the records are the truth.
        let segment = self.segments.read().get(&id).cloned();
        let mut index_removals = Vec::new();
        if let Some(seg) = segment {
            let mut plan = self.plan_drain(&seg, id, mode, &mut done)?;
            index_removals = std::mem::take(&mut plan.index_entries);
            // All moved records go out in one positional write.
            let base = match plan.moved.is_empty() {
                true => None,
                false => Some(self.append(w, &[&plan.moved])?),
            };
            for fate in plan.fates {
                let moved = fate
                    .moved_at
                    .zip(base)
                    .map(|(at, (segment, offset))| EntryLoc {
                        segment,
                        offset: offset + at,
                        ..fate.old
                    });
                self.settle(w, mode, fate, moved);
            }
        }
        let meta = w.seg_meta.remove(&id).unwrap_or_default();
        if mode == DrainMode::KeepAll {
            // Its row stays in the segments table until the checkpoint that makes the moved
            // copies durable removes it and deletes the file (in that order).
            w.doomed.insert(
                id,
                SegmentMeta {
                    sealed: true,
                    ..meta
                },
            );
            w.dirty_meta.insert(id);
        } else {
            w.dirty_meta.insert(id);
            // A running checkpoint must not make anything durable that points into the
            // file about to go, including changes a newer staged change has superseded.
            for op in self.pending.write().committing.values_mut() {
                if matches!(op, Pending::Put(l) if l.segment == id) {
                    *op = Pending::Remove;
                }
            }
            self.remove_from_index_durably(w, &index_removals)?;
            self.delete_segment(w, id);
            self.access
                .note_drained(done.evicted_bytes + done.moved_bytes);
        }
        Counters::add(&self.counters.evictions, done.evicted);
        Counters::add(&self.counters.expirations, done.expired);
        Ok(done)
    }

    /// Records the fate of one live record in the staged changes.
    fn settle(&self, w: &mut Writer, mode: DrainMode, fate: Fate, moved: Option<EntryLoc>) {
        let op = moved.map_or(Pending::Remove, Pending::Put);
        match (mode, fate.source) {
            // Compaction: the old file outlives the next checkpoint, so older states may
            // keep pointing at it until then.
            (DrainMode::KeepAll, _) | (_, Source::Current) => self.stage(w, &fate.key, op),
            // Eviction deletes the file now: nothing may be left pointing into it.
            (_, Source::Committing) => {
                self.pending
                    .write()
                    .committing
                    .insert(fate.key.as_slice().into(), Pending::Remove);
                if moved.is_some() {
                    self.stage(w, &fate.key, op);
                }
            }
            // Its index entry is in `index_entries`, removed durably before the file goes.
            (_, Source::Index) => {
                if moved.is_some() {
                    self.stage(w, &fate.key, op);
                }
            }
        }
    }

    /// Removes index entries (each only if it still points where expected) in one durable
    /// transaction, with the segment accounting.
    fn remove_from_index_durably(
        &self,
        w: &mut Writer,
        removals: &[(Vec<u8>, EntryLoc)],
    ) -> Result<()> {
        let result = self.in_write_txn(true, |txn| {
            {
                let mut entries = txn.open_table(ENTRIES)?;
                let mut expiry = txn.open_table(EXPIRY)?;
                for (key, loc) in removals {
                    let current = entries.get(key.as_slice())?.map(|g| g.value());
                    if current == Some(*loc) {
                        entries.remove(key.as_slice())?;
                        if loc.expires_at != 0 {
                            expiry.remove((loc.expires_at, key.as_slice()))?;
                        }
                        self.account(w, loc, -1);
                    }
                }
            }
            self.write_meta(txn, w)
        });
        if let Err(e) = result {
            return Err(self.poison(w, e));
        }
        w.dirty_meta.clear();
        for (key, _) in removals {
            self.locs.update(key, None);
        }
        Ok(())
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
            let staged_loc = {
                let staged = self.pending.read();
                match (
                    staged.current.get(view.key),
                    staged.committing.get(view.key),
                ) {
                    (Some(op), _) => Some((op.loc(), Source::Current)),
                    (None, Some(op)) => Some((op.loc(), Source::Committing)),
                    (None, None) => None,
                }
            };
            let here = |l: &EntryLoc| l.segment == id && l.offset == offset;
            let index_loc = match (&staged_loc, mode) {
                (Some(_), DrainMode::KeepAll) => None,
                _ => table.get(view.key).ix(path)?.map(|g| g.value()),
            };
            if mode != DrainMode::KeepAll
                && let Some(l) = index_loc.filter(here)
            {
                plan.index_entries.push((view.key.to_vec(), l));
            }
            let (current, source) = staged_loc.unwrap_or((index_loc, Source::Index));
            let Some(loc) = current.filter(here) else {
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
                source,
                moved_at,
            });
        }
        Ok(plan)
    }
}
