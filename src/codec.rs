//! Value encoding: lz4 block compression when it pays, raw bytes otherwise.

/// How a value is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Codec {
    /// Stored as given.
    Raw = 0,
    /// lz4 block compressed (lz4_flex, no size prefix).
    Lz4 = 1,
}

impl Codec {
    /// Decodes a codec byte.
    pub fn from_u8(b: u8) -> Option<Self> {
        match b {
            0 => Some(Self::Raw),
            1 => Some(Self::Lz4),
            _ => None,
        }
    }
}

/// Whether values may be compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Never compress.
    None,
    /// lz4 when the value is at least the threshold and compression saves at least 10%.
    #[default]
    Lz4,
}

/// Tries to compress `value`; returns the compressed bytes only when they save at least 10%.
pub fn maybe_compress(value: &[u8], compression: Compression, threshold: usize) -> Option<Vec<u8>> {
    if compression == Compression::None || value.len() < threshold || value.len() < 16 {
        return None;
    }
    let mut out = vec![0u8; lz4_flex::block::get_maximum_output_size(value.len())];
    let n = lz4_flex::block::compress_into(value, &mut out).ok()?;
    if n > value.len() - value.len() / 10 {
        return None;
    }
    out.truncate(n);
    Some(out)
}

/// Decodes a stored value of `raw_len` bytes.
pub fn decompress(stored: &[u8], raw_len: usize) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; raw_len];
    let n = lz4_flex::block::decompress_into(stored, &mut out).map_err(|e| e.to_string())?;
    if n != raw_len {
        return Err(format!("lz4 produced {n} bytes, expected {raw_len}"));
    }
    Ok(out)
}
