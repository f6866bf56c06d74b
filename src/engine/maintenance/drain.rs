//! Draining a segment: every live record is either moved forward (appended again, verbatim)
//! or dropped, and the segment goes away.
//!
//! - Compaction (`KeepAll`) moves every live record. The moved copies are staged like
//!   inserts, so the old file is deleted by the first checkpoint that starts after the drain:
//!   it makes the copies durable before the file goes (DESIGN invariant 3).
//! - Eviction drops entries, keeping recently read ones by moving them. Drained segments
//!   gather in an [`EvictionBatch`]; [`Engine::release_evicted`] removes every index entry
//!   that points into any of them in one durable transaction of pure removals (no data sync
//!   needed: redb never references unsynced bytes), then deletes their files. A moved
//!   entry's new location is staged; if a crash comes before the next checkpoint, that
//!   entry is simply gone, as if evicted.
//!
//! Eviction does not look each record up in the index while scanning: a record with no
//! staged change that is not kept is only listed, and the removal transaction, which must
//! read the entry anyway, decides whether it was live (and counts it).

use redb::ReadableTable;

use crate::engine::index::EntryLoc;
use crate::engine::index::tables::{ENTRIES, EXPIRY};
use crate::engine::segment::scan::RecordScan;
use crate::engine::segment::{AppendFor, Log, Segment};
use crate::engine::state::{
    Counters, Engine, Pending, Source, Staged, WriterState, index_bytes_of,
};
use crate::error::Result;

/// What to do with the live records of a drained segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainMode {
    /// Keep every live record (compaction).
    KeepAll,
    /// Keep the records the eviction policy keeps (read recently, or read while on
    /// probation), moving them into the main log; drop the rest (eviction).
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
}

/// A record of an evicted segment whose committed index entry may still point at it.
struct Removal {
    key: Box<[u8]>,
    segment: u32,
    offset: u32,
    /// The record's fate was not decided while scanning (no staged change, not kept): if
    /// the index still points at it, it is evicted (or expired) now and counted then.
    undecided: bool,
}

/// Segments drained by eviction whose files are not deleted yet: their index entries go
/// in one durable transaction, then the files (DESIGN invariant 3).
#[derive(Default)]
pub struct EvictionBatch {
    ids: Vec<u32>,
    removals: Vec<Removal>,
    /// Bytes moved forward (second chances) by the segments of this batch.
    pub moved_bytes: u64,
    /// Bytes drained whose fate was decided while scanning (moved or dropped).
    decided_bytes: u64,
    /// Bytes that second chances may still move forward while this batch is drained: what
    /// the budget leaves beside every file there is now, the drained ones included (they
    /// stay until the batch is released).
    move_budget: u64,
}

impl EvictionBatch {
    /// An empty batch whose second chances may move up to `budget` bytes.
    pub fn with_budget(budget: u64) -> Self {
        Self {
            move_budget: budget,
            ..Self::default()
        }
    }

    /// Segments waiting for release.
    pub fn len(&self) -> usize {
        self.ids.len()
    }
}

impl Engine {
    /// Drains segment `id` (caller holds the writer lock). Compaction (`KeepAll`) leaves the
    /// file to the next checkpoint; eviction adds it to `batch`, to be released by
    /// [`Self::release_evicted`] before the writer lock is let go.
    pub fn drain_segment(
        &self,
        w: &mut WriterState,
        id: u32,
        mode: DrainMode,
        batch: &mut EvictionBatch,
    ) -> Result<Drained> {
        let mut done = Drained::default();
        // Compaction keeps a record in its log; eviction's second chances go to main.
        let from = w.segments().log_of(id);
        let to = if mode == DrainMode::KeepAll {
            from
        } else {
            Log::Main
        };
        // Never append into the segment being drained: moved records go to a fresh one.
        w.segments_mut().stop_appending_to(id);
        // Always scan: the accounting is a hint, the records are the truth.
        if let Some(seg) = self.segments.get(id) {
            // No committed entry points into a segment no commit has seen: nothing of it
            // needs listing for removal from the index.
            let indexed = w.segments().is_indexed(id);
            let (listed, budget) = (batch.removals.len(), batch.move_budget);
            let plan = self.plan_drain(&seg, (id, from), mode, indexed, &mut done, batch)?;
            // All moved records go out in one positional write.
            let base = match plan.moved.is_empty() {
                true => None,
                false => match w.append(&[&plan.moved], AppendFor::Maintenance, to) {
                    Ok(at) => Some(at),
                    Err(e) => {
                        // Nothing of this segment is settled: it stays live, unlisted.
                        batch.removals.truncate(listed);
                        batch.move_budget = budget;
                        return Err(e);
                    }
                },
            };
            // One lock of the staged changes for the whole segment (the writer lock is held,
            // so only readers wait, and only for the inserts below).
            let mut staged = self.staged.write();
            for fate in plan.fates {
                let moved = fate
                    .moved_at
                    .zip(base)
                    .map(|(at, (segment, offset))| EntryLoc {
                        segment,
                        offset: offset + at,
                        ..fate.old
                    });
                settle(&mut staged, mode, fate, moved);
            }
            w.mark_dirty();
        }
        // Out of the live set only once its records are settled (a failed move, say on a
        // full disk, leaves it live, to be drained again). Compaction (`KeepAll`) keeps its
        // row and file until the checkpoint that makes the moved copies durable removes the
        // row and deletes the file (in that order).
        w.segments_mut()
            .take_for_drain(id, mode == DrainMode::KeepAll);
        if mode != DrainMode::KeepAll {
            batch.ids.push(id);
            batch.moved_bytes += done.moved_bytes;
            batch.decided_bytes += done.moved_bytes + done.evicted_bytes;
        }
        Counters::add(&self.counters.evictions, done.evicted);
        Counters::add(&self.counters.expirations, done.expired);
        Ok(done)
    }

    /// Releases the segments of an eviction batch: one durable transaction removes every
    /// index entry still pointing into them (and their rows), then their files go.
    pub fn release_evicted(&self, w: &mut WriterState, batch: EvictionBatch) -> Result<()> {
        let EvictionBatch {
            ids,
            mut removals,
            decided_bytes,
            ..
        } = batch;
        if ids.is_empty() {
            return Ok(());
        }
        // A running checkpoint must not make anything durable that points into the files
        // about to go, including changes a newer staged change has superseded.
        self.staged.write().retract_committing_into(&ids);
        // Segments no commit has written a row for (drained before the first checkpoint
        // after their creation) have no committed entries: nothing to remove durably (their
        // records were not listed, see `plan_drain`).
        let evicted_bytes = if ids.iter().any(|id| w.segments().is_indexed(*id)) {
            self.remove_from_index_durably(w, &mut removals)?
        } else {
            0
        };
        for id in ids {
            w.segments_mut().delete(id);
        }
        let live_entries = w.segments().live_count();
        (self.eviction).note_drained(decided_bytes + evicted_bytes, live_entries);
        Ok(())
    }

    /// Removes each listed index entry that still points at its record, in key order, in
    /// one durable transaction with the segment accounting. Counts the undecided records
    /// it removes as evicted or expired; returns the bytes it evicted.
    fn remove_from_index_durably(
        &self,
        w: &mut WriterState,
        removals: &mut [Removal],
    ) -> Result<u64> {
        removals.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        let now = self.now_ms();
        let (mut evicted, mut evicted_bytes, mut expired) = (0u64, 0u64, 0u64);
        let mut removed = Vec::new();
        let result = self.index.write(true, |txn| {
            {
                let mut entries = txn.open_table(ENTRIES)?;
                let mut expiry = txn.open_table(EXPIRY)?;
                for (i, r) in removals.iter().enumerate() {
                    let current = entries.get(&*r.key)?.map(|g| g.value());
                    let Some(loc) =
                        current.filter(|l| l.segment == r.segment && l.offset == r.offset)
                    else {
                        continue;
                    };
                    entries.remove(&*r.key)?;
                    if loc.expires_at != 0 {
                        expiry.remove((loc.expires_at, &*r.key))?;
                    }
                    w.segments_mut().account(loc.segment, loc.record_len(), -1);
                    removed.push(i);
                    if r.undecided {
                        if loc.is_expired(now) {
                            expired += 1;
                        } else {
                            evicted += 1;
                            evicted_bytes += loc.record_len();
                        }
                    }
                }
            }
            self.write_meta(txn, w)
        });
        if let Err(e) = result {
            return Err(w.poison(e));
        }
        w.segments_mut().rows_committed();
        let freed = removed
            .iter()
            .map(|&i| index_bytes_of(removals[i].key.len()));
        self.staged.write().index_freed(freed.sum());
        for i in removed {
            self.locs.update(&removals[i].key, None);
        }
        Counters::add(&self.counters.evictions, evicted);
        Counters::add(&self.counters.expirations, expired);
        Ok(evicted_bytes)
    }

    /// Decides the fate of each live record: moved (copied, verbatim, into `moved`) or
    /// dropped. Eviction also lists in `batch` every record whose index entry may point at
    /// it (none when the segment is not `indexed`); those it does not keep and that have no
    /// staged change are left undecided.
    fn plan_drain(
        &self,
        seg: &Segment,
        id: (u32, Log),
        mode: DrainMode,
        indexed: bool,
        done: &mut Drained,
        batch: &mut EvictionBatch,
    ) -> Result<DrainPlan> {
        self.index.read(|txn| {
            let table = txn.open_table(ENTRIES)?;
            self.plan_with(&table, seg, id, mode, indexed, done, batch)
        })
    }

    /// [`Self::plan_drain`] with the index's entries table open.
    #[allow(clippy::too_many_arguments)]
    fn plan_with(
        &self,
        table: &redb::ReadOnlyTable<&'static [u8], EntryLoc>,
        seg: &Segment,
        (id, log): (u32, Log),
        mode: DrainMode,
        indexed: bool,
        done: &mut Drained,
        batch: &mut EvictionBatch,
    ) -> Result<DrainPlan, redb::Error> {
        let now = self.now_ms();
        let bytes = seg.tail(0).unwrap_or(&[]);
        let mut plan = DrainPlan::default();
        let evicting = mode != DrainMode::KeepAll;
        if !evicting {
            // Compaction moves most of the segment: one allocation instead of regrowing.
            plan.moved.reserve(bytes.len());
        }
        // Staged changes only change under the writer lock, which the caller holds.
        let staged = self.staged.read();
        for (offset, view) in RecordScan::new(bytes) {
            // What the eviction policy said about this record, once asked (asking takes
            // the read that earns a move).
            let mut policy_kept = None;
            let staged_loc = staged.find(view.key);
            let here = |l: &EntryLoc| l.segment == id && l.offset == offset;
            let mut list = |undecided: bool| {
                if indexed {
                    batch.removals.push(Removal {
                        key: view.key.into(),
                        segment: id,
                        offset,
                        undecided,
                    })
                }
            };
            let (current, source) = match staged_loc {
                Some(staged) => {
                    if evicting {
                        // The index may still hold an older state pointing here.
                        list(false);
                    }
                    staged
                }
                None if evicting => {
                    let header_expired =
                        view.header.expires_at != 0 && view.header.expires_at <= now;
                    let may_keep = mode == DrainMode::KeepRecentlyRead
                        && !header_expired
                        && view.header.record_len() as u64 <= batch.move_budget
                        && self.eviction.keeps(view.key, log);
                    if !may_keep {
                        if !header_expired {
                            self.eviction.dropped(view.key, log);
                        }
                        list(true);
                        continue;
                    }
                    list(false);
                    policy_kept = Some(true);
                    (table.get(view.key)?.map(|g| g.value()), Source::Index)
                }
                None => (table.get(view.key)?.map(|g| g.value()), Source::Index),
            };
            let Some(loc) = current.filter(here) else {
                continue;
            };
            let expired = loc.is_expired(now);
            let keep = !expired
                && match mode {
                    DrainMode::KeepAll => true,
                    DrainMode::KeepRecentlyRead => {
                        view.header.record_len() as u64 <= batch.move_budget
                            && policy_kept.unwrap_or_else(|| self.eviction.keeps(view.key, log))
                    }
                    DrainMode::DropAll => false,
                };
            let record = &bytes[offset as usize..offset as usize + view.header.record_len()];
            if keep && evicting {
                batch.move_budget -= record.len() as u64;
            }
            let moved_at = keep.then_some(plan.moved.len() as u32);
            if keep {
                done.moved += 1;
                done.moved_bytes += record.len() as u64;
                plan.moved.extend_from_slice(record);
            } else if expired {
                done.expired += 1;
            } else {
                if evicting {
                    self.eviction.dropped(view.key, log);
                }
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

/// Records the fate of one live record in the staged changes (as [`Engine::stage`] would).
fn settle(staged: &mut Staged, mode: DrainMode, fate: Fate, moved: Option<EntryLoc>) {
    let op = moved.map_or(Pending::Remove, Pending::Put);
    match (mode, fate.source) {
        // Compaction: the old file outlives the next checkpoint, so older states may keep
        // pointing at it until then.
        (DrainMode::KeepAll, _) | (_, Source::Current) => staged.restage(fate.key, op),
        // Eviction deletes the file soon: nothing may be left pointing into it.
        (_, Source::Committing) => {
            staged.retract_committing(&fate.key);
            if moved.is_some() {
                staged.stage_owned(fate.key, op);
            }
        }
        // Its index entry is in the batch's removals, removed durably before the file goes.
        (_, Source::Index) => {
            if moved.is_some() {
                staged.stage_owned(fate.key, op);
            }
        }
    }
}
