//! Checkpoints: making staged index changes durable.
//!
//! redb never references bytes that were not synced. A checkpoint (DESIGN invariant 1):
//!
//! 1. under the writer lock, moves the staged changes to `committing` (readers still see
//!    them) and takes the set of segments written since the last checkpoint;
//! 2. without the writer lock, `fdatasync`s those segments (and the segments directory when
//!    files came or went), so inserts go on while the disk works;
//! 3. under the writer lock, commits `committing` with `Durability::Immediate`, then deletes
//!    the segments compaction drained before step 1 (their moved copies are now durable).
//!
//! Other index transactions only remove entries (eviction, sweep), so they never need a
//! data sync either.

use std::sync::Arc;

use redb::Durability;

use crate::error::{Error, IndexResultExt, Result, io_err};
use crate::index::EntryLoc;
use crate::index::tables::{ACCESS, ENTRIES, EXPIRY, META, SEGMENTS, meta_keys};
use crate::segment::Segment;
use crate::store::inner::{Inner, Pending, PendingMap, Writer};

/// Access bits are saved at a checkpoint at most this often (and always at close).
const ACCESS_SAVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// What step 1 of a checkpoint hands to steps 2 and 3.
struct CheckpointStart {
    files: Vec<Arc<Segment>>,
    sync_dir: bool,
    doomed: Vec<u32>,
}

impl Inner {
    /// Makes every change acknowledged so far durable (a checkpoint). Call without holding
    /// the writer lock.
    pub fn flush(&self) -> Result<()> {
        let _one_at_a_time = self.checkpoint_lock.lock();
        if self.nothing_to_checkpoint() {
            return Ok(());
        }
        let start = self.begin_checkpoint()?;
        if let Err(e) = self.sync_files(&start) {
            let mut w = self.writer.lock();
            return Err(self.poison(&mut w, e));
        }
        self.finish_checkpoint(&start.doomed)
    }

    /// A checkpoint, so that redb holds every acknowledged change; skipped when writes
    /// are refused (reads of what redb holds go on).
    pub fn checkpoint_unless_poisoned(&self) -> Result<()> {
        if self.writer.lock().poisoned.is_some() {
            return Ok(());
        }
        self.flush()
    }

    /// True when a checkpoint would write nothing new (then it is skipped, so reading
    /// stats or listing keys of an idle store writes nothing).
    fn nothing_to_checkpoint(&self) -> bool {
        let w = self.writer.lock();
        !w.dirty
            && w.dirty_meta.is_empty()
            && w.unsynced.is_empty()
            && w.doomed.is_empty()
            && !w.dir_changed
            && self.pending.read().is_empty()
            && !self.counters.changed()
            && !(w.closing && self.access.changed())
    }

    fn begin_checkpoint(&self) -> Result<CheckpointStart> {
        let mut w = self.writer.lock();
        self.check_writable(&w)?;
        {
            let mut staged = self.pending.write();
            let staged = &mut *staged;
            if staged.committing.is_empty() {
                // The usual case: hand the map over instead of rehashing every entry, and
                // keep the emptied one (with its capacity) for the next changes.
                std::mem::swap(&mut staged.current, &mut staged.committing);
            } else {
                staged.committing.extend(staged.current.drain());
            }
        }
        self.background.clear_wake();
        let segments = self.segments.read();
        let files = std::mem::take(&mut w.unsynced)
            .iter()
            .filter_map(|id| segments.get(id).cloned())
            .collect();
        let sync_dir = std::mem::take(&mut w.dir_changed);
        w.dirty = false;
        Ok(CheckpointStart {
            files,
            sync_dir,
            doomed: w.doomed.keys().copied().collect(),
        })
    }

    fn sync_files(&self, start: &CheckpointStart) -> Result<()> {
        for seg in &start.files {
            seg.file()
                .sync_data()
                .map_err(io_err("sync segment", seg.path()))?;
        }
        if start.sync_dir {
            let dir = &self.segments_dir;
            let handle = std::fs::File::open(dir).map_err(io_err("open directory", dir))?;
            handle.sync_all().map_err(io_err("sync directory", dir))?;
        }
        Ok(())
    }

    fn finish_checkpoint(&self, doomed: &[u32]) -> Result<()> {
        let mut w = self.writer.lock();
        self.check_writable(&w)?;
        // Segments compaction drained before this checkpoint began: their rows go in the same
        // commit that makes the moved copies durable; their files go right after it.
        let releasing: Vec<u32> = doomed
            .iter()
            .copied()
            .filter(|id| w.doomed.remove(id).is_some())
            .collect();
        w.dirty_meta.extend(releasing.iter().copied());
        let staged = self.pending.read();
        if let Err(e) = self.write_index(&mut w, &staged.committing, true) {
            drop(staged);
            return Err(self.poison(&mut w, e));
        }
        for (key, op) in staged.committing.iter() {
            self.locs.update(key, op.loc());
        }
        drop(staged);
        self.pending.write().committing.clear();
        w.dirty_meta.clear();
        for id in releasing {
            self.delete_segment(&mut w, id);
        }
        Ok(())
    }

    /// Deletes a segment file that no durable index state references any more. The file is
    /// unlinked now; its handle and mapping are dropped by the reaper thread.
    pub(crate) fn delete_segment(&self, w: &mut Writer, id: u32) {
        let removed = self.segments.write().remove(&id);
        w.indexed.remove(&id);
        w.maintenance_segments.remove(&id);
        if let Some(seg) = removed {
            if let Err(e) = std::fs::remove_file(seg.path()) {
                log::warn!("could not delete segment {}: {e}", seg.path().display());
            }
            w.dir_changed = true;
            self.reaper.release(seg);
        }
    }

    /// Applies the staged changes and the segment accounting in one redb transaction.
    fn write_index(&self, w: &mut Writer, pending: &PendingMap, durable: bool) -> Result<()> {
        let save_access = durable
            && (w.closing
                || w.access_saved_at
                    .is_none_or(|t| t.elapsed() >= ACCESS_SAVE_INTERVAL));
        self.in_write_txn(durable, |txn| {
            self.apply(txn, w, pending)?;
            if save_access {
                self.save_access_bits(txn)?;
            }
            Ok(())
        })?;
        if save_access {
            w.access_saved_at = Some(std::time::Instant::now());
        }
        Ok(())
    }

    /// Runs `body` in a redb write transaction and commits it (durably when `durable`).
    /// A damaged index file can make redb panic; that becomes an [`Error::Index`].
    pub(crate) fn in_write_txn<T>(
        &self,
        durable: bool,
        body: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T> {
        let db = self.db.read();
        let run = || -> Result<T, redb::Error> {
            let mut txn = db.begin_write()?;
            txn.set_durability(if durable {
                Durability::Immediate
            } else {
                Durability::None
            })?;
            txn.set_quick_repair(durable);
            let out = body(&txn)?;
            txn.commit()?;
            Ok(out)
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
            Ok(result) => result.ix(&self.index_path),
            Err(_) => {
                let message = "the index is damaged (redb panicked while committing)".into();
                Err(Error::Index {
                    path: self.index_path.clone(),
                    message,
                })
            }
        }
    }

    /// Saves the access bits, lz4-compressed (they are mostly zeros), in 64 KiB chunks.
    fn save_access_bits(&self, txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
        if let Some(bits) = self.access.snapshot_if_changed() {
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
        txn: &redb::WriteTransaction,
        w: &mut Writer,
        pending: &PendingMap,
    ) -> Result<(), redb::Error> {
        let now = self.config.clock.now_ms();
        let mut entries = txn.open_table(ENTRIES)?;
        let mut expiry = txn.open_table(EXPIRY)?;
        // In key order: redb then walks its B-tree once, left to right, instead of jumping
        // between leaves at random (the staged map is a hash map).
        let mut sorted: Vec<(&[u8], &Pending)> = pending.iter().map(|(k, op)| (&**k, op)).collect();
        sorted.sort_unstable_by_key(|(k, _)| *k);
        for (key, op) in sorted {
            let old = match op {
                Pending::Put(loc) => entries.insert(key, loc)?.map(|g| g.value()),
                Pending::Remove => entries.remove(key)?.map(|g| g.value()),
            };
            if let Some(old) = old {
                self.account(w, &old, -1);
                if old.expires_at != 0 {
                    expiry.remove((old.expires_at, key))?;
                }
            }
            if let Pending::Put(loc) = op {
                self.account(w, loc, 1);
                if let Some(meta) = w.seg_meta.get_mut(&loc.segment) {
                    meta.last_access = meta.last_access.max(now);
                }
                if loc.expires_at != 0 {
                    expiry.insert((loc.expires_at, key), ())?;
                }
            }
        }
        self.write_meta(txn, w)
    }

    /// Writes the changed segment accounting, the allocation state and the counters.
    pub(crate) fn write_meta(
        &self,
        txn: &redb::WriteTransaction,
        w: &mut Writer,
    ) -> Result<(), redb::Error> {
        let mut segments = txn.open_table(SEGMENTS)?;
        for id in &w.dirty_meta {
            // A drained segment keeps its row, up to date, until the checkpoint that deletes it.
            match w.seg_meta.get(id).or_else(|| w.doomed.get(id)) {
                Some(meta) => {
                    segments.insert(id, meta)?;
                    w.indexed.insert(*id);
                }
                None => {
                    segments.remove(id)?;
                }
            };
        }
        let mut meta = txn.open_table(META)?;
        meta.insert(meta_keys::NEXT_SEGMENT, w.next_segment_id as u64)?;
        meta.insert(
            meta_keys::NEXT_SEQ,
            self.seq.load(std::sync::atomic::Ordering::Relaxed),
        )?;
        meta.insert(meta_keys::CAPACITY, w.capacity)?;
        self.counters.save(&mut meta)?;
        Ok(())
    }

    /// Adds (`sign` = 1) or subtracts (-1) an entry from its segment's live accounting.
    pub(crate) fn account(&self, w: &mut Writer, loc: &EntryLoc, sign: i64) {
        let meta = match w.seg_meta.get_mut(&loc.segment) {
            Some(meta) => Some(meta),
            None => w.doomed.get_mut(&loc.segment),
        };
        if let Some(meta) = meta {
            let bytes = loc.record_len();
            if sign > 0 {
                meta.live_bytes += bytes;
                meta.live_count += 1;
            } else {
                meta.live_bytes = meta.live_bytes.saturating_sub(bytes);
                meta.live_count = meta.live_count.saturating_sub(1);
            }
            w.dirty_meta.insert(loc.segment);
        }
    }
}
