//! Helpers shared by the integration tests. A test file declares `mod common;` and uses the
//! parts it needs:
//! - `store`: opening disk stores and caches with the settings the tests share;
//! - `rng`: seeded randomness (the seed is printed, `STRATACACHE_SEED` replays it);
//! - `cli`: running the `stratacache` binary;
//! - `files`: what a store leaves in its directory;
//! - `mount`: a real small file system (tmpfs) for disk-full tests;
//! - `serve`: `stratacache serve` as a child process;
//! - `redis_server` (feature `redis`): throwaway `redis-server` processes on loopback;
//!   `redis_tls` a TLS server with certificates made by `openssl`, `redis_sentinel` a
//!   master, a replica and three sentinels.
//!
//! Every test binary compiles all of it and uses only a part, so unused helpers are allowed.

#![allow(dead_code)]

pub mod cli;
pub mod files;
pub mod mount;
#[cfg(feature = "redis")]
pub mod redis_sentinel;
#[cfg(feature = "redis")]
pub mod redis_server;
#[cfg(feature = "redis")]
pub mod redis_tls;
pub mod rng;
pub mod serve;
pub mod store;
