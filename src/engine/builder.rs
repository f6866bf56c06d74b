//! `DiskStoreBuilder`: every setting of a store, validated in `open()`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::disk_store::DiskStore;
use super::open::open_engine;
use super::segment::Faults;
use super::segment::format::MAX_RECORD_HEADER_LEN;
use super::state::{EvictionPolicy, MIN_MEMORY_BUDGET, Settings};
use crate::clock::Clock;
use crate::codec::Compression;
use crate::error::{Error, Result};
use crate::limits::{MAX_KEY_LEN_LIMIT, check_capacity};
use crate::permissions::Sharing;

impl DiskStore {
    /// A builder for the store in `dir`.
    pub fn builder(dir: impl Into<PathBuf>) -> DiskStoreBuilder {
        DiskStoreBuilder::new(dir)
    }
}

/// Builds and opens a [`DiskStore`]. Created by [`DiskStore::builder`].
#[derive(Debug, Clone)]
pub struct DiskStoreBuilder {
    dir: PathBuf,
    capacity_bytes: Option<u64>,
    create: bool,
    settings: Settings,
}

impl DiskStoreBuilder {
    fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            capacity_bytes: None,
            create: true,
            settings: Settings::default(),
        }
    }

    /// Longest key the store will accept (see [`Self::max_key_len`]).
    pub(crate) fn key_limit(&self) -> usize {
        self.settings.max_key_len
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
        self.settings.segment_size = Some(bytes);
        self
    }

    /// Longest key accepted, in bytes (at most 65535). Default: 4096.
    pub fn max_key_len(mut self, bytes: usize) -> Self {
        self.settings.max_key_len = bytes;
        self
    }

    /// Largest value accepted, in bytes (below 4 GiB). Default: 64 MiB.
    pub fn max_value_size(mut self, bytes: usize) -> Self {
        self.settings.max_value_size = bytes;
        self
    }

    /// Whether values may be compressed. Default: [`Compression::Lz4`].
    pub fn compression(mut self, compression: Compression) -> Self {
        self.settings.compression = compression;
        self
    }

    /// Bytes of anonymous memory the store's bookkeeping may take: the index's page cache,
    /// the location cache, staged index changes and the eviction policy's tables, with
    /// room for what the index and the allocator add beyond their caches. Values are not
    /// in it: the kernel's page cache holds them. `stats()` reports what each part holds.
    /// Default: 128 MiB; at least 4 MiB.
    pub fn memory_budget(mut self, bytes: u64) -> Self {
        self.settings.memory_budget = bytes;
        self
    }

    /// Bytes of index pages kept in memory, instead of the memory budget's share (1/16 of
    /// it). Listing or scanning the whole index reads it through this cache, so it bounds
    /// what a listing of millions of keys holds.
    pub fn index_cache_bytes(mut self, bytes: usize) -> Self {
        self.settings.memory_overrides.index_cache_bytes = Some(bytes);
        self
    }

    /// Values shorter than this are never compressed. Default: 1024 bytes.
    pub fn compression_threshold(mut self, bytes: usize) -> Self {
        self.settings.compression_threshold = bytes;
        self
    }

    /// How often the background thread makes acknowledged writes durable; `None` turns the
    /// thread off (only `flush()` and close make writes durable). Default: 1 second.
    pub fn checkpoint_interval(mut self, interval: Option<Duration>) -> Self {
        self.settings.checkpoint_interval = interval;
        self
    }

    /// Index changes staged in memory before an insert runs a checkpoint itself (normally
    /// the background checkpoint comes first). Default: no count; the memory budget's share
    /// for staged changes decides (about 230k changes of 20-byte keys for the default).
    pub fn commit_batch(mut self, ops: usize) -> Self {
        self.settings.memory_overrides.staged_changes = Some(ops);
        self
    }

    /// How many entry locations to keep in memory for fast reads (0 turns it off), instead
    /// of the memory budget's share (1/8 of it: 262144 for the default budget). Each takes a
    /// 64-byte slot, in memory the kernel hands out as the slots are first used. Slots come in pairs chosen by the key's
    /// hash: up to about a quarter of this many keys nearly all stay; beyond that, reads of
    /// some keys go to the index now and then.
    pub fn location_cache_entries(mut self, entries: usize) -> Self {
        self.settings.memory_overrides.location_slots = Some(entries);
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
        self.settings.compaction_threshold = fraction;
        self
    }

    /// How often the background thread sweeps expired entries; `None` turns the sweeper
    /// off (`sweep_expired()` still works). Expired entries are misses either way.
    /// Default: 10 seconds.
    pub fn sweep_interval(mut self, interval: Option<Duration>) -> Self {
        self.settings.sweep_interval = interval;
        self
    }

    /// How eviction chooses what to drop when the store is full. Default:
    /// [`EvictionPolicy::S3Fifo`], which keeps one-hit wonders and scans to a tenth of the
    /// capacity; [`EvictionPolicy::Lru`] is the policy of earlier versions. Either can
    /// open a store the other wrote (what one policy saved about reads, the other ignores).
    pub fn eviction_policy(mut self, policy: EvictionPolicy) -> Self {
        self.settings.eviction_policy = policy;
        self
    }

    /// Whether the background thread also compacts sparse segments and evicts when over
    /// capacity (writes always evict when needed). Default: true.
    pub fn background_maintenance(mut self, enabled: bool) -> Self {
        self.settings.background_maintenance = enabled;
        self
    }

    /// The time source for expiry. Default: the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.settings.clock = clock;
        self
    }

    /// Who may read and lock the store's directories and files when they are created:
    /// [`Sharing::Owner`] (`0700` / `0600`) or [`Sharing::Group`] (`0770` / `0660`).
    /// Files of an existing store keep their permissions. Default: [`Sharing::Owner`].
    pub fn sharing(mut self, sharing: Sharing) -> Self {
        self.settings.sharing = sharing;
        self
    }

    /// Failures to inject, for tests (see [`crate::fuzzing::Faults`]). Default: none.
    #[doc(hidden)]
    pub fn faults(mut self, faults: Arc<Faults>) -> Self {
        self.settings.faults = Some(faults);
        self
    }

    /// Opens the store, creating it when the directory is missing or empty.
    pub fn open(self) -> Result<DiskStore> {
        self.validate()?;
        let engine = open_engine(self.dir, self.capacity_bytes, self.create, self.settings)?;
        DiskStore::start(engine)
    }

    fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Config(msg));
        if let Some(c) = self.capacity_bytes {
            check_capacity(c)?;
        }
        let s = &self.settings;
        if s.max_key_len == 0 || s.max_key_len > MAX_KEY_LEN_LIMIT {
            return bad(format!(
                "max_key_len {} must be 1..={MAX_KEY_LEN_LIMIT}",
                s.max_key_len
            ));
        }
        if s.max_value_size as u64 + (MAX_RECORD_HEADER_LEN + s.max_key_len) as u64
            > u32::MAX as u64
        {
            return bad(format!(
                "max_value_size {} must be below 4 GiB",
                s.max_value_size
            ));
        }
        if let Some(size) = s.segment_size
            && !(4096..=(1 << 31)).contains(&size)
        {
            return bad(format!(
                "segment_size {size} must be between 4 KiB and 2 GiB"
            ));
        }
        if !(0.0..=1.0).contains(&s.compaction_threshold) {
            return bad(format!(
                "compaction_threshold {} must be between 0 and 1",
                s.compaction_threshold
            ));
        }
        if s.memory_overrides.staged_changes == Some(0) {
            return bad("commit_batch must be at least 1".into());
        }
        if s.memory_budget < MIN_MEMORY_BUDGET {
            return bad(format!(
                "memory_budget {} must be at least {MIN_MEMORY_BUDGET} bytes (4 MiB)",
                s.memory_budget
            ));
        }
        Ok(())
    }
}
