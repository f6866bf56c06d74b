//! `DiskStoreBuilder`: every setting of a store, validated in `open()`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::codec::Compression;
use crate::error::{Error, Result};
use crate::segment::format::RECORD_HEADER_LEN;
use crate::store::DiskStore;

/// Default capacity: 10 GiB.
pub const DEFAULT_CAPACITY: u64 = 10 << 30;
/// Smallest capacity accepted.
pub const MIN_CAPACITY: u64 = 1 << 20;

/// Builds and opens a [`DiskStore`]. Created by [`DiskStore::builder`].
#[derive(Debug, Clone)]
pub struct DiskStoreBuilder {
    pub(crate) dir: PathBuf,
    pub(crate) capacity_bytes: Option<u64>,
    pub(crate) segment_size: Option<u64>,
    pub(crate) max_key_len: usize,
    pub(crate) max_value_size: usize,
    pub(crate) compression: Compression,
    pub(crate) compression_threshold: usize,
    pub(crate) checkpoint_interval: Option<Duration>,
    pub(crate) commit_batch: usize,
    pub(crate) location_cache_entries: usize,
    pub(crate) create: bool,
    pub(crate) compaction_threshold: f64,
    pub(crate) sweep_interval: Option<Duration>,
    pub(crate) background_maintenance: bool,
    pub(crate) clock: Arc<dyn Clock>,
}

impl DiskStoreBuilder {
    pub(crate) fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            capacity_bytes: None,
            segment_size: None,
            max_key_len: 4096,
            max_value_size: 64 << 20,
            compression: Compression::Lz4,
            compression_threshold: 1024,
            checkpoint_interval: Some(Duration::from_secs(1)),
            commit_batch: 1 << 18,
            location_cache_entries: 1 << 18,
            create: true,
            compaction_threshold: 0.5,
            sweep_interval: Some(Duration::from_secs(10)),
            background_maintenance: true,
            clock: Arc::new(SystemClock),
        }
    }

    /// Bytes the store may keep on disk, segments and index together.
    /// Default: 10 GiB for a new store; an existing store keeps the capacity it was given
    /// unless this is set, in which case the new capacity is recorded.
    pub fn capacity_bytes(mut self, bytes: u64) -> Self {
        self.capacity_bytes = Some(bytes);
        self
    }

    /// Target size of a segment file. Default: capacity / 16, between 1 MiB and 64 MiB.
    pub fn segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = Some(bytes);
        self
    }

    /// Longest key accepted, in bytes (at most 65535). Default: 4096.
    pub fn max_key_len(mut self, bytes: usize) -> Self {
        self.max_key_len = bytes;
        self
    }

    /// Largest value accepted, in bytes (below 4 GiB). Default: 64 MiB.
    pub fn max_value_size(mut self, bytes: usize) -> Self {
        self.max_value_size = bytes;
        self
    }

    /// Whether values may be compressed. Default: [`Compression::Lz4`].
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Values shorter than this are never compressed. Default: 1024 bytes.
    pub fn compression_threshold(mut self, bytes: usize) -> Self {
        self.compression_threshold = bytes;
        self
    }

    /// How often the background thread makes acknowledged writes durable; `None` turns the
    /// thread off (only `flush()` and close make writes durable). Default: 1 second.
    pub fn checkpoint_interval(mut self, interval: Option<Duration>) -> Self {
        self.checkpoint_interval = interval;
        self
    }

    /// Index changes staged in memory before an insert runs a checkpoint itself (normally
    /// the background checkpoint comes first; this bounds the memory they take).
    /// Default: 262144.
    pub fn commit_batch(mut self, ops: usize) -> Self {
        self.commit_batch = ops;
        self
    }

    /// How many entry locations to keep in memory for fast reads (0 turns it off).
    /// Default: 262144.
    pub fn location_cache_entries(mut self, entries: usize) -> Self {
        self.location_cache_entries = entries;
        self
    }

    /// Whether `open()` may create a new store. Default: true.
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// A segment whose live bytes fall below this fraction of its length is compacted
    /// (rewritten forward) by the background thread and by `compact()`. Default: 0.5.
    pub fn compaction_threshold(mut self, fraction: f64) -> Self {
        self.compaction_threshold = fraction;
        self
    }

    /// How often the background thread sweeps expired entries; `None` turns the sweeper
    /// off (`sweep_expired()` still works). Expired entries are misses either way.
    /// Default: 10 seconds.
    pub fn sweep_interval(mut self, interval: Option<Duration>) -> Self {
        self.sweep_interval = interval;
        self
    }

    /// Whether the background thread also compacts sparse segments and evicts when over
    /// capacity (writes always evict when needed). Default: true.
    pub fn background_maintenance(mut self, enabled: bool) -> Self {
        self.background_maintenance = enabled;
        self
    }

    /// The time source for expiry. Default: the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Opens the store, creating it when the directory is missing or empty.
    pub fn open(self) -> Result<DiskStore> {
        self.validate()?;
        DiskStore::open_with(self)
    }

    /// Segment size for a given capacity (explicit setting first).
    pub(crate) fn segment_size_for(&self, capacity: u64) -> u64 {
        self.segment_size
            .unwrap_or_else(|| (capacity / 16).clamp(1 << 20, 64 << 20))
    }

    fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Config(msg));
        if let Some(c) = self.capacity_bytes
            && c < MIN_CAPACITY
        {
            return bad(format!(
                "capacity_bytes {c} is below the minimum of {MIN_CAPACITY}"
            ));
        }
        if self.max_key_len == 0 || self.max_key_len > u16::MAX as usize {
            return bad(format!(
                "max_key_len {} must be 1..=65535",
                self.max_key_len
            ));
        }
        if self.max_value_size as u64 + (RECORD_HEADER_LEN + self.max_key_len) as u64
            > u32::MAX as u64
        {
            return bad(format!(
                "max_value_size {} must be below 4 GiB",
                self.max_value_size
            ));
        }
        if let Some(s) = self.segment_size
            && !(4096..=(1 << 31)).contains(&s)
        {
            return bad(format!("segment_size {s} must be between 4 KiB and 2 GiB"));
        }
        if !(0.0..=1.0).contains(&self.compaction_threshold) {
            return bad(format!(
                "compaction_threshold {} must be between 0 and 1",
                self.compaction_threshold
            ));
        }
        if self.commit_batch == 0 {
            return bad("commit_batch must be at least 1".into());
        }
        Ok(())
    }
}
