//! The disk engine: [`DiskStore`] and its parts.

mod checkpoint;
mod commit;
pub mod config;
pub(crate) mod counters;
pub(crate) mod inner;
mod list;
mod loc_cache;
pub(crate) mod read;
mod reaper;
mod stats;
mod user_meta;
mod verify;
mod write;

pub use config::DiskStoreBuilder;
pub use list::EntryInfo;
pub use read::ValueRef;
pub use stats::Stats;
pub use verify::{BadRecord, VerifyReport};

mod disk_store;
pub use disk_store::DiskStore;
