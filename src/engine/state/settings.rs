//! The settings an open store runs with (the builder's choices, validated).

use std::sync::Arc;
use std::time::Duration;

use super::{DEFAULT_MEMORY_BUDGET, EvictionPolicy, MemoryOverrides, MemoryPlan};
use crate::clock::{Clock, SystemClock};
use crate::codec::Compression;
use crate::engine::segment::Faults;
use crate::limits::{DEFAULT_MAX_KEY_LEN, DEFAULT_MAX_VALUE_SIZE};
use crate::permissions::Sharing;

/// Every setting an open store reads while it runs. The capacity is not here: it can
/// change while the store is open, so its one home is the writer state (and the index's
/// meta row that persists it).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Explicit segment size; `None` derives it from the capacity.
    pub segment_size: Option<u64>,
    /// Longest key accepted.
    pub max_key_len: usize,
    /// Largest value accepted.
    pub max_value_size: usize,
    /// Whether values may be compressed.
    pub compression: Compression,
    /// Values shorter than this are never compressed.
    pub compression_threshold: usize,
    /// Interval of the background checkpoint; `None`: no background thread.
    pub checkpoint_interval: Option<Duration>,
    /// Bytes of anonymous memory the engine's bookkeeping may take (see [`MemoryPlan`]).
    pub memory_budget: u64,
    /// Explicit sizes that take precedence over the budget's split.
    pub memory_overrides: MemoryOverrides,
    /// Live fraction below which a segment is compacted.
    pub compaction_threshold: f64,
    /// Interval of the background TTL sweep; `None`: no sweep.
    pub sweep_interval: Option<Duration>,
    /// Whether the background thread evicts and compacts.
    pub background_maintenance: bool,
    /// How eviction chooses what goes.
    pub eviction_policy: EvictionPolicy,
    /// The time source for expiry.
    pub clock: Arc<dyn Clock>,
    /// Who may read the files the store creates.
    pub sharing: Sharing,
    /// Failures a test armed (never in normal use).
    pub faults: Option<Arc<Faults>>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            segment_size: None,
            max_key_len: DEFAULT_MAX_KEY_LEN,
            max_value_size: DEFAULT_MAX_VALUE_SIZE,
            compression: Compression::Lz4,
            compression_threshold: 1024,
            checkpoint_interval: Some(Duration::from_secs(1)),
            memory_budget: DEFAULT_MEMORY_BUDGET,
            memory_overrides: MemoryOverrides::default(),
            compaction_threshold: 0.5,
            sweep_interval: Some(Duration::from_secs(10)),
            background_maintenance: true,
            eviction_policy: EvictionPolicy::default(),
            clock: Arc::new(SystemClock),
            sharing: Sharing::Owner,
            faults: None,
        }
    }
}

impl Settings {
    /// Segment size for a given capacity: the explicit setting, else capacity / 16
    /// between 1 MiB and 64 MiB.
    pub fn segment_size_for(&self, capacity: u64) -> u64 {
        self.segment_size
            .unwrap_or_else(|| (capacity / 16).clamp(1 << 20, 64 << 20))
    }

    /// How the memory budget is split.
    pub fn memory_plan(&self) -> MemoryPlan {
        MemoryPlan::new(self.memory_budget, self.memory_overrides)
    }

    /// Now on the store's clock, in ms since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }
}
