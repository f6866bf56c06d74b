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

/// Values at least this long are first judged on a sample (their first eighth, 1 to
/// 16 KiB): an incompressible 4 KiB value then costs a 1 KiB attempt, not a 4 KiB one.
const SAMPLE_FROM: usize = 4 << 10;

thread_local! {
    /// Reused output buffer, so a failed attempt costs no allocation.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Compresses `input` into the scratch buffer; returns the compressed length when it saves
/// at least 10%.
fn compressed_len(input: &[u8], scratch: &mut Vec<u8>) -> Option<usize> {
    let max = lz4_flex::block::get_maximum_output_size(input.len());
    if scratch.len() < max {
        scratch.resize(max, 0);
    }
    let n = lz4_flex::block::compress_into(input, &mut scratch[..max]).ok()?;
    (n <= input.len() - input.len() / 10).then_some(n)
}

/// Tries to compress `value`; returns the compressed bytes only when they save at least 10%.
/// Large values are judged on a sample first, so incompressible data costs little.
pub fn maybe_compress(value: &[u8], compression: Compression, threshold: usize) -> Option<Vec<u8>> {
    if compression == Compression::None || value.len() < threshold || value.len() < 16 {
        return None;
    }
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        if value.len() >= SAMPLE_FROM {
            let sample = &value[..(value.len() / 8).clamp(1 << 10, 16 << 10)];
            compressed_len(sample, &mut scratch)?;
        }
        if value.len() > 1 << 20 {
            // Do not keep a huge buffer per thread.
            let mut own = Vec::new();
            let n = compressed_len(value, &mut own)?;
            own.truncate(n);
            return Some(own);
        }
        let n = compressed_len(value, &mut scratch)?;
        Some(scratch[..n].to_vec())
    })
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
