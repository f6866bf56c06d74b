//! The redb index: table definitions and fixed-width records.

pub mod tables;

pub use tables::{EntryLoc, SegmentMeta};
