//! Space management: TTL sweeping, capacity-bounded eviction, compaction.

pub mod access;
mod compact;
mod drain;
mod size;
mod ttl;

pub use compact::CompactReport;
