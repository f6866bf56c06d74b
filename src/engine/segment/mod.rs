//! Append-only segment files: their byte format, the open files with their mappings, the
//! accounting of each, and the writer that appends, rotates, syncs and deletes them.

mod faults;
pub mod file;
pub mod format;
mod map;
mod meta;
mod reaper;
mod recover;
pub mod scan;
mod writer;

pub use faults::{FaultPoint, Faults, check as check_fault};
pub use file::Segment;
pub use map::SegmentMap;
pub use meta::{Log, SegmentMeta};
pub use writer::{AppendFor, SegmentWriter, Unsynced, WriterConfig};
