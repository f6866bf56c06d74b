//! The 40-byte record header that formats 1 and 2 wrote. This build reads it (stores written
//! before format 3 keep their records) and writes it only for tests of those stores.
//!
//! ```text
//! offset  size  field
//!      0     4  magic            b"sREC"
//!      4     4  crc              crc32 of bytes 8..40, the key, the metadata and the value
//!      8     1  codec            0 = raw, 1 = lz4 block
//!      9     1  flags            bit 0: written by format 2 (metadata beside the value)
//!     10     2  key length       u16
//!     12     4  stored length    u32 (bytes after the key: metadata plus stored value)
//!     16     4  raw length       u32 (bytes of value after decoding)
//!     20     4  metadata length  u32 (zero in format 1, where the field was reserved)
//!     24     8  expires at       u64, ms since the Unix epoch, 0 = never
//!     32     8  sequence         u64, increasing per write (informational)
//!     40     k  key, then metadata, then the stored value
//! ```

use super::{FormatError, Layout, RecordHeader, RecordParts, need};
use crate::codec::Codec;

/// Magic of a wide record.
pub const WIDE_MAGIC: [u8; 4] = *b"sREC";
/// Length of a wide record header.
pub const WIDE_HEADER_LEN: usize = 40;
/// Flag: the record has the format 2 layout (a metadata field before the value).
const FLAG_META_LAYOUT: u8 = 1;
/// Where the CRC sits; it covers everything after itself.
pub(super) const CRC_AT: usize = 4;
const CODEC_AT: usize = 8;
const FLAGS_AT: usize = 9;
const KEY_LEN_AT: usize = 10;
const STORED_LEN_AT: usize = 12;
const RAW_LEN_AT: usize = 16;
const META_LEN_AT: usize = 20;
const EXPIRES_AT: usize = 24;
const SEQ_AT: usize = 32;

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Decodes a wide header (the magic was checked by the caller; the CRC is not verified).
pub(super) fn decode_header(bytes: &[u8]) -> Result<RecordHeader, FormatError> {
    need(bytes, WIDE_HEADER_LEN)?;
    let codec = Codec::from_u8(bytes[CODEC_AT]).ok_or(FormatError::BadField("codec"))?;
    let flags = bytes[FLAGS_AT];
    if flags & !FLAG_META_LAYOUT != 0 {
        return Err(FormatError::BadField("flags"));
    }
    let layout = if flags & FLAG_META_LAYOUT == 0 {
        Layout::Format1
    } else {
        Layout::Wide
    };
    let meta_len = u32_at(bytes, META_LEN_AT);
    if layout == Layout::Format1 && meta_len != 0 {
        return Err(FormatError::BadField("metadata length"));
    }
    Ok(RecordHeader {
        crc: u32_at(bytes, CRC_AT),
        codec,
        key_len: u16::from_le_bytes([bytes[KEY_LEN_AT], bytes[KEY_LEN_AT + 1]]),
        stored_len: u32_at(bytes, STORED_LEN_AT),
        raw_len: u32_at(bytes, RAW_LEN_AT),
        meta_len,
        layout,
        head_len: WIDE_HEADER_LEN as u8,
        expires_at: u64_at(bytes, EXPIRES_AT),
        seq: u64_at(bytes, SEQ_AT),
    })
}

/// Appends a complete wide record as format 2 wrote it (`legacy`: as format 1 wrote it, no
/// metadata field) and returns its CRC. For tests and fixtures of stores written before
/// format 3; the engine writes compact records.
pub fn encode_wide_record(out: &mut Vec<u8>, parts: &RecordParts<'_>, legacy: bool) -> u32 {
    assert!(!legacy || parts.meta.is_empty(), "format 1 has no metadata");
    let start = out.len();
    out.extend_from_slice(&[0u8; WIDE_HEADER_LEN]);
    let h = &mut out[start..];
    h[..4].copy_from_slice(&WIDE_MAGIC);
    h[CODEC_AT] = parts.codec as u8;
    h[FLAGS_AT] = if legacy { 0 } else { FLAG_META_LAYOUT };
    h[KEY_LEN_AT..KEY_LEN_AT + 2].copy_from_slice(&(parts.key.len() as u16).to_le_bytes());
    let after_key = (parts.meta.len() + parts.stored.len()) as u32;
    h[STORED_LEN_AT..STORED_LEN_AT + 4].copy_from_slice(&after_key.to_le_bytes());
    h[RAW_LEN_AT..RAW_LEN_AT + 4].copy_from_slice(&parts.raw_len.to_le_bytes());
    h[META_LEN_AT..META_LEN_AT + 4].copy_from_slice(&(parts.meta.len() as u32).to_le_bytes());
    h[EXPIRES_AT..EXPIRES_AT + 8].copy_from_slice(&parts.expires_at.to_le_bytes());
    h[SEQ_AT..SEQ_AT + 8].copy_from_slice(&parts.seq.to_le_bytes());
    out.extend_from_slice(parts.key);
    out.extend_from_slice(parts.meta);
    out.extend_from_slice(parts.stored);
    let crc = crc32fast::hash(&out[start + CRC_AT + 4..]);
    out[start + CRC_AT..start + CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
    crc
}
