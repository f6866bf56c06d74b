//! The tiered cache: [`Cache`] composes a memory tier, an optional Redis tier and the disk
//! tier ([`DiskStore`](crate::DiskStore)) behind one typed API with single-flight loading,
//! promotion and write policies, tag and prefix invalidation, and stats.

mod blob;
#[cfg(feature = "redis")]
mod breaker;
mod builder;
mod core;
mod disk;
pub(crate) mod envelope;
mod flight;
pub(crate) mod frame;
mod handle;
mod histogram;
mod load;
mod many;
mod memory;
pub(crate) mod messages;
mod policy;
mod promote;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod remote;
mod stats;
mod tags;
mod tier;
mod write_back;

pub use blob::CachedBytes;
pub use builder::CacheBuilder;
pub use handle::Cache;
pub use histogram::HistogramSnapshot;
pub use load::LoadError;
pub use policy::{InsertOptions, Placement, Promotion, WritePolicy};
pub use stats::{CacheStats, TierStats};
pub use tier::{Evictions, TierKind};

#[cfg(feature = "redis")]
pub use self::redis::{RedisConfig, RedisTier};
