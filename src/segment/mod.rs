//! Append-only segment files: their byte format and the open files with their mappings.

pub mod file;
pub mod format;
pub mod scan;

pub use file::Segment;
