//! Checkpoints: making staged index changes durable.
//!
//! redb never references bytes that were not synced. A checkpoint (DESIGN invariant 1):
//!
//! 1. under the writer lock, moves the staged changes to `committing` (readers still see
//!    them) and takes the set of segments written since the last checkpoint;
//! 2. without the writer lock, `fdatasync`s those segments (and the segments directory when
//!    files came or went), so inserts go on while the disk works;
//! 3. under the writer lock, applies `committing` and the segment accounting to the index
//!    in one transaction committed with `Durability::None`: visible, not yet durable;
//! 4. without the writer lock, makes it durable with an empty `Durability::Immediate`
//!    commit (redb writes and syncs every page the commits since the last durable one
//!    left), so inserts go on while the disk works again;
//! 5. under the writer lock, deletes the segments compaction drained before step 1 (their
//!    moved copies are now durable).
//!
//! Every index transaction leaves the index consistent (entries and accounting together),
//! so a durable commit in between (eviction's, say) may make step 3 durable early: the
//! bytes it points at were synced in step 2. A crash before step 4 rolls the index back to
//! the last durable commit, as a crash before step 3 would; the files of step 5 are still
//! there.
//!
//! Other index transactions only remove entries (eviction, sweep), so they never need a
//! data sync either.

use redb::WriteTransaction;

use super::{Engine, Pending, Staged, WriterState};
use crate::engine::index::tables::{ACCESS, ENTRIES, EXPIRY, META, SEGMENTS, meta_keys};
use crate::engine::segment::{FaultPoint, Log, Unsynced, check_fault};
use crate::error::{Result, io_err};

impl Engine {
    /// Makes every change acknowledged so far durable (a checkpoint). Call without holding
    /// the writer lock.
    pub fn flush(&self) -> Result<()> {
        let _one_at_a_time = self.checkpoint_lock.lock();
        if self.nothing_to_checkpoint() {
            return Ok(());
        }
        let (unsynced, doomed) = self.begin_checkpoint()?;
        if let Err(e) = self.sync_files(&unsynced) {
            return Err(self.writer.lock().poison(e));
        }
        let releasing = self.apply_checkpoint(&doomed)?;
        if let Err(e) = self.index.write(true, |_| Ok(())) {
            return Err(self.writer.lock().poison(e));
        }
        self.finish_checkpoint(releasing);
        Ok(())
    }

    /// A checkpoint, so that redb holds every acknowledged change; skipped when writes
    /// are refused (reads of what redb holds go on).
    pub fn checkpoint_unless_poisoned(&self) -> Result<()> {
        if self.writer.lock().is_poisoned() {
            return Ok(());
        }
        self.flush()
    }

    /// True when a checkpoint would write nothing new (then it is skipped, so reading
    /// stats or listing keys of an idle store writes nothing). Changed counters alone (the
    /// hits and misses of a session that only reads) wait for the access bits' save
    /// interval or the close: a durable commit every second for them would cost a sync per
    /// second, and each commit leaves redb's page cache slower to miss in.
    fn nothing_to_checkpoint(&self) -> bool {
        let w = self.writer.lock();
        w.is_clean()
            && self.staged.read().is_empty()
            && !(self.counters.changed() && w.access_save_due())
            && !(w.is_closing() && self.eviction.changed())
    }

    /// Step 1: hands the staged changes to this checkpoint; returns what to sync and the
    /// doomed segments this checkpoint may release.
    fn begin_checkpoint(&self) -> Result<(Unsynced, Vec<u32>)> {
        let mut w = self.writer.lock();
        w.check_writable()?;
        self.staged.write().begin_commit();
        self.background.clear_wake();
        let unsynced = w.segments_mut().take_unsynced();
        w.take_dirty();
        Ok((unsynced, w.segments().doomed_ids()))
    }

    /// Step 2: syncs the segments written since the last checkpoint.
    fn sync_files(&self, unsynced: &Unsynced) -> Result<()> {
        let faults = self.settings.faults.as_deref();
        for seg in &unsynced.files {
            check_fault(faults, FaultPoint::Sync)
                .and_then(|()| seg.file().sync_data())
                .map_err(io_err("sync segment", seg.path()))?;
        }
        if let Some(dir) = &unsynced.sync_dir {
            let handle = std::fs::File::open(dir).map_err(io_err("open directory", dir))?;
            check_fault(faults, FaultPoint::Sync)
                .and_then(|()| handle.sync_all())
                .map_err(io_err("sync directory", dir))?;
        }
        Ok(())
    }

    /// Step 3: applies the committing changes to the index (visible, not yet durable).
    /// Returns the segments whose files go once that commit is durable.
    fn apply_checkpoint(&self, doomed: &[u32]) -> Result<Vec<u32>> {
        let mut w = self.writer.lock();
        w.check_writable()?;
        // Segments compaction drained before this checkpoint began: their rows go in the same
        // commit as the moved copies; their files go once it is durable.
        let releasing = w.segments_mut().release_doomed(doomed);
        w.free_reserve_if_low();
        let staged = self.staged.read();
        if let Err(e) = self.write_index(&mut w, &staged) {
            drop(staged);
            return Err(w.poison(e));
        }
        for (key, op) in staged.committing() {
            self.locs.update(key, op.loc());
        }
        drop(staged);
        self.staged.write().commit_done();
        w.segments_mut().rows_committed();
        Ok(releasing)
    }

    /// Step 5: deletes the segments whose moved copies are now durable, then keeps to the
    /// budget.
    fn finish_checkpoint(&self, releasing: Vec<u32>) {
        let mut w = self.writer.lock();
        for id in releasing {
            w.segments_mut().delete(id);
        }
        w.keep_up_reserve(self.index.file_len());
        // The commit may have grown the index, and the file system may have filled or
        // emptied since the last look: keep to the budget now, not only at the next rotation.
        self.keep_to_file_system(&mut w);
        if let Err(e) = self.make_room(&mut w, 0, Log::Main) {
            log::error!(
                "stratacache at {}: eviction after a checkpoint failed: {e}",
                self.dir.display()
            );
        }
    }

    /// Applies the committing changes and the segment accounting in one redb transaction
    /// (committed without a sync: step 4 makes it durable), with the access bits when their
    /// save is due.
    fn write_index(&self, w: &mut WriterState, staged: &Staged) -> Result<()> {
        let save_access = w.access_save_due();
        self.index.write(false, |txn| {
            self.apply(txn, w, staged)?;
            if save_access {
                self.save_access_bits(txn)?;
            }
            Ok(())
        })?;
        if save_access {
            w.access_saved();
        }
        Ok(())
    }

    /// Saves the access bits, lz4-compressed (they are mostly zeros), in 64 KiB chunks.
    fn save_access_bits(&self, txn: &WriteTransaction) -> Result<(), redb::Error> {
        if let Some(bits) = self.eviction.snapshot_if_changed() {
            let packed = lz4_flex::block::compress_prepend_size(&bits);
            let mut table = txn.open_table(ACCESS)?;
            let chunks = packed.chunks(64 << 10).count() as u32;
            for (i, chunk) in packed.chunks(64 << 10).enumerate() {
                table.insert(i as u32, chunk)?;
            }
            table.retain_in(chunks.., |_, _| false)?;
        }
        Ok(())
    }

    fn apply(
        &self,
        txn: &WriteTransaction,
        w: &mut WriterState,
        staged: &Staged,
    ) -> Result<(), redb::Error> {
        let now = self.now_ms();
        let mut entries = txn.open_table(ENTRIES)?;
        let mut expiry = txn.open_table(EXPIRY)?;
        // In key order: redb then walks its B-tree once, left to right, instead of jumping
        // between leaves at random (the staged map is a hash map).
        let mut sorted: Vec<(&[u8], &Pending)> = staged.committing().collect();
        sorted.sort_unstable_by_key(|(k, _)| *k);
        let segments = w.segments_mut();
        for (key, op) in sorted {
            let old = match op {
                Pending::Put(loc) => entries.insert(key, loc)?.map(|g| g.value()),
                Pending::Remove => entries.remove(key)?.map(|g| g.value()),
            };
            if let Some(old) = old {
                segments.account(old.segment, old.record_len(), -1);
                if old.expires_at != 0 {
                    expiry.remove((old.expires_at, key))?;
                }
            }
            if let Pending::Put(loc) = op {
                segments.account(loc.segment, loc.record_len(), 1);
                segments.touch(loc.segment, now);
                if loc.expires_at != 0 {
                    expiry.insert((loc.expires_at, key), ())?;
                }
            }
        }
        self.write_meta(txn, w)
    }

    /// Writes the changed segment accounting, the allocation state, the capacity and the
    /// counters.
    pub(crate) fn write_meta(
        &self,
        txn: &WriteTransaction,
        w: &mut WriterState,
    ) -> Result<(), redb::Error> {
        let next_segment = w
            .segments_mut()
            .write_rows(&mut txn.open_table(SEGMENTS)?)?;
        let mut meta = txn.open_table(META)?;
        meta.insert(meta_keys::NEXT_SEGMENT, next_segment as u64)?;
        meta.insert(meta_keys::NEXT_SEQ, self.seq_now())?;
        meta.insert(meta_keys::CAPACITY, w.capacity())?;
        self.counters.save(&mut meta)?;
        Ok(())
    }
}
