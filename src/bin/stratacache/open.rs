//! Opening the store: which directory, whether it may be created, which settings.
//!
//! The directory comes from `--dir`, else `$STRATACACHE_DIR`, else `./.stratacache` (clap
//! resolves that order). Only `put` and `import` create a store, and only in a missing or
//! empty directory; the library refuses a non-empty directory that is not a store
//! (`Error::NotACache`) and, without create, a missing one (`Error::NoStore`, printed as
//! "no store at DIR").

use std::path::Path;

use stratacache::DiskStore;

use crate::exit::Fatal;

/// Largest value the CLI stores or reads from a file: the library's default limit.
pub const MAX_VALUE_SIZE: u64 = stratacache::limits::DEFAULT_MAX_VALUE_SIZE as u64;

/// Whether a command may create the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create the store when the directory is missing or empty.
    CreateIfMissing,
    /// The store must exist.
    Existing,
}

/// Opens the store in `dir` for one command.
///
/// A capacity, when given, is recorded (and enforced by eviction) at open. The CLI is
/// short-lived, so it turns off the background sweeper and compactor: `sweep` and
/// `compact` run them on demand, and `stats` sees the store as it was left. The
/// background checkpoint stays on, so a long import that is interrupted keeps most of
/// its work.
pub fn open(dir: &Path, capacity: Option<u64>, mode: Mode) -> Result<DiskStore, Fatal> {
    let mut builder = DiskStore::builder(dir)
        .create(mode == Mode::CreateIfMissing)
        .max_value_size(MAX_VALUE_SIZE as usize)
        .sweep_interval(None)
        .background_maintenance(false);
    if let Some(bytes) = capacity {
        builder = builder.capacity_bytes(bytes);
    }
    Ok(builder.open()?)
}
