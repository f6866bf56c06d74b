//! The compact record header of format 3: lengths as varints, and fields only when they say
//! something (no expiry row for values that never expire, no metadata length for plain
//! values, no raw length for raw values). A 20-byte key with a 100-byte value and no TTL
//! takes a 12-byte header at a sequence number in the millions, where the wide header took 40.
//!
//! ```text
//! offset  size  field
//!      0     1  magic            0xC3
//!      1     4  crc              crc32 of byte 5 up to the record's end
//!      5     1  flags            bits 0-1: codec (0 raw, 1 lz4 block)
//!                                bit 2: an expiry follows; bit 3: metadata follows the key
//!                                bits 4-7: zero
//!      6     v  key length       varint (LEB128, as protobuf), at most u16
//!            v  stored length    varint, at most u32: bytes after the key (metadata + value)
//!            v  metadata length  varint, only with bit 3; not zero, at most the stored length
//!            v  raw length       varint, only for lz4 (a raw value's is stored − metadata)
//!            8  expires at       u64 ms since the Unix epoch, only with bit 2; not zero
//!            v  sequence         varint, increasing per write (informational)
//!      h     k  key, then metadata, then the stored value
//! ```

use integer_encoding::VarInt;

use super::{FormatError, Layout, RecordHeader, RecordParts, need};
use crate::codec::Codec;

/// First byte of a compact record.
pub const COMPACT_MAGIC: u8 = 0xC3;
/// Where the CRC sits; it covers everything after itself.
pub(super) const CRC_AT: usize = 1;
const FLAGS_AT: usize = 5;
const VARINTS_AT: usize = 6;
const CODEC_BITS: u8 = 0b0011;
const HAS_EXPIRY: u8 = 0b0100;
const HAS_META: u8 = 0b1000;
/// The longest compact header: every optional field, every varint at its widest.
pub const MAX_COMPACT_HEADER_LEN: usize = VARINTS_AT + 3 + 5 + 5 + 5 + 8 + 10;
/// The shortest: no optional field, one-byte lengths and sequence.
const MIN_COMPACT_HEADER_LEN: usize = VARINTS_AT + 3;

/// Writes the header of `parts` into `head` (at least [`MAX_COMPACT_HEADER_LEN`] bytes), the
/// CRC left zero, and returns its length.
pub(super) fn encode_header(head: &mut [u8], parts: &RecordParts<'_>) -> usize {
    head[0] = COMPACT_MAGIC;
    let mut flags = parts.codec as u8;
    if parts.expires_at != 0 {
        flags |= HAS_EXPIRY;
    }
    if !parts.meta.is_empty() {
        flags |= HAS_META;
    }
    head[FLAGS_AT] = flags;
    let mut at = VARINTS_AT;
    at += (parts.key.len() as u16).encode_var(&mut head[at..]);
    let after_key = (parts.meta.len() + parts.stored.len()) as u32;
    at += after_key.encode_var(&mut head[at..]);
    if !parts.meta.is_empty() {
        at += (parts.meta.len() as u32).encode_var(&mut head[at..]);
    }
    if parts.codec != Codec::Raw {
        at += parts.raw_len.encode_var(&mut head[at..]);
    }
    if parts.expires_at != 0 {
        head[at..at + 8].copy_from_slice(&parts.expires_at.to_le_bytes());
        at += 8;
    }
    at += parts.seq.encode_var(&mut head[at..]);
    at
}

/// Reads varints one after another, naming the field that fails.
struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Fields<'_> {
    fn varint<T: VarInt>(&mut self, name: &'static str) -> Result<T, FormatError> {
        let rest = &self.bytes[self.at.min(self.bytes.len())..];
        match T::decode_var(rest) {
            Some((value, used)) => {
                self.at += used;
                Ok(value)
            }
            // Every byte left says "more follows": the header goes on past what we have.
            None if rest.len() < 10 && rest.iter().all(|b| b & 0x80 != 0) => {
                Err(FormatError::Truncated {
                    needed: self.bytes.len() + 1,
                    available: self.bytes.len(),
                })
            }
            None => Err(FormatError::BadField(name)),
        }
    }

    fn u64_le(&mut self) -> Result<u64, FormatError> {
        need(self.bytes, self.at + 8)?;
        let value = u64::from_le_bytes(self.bytes[self.at..self.at + 8].try_into().expect("8"));
        self.at += 8;
        Ok(value)
    }
}

/// Decodes a compact header (the magic was checked by the caller; the CRC is not verified).
pub(super) fn decode_header(bytes: &[u8]) -> Result<RecordHeader, FormatError> {
    need(bytes, MIN_COMPACT_HEADER_LEN)?;
    let flags = bytes[FLAGS_AT];
    if flags & !(CODEC_BITS | HAS_EXPIRY | HAS_META) != 0 {
        return Err(FormatError::BadField("flags"));
    }
    let codec = Codec::from_u8(flags & CODEC_BITS).ok_or(FormatError::BadField("codec"))?;
    let mut fields = Fields {
        bytes,
        at: VARINTS_AT,
    };
    let key_len: u16 = fields.varint("key length")?;
    let stored_len: u32 = fields.varint("stored length")?;
    let meta_len: u32 = if flags & HAS_META != 0 {
        match fields.varint("metadata length")? {
            0 => return Err(FormatError::BadField("metadata length")),
            len => len,
        }
    } else {
        0
    };
    let raw_len = match codec {
        // A raw value's length is what the metadata leaves (checked by the caller).
        Codec::Raw => stored_len.saturating_sub(meta_len),
        Codec::Lz4 => fields.varint("raw length")?,
    };
    let expires_at = if flags & HAS_EXPIRY != 0 {
        match fields.u64_le()? {
            0 => return Err(FormatError::BadField("expiry")),
            at => at,
        }
    } else {
        0
    };
    let seq = fields.varint("sequence")?;
    Ok(RecordHeader {
        crc: u32::from_le_bytes(bytes[CRC_AT..CRC_AT + 4].try_into().expect("4 bytes")),
        codec,
        key_len,
        stored_len,
        raw_len,
        meta_len,
        layout: Layout::Compact,
        head_len: fields.at as u8,
        expires_at,
        seq,
    })
}
