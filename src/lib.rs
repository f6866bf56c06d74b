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
//!
//! Above it, [`Cache`] is the tiered cache an application usually embeds: a memory tier
//! bounded by bytes over the disk tier (and, with the `redis` feature, a Redis tier shared
//! between processes, between the two), behind one typed API. Values are any serde type;
//! reads go memory, then Redis, then disk, and copy a lower-tier hit up; writes go to every
//! tier by default ([`WritePolicy`]); [`Cache::get_with`] runs its loader once per key
//! however many threads ask at the same time. It takes the disk tier as a
//! [`DiskStoreBuilder`], so the disk settings stay in one place.
//!
//! ```
//! # fn main() -> stratacache::Result<()> {
//! use stratacache::{Cache, DiskStore};
//! let dir = tempfile::tempdir().unwrap();
//! let cache = Cache::builder()
//!     .memory(16 << 20) // bytes the memory tier may hold
//!     .disk(DiskStore::builder(dir.path()).capacity_bytes(64 << 20))
//!     .open()?;
//! cache.insert("page/1", &vec!["OCR".to_string(), "text".to_string()])?;
//! let words: Option<Vec<String>> = cache.get("page/1")?;
//! assert_eq!(words.unwrap().len(), 2);
//! let pages: u32 = cache.get_with("scan-42/pages", || 12)?; // loaded once, then cached
//! assert_eq!(pages, 12);
//! cache.close()?; // flushes the disk tier
//! # Ok(()) }
//! ```

mod cache;
mod client;
mod clock;
mod codec;
mod engine;
mod error;
pub mod limits;
mod permissions;
pub mod server;
pub mod units;

#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub mod sim;

#[cfg(feature = "redis")]
pub use cache::{BreakerState, RedisConfig, RedisHealth, RedisTier, RedisTls};
pub use cache::{
    Cache, CacheBuilder, CacheStats, CachedBytes, Evictions, HistogramSnapshot, InsertOptions,
    LoadError, MemoryAdmission, PayloadKind, Placement, Promotion, TierKind, TierStats, ValueCodec,
    WritePolicy,
};
pub use client::{Client, RemotePage, Reply};
pub use clock::{Clock, ManualClock, SystemClock};
pub use codec::{Codec, Compression};
pub use engine::{
    BadRecord, CompactReport, DiskStore, DiskStoreBuilder, EntryInfo, EntryRef, EvictionPolicy,
    ListPage, Scan, Stats, ValueRef, VerifyReport,
};
pub use error::{Error, IndexError, Result};
pub use permissions::Sharing;
