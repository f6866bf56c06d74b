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
//!
//! Record (RECORD_HEADER_LEN = 40 bytes, then key, then metadata, then stored value)
//! offset  size  field
//!      0     4  magic            b"sREC"
//!      4     4  crc              crc32 of bytes 8..40, the key, the metadata and the value
//!      8     1  codec            0 = raw, 1 = lz4 block
//!      9     1  flags            bit 0: written by format 2 (metadata beside the value)
//!     10     2  key length       u16
//!     12     4  stored length    u32 (bytes after the key: metadata plus stored value)
//!     16     4  raw length       u32 (bytes of value after decoding)
//!     20     4  metadata length  u32 (zero in format 1, where the field was reserved)
//!     24     8  expires at       u64, ms since the Unix epoch, 0 = never (as written; the
//!                                index holds the current expiry, which TTL changes update)
//!     32     8  sequence         u64, increasing per write (informational)
//!     40     k  key
//!   40+k     m  metadata         what the cache keeps beside a value (TTL it was written
//!                                with, tags); empty for plain values
//! 40+k+m     s  stored value     the user's bytes, raw or lz4
//! ```
//!
//! The record CRC covers every header field after itself plus key, metadata and value, so a
//! record can be verified, and mapped back to its key, from the segment file alone.
//!
//! Format 1 records (flag bit 0 clear) have no metadata field; the tiered cache of format 1
//! wrapped its metadata around the value instead, which is why readers are told which layout
//! a record has (see [`RecordHeader::is_legacy`]).

use crate::codec::Codec;

/// Segment file magic.
pub const SEGMENT_MAGIC: [u8; 8] = *b"STRATSEG";
/// On-disk format version written by this build (segments and index).
pub const FORMAT_VERSION: u32 = 2;
/// Length of the segment header.
pub const SEGMENT_HEADER_LEN: usize = 32;
const SEG_VERSION: usize = 8;
const SEG_CRC: usize = 12;
const SEG_ID: usize = 16;

/// Record flag: the record has the format 2 layout (a metadata field before the value).
pub const FLAG_META_LAYOUT: u8 = 1;

/// Record magic.
pub const RECORD_MAGIC: [u8; 4] = *b"sREC";
/// Length of a record header.
pub const RECORD_HEADER_LEN: usize = 40;
const REC_CRC: usize = 4;
const REC_CODEC: usize = 8;
const REC_FLAGS: usize = 9;
const REC_KEY_LEN: usize = 10;
const REC_STORED_LEN: usize = 12;
const REC_RAW_LEN: usize = 16;
const REC_META_LEN: usize = 20;
const REC_EXPIRES: usize = 24;
const REC_SEQ: usize = 32;

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
    /// Flag bits ([`FLAG_META_LAYOUT`]).
    pub flags: u8,
    /// Absolute expiry in ms since the Unix epoch, 0 for none.
    pub expires_at: u64,
    /// Write sequence number.
    pub seq: u64,
}

impl RecordHeader {
    /// Total bytes of the record: header, key, metadata and stored value.
    pub fn record_len(&self) -> usize {
        RECORD_HEADER_LEN + self.key_len as usize + self.stored_len as usize
    }

    /// True for a format 1 record: no metadata field, and a value written by the format 1
    /// tiered cache may hold its metadata wrapped around the user's bytes.
    pub fn is_legacy(&self) -> bool {
        self.flags & FLAG_META_LAYOUT == 0
    }

    /// Bytes from the record start to the stored value.
    pub fn value_offset(&self) -> usize {
        RECORD_HEADER_LEN + self.key_len as usize + self.meta_len as usize
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

/// Appends a full record (header, key, metadata, stored value) to `out` and returns its CRC.
pub fn encode_record(out: &mut Vec<u8>, parts: &RecordParts<'_>) -> u32 {
    let crc = encode_record_head(out, parts);
    out.extend_from_slice(parts.stored);
    crc
}

/// Appends a record's header, key and metadata to `out`, with the CRC computed over the
/// stored value as well; the value must follow directly in the segment (written separately,
/// so a large value is never copied). Returns the CRC.
pub fn encode_record_head(out: &mut Vec<u8>, parts: &RecordParts<'_>) -> u32 {
    let RecordParts {
        key,
        meta,
        stored,
        codec,
        raw_len,
        expires_at,
        seq,
    } = *parts;
    let start = out.len();
    out.extend_from_slice(&[0u8; RECORD_HEADER_LEN]);
    let h = &mut out[start..];
    h[..4].copy_from_slice(&RECORD_MAGIC);
    h[REC_CODEC] = codec as u8;
    h[REC_FLAGS] = FLAG_META_LAYOUT;
    h[REC_KEY_LEN..REC_KEY_LEN + 2].copy_from_slice(&(key.len() as u16).to_le_bytes());
    let after_key = (meta.len() + stored.len()) as u32;
    h[REC_STORED_LEN..REC_STORED_LEN + 4].copy_from_slice(&after_key.to_le_bytes());
    h[REC_RAW_LEN..REC_RAW_LEN + 4].copy_from_slice(&raw_len.to_le_bytes());
    h[REC_META_LEN..REC_META_LEN + 4].copy_from_slice(&(meta.len() as u32).to_le_bytes());
    h[REC_EXPIRES..REC_EXPIRES + 8].copy_from_slice(&expires_at.to_le_bytes());
    h[REC_SEQ..REC_SEQ + 8].copy_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(meta);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&out[start + REC_CRC + 4..]);
    hasher.update(stored);
    let crc = hasher.finalize();
    out[start + REC_CRC..start + REC_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    crc
}

/// CRC of a full record's bytes (the crc field itself excluded).
#[cfg(test)]
fn record_crc(record: &[u8]) -> u32 {
    crc32fast::hash(&record[REC_CRC + 4..])
}

/// Decodes and sanity-checks a record header (without verifying the CRC).
pub fn decode_record_header(bytes: &[u8]) -> Result<RecordHeader, FormatError> {
    need(bytes, RECORD_HEADER_LEN)?;
    if bytes[..4] != RECORD_MAGIC {
        return Err(FormatError::BadMagic);
    }
    let codec = Codec::from_u8(bytes[REC_CODEC]).ok_or(FormatError::BadField("codec"))?;
    let flags = bytes[REC_FLAGS];
    if flags & !FLAG_META_LAYOUT != 0 {
        return Err(FormatError::BadField("flags"));
    }
    let header = RecordHeader {
        crc: u32_at(bytes, REC_CRC),
        codec,
        key_len: u16::from_le_bytes([bytes[REC_KEY_LEN], bytes[REC_KEY_LEN + 1]]),
        stored_len: u32_at(bytes, REC_STORED_LEN),
        raw_len: u32_at(bytes, REC_RAW_LEN),
        meta_len: u32_at(bytes, REC_META_LEN),
        flags,
        expires_at: u64_at(bytes, REC_EXPIRES),
        seq: u64_at(bytes, REC_SEQ),
    };
    if header.meta_len > header.stored_len || (header.is_legacy() && header.meta_len != 0) {
        return Err(FormatError::BadField("metadata length"));
    }
    if codec == Codec::Raw && header.raw_len != header.stored_len - header.meta_len {
        return Err(FormatError::BadField("raw length"));
    }
    Ok(header)
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
    hasher.update(&head[REC_CRC + 4..]);
    hasher.update(stored);
    let computed = hasher.finalize();
    if computed != header.crc {
        return Err(FormatError::CrcMismatch {
            stored: header.crc,
            computed,
        });
    }
    let key_end = RECORD_HEADER_LEN + header.key_len as usize;
    Ok(RecordView {
        header,
        key: &head[RECORD_HEADER_LEN..key_end],
        meta: &head[key_end..],
        stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_detects_flips() {
        let mut buf = Vec::new();
        let parts = RecordParts {
            key: b"key",
            meta: b"mm",
            stored: b"value",
            codec: Codec::Raw,
            raw_len: 5,
            expires_at: 77,
            seq: 9,
        };
        encode_record(&mut buf, &parts);
        let view = decode_record(&buf).unwrap();
        assert_eq!(
            (view.key, view.meta, view.stored, view.header.expires_at),
            (&b"key"[..], &b"mm"[..], &b"value"[..], 77)
        );
        assert!(!view.header.is_legacy());
        for i in 0..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x40;
            assert!(
                decode_record(&bad).is_err(),
                "flip at byte {i} went unnoticed"
            );
        }
    }

    #[test]
    fn format_1_records_still_decode() {
        let mut buf = Vec::new();
        let parts = RecordParts {
            key: b"k",
            meta: b"",
            stored: b"old",
            codec: Codec::Raw,
            raw_len: 3,
            expires_at: 0,
            seq: 1,
        };
        encode_record(&mut buf, &parts);
        buf[REC_FLAGS] = 0;
        let crc = record_crc(&buf);
        buf[REC_CRC..REC_CRC + 4].copy_from_slice(&crc.to_le_bytes());
        let view = decode_record(&buf).unwrap();
        assert!(view.header.is_legacy());
        assert_eq!((view.meta, view.stored), (&b""[..], &b"old"[..]));
        // A format 1 record cannot claim metadata.
        buf[REC_META_LEN] = 1;
        assert_eq!(
            decode_record_header(&buf),
            Err(FormatError::BadField("metadata length"))
        );
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
