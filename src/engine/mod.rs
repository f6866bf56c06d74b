//! The disk engine, [`DiskStore`]: a redb index plus mmapped, append-only segment files.
//!
//! Calls go one way, down: the handle (`disk_store.rs`) and the read, write, listing,
//! stats and verify paths (files here) call `maintenance/` (eviction, sweep, compaction),
//! which calls `state/` (the open store's state and the checkpoint), which calls `index/`
//! (redb) and `segment/` (files, format, writer).

mod background;
mod builder;
mod disk_store;
mod expiry;
pub(crate) mod index;
mod list;
mod maintenance;
mod open;
pub(crate) mod prefetch;
mod read;
pub(crate) mod segment;
mod state;
mod stats;
mod user_meta;
mod verify;
mod write;

pub use builder::DiskStoreBuilder;
pub use disk_store::{DiskStore, Scan};
pub use list::{EntryInfo, EntryRef, ListPage};
pub use maintenance::CompactReport;
pub use read::ValueRef;
pub use state::EvictionPolicy;
pub use stats::Stats;
pub use verify::{BadRecord, VerifyReport};
