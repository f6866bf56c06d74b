//! The write path: validate, encode, append to the active segment, stage the index change.

use std::time::Duration;

use crate::codec::{Codec, maybe_compress};
use crate::engine::index::EntryLoc;
use crate::engine::segment::format::{
    MAX_RECORD_HEADER_LEN, RecordParts, SEGMENT_HEADER_LEN, encode_record_head,
};
use crate::engine::segment::{AppendFor, Log};
use crate::engine::state::{Counters, Engine, Pending, WriterState};
use crate::error::{Error, Result};

/// A batch insert encodes and writes about this many bytes at a time.
const BATCH_CHUNK: usize = 256 << 10;

thread_local! {
    /// The encode buffer of batch inserts, reused so that a batch costs no fresh pages.
    static BATCH_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Raw values at least this large are written straight from the caller's buffer, in a
/// second positional write after header and key, instead of being copied into the record.
const SEPARATE_VALUE_WRITE: usize = 64 << 10;

/// One item of a batch insert: key, metadata kept beside the value, value, expiry.
pub type BatchItem<'a> = (&'a [u8], &'a [u8], &'a [u8], u64);

/// A record of a batch, encoded into the batch's buffer.
struct RunRecord<'k> {
    key: &'k [u8],
    /// Where its bytes start in the buffer.
    start: usize,
    /// Its location, but for segment and offset.
    loc: EntryLoc,
    /// The log it is appended to.
    log: Log,
}

/// A record ready to append: `head` (header, key, metadata and, usually, the value), then
/// `tail` (a large raw value, written without a copy).
pub struct Encoded<'v> {
    head: Vec<u8>,
    tail: &'v [u8],
    loc: EntryLoc,
}

impl Engine {
    /// Encodes a record for `key`, `meta` and `value` (outside any lock).
    pub fn encode<'v>(
        &self,
        key: &[u8],
        meta: &[u8],
        value: &'v [u8],
        expires_at: u64,
    ) -> Result<Encoded<'v>> {
        self.check_item(key, meta, value)?;
        let mut head = Vec::new();
        let item = (key, meta, value, expires_at);
        let (loc, separate) = self.encode_into(&mut head, item, true);
        Ok(Encoded {
            head,
            tail: if separate { value } else { &[] },
            loc,
        })
    }

    /// Compresses the value when that pays and appends the record to `out` (the item was
    /// checked by the caller): header and key, then the stored bytes, unless the value is raw, at
    /// least [`SEPARATE_VALUE_WRITE`] long and `allow_separate` (then the caller writes
    /// `value` itself, right after; the second result is true). The location's segment and
    /// offset are left 0.
    fn encode_into(
        &self,
        out: &mut Vec<u8>,
        (key, meta, value, expires_at): BatchItem<'_>,
        allow_separate: bool,
    ) -> (EntryLoc, bool) {
        let cfg = &self.settings;
        let compressed = maybe_compress(value, cfg.compression, cfg.compression_threshold);
        let (codec, stored) = match &compressed {
            Some(c) => (Codec::Lz4, c.as_slice()),
            None => (Codec::Raw, value),
        };
        let seq = self.next_seq();
        let separate = allow_separate && codec == Codec::Raw && value.len() >= SEPARATE_VALUE_WRITE;
        let inline_len = if separate { 0 } else { stored.len() };
        out.reserve(MAX_RECORD_HEADER_LEN + key.len() + meta.len() + inline_len);
        let raw_len = value.len() as u32;
        let parts = RecordParts {
            key,
            meta,
            stored,
            codec,
            raw_len,
            expires_at,
            seq,
        };
        let head = encode_record_head(out, &parts);
        if !separate {
            out.extend_from_slice(stored);
        }
        let loc = EntryLoc {
            segment: 0,
            offset: 0,
            stored_len: (meta.len() + stored.len()) as u32,
            raw_len,
            crc: head.crc,
            codec: codec as u8,
            key_len: key.len() as u16,
            head_len: head.head_len,
            expires_at,
        };
        (loc, separate)
    }

    /// Checks a key, metadata and a value size against the limits (all that encoding can
    /// refuse).
    fn check_item(&self, key: &[u8], meta: &[u8], value: &[u8]) -> Result<()> {
        self.check_key(key)?;
        crate::limits::check_value(value, self.settings.max_value_size)?;
        crate::limits::check_meta(meta)
    }

    /// Stores several values `(key, meta, value, expires_at)`. Every item is checked first, so a
    /// bad key or value fails the whole batch before anything is written. Then, chunk by
    /// chunk (about [`BATCH_CHUNK`] bytes), records are encoded into a reused buffer outside
    /// the lock and, under the writer lock, written in as few positional writes as the
    /// segments allow, their index entries staged. An I/O error midway leaves the chunks
    /// before it stored (as a failed `insert` in a loop would).
    pub fn insert_batch(&self, items: &[BatchItem<'_>]) -> Result<()> {
        for &(key, meta, value, _) in items {
            self.check_item(key, meta, value)?;
        }
        // Taken out of the thread's slot, so nothing that runs meanwhile can find it borrowed.
        let mut buf = BATCH_BUF.with(|b| std::mem::take(&mut *b.borrow_mut()));
        let mut rest = items;
        while !rest.is_empty() {
            buf.clear();
            let mut records = Vec::new();
            for &item in rest {
                if buf.len() >= BATCH_CHUNK {
                    break;
                }
                let start = buf.len();
                let (loc, _) = self.encode_into(&mut buf, item, false);
                let log = self.eviction.log_for_insert(item.0);
                records.push(RunRecord {
                    key: item.0,
                    start,
                    loc,
                    log,
                });
            }
            rest = &rest[records.len()..];
            self.append_run(&buf, &records)?;
            self.checkpoint_if_full()?;
        }
        if buf.capacity() <= 4 * BATCH_CHUNK {
            BATCH_BUF.with(|b| *b.borrow_mut() = buf);
        }
        Ok(())
    }

    /// Writes records encoded back to back in `buf` under one writer lock, and stages their
    /// index entries.
    fn append_run(&self, buf: &[u8], records: &[RunRecord<'_>]) -> Result<()> {
        let mut w = self.writer.lock();
        w.check_writable()?;
        let end_of = |i: usize| records.get(i + 1).map_or(buf.len(), |r| r.start);
        let mut first = 0;
        while first < records.len() {
            let (start, log) = (records[first].start, records[first].log);
            let room = w.segments().room_in(log) as usize;
            // The longest run of records of one log that fits its active segment; at least
            // one (appending it rotates to a new segment when it does not fit).
            let mut end = first + 1;
            while end < records.len() && records[end].log == log && end_of(end) - start <= room {
                end += 1;
            }
            let run = &buf[start..end_of(end - 1)];
            let (segment, offset) = self.append(&mut w, &[run], log)?;
            let mut staged = self.staged.write();
            for record in &records[first..end] {
                let loc = EntryLoc {
                    segment,
                    offset: offset + (record.start - start) as u32,
                    ..record.loc
                };
                staged.stage(record.key, Pending::Put(loc));
            }
            drop(staged);
            w.mark_dirty();
            Counters::add(&self.counters.inserts, (end - first) as u64);
            first = end;
        }
        Ok(())
    }

    /// Appends an encoded record and stages its index entry.
    pub fn insert_encoded(&self, key: &[u8], rec: &Encoded<'_>) -> Result<()> {
        {
            let mut w = self.writer.lock();
            w.check_writable()?;
            let log = self.eviction.log_for_insert(key);
            let (segment, offset) = self.append(&mut w, &[&rec.head, rec.tail], log)?;
            let loc = EntryLoc {
                segment,
                offset,
                ..rec.loc
            };
            self.stage(&mut w, key, Pending::Put(loc));
            Counters::bump(&self.counters.inserts);
        }
        self.checkpoint_if_full()
    }

    /// Stages an index change; it reaches redb at the next checkpoint.
    pub fn stage(&self, w: &mut WriterState, key: &[u8], op: Pending) {
        self.staged.write().stage(key, op);
        w.mark_dirty();
    }

    /// Wakes the background thread for a checkpoint once the changes staged since the last
    /// one fill half of what they may, and waits for one to take them when they fill all of
    /// it (call without the lock; see [`Self::wait_for_staged_room`]). The background thread
    /// syncs the segments and the index while inserts go on.
    pub(crate) fn checkpoint_if_full(&self) -> Result<()> {
        let used = self.staged_room_used();
        if used >= 1.0 {
            self.wait_for_staged_room()?;
        } else if used >= 0.5 {
            self.background.wake();
        }
        Ok(())
    }

    /// The fraction of what they may fill that the changes staged since the last checkpoint
    /// began fill. Three bounds, whichever is reached first: the memory budget's share for
    /// staged changes, the index room the staged keys may need ([`index_bytes_limit`]: small
    /// values in a small store fill it first), and `commit_batch` when set.
    ///
    /// [`index_bytes_limit`]: crate::engine::state::index_bytes_limit
    fn staged_room_used(&self) -> f64 {
        let staged = self.staged.read();
        let batch = staged.current_len() as f64 / self.memory.staged_changes as f64;
        batch
            .max(staged.index_room_used())
            .max(staged.memory_room_used())
    }

    /// The staged changes fill their share: a checkpoint must take them before more are
    /// staged. While one is running (its sync or its durable commit), asks the background
    /// thread for the next and waits until that one takes them, so this thread goes on
    /// inserting while the next one works. When none is running, runs one here.
    fn wait_for_staged_room(&self) -> Result<()> {
        loop {
            let seen = self.background.checkpoints_begun();
            if self.staged_room_used() < 1.0 {
                return Ok(());
            }
            match self.checkpoint_lock.try_lock() {
                Some(none_running) => {
                    drop(none_running);
                    return self.flush();
                }
                None => {
                    self.background.wake();
                    // A bounded wait: without a background thread (or with a poisoned
                    // store) the running checkpoint ends and this thread runs the next.
                    self.background
                        .wait_for_checkpoint_begun(seen, Duration::from_millis(10));
                }
            }
        }
    }

    /// Appends an insert's record (given as consecutive parts) to the active segment of
    /// `log`. When it does not fit, that segment is sealed (so eviction may take it too),
    /// eviction makes room for a new segment within the budget, then the segment writer
    /// rotates to it. Returns (segment id, offset).
    ///
    /// A file system that turns out to hold less than the budget (a full disk) lowers the
    /// budget to what it holds; eviction then makes room and the append is tried once more.
    /// Only when that fails too does the write fail ([`Error::DiskFull`]).
    fn append(&self, w: &mut WriterState, parts: &[&[u8]], log: Log) -> Result<(u32, u32)> {
        match self.append_within_budget(w, parts, log) {
            Err(full @ Error::DiskFull { .. }) => {
                self.keep_to_file_system(w);
                let need = parts.iter().map(|p| p.len() as u64).sum();
                // Evicting everything would not make room: keep everything, fail the write.
                if !self.could_fit(w, need) {
                    return Err(full);
                }
                // The active segments too may go: the append starts a new one.
                w.segments_mut().seal_all_active();
                self.make_room(w, w.segments().reserve_for(need), log)?;
                w.segments().wait_for_releases();
                self.append_within_budget(w, parts, log)
            }
            appended => appended,
        }
    }

    fn append_within_budget(
        &self,
        w: &mut WriterState,
        parts: &[&[u8]],
        log: Log,
    ) -> Result<(u32, u32)> {
        let need: u64 = parts.iter().map(|p| p.len() as u64).sum();
        if w.segments().room_in(log) < need {
            self.check_fits(w, need)?;
            w.segments_mut().seal_active(log);
            let reserve = w.segments().reserve_for(need);
            self.make_room(w, reserve, log)?;
            if !self.has_room_for(w, reserve, log) {
                // Eviction ran out of sealed segments (a record that takes most of the
                // capacity): the other log's active segment, and the room it reserves, go
                // too. Otherwise the next look at the budget would evict this record.
                w.segments_mut().seal_all_active();
                self.make_room(w, reserve, log)?;
            }
            w.rotate_for_insert(reserve, log)?;
        }
        w.append(parts, AppendFor::Insert, log)
    }

    /// Refuses a record of `need` bytes that could not fit in the capacity even with
    /// everything else evicted (a new segment for it, plus the index). Eviction would
    /// otherwise throw away everything else and still leave the store over its capacity.
    /// While the file system holds less than the capacity, the same for what it holds,
    /// looked at again first (the space may be back): then the error is [`Error::DiskFull`].
    fn check_fits(&self, w: &mut WriterState, need: u64) -> Result<()> {
        let capacity = w.capacity();
        if w.budget() < capacity && !self.could_fit(w, need) {
            self.keep_to_file_system(w);
            if !self.could_fit(w, need) {
                let dir = w.segments().dir().to_path_buf();
                return Err(Error::DiskFull {
                    available: crate::error::free_bytes(&dir),
                    path: dir,
                    needed: need,
                    source: std::io::Error::from_raw_os_error(libc::ENOSPC),
                });
            }
        }
        if need <= capacity / 8 {
            return Ok(()); // the common case, without a look at the index file
        }
        let kept = self.index.file_len() + w.reserve_bytes() + SEGMENT_HEADER_LEN as u64;
        let room = capacity.saturating_sub(kept);
        if need <= room {
            return Ok(());
        }
        Err(Error::DoesNotFit {
            dir: self.dir.clone(),
            len: need,
            capacity,
            max: room,
        })
    }

    /// Removes `key`; true when it was present (and not expired).
    pub fn remove(&self, key: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        let removed = {
            let mut w = self.writer.lock();
            w.check_writable()?;
            let Some(loc) = self.lookup(key)? else {
                return Ok(false);
            };
            self.stage(&mut w, key, Pending::Remove);
            Counters::bump(&self.counters.removes);
            !loc.is_expired(self.now_ms())
        };
        self.checkpoint_if_full()?;
        Ok(removed)
    }

    /// Drops `key` if it still points at `loc` (used when `loc` turned out to be corrupt).
    pub fn drop_if_at(&self, key: &[u8], loc: &EntryLoc) {
        let mut w = self.writer.lock();
        if w.is_poisoned() {
            return;
        }
        if let Ok(Some(current)) = self.lookup(key)
            && current == *loc
        {
            self.stage(&mut w, key, Pending::Remove);
        }
    }
}
