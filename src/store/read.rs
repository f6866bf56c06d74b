//! The read path: find the location, check expiry, verify the record, hand out the value.

use std::ops::Deref;
use std::sync::Arc;

use crate::codec::{Codec, decompress};
use crate::error::Result;
use crate::index::EntryLoc;
use crate::segment::Segment;
use crate::segment::format::{RecordView, decode_record};
use crate::store::counters::Counters;
use crate::store::inner::{Inner, Pending, read_index_loc};

/// A value read from the store. Uncompressed values borrow the segment mapping (no copy);
/// the mapping stays valid as long as this guard lives, even if the segment is deleted.
pub struct ValueRef {
    repr: Repr,
}

enum Repr {
    Mapped {
        segment: Arc<Segment>,
        start: u64,
        len: usize,
    },
    Owned(Vec<u8>),
}

impl ValueRef {
    /// Copies the value into a `Vec`.
    pub fn to_vec(&self) -> Vec<u8> {
        self.deref().to_vec()
    }

    /// True when the value borrows the segment mapping rather than owning a copy.
    pub fn is_mapped(&self) -> bool {
        matches!(self.repr, Repr::Mapped { .. })
    }
}

impl Deref for ValueRef {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.repr {
            // The range was checked when the guard was made and the mapping only grows.
            Repr::Mapped {
                segment,
                start,
                len,
            } => segment.bytes(*start, *len).unwrap_or(&[]),
            Repr::Owned(v) => v,
        }
    }
}

impl AsRef<[u8]> for ValueRef {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for ValueRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueRef")
            .field("len", &self.len())
            .field("mapped", &self.is_mapped())
            .finish()
    }
}

/// Checks the record at `loc` in `segment` against the index entry and the key.
pub fn check_record<'a>(
    segment: &'a Segment,
    loc: &EntryLoc,
    key: &[u8],
) -> Result<RecordView<'a>, String> {
    let bytes = segment
        .bytes(loc.offset as u64, loc.record_len() as usize)
        .ok_or_else(|| {
            format!(
                "record past the end of segment {} (truncated file?)",
                segment.id()
            )
        })?;
    let view = decode_record(bytes).map_err(|e| format!("record: {e}"))?;
    if view.header.crc != loc.crc || view.header.stored_len != loc.stored_len {
        return Err("record does not match its index entry".into());
    }
    if view.key != key {
        return Err("record holds a different key".into());
    }
    Ok(view)
}

impl Inner {
    /// Current location of `key`: staged change, then location cache, then redb.
    pub fn lookup(&self, key: &[u8]) -> Result<Option<EntryLoc>> {
        if let Some(op) = self.pending.read().get(key) {
            return Ok(match op {
                Pending::Put(loc) => Some(*loc),
                Pending::Remove => None,
            });
        }
        let (cached, epoch) = self.locs.get(key);
        if cached.is_some() {
            return Ok(cached);
        }
        let loc = read_index_loc(&self.db, &self.index_path, key)?;
        if let Some(loc) = loc {
            self.locs.fill(key, loc, epoch);
        }
        Ok(loc)
    }

    /// Reads `key`, counting hits, misses and corruption.
    pub fn get(&self, key: &[u8]) -> Result<Option<ValueRef>> {
        self.check_key(key)?;
        let found = match self.lookup(key)? {
            Some(loc) if !loc.is_expired(self.config.clock.now_ms()) => self.read_value(key, &loc),
            _ => None,
        };
        Counters::bump(if found.is_some() {
            &self.counters.hits
        } else {
            &self.counters.misses
        });
        Ok(found)
    }

    /// True when `key` is present and not expired (no record check).
    pub fn contains_key(&self, key: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        let now = self.config.clock.now_ms();
        Ok(self.lookup(key)?.is_some_and(|loc| !loc.is_expired(now)))
    }

    /// Reads and verifies the value at `loc`; corruption becomes `None`.
    fn read_value(&self, key: &[u8], loc: &EntryLoc) -> Option<ValueRef> {
        let segment = self.segments.read().get(&loc.segment).cloned();
        let result = match &segment {
            Some(seg) => {
                check_record(seg, loc, key).and_then(|view| self.value_of(seg, loc, &view))
            }
            None => Err(format!("segment {} is missing", loc.segment)),
        };
        match result {
            Ok(value) => Some(value),
            Err(reason) => {
                self.report_corruption(key, loc, &reason);
                None
            }
        }
    }

    fn value_of(
        &self,
        seg: &Arc<Segment>,
        loc: &EntryLoc,
        view: &RecordView<'_>,
    ) -> Result<ValueRef, String> {
        match view.header.codec {
            Codec::Raw => {
                let start = loc.offset as u64 + loc.record_len() - loc.stored_len as u64;
                Ok(ValueRef {
                    repr: Repr::Mapped {
                        segment: seg.clone(),
                        start,
                        len: loc.stored_len as usize,
                    },
                })
            }
            Codec::Lz4 => {
                let raw = decompress(view.stored, view.header.raw_len as usize)
                    .map_err(|e| format!("lz4: {e}"))?;
                Ok(ValueRef {
                    repr: Repr::Owned(raw),
                })
            }
        }
    }

    /// Counts, logs and drops a corrupt entry.
    pub fn report_corruption(&self, key: &[u8], loc: &EntryLoc, reason: &str) {
        Counters::bump(&self.counters.corruptions);
        log::warn!(
            "stratacache at {}: corrupt entry {:?} (segment {}, offset {}): {reason}; treating it as a miss",
            self.dir.display(),
            String::from_utf8_lossy(key),
            loc.segment,
            loc.offset
        );
        self.drop_if_at(key, loc);
    }
}
