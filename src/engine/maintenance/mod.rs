//! Space management: keeping within the capacity (eviction), deleting expired entries
//! (the TTL sweep) and compaction. Called by the write path, the handle and the background
//! thread; it calls down into the state, the index and the segment writer, never back up.

mod capacity;
mod compact;
mod drain;
mod sweep;

pub use compact::CompactReport;
