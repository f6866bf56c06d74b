//! Byte layout of segment files. Everything is little-endian.
//!
//! A segment file is a 32-byte header followed by records, back to back:
//!
//! ```text
//! Segment header (SEGMENT_HEADER_LEN = 32 bytes)
//! offset  size  field
//!      0     8  magic            b"STRATSEG"
//!      8     4  format version   u32 (FORMAT_VERSION)
//!     12     4  header crc       crc32 of bytes 0..12 and 16..32
//!     16     8  segment id       u64
//!     24     8  reserved         zero
//! ```
//!
//! A record is a header, then the key, then metadata (what the cache keeps beside a value:
//! the TTL it was written with, tags; empty for plain values), then the stored value (the
//! user's bytes, raw or lz4). The header has one of two layouts, told apart by its first
//! byte: the [`compact`] one that format 3 writes, and the [`wide`] 40-byte one of formats
//! 1 and 2, which stores written before keep. A segment may hold both.
//!
//! Each header has a CRC over every byte after it (the rest of the header, key, metadata and
//! value), so a record can be verified, and mapped back to its key, from the segment file
//! alone.
//!
//! Format 1 records have no metadata field; the tiered cache of format 1 wrapped its
//! metadata around the value instead, which is why readers are told which layout a record
//! has (see [`RecordHeader::is_legacy`]).

pub mod compact;
pub mod wide;

use crate::codec::Codec;

/// Segment file magic.
pub const SEGMENT_MAGIC: [u8; 8] = *b"STRATSEG";
/// On-disk format version written by this build (segments and index).
pub const FORMAT_VERSION: u32 = 3;
/// Length of the segment header.
pub const SEGMENT_HEADER_LEN: usize = 32;
const SEG_VERSION: usize = 8;
const SEG_CRC: usize = 12;
const SEG_ID: usize = 16;

/// Why bytes failed to decode as a header or record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// Fewer bytes than the structure needs.
    Truncated { needed: usize, available: usize },
    /// The magic bytes are wrong.
    BadMagic,
    /// The stored CRC does not match the bytes.
    CrcMismatch { stored: u32, computed: u32 },
    /// The format version is newer than this build understands.
    NewerVersion(u32),
    /// A field holds a value no writer produces.
    BadField(&'static str),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { needed, available } => {
                write!(f, "truncated: needs {needed} bytes, {available} available")
            }
            Self::BadMagic => write!(f, "bad magic"),
            Self::CrcMismatch { stored, computed } => {
                write!(
                    f,
                    "crc mismatch (stored {stored:08x}, computed {computed:08x})"
                )
            }
            Self::NewerVersion(v) => write!(f, "format version {v} is newer than {FORMAT_VERSION}"),
            Self::BadField(name) => write!(f, "invalid {name} field"),
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn need(bytes: &[u8], needed: usize) -> Result<(), FormatError> {
    if bytes.len() < needed {
        return Err(FormatError::Truncated {
            needed,
            available: bytes.len(),
        });
    }
    Ok(())
}

/// Encodes the header of segment `id`.
pub fn encode_segment_header(id: u64) -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[..8].copy_from_slice(&SEGMENT_MAGIC);
    h[SEG_VERSION..SEG_VERSION + 4].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[SEG_ID..SEG_ID + 8].copy_from_slice(&id.to_le_bytes());
    let crc = segment_header_crc(&h);
    h[SEG_CRC..SEG_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    h
}

fn segment_header_crc(h: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&h[..SEG_CRC]);
    hasher.update(&h[SEG_CRC + 4..SEGMENT_HEADER_LEN]);
    hasher.finalize()
}

/// Decodes a segment header and returns the segment id.
pub fn decode_segment_header(bytes: &[u8]) -> Result<u64, FormatError> {
    need(bytes, SEGMENT_HEADER_LEN)?;
    if bytes[..8] != SEGMENT_MAGIC {
        return Err(FormatError::BadMagic);
    }
    let stored = u32_at(bytes, SEG_CRC);
    let computed = segment_header_crc(bytes);
    if stored != computed {
        return Err(FormatError::CrcMismatch { stored, computed });
    }
    let version = u32_at(bytes, SEG_VERSION);
    if version > FORMAT_VERSION {
        return Err(FormatError::NewerVersion(version));
    }
    Ok(u64_at(bytes, SEG_ID))
}

/// The longest record header of any layout.
pub const MAX_RECORD_HEADER_LEN: usize = if compact::MAX_COMPACT_HEADER_LEN > WIDE_HEADER_LEN {
    compact::MAX_COMPACT_HEADER_LEN
} else {
    WIDE_HEADER_LEN
};

pub use compact::COMPACT_MAGIC;
pub use wide::{WIDE_HEADER_LEN, WIDE_MAGIC, encode_wide_record};

/// Which header layout a record has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Format 1: wide header, no metadata field.
    Format1,
    /// Format 2: wide header with a metadata field.
    Wide,
    /// Format 3: compact header.
    Compact,
}

/// The fields of a record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// CRC stored in the record.
    pub crc: u32,
    /// How the value is stored.
    pub codec: Codec,
    /// Key length in bytes.
    pub key_len: u16,
    /// Bytes after the key: metadata plus the stored value.
    pub stored_len: u32,
    /// Value length after decoding.
    pub raw_len: u32,
    /// Metadata length in bytes (at most `stored_len`).
    pub meta_len: u32,
    /// The header's layout.
    pub layout: Layout,
    /// Length of the header itself (40 for wide headers).
    pub head_len: u8,
    /// Absolute expiry in ms since the Unix epoch, 0 for none.
    pub expires_at: u64,
    /// Write sequence number.
    pub seq: u64,
}

impl RecordHeader {
    /// Total bytes of the record: header, key, metadata and stored value.
    pub fn record_len(&self) -> usize {
        self.head_len as usize + self.key_len as usize + self.stored_len as usize
    }

    /// True for a format 1 record: no metadata field, and a value written by the format 1
    /// tiered cache may hold its metadata wrapped around the user's bytes.
    pub fn is_legacy(&self) -> bool {
        self.layout == Layout::Format1
    }

    /// Bytes from the record start to the stored value.
    pub fn value_offset(&self) -> usize {
        self.head_len as usize + self.key_len as usize + self.meta_len as usize
    }

    /// Where the CRC's coverage starts (everything after the CRC field).
    fn crc_from(&self) -> usize {
        match self.layout {
            Layout::Compact => compact::CRC_AT + 4,
            Layout::Format1 | Layout::Wide => wide::CRC_AT + 4,
        }
    }
}

/// What one record holds, borrowed from the writer.
#[derive(Debug, Clone, Copy)]
pub struct RecordParts<'a> {
    /// The key.
    pub key: &'a [u8],
    /// Metadata kept beside the value (empty for plain values).
    pub meta: &'a [u8],
    /// The value as stored.
    pub stored: &'a [u8],
    /// How `stored` is encoded.
    pub codec: Codec,
    /// Value length after decoding.
    pub raw_len: u32,
    /// Absolute expiry in ms, 0 = never.
    pub expires_at: u64,
    /// Write sequence number.
    pub seq: u64,
}

/// What encoding a record's head says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedHead {
    /// The record's CRC.
    pub crc: u32,
    /// Length of its header.
    pub head_len: u8,
}

/// Appends a full record (compact header, key, metadata, stored value) to `out`.
pub fn encode_record(out: &mut Vec<u8>, parts: &RecordParts<'_>) -> EncodedHead {
    let head = encode_record_head(out, parts);
    out.extend_from_slice(parts.stored);
    head
}

/// Appends a record's compact header, key and metadata to `out`, with the CRC computed over
/// the stored value as well; the value must follow directly in the segment (written
/// separately, so a large value is never copied).
pub fn encode_record_head(out: &mut Vec<u8>, parts: &RecordParts<'_>) -> EncodedHead {
    let mut header = [0u8; compact::MAX_COMPACT_HEADER_LEN];
    let head_len = compact::encode_header(&mut header, parts);
    let start = out.len();
    out.extend_from_slice(&header[..head_len]);
    out.extend_from_slice(parts.key);
    out.extend_from_slice(parts.meta);
    let crc_at = start + compact::CRC_AT;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&out[crc_at + 4..]);
    hasher.update(parts.stored);
    let crc = hasher.finalize();
    out[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
    EncodedHead {
        crc,
        head_len: head_len as u8,
    }
}

/// Decodes and sanity-checks a record header of either layout (without verifying the CRC).
pub fn decode_record_header(bytes: &[u8]) -> Result<RecordHeader, FormatError> {
    let header = match bytes.first() {
        None => {
            return Err(FormatError::Truncated {
                needed: 1,
                available: 0,
            });
        }
        Some(&COMPACT_MAGIC) => compact::decode_header(bytes)?,
        Some(_) if bytes.starts_with(&WIDE_MAGIC) => wide::decode_header(bytes)?,
        Some(_) if WIDE_MAGIC.starts_with(bytes) => {
            return Err(FormatError::Truncated {
                needed: WIDE_HEADER_LEN,
                available: bytes.len(),
            });
        }
        Some(_) => return Err(FormatError::BadMagic),
    };
    if header.meta_len > header.stored_len {
        return Err(FormatError::BadField("metadata length"));
    }
    if header.codec == Codec::Raw && header.raw_len != header.stored_len - header.meta_len {
        return Err(FormatError::BadField("raw length"));
    }
    Ok(header)
}

/// True when a record header of some layout may start at `bytes` (for resynchronising a
/// scan after damage; the CRC decides).
pub fn may_start_record(bytes: &[u8]) -> bool {
    bytes.first() == Some(&COMPACT_MAGIC) || bytes.starts_with(&WIDE_MAGIC)
}

/// A record whose CRC checked out: its header, key, metadata and stored value.
#[derive(Debug)]
pub struct RecordView<'a> {
    /// The decoded header.
    pub header: RecordHeader,
    /// The record's key.
    pub key: &'a [u8],
    /// Metadata kept beside the value (empty for plain values and format 1 records).
    pub meta: &'a [u8],
    /// The value as stored (compressed when `header.codec` says so).
    pub stored: &'a [u8],
}

/// Decodes the record at the start of `bytes` and verifies its CRC.
pub fn decode_record(bytes: &[u8]) -> Result<RecordView<'_>, FormatError> {
    let header = decode_record_header(bytes)?;
    let total = header.record_len();
    need(bytes, total)?;
    let value_start = header.value_offset();
    decode_split_record(&bytes[..value_start], &bytes[value_start..total])
}

/// Decodes a record given as two parts, the bytes before its stored value (`head`) and the
/// stored value, and verifies the CRC over both.
pub fn decode_split_record<'a>(
    head: &'a [u8],
    stored: &'a [u8],
) -> Result<RecordView<'a>, FormatError> {
    let header = decode_record_header(head)?;
    if head.len() != header.value_offset() || head.len() + stored.len() != header.record_len() {
        return Err(FormatError::BadField("record length"));
    }
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&head[header.crc_from()..]);
    hasher.update(stored);
    let computed = hasher.finalize();
    if computed != header.crc {
        return Err(FormatError::CrcMismatch {
            stored: header.crc,
            computed,
        });
    }
    let key_end = header.head_len as usize + header.key_len as usize;
    Ok(RecordView {
        header,
        key: &head[header.head_len as usize..key_end],
        meta: &head[key_end..],
        stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(meta: &'a [u8], expires_at: u64, seq: u64) -> RecordParts<'a> {
        RecordParts {
            key: b"key",
            meta,
            stored: b"value",
            codec: Codec::Raw,
            raw_len: 5,
            expires_at,
            seq,
        }
    }

    fn assert_every_flip_is_caught(buf: &[u8]) {
        for i in 0..buf.len() {
            for bit in [0x01, 0x40, 0x80] {
                let mut bad = buf.to_vec();
                bad[i] ^= bit;
                assert!(
                    decode_record(&bad).is_err(),
                    "flip {bit:#x} at byte {i} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn compact_records_round_trip_and_detect_flips() {
        for (meta, expires_at, seq) in [
            (&b""[..], 0, 1),
            (&b"mm"[..], 77, 9),
            (&b""[..], u64::MAX, u64::MAX),
        ] {
            let mut buf = Vec::new();
            let head = encode_record(&mut buf, &parts(meta, expires_at, seq));
            let view = decode_record(&buf).unwrap();
            assert_eq!(view.header.layout, Layout::Compact);
            assert_eq!(view.header.head_len, head.head_len);
            assert_eq!(view.header.crc, head.crc);
            assert_eq!(view.header.record_len(), buf.len());
            assert_eq!(
                (view.key, view.meta, view.stored),
                (&b"key"[..], meta, &b"value"[..])
            );
            assert_eq!((view.header.expires_at, view.header.seq), (expires_at, seq));
            assert!(!view.header.is_legacy());
            assert_every_flip_is_caught(&buf);
        }
    }

    #[test]
    fn a_small_plain_record_has_a_short_header() {
        let mut buf = Vec::new();
        let value = [7u8; 100];
        let small = RecordParts {
            key: &[b'k'; 20],
            stored: &value,
            raw_len: 100,
            ..parts(b"", 0, 3_000_000)
        };
        let head = encode_record(&mut buf, &small);
        assert_eq!(head.head_len, 12);
        assert_eq!(buf.len(), 132);
    }

    #[test]
    fn compressed_records_keep_their_raw_length() {
        let mut buf = Vec::new();
        let lz = RecordParts {
            codec: Codec::Lz4,
            raw_len: 4000,
            ..parts(b"m", 5, 6)
        };
        encode_record(&mut buf, &lz);
        let view = decode_record(&buf).unwrap();
        assert_eq!((view.header.codec, view.header.raw_len), (Codec::Lz4, 4000));
    }

    #[test]
    fn the_longest_compact_header_fits_its_bound() {
        let mut head = [0u8; compact::MAX_COMPACT_HEADER_LEN];
        let widest = RecordParts {
            key: &[0; u16::MAX as usize],
            codec: Codec::Lz4,
            raw_len: u32::MAX,
            ..parts(b"m", u64::MAX, u64::MAX)
        };
        let len = compact::encode_header(&mut head, &widest);
        assert!(len <= compact::MAX_COMPACT_HEADER_LEN);
    }

    #[test]
    fn format_2_records_still_decode() {
        let mut buf = Vec::new();
        let crc = encode_wide_record(&mut buf, &parts(b"mm", 77, 9), false);
        let view = decode_record(&buf).unwrap();
        assert_eq!(view.header.layout, Layout::Wide);
        assert_eq!(view.header.crc, crc);
        assert_eq!(view.header.head_len as usize, WIDE_HEADER_LEN);
        assert_eq!(
            (view.key, view.meta, view.stored),
            (&b"key"[..], &b"mm"[..], &b"value"[..])
        );
        assert_eq!((view.header.expires_at, view.header.seq), (77, 9));
        assert_every_flip_is_caught(&buf);
    }

    #[test]
    fn format_1_records_still_decode() {
        let mut buf = Vec::new();
        encode_wide_record(&mut buf, &parts(b"", 0, 1), true);
        let view = decode_record(&buf).unwrap();
        assert!(view.header.is_legacy());
        assert_eq!((view.meta, view.stored), (&b""[..], &b"value"[..]));
        // A format 1 record cannot claim metadata.
        buf[20] = 1;
        assert_eq!(
            decode_record_header(&buf),
            Err(FormatError::BadField("metadata length"))
        );
    }

    #[test]
    fn truncated_headers_say_so() {
        let mut buf = Vec::new();
        encode_record(&mut buf, &parts(b"mm", 77, 1 << 40));
        let view = decode_record(&buf).unwrap();
        for cut in 0..view.header.head_len as usize {
            assert!(
                matches!(
                    decode_record_header(&buf[..cut]),
                    Err(FormatError::Truncated { .. })
                ),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn segment_header_round_trips() {
        let h = encode_segment_header(42);
        assert_eq!(decode_segment_header(&h), Ok(42));
        let mut bad = h;
        bad[SEG_ID] ^= 1;
        assert!(matches!(
            decode_segment_header(&bad),
            Err(FormatError::CrcMismatch { .. })
        ));
    }
}
