//! The read path: find the location, check expiry, verify the record, hand out the value.

use std::ops::Deref;
use std::sync::Arc;

use crate::codec::{Codec, decompress};
use crate::engine::index::EntryLoc;
use crate::engine::prefetch::prefetch;
use crate::engine::segment::Segment;
use crate::engine::segment::format::{RecordView, decode_record, decode_split_record};
use crate::engine::state::{Counters, Engine};
use crate::error::Result;

/// A value read from the store. Short values (records up to 64 KiB) are copied out of the
/// segment and checked in the copy; longer uncompressed values borrow the segment mapping
/// (no copy), which stays valid as long as this guard lives, even if the segment is
/// deleted; compressed values are decoded into memory of their own.
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

    /// The value as a `Vec`: no copy when it already owns one (short and compressed
    /// values), a copy of the mapped bytes otherwise.
    pub fn into_vec(self) -> Vec<u8> {
        match self.repr {
            Repr::Owned(value) => value,
            Repr::Mapped { .. } => self.to_vec(),
        }
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

/// Raw records up to this many bytes are copied out of the mapping and checked in the copy
/// (see [`ValueRef`]); longer ones are checked in place and lent out.
const COPY_LIMIT: u64 = 64 << 10;

/// The bytes of the record at `loc` in `segment`.
fn record_bytes<'a>(segment: &'a Segment, loc: &EntryLoc) -> Result<&'a [u8], String> {
    (segment.bytes(loc.offset as u64, loc.record_len() as usize)).ok_or_else(|| {
        format!(
            "record past the end of segment {} (truncated file?)",
            segment.id()
        )
    })
}

/// Checks the record at `loc` in `segment` against the index entry and the key.
pub fn check_record<'a>(
    segment: &'a Segment,
    loc: &EntryLoc,
    key: &[u8],
) -> Result<RecordView<'a>, String> {
    let bytes = record_bytes(segment, loc)?;
    prefetch(bytes);
    check_record_bytes(bytes, loc, key)
}

/// Checks a record's bytes (CRC, header) against the index entry that led to them and the
/// key.
fn check_record_bytes<'a>(
    bytes: &'a [u8],
    loc: &EntryLoc,
    key: &[u8],
) -> Result<RecordView<'a>, String> {
    let view = decode_record(bytes).map_err(|e| format!("record: {e}"))?;
    check_view(view, loc, key)
}

/// Checks a decoded record (its CRC held) against the index entry and the key.
fn check_view<'a>(
    view: RecordView<'a>,
    loc: &EntryLoc,
    key: &[u8],
) -> Result<RecordView<'a>, String> {
    let h = &view.header;
    if h.crc != loc.crc
        || h.stored_len != loc.stored_len
        || h.raw_len != loc.raw_len
        || h.key_len != loc.key_len
        || h.head_len != loc.head_len
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
        if let Some(loc) = self.staged.change_of(key) {
            return Ok(loc);
        }
        let epoch = match self.locs.get(key) {
            Ok(cached) => return Ok(Some(cached)),
            Err(epoch) => epoch,
        };
        let loc = self.index.entry(key)?;
        if let Some(loc) = loc {
            self.locs.fill(key, loc, epoch);
        }
        Ok(loc)
    }

    /// Reads `key`, counting hits, misses and corruption.
    pub fn get(&self, key: &[u8]) -> Result<Option<ValueRef>> {
        self.check_key(key)?;
        self.eviction.prefetch(key);
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
            let Some(loc) = self.lookup(key)?.filter(|l| !self.has_expired(l)) else {
                return Ok(None);
            };
            match self.read_value(key, &loc) {
                Ok(value) => return Ok(Some(value)),
                Err(reason) => {
                    // The cached location may be stale (or, against odds of 2^-128,
                    // another key's): ask the index again before calling it corruption.
                    self.locs.forget(key);
                    if self.lookup(key)? == Some(loc) {
                        self.report_corruption(key, &loc, &reason);
                        return Ok(None);
                    }
                }
            }
        }
        Ok(None)
    }

    /// True when `key` is present and not expired (no record check).
    pub fn contains_key(&self, key: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        Ok(self.lookup(key)?.is_some_and(|loc| !self.has_expired(&loc)))
    }

    /// True when `loc` has an expiry and it has passed (reads the clock only then).
    fn has_expired(&self, loc: &EntryLoc) -> bool {
        loc.expires_at != 0 && loc.is_expired(self.now_ms())
    }

    /// Reads and verifies the value at `loc`; the error says what is wrong with it.
    fn read_value(&self, key: &[u8], loc: &EntryLoc) -> Result<ValueRef, String> {
        let missing = || format!("segment {} is missing", loc.segment);
        if loc.codec == Codec::Raw as u8 && loc.record_len() <= COPY_LIMIT {
            // The copy needs the segment only while it copies: no reference to keep.
            let copied = self
                .segments
                .with(loc.segment, |seg| copied_value(seg, loc, key));
            return copied.unwrap_or_else(|| Err(missing()));
        }
        let seg = self.segments.get(loc.segment).ok_or_else(missing)?;
        check_record(&seg, loc, key).and_then(|view| value_of(&seg, loc, &view))
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

/// Record heads (header, key, metadata) up to this long are copied onto the stack.
const SMALL_HEAD: usize = 512;

/// The value of a short raw record: one pass copies it out of the mapping (as fast as a
/// plain copy streams it from memory), and the check runs on the copy, in the CPU's cache;
/// what is handed out is exactly what was checked, in a `Vec` of its own.
fn copied_value(seg: &Segment, loc: &EntryLoc, key: &[u8]) -> Result<ValueRef, String> {
    let bytes = record_bytes(seg, loc)?;
    // A raw record ends with its value, `raw_len` bytes long: where the value starts is
    // known without waiting for the header (the check below confirms it).
    let start = bytes.len().saturating_sub(loc.raw_len as usize);
    prefetch(bytes);
    let (mut small, mut large) = ([0u8; SMALL_HEAD], Vec::new());
    let head = if start <= SMALL_HEAD {
        &mut small[..start]
    } else {
        large.resize(start, 0);
        &mut large[..]
    };
    head.copy_from_slice(&bytes[..start]);
    let value = bytes[start..].to_vec();
    let view = decode_split_record(head, &value).map_err(|e| format!("record: {e}"))?;
    let meta = meta_of(&check_view(view, loc, key)?);
    Ok(ValueRef {
        repr: Repr::Owned(value),
        expires_at: loc.expires_at,
        meta,
    })
}

/// What a checked record keeps beside its value.
fn meta_of(view: &RecordView<'_>) -> Meta {
    if view.header.is_legacy() {
        Meta::Legacy
    } else {
        Meta::Beside(view.meta.into())
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
    Ok(ValueRef {
        repr,
        expires_at: loc.expires_at,
        meta: meta_of(view),
    })
}
