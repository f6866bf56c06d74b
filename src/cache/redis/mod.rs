//! The Redis tier (cargo feature `redis`): a cache tier shared by every process and host
//! that uses the same Redis (standalone or Cluster) and key prefix.

mod config;
mod conn;
pub(crate) mod pubsub;
mod tier;

pub use config::RedisConfig;
pub use tier::RedisTier;
