//! Opening disk stores and caches the way the tests do.
//!
//! A store works in the background in three ways: timed checkpoints, the TTL sweeper and
//! maintenance (compaction, eviction over capacity). A test turns off what would race with
//! it, in steps: [`no_checkpoints`], [`no_timers`], [`quiet`]. Every setting not named
//! keeps its default; a test adds its own to the builder these return.

use std::path::Path;
use std::sync::Arc;

#[cfg(feature = "redis")]
use stratacache::RedisConfig;
use stratacache::{Cache, CacheBuilder, DiskStore, DiskStoreBuilder, ManualClock};

#[cfg(feature = "redis")]
use super::redis_server::RedisServer;

/// The memory tier of most cache tests: 8 MiB, enough for everything they insert.
pub const MEMORY: u64 = 8 << 20;

/// The disk capacity of the cache tests that bound their disk tier: 64 MiB.
pub const DISK_CAPACITY: u64 = 64 << 20;

/// A store in `dir` without timed checkpoints (`checkpoint_interval(None)`): writes become
/// durable at `flush` and `close`, never because time passed.
pub fn no_checkpoints(dir: &Path) -> DiskStoreBuilder {
    DiskStore::builder(dir).checkpoint_interval(None)
}

/// [`no_checkpoints`], and no TTL sweeper either (`sweep_interval(None)`): expired entries
/// are misses, but stay stored until the test calls `sweep_expired`.
pub fn no_timers(dir: &Path) -> DiskStoreBuilder {
    no_checkpoints(dir).sweep_interval(None)
}

/// [`no_timers`], and no background maintenance either (`background_maintenance(false)`):
/// nothing happens to the store but what the test's own calls do.
pub fn quiet(dir: &Path) -> DiskStoreBuilder {
    no_timers(dir).background_maintenance(false)
}

/// A [`quiet`] store whose time is `clock`: entries expire only when the test advances it.
pub fn quiet_with_clock(dir: &Path, clock: &Arc<ManualClock>) -> DiskStoreBuilder {
    quiet(dir).clock(clock.clone())
}

/// A cache builder with a memory tier of `memory` bytes over the disk tier `disk`, every
/// other setting at its default (add more to the builder).
pub fn tiered(memory: u64, disk: DiskStoreBuilder) -> CacheBuilder {
    Cache::builder().memory(memory).disk(disk)
}

/// Opens [`tiered`]`(memory, disk)`; panics when it does not open.
pub fn open_tiered(memory: u64, disk: DiskStoreBuilder) -> Cache {
    tiered(memory, disk).open().expect("open cache")
}

/// A cache builder with a [`MEMORY`] memory tier, the Redis tier `redis` and, when `dir`
/// is given, a disk tier there of [`DISK_CAPACITY`] (other disk settings at their
/// defaults).
#[cfg(feature = "redis")]
pub fn redis_tiered(redis: RedisConfig, dir: Option<&Path>) -> CacheBuilder {
    let mut builder = Cache::builder().memory(MEMORY).redis_config(redis);
    if let Some(dir) = dir {
        builder = builder.disk(DiskStore::builder(dir).capacity_bytes(DISK_CAPACITY));
    }
    builder
}

/// Opens [`redis_tiered`] with Redis at `server` and the cache's keys there under
/// `prefix`; panics when it does not open.
#[cfg(feature = "redis")]
pub fn open_redis_tiered(server: &RedisServer, prefix: &str, dir: Option<&Path>) -> Cache {
    redis_tiered(RedisConfig::new(server.url()).key_prefix(prefix), dir)
        .open()
        .expect("open cache")
}
