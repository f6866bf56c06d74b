//! The accounting of one segment, as the index stores it (a fixed-width redb value).
//!
//! ```text
//! SegmentMeta (little-endian)
//! offset size field
//!      0    8 length in bytes (of the file as of the commit)
//!      8    8 live bytes (record bytes of entries the index references)
//!     16    8 live record count
//!     24    8 last access (ms since the Unix epoch, approximate)
//!     32    1 state: 0 active, 1 sealed
//!     33    1 log: 0 main, 1 probation (see [`Log`]; stores from before it have only 0)
//!     34    6 reserved
//! ```

use redb::{TypeName, Value};

/// Which of the two logs a segment belongs to. Under the LRU policy every segment is in
/// the main log. Under S3-FIFO, new entries are appended to the probation log, and
/// records that earn their place (read while on probation, or read again in main) move
/// forward into the main log; eviction drains the probation log's oldest segment while
/// that log holds more than its share, the main log's otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Log {
    /// Entries that were read (or were ghosts), and everything under the LRU policy.
    #[default]
    Main,
    /// New entries on probation (S3-FIFO).
    Probation,
}

impl Log {
    /// Both logs.
    pub const ALL: [Log; 2] = [Log::Main, Log::Probation];

    /// Position in per-log arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Accounting for one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SegmentMeta {
    /// File length as of the commit.
    pub len: u64,
    /// Record bytes of live entries.
    pub live_bytes: u64,
    /// Number of live entries.
    pub live_count: u64,
    /// Approximate last read or write, ms since the Unix epoch.
    pub last_access: u64,
    /// Whether the segment is full (no more appends).
    pub sealed: bool,
    /// The log the segment belongs to.
    pub log: Log,
}

const SEGMENT_META_LEN: usize = 40;

impl SegmentMeta {
    /// Encodes to the fixed-width form.
    pub fn encode(&self) -> [u8; SEGMENT_META_LEN] {
        let mut b = [0u8; SEGMENT_META_LEN];
        b[0..8].copy_from_slice(&self.len.to_le_bytes());
        b[8..16].copy_from_slice(&self.live_bytes.to_le_bytes());
        b[16..24].copy_from_slice(&self.live_count.to_le_bytes());
        b[24..32].copy_from_slice(&self.last_access.to_le_bytes());
        b[32] = self.sealed as u8;
        b[33] = (self.log == Log::Probation) as u8;
        b
    }

    /// Decodes the fixed-width form; never panics.
    pub fn decode(data: &[u8]) -> Self {
        let mut b = [0u8; SEGMENT_META_LEN];
        let n = data.len().min(SEGMENT_META_LEN);
        b[..n].copy_from_slice(&data[..n]);
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        Self {
            len: u64_at(0),
            live_bytes: u64_at(8),
            live_count: u64_at(16),
            last_access: u64_at(24),
            sealed: b[32] != 0,
            // Anything else than 1 (a foreign or damaged row) is the main log: the log only
            // decides how soon eviction reaches the segment.
            log: if b[33] == 1 {
                Log::Probation
            } else {
                Log::Main
            },
        }
    }
}

impl Value for SegmentMeta {
    type SelfType<'a> = SegmentMeta;
    type AsBytes<'a> = [u8; SEGMENT_META_LEN];

    fn fixed_width() -> Option<usize> {
        Some(SEGMENT_META_LEN)
    }

    fn from_bytes<'a>(data: &'a [u8]) -> SegmentMeta
    where
        Self: 'a,
    {
        SegmentMeta::decode(data)
    }

    fn as_bytes<'a, 'b: 'a>(value: &'a SegmentMeta) -> [u8; SEGMENT_META_LEN]
    where
        Self: 'b,
    {
        value.encode()
    }

    fn type_name() -> TypeName {
        TypeName::new("stratacache::SegmentMeta")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_meta_round_trips() {
        let meta = SegmentMeta {
            len: 1,
            live_bytes: 2,
            live_count: 3,
            last_access: 4,
            sealed: true,
            log: Log::Probation,
        };
        assert_eq!(SegmentMeta::decode(&meta.encode()), meta);
    }
}
