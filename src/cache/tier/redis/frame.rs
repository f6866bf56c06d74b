//! The framed encoding of values in the Redis tier: the same ingredients as a disk record
//! (codec flag, lz4 above a threshold, CRC32), so a value that another client planted under
//! our prefix, or that was truncated or damaged, is recognised and read as a miss.
//!
//! | bytes | field                                                                 |
//! |-------|-----------------------------------------------------------------------|
//! | 4     | magic `sRV1`                                                          |
//! | 1     | codec: 0 raw, 1 lz4                                                   |
//! | 4     | length after decoding, LE                                             |
//! | 8     | absolute expiry, ms since the Unix epoch on the writer's clock, LE; 0 = none |
//! | 4     | CRC32 (IEEE) over the key and every field before it and the stored bytes, LE |
//! | rest  | stored bytes                                                          |
//!
//! The key is covered by the CRC but not stored: a value copied under another key fails.
//! The expiry travels with the value so a read needs one `GET` (or one `MGET` for many
//! keys) rather than a `PTTL` as well; Redis expires the key itself through `PX`. Caches on
//! hosts whose clocks disagree see remaining TTLs off by the skew.

use crate::codec::{Codec, Compression, decompress, maybe_compress};

/// First bytes of every frame.
pub const FRAME_MAGIC: &[u8; 4] = b"sRV1";
/// Bytes before the stored value.
pub const FRAME_HEADER_LEN: usize = 21;
/// Largest decoded length a frame may claim (guards the decompression buffer).
pub const MAX_FRAME_VALUE: usize = 1 << 30;

fn crc(key: &[u8], head: &[u8], stored: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(key);
    h.update(head);
    h.update(stored);
    h.finalize()
}

/// A decoded frame: the value and its absolute expiry.
#[derive(Debug, PartialEq, Eq)]
pub struct Framed {
    /// The value (the cache's envelope).
    pub value: FramedValue,
    /// Absolute expiry in ms since the Unix epoch, if any.
    pub expires_at_ms: Option<u64>,
}

/// Where a decoded value's bytes are: in the frame itself (raw codec, no copy) or
/// decompressed.
#[derive(Debug, PartialEq, Eq)]
pub enum FramedValue {
    /// The frame; the value starts at [`FRAME_HEADER_LEN`].
    InFrame(Vec<u8>),
    /// Decompressed bytes.
    Decoded(Vec<u8>),
}

impl FramedValue {
    /// The value bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            FramedValue::InFrame(frame) => &frame[FRAME_HEADER_LEN..],
            FramedValue::Decoded(bytes) => bytes,
        }
    }
}

/// Frames `value` for `key`, compressing with lz4 when at least `threshold` bytes long and
/// compression saves enough.
pub fn encode_frame(
    key: &[u8],
    value: &[u8],
    expires_at_ms: Option<u64>,
    threshold: usize,
) -> Vec<u8> {
    let compressed = maybe_compress(value, Compression::Lz4, threshold);
    let (codec, stored) = match &compressed {
        Some(c) => (Codec::Lz4, c.as_slice()),
        None => (Codec::Raw, value),
    };
    let raw_len = value.len() as u32;
    let mut out = Vec::with_capacity(FRAME_HEADER_LEN + stored.len());
    out.extend_from_slice(FRAME_MAGIC);
    out.push(codec as u8);
    out.extend_from_slice(&raw_len.to_le_bytes());
    out.extend_from_slice(&expires_at_ms.unwrap_or(0).to_le_bytes());
    let crc = crc(key, &out, stored);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(stored);
    out
}

/// Checks and decodes a frame read under `key`; the error says what is wrong.
pub fn decode_frame(key: &[u8], frame: Vec<u8>) -> Result<Framed, String> {
    let Some((header, stored)) = frame.split_at_checked(FRAME_HEADER_LEN) else {
        return Err(format!(
            "{} bytes is shorter than a frame header ({FRAME_HEADER_LEN})",
            frame.len()
        ));
    };
    if &header[..4] != FRAME_MAGIC {
        return Err("no frame magic (not written by stratacache)".into());
    }
    let codec_byte = header[4];
    let codec = Codec::from_u8(codec_byte).ok_or_else(|| format!("unknown codec {codec_byte}"))?;
    let raw_len = u32::from_le_bytes(header[5..9].try_into().expect("4 bytes"));
    let expires_at = u64::from_le_bytes(header[9..17].try_into().expect("8 bytes"));
    let stored_crc = u32::from_le_bytes(header[17..21].try_into().expect("4 bytes"));
    if crc(key, &header[..17], stored) != stored_crc {
        return Err("CRC mismatch (damaged, truncated or stored under another key)".into());
    }
    if raw_len as usize > MAX_FRAME_VALUE {
        return Err(format!("claims {raw_len} bytes, over {MAX_FRAME_VALUE}"));
    }
    let value = match codec {
        Codec::Raw if stored.len() == raw_len as usize => FramedValue::InFrame(frame),
        Codec::Raw => return Err("raw value length disagrees with its header".into()),
        Codec::Lz4 => FramedValue::Decoded(
            decompress(stored, raw_len as usize).map_err(|e| format!("lz4: {e}"))?,
        ),
    };
    Ok(Framed {
        value,
        expires_at_ms: (expires_at != 0).then_some(expires_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_raw_and_compressed() {
        let text = "Rechnung Betrag Datum ".repeat(200);
        for value in [&b""[..], b"short", text.as_bytes()] {
            for expiry in [None, Some(1_700_000_000_000)] {
                let frame = encode_frame(b"k", value, expiry, 1024);
                let decoded = decode_frame(b"k", frame).unwrap();
                assert_eq!(decoded.value.bytes(), value);
                assert_eq!(decoded.expires_at_ms, expiry);
            }
        }
        assert!(encode_frame(b"k", text.as_bytes(), None, 1024).len() < text.len() / 2);
    }

    #[test]
    fn rejects_damage_truncation_other_keys_and_foreign_bytes() {
        let frame = encode_frame(b"key", b"some value bytes", Some(5), 1024);
        for cut in 0..frame.len() {
            assert!(
                decode_frame(b"key", frame[..cut].to_vec()).is_err(),
                "cut {cut}"
            );
        }
        for i in 0..frame.len() {
            let mut bad = frame.clone();
            bad[i] ^= 0x40;
            assert!(decode_frame(b"key", bad).is_err(), "flip at {i}");
        }
        assert!(decode_frame(b"other", frame).unwrap_err().contains("CRC"));
        assert!(decode_frame(b"key", b"garbage planted by someone".to_vec()).is_err());
    }
}
