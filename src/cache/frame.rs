//! The framed encoding of values in the Redis tier: the same ingredients as a disk record
//! (codec flag, lz4 above a threshold, CRC32), so a value that another client planted under
//! our prefix, or that was truncated or damaged, is recognised and read as a miss.
//!
//! | bytes | field                                                                 |
//! |-------|-----------------------------------------------------------------------|
//! | 4     | magic `sRV1`                                                          |
//! | 1     | codec: 0 raw, 1 lz4                                                   |
//! | 4     | length after decoding, LE                                             |
//! | 4     | CRC32 (IEEE) over the key, the codec byte, the length and the stored bytes, LE |
//! | rest  | stored bytes                                                          |
//!
//! The key is covered by the CRC but not stored: a value copied under another key fails.

use crate::codec::{Codec, Compression, decompress, maybe_compress};

/// First bytes of every frame.
pub const FRAME_MAGIC: &[u8; 4] = b"sRV1";
/// Bytes before the stored value.
pub const FRAME_HEADER_LEN: usize = 13;
/// Largest decoded length a frame may claim (guards the decompression buffer).
pub const MAX_FRAME_VALUE: usize = 1 << 30;

fn crc(key: &[u8], codec: u8, raw_len: u32, stored: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(key);
    h.update(&[codec]);
    h.update(&raw_len.to_le_bytes());
    h.update(stored);
    h.finalize()
}

/// Frames `value` for `key`, compressing with lz4 when at least `threshold` bytes long and
/// compression saves enough.
pub fn encode_frame(key: &[u8], value: &[u8], threshold: usize) -> Vec<u8> {
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
    out.extend_from_slice(&crc(key, codec as u8, raw_len, stored).to_le_bytes());
    out.extend_from_slice(stored);
    out
}

/// Checks and decodes a frame read under `key`; the error says what is wrong.
pub fn decode_frame(key: &[u8], frame: &[u8]) -> Result<Vec<u8>, String> {
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
    let stored_crc = u32::from_le_bytes(header[9..13].try_into().expect("4 bytes"));
    if crc(key, codec_byte, raw_len, stored) != stored_crc {
        return Err("CRC mismatch (damaged, truncated or stored under another key)".into());
    }
    if raw_len as usize > MAX_FRAME_VALUE {
        return Err(format!("claims {raw_len} bytes, over {MAX_FRAME_VALUE}"));
    }
    match codec {
        Codec::Raw if stored.len() == raw_len as usize => Ok(stored.to_vec()),
        Codec::Raw => Err("raw value length disagrees with its header".into()),
        Codec::Lz4 => decompress(stored, raw_len as usize).map_err(|e| format!("lz4: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_raw_and_compressed() {
        let text = "Rechnung Betrag Datum ".repeat(200);
        for value in [&b""[..], b"short", text.as_bytes()] {
            let frame = encode_frame(b"k", value, 1024);
            assert_eq!(decode_frame(b"k", &frame).unwrap(), value);
        }
        assert!(encode_frame(b"k", text.as_bytes(), 1024).len() < text.len() / 2);
    }

    #[test]
    fn rejects_damage_truncation_other_keys_and_foreign_bytes() {
        let frame = encode_frame(b"key", b"some value bytes", 1024);
        for cut in 0..frame.len() {
            assert!(decode_frame(b"key", &frame[..cut]).is_err(), "cut {cut}");
        }
        for i in 0..frame.len() {
            let mut bad = frame.clone();
            bad[i] ^= 0x40;
            assert!(decode_frame(b"key", &bad).is_err(), "flip at {i}");
        }
        assert!(decode_frame(b"other", &frame).unwrap_err().contains("CRC"));
        assert!(decode_frame(b"key", b"garbage planted by someone").is_err());
    }
}
