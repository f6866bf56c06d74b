//! [`RedisHealth`]: how the Redis tier is doing, for [`Cache::redis_health`]. The counts of
//! what the cache did with the tier (hits, inserts, errors, calls skipped) are in
//! [`Cache::stats`]; this says what only the tier knows.
//!
//! [`Cache::redis_health`]: crate::Cache::redis_health
//! [`Cache::stats`]: crate::Cache::stats

use serde::{Deserialize, Serialize};

use crate::cache::tier::redis::breaker::BreakerState;

/// The Redis tier's state at one moment (feature `redis`).
///
/// ```no_run
/// # fn main() -> stratacache::Result<()> {
/// let cache = stratacache::Cache::builder()
///     .memory(16 << 20)
///     .redis("redis://127.0.0.1:6379")
///     .open()?;
/// if let Some(health) = cache.redis_health()
///     && !health.is_available()
/// {
///     eprintln!("Redis is not used now: {:?}", health.last_failure);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RedisHealth {
    /// The circuit breaker: `closed` while calls go to Redis.
    pub breaker: BreakerState,
    /// While the breaker is open: milliseconds until the next call may probe Redis again.
    pub retry_in_ms: Option<u64>,
    /// The last connection failure or timeout (kept after Redis recovers), if any since
    /// the cache opened.
    pub last_failure: Option<String>,
    /// Values under the cache's key prefix that were damaged, not written by a cache, or
    /// of another Redis type (each read as a miss), since the cache opened.
    pub foreign_values: u64,
}

impl RedisHealth {
    /// True when calls go to Redis now (the breaker is closed).
    pub fn is_available(&self) -> bool {
        self.breaker == BreakerState::Closed
    }
}
