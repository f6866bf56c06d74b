//! The tiered cache: [`Cache`] composes a memory tier, an optional Redis tier and the disk
//! tier ([`DiskStore`](crate::DiskStore)) behind one typed API with single-flight loading,
//! promotion and write policies, tag and prefix invalidation, and stats.
//!
//! The facade (the files here: handle, builder, core read and write paths, loader, tags,
//! policies, write-back) calls down into `tier/`, `load/` and `stats/`; those never call up.

mod builder;
mod core;
pub(crate) mod envelope;
mod expiry;
mod handle;
mod hash;
mod load;
mod loader;
mod loader_async;
mod many;
mod policy;
mod promote;
mod refresh;
#[cfg(feature = "redis")]
mod remote;
mod stats;
mod tag_rows;
mod tags;
pub(crate) mod tier;
pub(crate) mod value_codec;
mod write_back;

pub use builder::CacheBuilder;
pub use handle::Cache;
pub use load::LoadError;
pub use policy::{InsertOptions, MemoryAdmission, Placement, Promotion, WritePolicy};
pub use stats::{CacheStats, HistogramSnapshot, TierStats};
pub use tier::{CachedBytes, Evictions, TierKind};
pub use value_codec::{PayloadKind, ValueCodec};

#[cfg(feature = "redis")]
pub use tier::redis::{BreakerState, RedisConfig, RedisHealth, RedisTier, RedisTls};
