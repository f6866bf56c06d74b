//! The read path: find the location, check expiry, verify the record, hand out the value.

use std::ops::Deref;
use std::sync::Arc;

use crate::codec::{Codec, decompress};
use crate::engine::index::EntryLoc;
use crate::engine::index::tables::ENTRIES;
use crate::engine::segment::Segment;
use crate::engine::segment::format::{RecordView, decode_record};
use crate::engine::state::{Counters, Engine};
use crate::error::Result;

/// A value read from the store. Uncompressed values borrow the segment mapping (no copy);
/// the mapping stays valid as long as this guard lives, even if the segment is deleted.
pub struct ValueRef {
    repr: Repr,
    expires_at: u64,
    meta: Meta,
}

/// What a record keeps beside its value.
enum Meta {
    /// A format 1 record: no metadata field.
    Legacy,
    /// A format 2 record's metadata (empty for plain values).
    Beside(Box<[u8]>),
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

    /// Absolute expiry in ms since the Unix epoch (on the store's clock); `None` when the
    /// value never expires.
    pub fn expires_at_ms(&self) -> Option<u64> {
        (self.expires_at != 0).then_some(self.expires_at)
    }

    /// The metadata kept beside the value, or `None` for a record written before format 2
    /// (which had no such field).
    pub(crate) fn meta(&self) -> Option<&[u8]> {
        match &self.meta {
            Meta::Legacy => None,
            Meta::Beside(bytes) => Some(bytes),
        }
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
    let h = &view.header;
    if h.crc != loc.crc
        || h.stored_len != loc.stored_len
        || h.raw_len != loc.raw_len
        || h.key_len != loc.key_len
        || h.codec as u8 != loc.codec
    {
        return Err("record does not match its index entry".into());
    }
    if view.key != key {
        return Err("record holds a different key".into());
    }
    Ok(view)
}

impl Engine {
    /// Current location of `key`: staged change, then location cache, then redb.
    pub fn lookup(&self, key: &[u8]) -> Result<Option<EntryLoc>> {
        if let Some(op) = self.staged.read().get(key) {
            return Ok(op.loc());
        }
        let (cached, epoch) = self.locs.get(key);
        if cached.is_some() {
            return Ok(cached);
        }
        let loc = self.index.read(|txn| {
            let table = txn.open_table(ENTRIES)?;
            Ok(table.get(key)?.map(|g| g.value()))
        })?;
        if let Some(loc) = loc {
            self.locs.fill(key, loc, epoch);
        }
        Ok(loc)
    }

    /// Reads `key`, counting hits, misses and corruption.
    pub fn get(&self, key: &[u8]) -> Result<Option<ValueRef>> {
        self.check_key(key)?;
        let found = self.find_value(key)?;
        if found.is_some() {
            self.eviction.read(key);
            Counters::bump(&self.counters.hits);
        } else {
            Counters::bump(&self.counters.misses);
        }
        Ok(found)
    }

    /// A record can move (compaction, eviction) between the lookup and the read; then the
    /// old location fails and a second lookup finds the new one. Only a failure at a
    /// location that is still current is corruption.
    fn find_value(&self, key: &[u8]) -> Result<Option<ValueRef>> {
        for _ in 0..3 {
            let now = self.now_ms();
            let Some(loc) = self.lookup(key)?.filter(|l| !l.is_expired(now)) else {
                return Ok(None);
            };
            match self.read_value(key, &loc) {
                Ok(value) => return Ok(Some(value)),
                Err(reason) if self.lookup(key)? == Some(loc) => {
                    self.report_corruption(key, &loc, &reason);
                    return Ok(None);
                }
                Err(_) => continue,
            }
        }
        Ok(None)
    }

    /// True when `key` is present and not expired (no record check).
    pub fn contains_key(&self, key: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        let now = self.now_ms();
        Ok(self.lookup(key)?.is_some_and(|loc| !loc.is_expired(now)))
    }

    /// Reads and verifies the value at `loc`; the error says what is wrong with it.
    fn read_value(&self, key: &[u8], loc: &EntryLoc) -> Result<ValueRef, String> {
        let segment = self.segments.get(loc.segment);
        match &segment {
            Some(seg) => check_record(seg, loc, key).and_then(|view| value_of(seg, loc, &view)),
            None => Err(format!("segment {} is missing", loc.segment)),
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

/// The value of a checked record: borrowed from the mapping when raw, decoded when lz4.
/// Positions come from the record itself, which the CRC vouches for; the expiry comes from
/// the index entry (TTL changes update only the index).
fn value_of(seg: &Arc<Segment>, loc: &EntryLoc, view: &RecordView<'_>) -> Result<ValueRef, String> {
    let repr = match view.header.codec {
        Codec::Raw => Repr::Mapped {
            segment: seg.clone(),
            start: loc.offset as u64 + view.header.value_offset() as u64,
            len: view.stored.len(),
        },
        Codec::Lz4 => Repr::Owned(
            decompress(view.stored, view.header.raw_len as usize)
                .map_err(|e| format!("lz4: {e}"))?,
        ),
    };
    let meta = if view.header.is_legacy() {
        Meta::Legacy
    } else {
        Meta::Beside(view.meta.into())
    };
    Ok(ValueRef {
        repr,
        expires_at: loc.expires_at,
        meta,
    })
}
