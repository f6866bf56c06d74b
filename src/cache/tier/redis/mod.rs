//! The Redis tier (cargo feature `redis`): a cache tier shared by every process and host
//! that uses the same Redis (standalone or Cluster) and key prefix, and its helpers: the
//! circuit breaker and the health it reports, the value frame and the invalidation messages. The frame and the
//! messages are built without the feature too (the fuzz targets decode them).

#[cfg(feature = "redis")]
pub(crate) mod breaker;
#[cfg(feature = "redis")]
mod config;
#[cfg(feature = "redis")]
mod conn;
pub(crate) mod frame;
#[cfg(feature = "redis")]
mod health;
pub(crate) mod messages;
#[cfg(feature = "redis")]
pub(crate) mod pubsub;
#[cfg(feature = "redis")]
mod tier;

#[cfg(feature = "redis")]
pub use breaker::BreakerState;
#[cfg(feature = "redis")]
pub use config::RedisConfig;
#[cfg(feature = "redis")]
pub use health::RedisHealth;
#[cfg(feature = "redis")]
pub use tier::RedisTier;
