//! The write path: validate, encode, append to the active segment, stage the index change.

use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::codec::{Codec, maybe_compress};
use crate::error::{Error, Result};
use crate::index::{EntryLoc, SegmentMeta};
use crate::segment::Segment;
use crate::segment::format::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN, encode_record_head};
use crate::store::counters::Counters;
use crate::store::inner::{Inner, Pending, Writer};

/// A batch insert encodes and writes about this many bytes at a time.
const BATCH_CHUNK: usize = 256 << 10;

thread_local! {
    /// The encode buffer of batch inserts, reused so that a batch costs no fresh pages.
    static BATCH_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Raw values at least this large are written straight from the caller's buffer, in a
/// second positional write after header and key, instead of being copied into the record.
const SEPARATE_VALUE_WRITE: usize = 64 << 10;

/// A record ready to append: `head` (header, key and, usually, the value), then `tail`
/// (a large raw value, written without a copy).
pub struct Encoded<'v> {
    head: Vec<u8>,
    tail: &'v [u8],
    loc: EntryLoc,
}

impl Inner {
    /// Checks a key against the limits.
    pub fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.is_empty() {
            return Err(Error::EmptyKey);
        }
        if key.len() > self.config.max_key_len {
            return Err(Error::KeyTooLong {
                len: key.len(),
                max: self.config.max_key_len,
            });
        }
        Ok(())
    }

    /// Error to return when writes are refused.
    pub fn check_writable(&self, w: &Writer) -> Result<()> {
        match &w.poisoned {
            Some(cause) => Err(Error::Poisoned {
                dir: self.dir.clone(),
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Records a write-path failure: later writes are refused until reopen.
    pub fn poison(&self, w: &mut Writer, err: Error) -> Error {
        log::error!(
            "stratacache at {}: write path failed, refusing writes until reopened: {err}",
            self.dir.display()
        );
        w.poisoned.get_or_insert_with(|| err.to_string());
        err
    }

    /// Encodes a record for `key` and `value` (outside any lock).
    pub fn encode<'v>(&self, key: &[u8], value: &'v [u8], expires_at: u64) -> Result<Encoded<'v>> {
        self.check_item(key, value)?;
        let mut head = Vec::new();
        let (loc, separate) = self.encode_into(&mut head, key, value, expires_at, true);
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
        key: &[u8],
        value: &[u8],
        expires_at: u64,
        allow_separate: bool,
    ) -> (EntryLoc, bool) {
        let cfg = &self.config;
        let compressed = maybe_compress(value, cfg.compression, cfg.compression_threshold);
        let (codec, stored) = match &compressed {
            Some(c) => (Codec::Lz4, c.as_slice()),
            None => (Codec::Raw, value),
        };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let separate = allow_separate && codec == Codec::Raw && value.len() >= SEPARATE_VALUE_WRITE;
        let inline_len = if separate { 0 } else { stored.len() };
        out.reserve(RECORD_HEADER_LEN + key.len() + inline_len);
        let raw_len = value.len() as u32;
        let crc = encode_record_head(out, key, stored, codec, raw_len, expires_at, seq);
        if !separate {
            out.extend_from_slice(stored);
        }
        let loc = EntryLoc {
            segment: 0,
            offset: 0,
            stored_len: stored.len() as u32,
            raw_len,
            crc,
            codec: codec as u8,
            key_len: key.len() as u16,
            expires_at,
        };
        (loc, separate)
    }

    /// Checks a key and a value size against the limits (all that encoding can refuse).
    fn check_item(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.check_key(key)?;
        if value.len() > self.config.max_value_size {
            let max = self.config.max_value_size;
            return Err(Error::ValueTooLarge {
                len: value.len(),
                max,
            });
        }
        Ok(())
    }

    /// Stores several values `(key, value, expires_at)`. Every item is checked first, so a
    /// bad key or value fails the whole batch before anything is written. Then, chunk by
    /// chunk (about [`BATCH_CHUNK`] bytes), records are encoded into a reused buffer outside
    /// the lock and, under the writer lock, written in as few positional writes as the
    /// segments allow, their index entries staged. An I/O error midway leaves the chunks
    /// before it stored (as a failed `insert` in a loop would).
    pub fn insert_batch(&self, items: &[(&[u8], &[u8], u64)]) -> Result<()> {
        for &(key, value, _) in items {
            self.check_item(key, value)?;
        }
        // Taken out of the thread's slot, so nothing that runs meanwhile can find it borrowed.
        let mut buf = BATCH_BUF.with(|b| std::mem::take(&mut *b.borrow_mut()));
        let mut rest = items;
        while !rest.is_empty() {
            buf.clear();
            let mut records = Vec::new();
            for &(key, value, expires_at) in rest {
                if buf.len() >= BATCH_CHUNK {
                    break;
                }
                let start = buf.len();
                let (loc, _) = self.encode_into(&mut buf, key, value, expires_at, false);
                records.push((key, start, loc));
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

    /// Writes records encoded back to back in `buf` (`records`: key, start in `buf`,
    /// location) under one writer lock, and stages their index entries.
    fn append_run(&self, buf: &[u8], records: &[(&[u8], usize, EntryLoc)]) -> Result<()> {
        let mut w = self.writer.lock();
        self.check_writable(&w)?;
        let end_of = |i: usize| records.get(i + 1).map_or(buf.len(), |r| r.1);
        let mut first = 0;
        while first < records.len() {
            let start = records[first].1;
            let room = w.active.as_ref().map_or(0, |s| {
                s.reserved_len().saturating_sub(s.readable_len()) as usize
            });
            // The longest run of records that fits the active segment; at least one
            // (appending it rotates to a new segment when it does not fit).
            let mut end = first + 1;
            while end < records.len() && end_of(end) - start <= room {
                end += 1;
            }
            let (segment, offset) = self.append(&mut w, &[&buf[start..end_of(end - 1)]])?;
            let mut staged = self.pending.write();
            for &(key, at, loc) in &records[first..end] {
                let loc = EntryLoc {
                    segment,
                    offset: offset + (at - start) as u32,
                    ..loc
                };
                staged.current.insert(key.into(), Pending::Put(loc));
            }
            drop(staged);
            w.dirty = true;
            Counters::add(&self.counters.inserts, (end - first) as u64);
            first = end;
        }
        Ok(())
    }

    /// Appends an encoded record and stages its index entry.
    pub fn insert_encoded(&self, key: &[u8], rec: &Encoded<'_>) -> Result<()> {
        {
            let mut w = self.writer.lock();
            self.check_writable(&w)?;
            let (segment, offset) = self.append(&mut w, &[&rec.head, rec.tail])?;
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
    pub fn stage(&self, w: &mut Writer, key: &[u8], op: Pending) {
        self.pending.write().current.insert(key.into(), op);
        w.dirty = true;
    }

    /// Wakes the background thread for a checkpoint once half of `commit_batch` changes
    /// are staged, and runs one on the caller's thread when all of it is (call without the
    /// lock). The inserting thread thus rarely runs a checkpoint itself; the background
    /// thread syncs the segments while inserts go on.
    fn checkpoint_if_full(&self) -> Result<()> {
        let staged = self.pending.read().current.len();
        if staged >= self.config.commit_batch {
            self.flush()?;
        } else if staged >= self.config.commit_batch / 2 {
            self.background.wake();
        }
        Ok(())
    }

    /// Writes a record (given as consecutive parts) at the end of the active segment,
    /// rotating when it does not fit. Returns (segment id, offset).
    pub(crate) fn append(&self, w: &mut Writer, parts: &[&[u8]]) -> Result<(u32, u32)> {
        let need: u64 = parts.iter().map(|p| p.len() as u64).sum();
        let seg = match &w.active {
            Some(s) if s.readable_len() + need <= s.reserved_len() => s.clone(),
            _ => self.rotate(w, need)?,
        };
        let offset = seg.readable_len();
        let mut at = offset;
        for part in parts.iter().filter(|p| !p.is_empty()) {
            if let Err(e) = seg.file().write_all_at(part, at) {
                let err = Error::Io {
                    op: "append to segment",
                    path: seg.path().to_path_buf(),
                    source: e,
                };
                return Err(self.poison(w, err));
            }
            at += part.len() as u64;
        }
        seg.set_readable_len(offset + need);
        let meta = w.seg_meta.entry(seg.id()).or_default();
        meta.len = offset + need;
        w.dirty_meta.insert(seg.id());
        w.unsynced.insert(seg.id());
        Ok((seg.id(), offset as u32))
    }

    /// Seals the active segment and starts a new one with room for at least `need` bytes.
    fn rotate(&self, w: &mut Writer, need: u64) -> Result<Arc<Segment>> {
        let reserve = w.segment_size.max(SEGMENT_HEADER_LEN as u64 + need);
        self.make_room(w, reserve)?;
        if let Some(old) = w.active.take() {
            w.seg_meta.entry(old.id()).or_default().sealed = true;
            w.dirty_meta.insert(old.id());
            // Filled by compaction or eviction's moves: sync it while maintenance fills the
            // next one. (Not segments of inserts: at capacity most of them are evicted
            // before a checkpoint and never need writing at all.)
            if w.maintenance_segments.remove(&old.id()) {
                self.reaper.sync_early(old);
            }
        }
        let id = w.next_segment_id;
        let seg = match Segment::create(&self.segments_dir, id, reserve) {
            Ok(seg) => Arc::new(seg),
            Err(e) => return Err(self.poison(w, e)),
        };
        w.next_segment_id = id + 1;
        if w.in_maintenance {
            w.maintenance_segments.insert(id);
        }
        let now = self.config.clock.now_ms();
        w.seg_meta.insert(
            id,
            SegmentMeta {
                len: SEGMENT_HEADER_LEN as u64,
                last_access: now,
                ..Default::default()
            },
        );
        w.dirty_meta.insert(id);
        w.unsynced.insert(id);
        w.dir_changed = true;
        self.segments.write().insert(id, seg.clone());
        w.active = Some(seg.clone());
        Ok(seg)
    }

    /// Removes `key`; true when it was present (and not expired).
    pub fn remove(&self, key: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        let removed = {
            let mut w = self.writer.lock();
            self.check_writable(&w)?;
            let Some(loc) = self.lookup(key)? else {
                return Ok(false);
            };
            self.stage(&mut w, key, Pending::Remove);
            Counters::bump(&self.counters.removes);
            !loc.is_expired(self.config.clock.now_ms())
        };
        self.checkpoint_if_full()?;
        Ok(removed)
    }

    /// Drops `key` if it still points at `loc` (used when `loc` turned out to be corrupt).
    pub fn drop_if_at(&self, key: &[u8], loc: &EntryLoc) {
        let mut w = self.writer.lock();
        if w.poisoned.is_some() {
            return;
        }
        if let Ok(Some(current)) = self.lookup(key)
            && current == *loc
        {
            self.stage(&mut w, key, Pending::Remove);
        }
    }
}
