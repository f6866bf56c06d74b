//! # stratacache
//!
//! A persistent, tiered cache engine. The disk tier, [`DiskStore`], keeps its index in
//! [redb](https://docs.rs/redb) and values in append-only segment files read through
//! `mmap`, with per-record CRC32 checks, lz4 compression, TTLs and crash safety: every write
//! acknowledged before a completed [`DiskStore::flush`] survives `kill -9`.
//!
//! What it is not: a database. It may drop entries (expiry, capacity, detected corruption);
//! it never returns bytes that were not written for a key.
//!
//! ```
//! # fn main() -> stratacache::Result<()> {
//! use std::time::Duration;
//! let dir = tempfile::tempdir().unwrap();
//! let store = stratacache::DiskStore::builder(dir.path()).open()?;
//! store.insert("doc/1.txt", b"OCR text")?;
//! store.insert_with_ttl("session", b"short-lived", Duration::from_secs(90))?;
//! assert_eq!(&*store.get("doc/1.txt")?.unwrap(), b"OCR text");
//! assert!(store.remove("doc/1.txt")?);
//! store.flush()?;
//! # Ok(()) }
//! ```

mod cache;
mod clock;
mod codec;
mod engine;
mod error;
pub mod limits;
mod permissions;

#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub mod sim;

pub use cache::{
    Cache, CacheBuilder, CacheStats, CachedBytes, Evictions, HistogramSnapshot, InsertOptions,
    LoadError, Placement, Promotion, TierKind, TierStats, WritePolicy,
};
#[cfg(feature = "redis")]
pub use cache::{RedisConfig, RedisTier};
pub use clock::{Clock, ManualClock, SystemClock};
pub use codec::{Codec, Compression};
pub use engine::{
    BadRecord, CompactReport, DiskStore, DiskStoreBuilder, EntryInfo, Stats, ValueRef, VerifyReport,
};
pub use error::{Error, IndexError, Result};
pub use permissions::Sharing;
