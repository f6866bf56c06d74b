//! The Redis tier (cargo feature `redis`): a cache tier shared by every process and host
//! that uses the same Redis (standalone, Sentinel or Cluster; TLS and ACL users) and key
//! prefix, and its helpers: where connections go (`target`), TLS files, the
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
#[cfg(feature = "redis")]
pub(crate) mod lease;
pub(crate) mod messages;
#[cfg(feature = "redis")]
pub(crate) mod pubsub;
#[cfg(feature = "redis")]
mod target;
#[cfg(feature = "redis")]
mod tier;
#[cfg(feature = "redis")]
mod tls;

#[cfg(feature = "redis")]
pub use breaker::BreakerState;
#[cfg(feature = "redis")]
pub use config::RedisConfig;
#[cfg(feature = "redis")]
pub use health::RedisHealth;
#[cfg(feature = "redis")]
pub use tier::RedisTier;
#[cfg(feature = "redis")]
pub use tls::RedisTls;
