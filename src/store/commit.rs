//! Committing staged index changes to redb, and durable checkpoints.
//!
//! Order for a durable checkpoint (DESIGN invariant 1): sync every segment written since the
//! last one, sync the segments directory if files came or went, then commit the index with
//! `Durability::Immediate`. Batches in between commit with `Durability::None`.

use redb::Durability;

use crate::error::{Error, IndexResultExt, Result, io_err};
use crate::index::EntryLoc;
use crate::index::tables::{ACCESS, ENTRIES, EXPIRY, META, SEGMENTS, meta_keys};

/// Access bits are saved at a durable commit at most this often (and always at close).
const ACCESS_SAVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);
use crate::store::inner::{Inner, Pending, PendingMap, Writer};

impl Inner {
    /// Makes every acknowledged change durable.
    pub fn flush(&self) -> Result<()> {
        let mut w = self.writer.lock();
        self.check_writable(&w)?;
        self.commit_locked(&mut w, true)
    }

    /// Commits staged changes; durably (after syncing segments) when `durable`.
    pub fn commit_locked(&self, w: &mut Writer, durable: bool) -> Result<()> {
        if durable {
            if let Err(e) = self.sync_segments(w) {
                return Err(self.poison(w, e));
            }
        } else if self.pending.read().is_empty() && w.dirty_meta.is_empty() {
            return Ok(());
        }
        let pending = self.pending.read();
        if let Err(e) = self.write_index(w, &pending, durable) {
            drop(pending);
            return Err(self.poison(w, e));
        }
        for (key, op) in pending.iter() {
            self.locs.update(
                key,
                match op {
                    Pending::Put(loc) => Some(*loc),
                    Pending::Remove => None,
                },
            );
        }
        drop(pending);
        self.pending.write().clear();
        w.dirty_meta.clear();
        if durable {
            w.dirty = false;
            self.delete_doomed(w);
        }
        Ok(())
    }

    fn sync_segments(&self, w: &mut Writer) -> Result<()> {
        let segments = self.segments.read();
        for id in &w.unsynced {
            if let Some(seg) = segments.get(id) {
                seg.file()
                    .sync_data()
                    .map_err(io_err("sync segment", seg.path()))?;
            }
        }
        drop(segments);
        w.unsynced.clear();
        if w.dir_changed {
            let dir = std::fs::File::open(&self.segments_dir)
                .map_err(io_err("open directory", &self.segments_dir))?;
            dir.sync_all()
                .map_err(io_err("sync directory", &self.segments_dir))?;
            w.dir_changed = false;
        }
        Ok(())
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
        for (key, op) in pending.iter() {
            let old = match op {
                Pending::Put(loc) => entries.insert(&**key, loc)?.map(|g| g.value()),
                Pending::Remove => entries.remove(&**key)?.map(|g| g.value()),
            };
            if let Some(old) = old {
                self.account(w, &old, -1);
                if old.expires_at != 0 {
                    expiry.remove((old.expires_at, &**key))?;
                }
            }
            if let Pending::Put(loc) = op {
                self.account(w, loc, 1);
                if let Some(meta) = w.seg_meta.get_mut(&loc.segment) {
                    meta.last_access = meta.last_access.max(now);
                }
                if loc.expires_at != 0 {
                    expiry.insert((loc.expires_at, &**key), ())?;
                }
            }
        }
        let mut segments = txn.open_table(SEGMENTS)?;
        for id in &w.dirty_meta {
            match w.seg_meta.get(id) {
                Some(meta) => segments.insert(id, meta)?,
                None => segments.remove(id)?,
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
        if let Some(meta) = w.seg_meta.get_mut(&loc.segment) {
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

    /// Deletes segment files that the (now durable) index no longer references.
    fn delete_doomed(&self, w: &mut Writer) {
        let doomed = std::mem::take(&mut w.doomed);
        w.doomed_bytes = 0;
        let mut segments = self.segments.write();
        for id in doomed {
            if let Some(seg) = segments.remove(&id) {
                if let Err(e) = std::fs::remove_file(seg.path()) {
                    log::warn!("could not delete segment {}: {e}", seg.path().display());
                }
                w.dir_changed = true;
            }
        }
    }
}
