//! The redb tables of the index and their fixed-width records.
//!
//! ```text
//! entries   key bytes          -> EntryLoc (32 bytes)
//! expiry    (expires_at, key)  -> ()              only entries with an expiry
//! segments  segment id (u32)   -> SegmentMeta (40 bytes)
//! meta      name (&str)        -> u64             format version, settings, counters,
//!                                                 `user:` rows of the layers above
//! access_bits chunk (u32)      -> bytes           recently-read bits, saved at checkpoints
//! user_blobs name (&str)       -> bytes           blobs of the layers above (hit sketch)
//!
//! EntryLoc (little-endian)
//! offset size field
//!      0    4 segment id
//!      4    4 offset of the record header within the segment
//!      8    4 stored value length
//!     12    4 raw value length
//!     16    4 record crc (must equal the record's own)
//!     20    1 codec
//!     21    1 record header length (0 in entries written before format 3: 40)
//!     22    2 key length
//!     24    8 expires at (ms since the Unix epoch, 0 = never)
//!
//! SegmentMeta (little-endian)
//! offset size field
//!      0    8 length in bytes (of the file as of the commit)
//!      8    8 live bytes (record bytes of entries the index references)
//!     16    8 live record count
//!     24    8 last access (ms since the Unix epoch, approximate)
//!     32    1 state: 0 active, 1 sealed
//!     33    7 reserved
//! ```

use redb::{TableDefinition, TypeName, Value};

use crate::codec::Codec;
use crate::engine::segment::SegmentMeta;
use crate::engine::segment::format::WIDE_HEADER_LEN;

/// Key bytes to entry location.
pub const ENTRIES: TableDefinition<&[u8], EntryLoc> = TableDefinition::new("entries");
/// Where the entries are copied when the index is rewritten in key order (at close after
/// a bulk load); renamed to `entries` in the same transaction, so it never outlives one.
pub const ENTRIES_REWRITE: TableDefinition<&[u8], EntryLoc> =
    TableDefinition::new("entries_rewrite");
/// Expiry order, for sweeping.
pub const EXPIRY: TableDefinition<(u64, &[u8]), ()> = TableDefinition::new("expiry");
/// Segment accounting.
pub const SEGMENTS: TableDefinition<u32, SegmentMeta> = TableDefinition::new("segments");
/// Recently-read bits for eviction, in 64 KiB chunks (saved approximately).
pub const ACCESS: TableDefinition<u32, &[u8]> = TableDefinition::new("access_bits");
/// Format version, settings and lifetime counters.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Named blobs the layers above keep with the index (created by the first one saved).
pub const USER_BLOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("user_blobs");

/// Where an entry's record lives and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryLoc {
    /// Segment id.
    pub segment: u32,
    /// Offset of the record header in the segment.
    pub offset: u32,
    /// Stored (possibly compressed) value length.
    pub stored_len: u32,
    /// Value length after decoding.
    pub raw_len: u32,
    /// The record's CRC.
    pub crc: u32,
    /// Storage codec (raw byte value of [`Codec`]).
    pub codec: u8,
    /// Key length.
    pub key_len: u16,
    /// Length of the record's header.
    pub head_len: u8,
    /// Expiry in ms since the Unix epoch, 0 = never.
    pub expires_at: u64,
}

const ENTRY_LOC_LEN: usize = 32;

impl EntryLoc {
    /// Bytes the record occupies in its segment.
    pub fn record_len(&self) -> u64 {
        (self.head_len as usize + self.key_len as usize) as u64 + self.stored_len as u64
    }

    /// The codec, if the byte is valid.
    pub fn codec(&self) -> Option<Codec> {
        Codec::from_u8(self.codec)
    }

    /// True when the entry has an expiry at or before `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_at != 0 && self.expires_at <= now_ms
    }

    /// Encodes to the fixed-width form.
    pub fn encode(&self) -> [u8; ENTRY_LOC_LEN] {
        let mut b = [0u8; ENTRY_LOC_LEN];
        b[0..4].copy_from_slice(&self.segment.to_le_bytes());
        b[4..8].copy_from_slice(&self.offset.to_le_bytes());
        b[8..12].copy_from_slice(&self.stored_len.to_le_bytes());
        b[12..16].copy_from_slice(&self.raw_len.to_le_bytes());
        b[16..20].copy_from_slice(&self.crc.to_le_bytes());
        b[20] = self.codec;
        b[21] = self.head_len;
        b[22..24].copy_from_slice(&self.key_len.to_le_bytes());
        b[24..32].copy_from_slice(&self.expires_at.to_le_bytes());
        b
    }

    /// Decodes the fixed-width form. Never panics: short input is zero-padded, and every
    /// field is validated against the segment record when used.
    pub fn decode(data: &[u8]) -> Self {
        let mut b = [0u8; ENTRY_LOC_LEN];
        let n = data.len().min(ENTRY_LOC_LEN);
        b[..n].copy_from_slice(&data[..n]);
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        Self {
            segment: u32_at(0),
            offset: u32_at(4),
            stored_len: u32_at(8),
            raw_len: u32_at(12),
            crc: u32_at(16),
            codec: b[20],
            key_len: u16::from_le_bytes([b[22], b[23]]),
            // Entries written before format 3 left the byte zero: their records are wide.
            head_len: if b[21] == 0 {
                WIDE_HEADER_LEN as u8
            } else {
                b[21]
            },
            expires_at: u64::from_le_bytes(b[24..32].try_into().expect("8 bytes")),
        }
    }
}

impl Value for EntryLoc {
    type SelfType<'a> = EntryLoc;
    type AsBytes<'a> = [u8; ENTRY_LOC_LEN];

    fn fixed_width() -> Option<usize> {
        Some(ENTRY_LOC_LEN)
    }

    fn from_bytes<'a>(data: &'a [u8]) -> EntryLoc
    where
        Self: 'a,
    {
        EntryLoc::decode(data)
    }

    fn as_bytes<'a, 'b: 'a>(value: &'a EntryLoc) -> [u8; ENTRY_LOC_LEN]
    where
        Self: 'b,
    {
        value.encode()
    }

    fn type_name() -> TypeName {
        TypeName::new("stratacache::EntryLoc")
    }
}

/// Names of the rows in the meta table.
pub mod meta_keys {
    /// On-disk format version.
    pub const FORMAT_VERSION: &str = "format_version";
    /// Configured capacity in bytes.
    pub const CAPACITY: &str = "capacity_bytes";
    /// Next segment id to allocate.
    pub const NEXT_SEGMENT: &str = "next_segment_id";
    /// Next write sequence number.
    pub const NEXT_SEQ: &str = "next_seq";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_loc_round_trips() {
        let loc = EntryLoc {
            segment: 3,
            offset: 99,
            stored_len: 10,
            raw_len: 20,
            crc: 0xdead_beef,
            codec: 1,
            key_len: 300,
            head_len: 12,
            expires_at: 123_456,
        };
        assert_eq!(EntryLoc::decode(&loc.encode()), loc);
    }
}
