//! The engine's state: what an open store holds, each part an owner that keeps its own
//! invariants, and the checkpoint that makes staged changes durable.

mod access;
mod checkpoint;
mod counters;
mod dirty;
mod engine;
mod eviction;
mod ghosts;
mod key_bits;
mod key_hash;
mod loc_cache;
mod memory;
mod read_counts;
mod reserve;
mod settings;
mod signal;
mod staged;
mod staged_lock;
mod striped_counter;
mod writer;

pub use access::AccessBits;
pub use counters::Counters;
pub use engine::{Engine, EngineParts, index_bytes_limit};
pub use eviction::{Eviction, EvictionPolicy};
pub use loc_cache::LocCache;
pub use memory::{
    DEFAULT_MEMORY_BUDGET, MIN_MEMORY_BUDGET, MemoryOverrides, MemoryPlan, MemoryUsage,
};
pub use reserve::{LOW_SPACE, SpaceReserve};
pub use settings::Settings;
pub use signal::{BackgroundSignal, Wakeup};
pub use staged::{Pending, Source, Staged, index_bytes_of};
pub use staged_lock::StagedLock;
pub use writer::WriterState;
