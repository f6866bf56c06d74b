//! The one error type of the crate.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in stratacache. Each variant names what failed and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O call failed on a path.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The redb index failed.
    #[error("index {}: {source}", path.display())]
    Index {
        /// Path of the index file.
        path: PathBuf,
        /// What went wrong, with redb's error as its source when redb reported one.
        #[source]
        source: IndexError,
    },
    /// Another process (or handle) has the cache directory open.
    #[error("cache directory {} is locked by another process (lock file {})", dir.display(), dir.join("LOCK").display())]
    Locked {
        /// The cache directory.
        dir: PathBuf,
    },
    /// The directory exists, is not empty, and is not a stratacache store.
    #[error("{} is not a stratacache directory (it is not empty and has no index.redb); refusing to touch it", dir.display())]
    NotACache {
        /// The directory.
        dir: PathBuf,
    },
    /// No store exists at the directory (when opening without create).
    #[error("no store at {}", dir.display())]
    NoStore {
        /// The directory.
        dir: PathBuf,
    },
    /// The store was written by a newer stratacache.
    #[error("{} has format version {found}; this build reads up to version {supported}", path.display())]
    NewerFormat {
        /// The file carrying the version.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Newest version this build reads.
        supported: u32,
    },
    /// The key is empty.
    #[error("empty key: keys must be at least 1 byte")]
    EmptyKey,
    /// The key is longer than the configured limit.
    #[error("key of {len} bytes is over the key limit of {max} bytes")]
    KeyTooLong {
        /// Key length.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// The value is larger than `max_value_size`.
    #[error("value of {len} bytes is over max_value_size of {max} bytes")]
    ValueTooLarge {
        /// Value length.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An earlier write or sync failed; writes are refused until the store is reopened.
    #[error("store at {} refuses writes after an earlier I/O failure ({cause}); reopen it", dir.display())]
    Poisoned {
        /// The cache directory.
        dir: PathBuf,
        /// The failure that poisoned it.
        cause: String,
    },
    /// A Redis call failed (the cache carries on without Redis; this reaches callers only
    /// through [`Cache::stats`](crate::Cache::stats) and logs, or from Redis-only calls).
    #[error("redis {op}: {message}")]
    Redis {
        /// What was being done.
        op: String,
        /// What the client reported.
        message: String,
    },
    /// An argument was rejected; the message says which and why.
    #[error("invalid argument: {0}")]
    InvalidInput(String),
    /// A value could not be serialized or deserialized.
    #[error("serialization of {what}: {message}")]
    Serialization {
        /// What was being (de)serialized.
        what: String,
        /// The codec's message.
        message: String,
    },
}

/// Why the redb index failed: an error redb reported, or damage that made redb panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// redb reported an error.
    #[error(transparent)]
    Redb(#[from] redb::Error),
    /// The file could not be opened as an index.
    #[error("cannot open the index ({0}); the file is damaged or not a stratacache index")]
    Unreadable(#[source] redb::Error),
    /// redb panicked while doing `.0` (opening, reading, committing): the file is damaged.
    #[error("the index is damaged (redb panicked while {0})")]
    Damaged(&'static str),
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Builds a closure mapping an `io::Error` to [`Error::Io`] for `op` on `path`.
pub(crate) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Converts redb results into [`Error::Index`] naming the index file, keeping redb's error
/// as the source.
pub(crate) trait IndexResultExt<T> {
    /// Maps the error to [`Error::Index`] for the index at `path`.
    fn ix(self, path: &Path) -> Result<T>;
}

impl<T, E: Into<redb::Error>> IndexResultExt<T> for std::result::Result<T, E> {
    fn ix(self, path: &Path) -> Result<T> {
        self.map_err(|e| Error::Index {
            path: path.to_path_buf(),
            source: IndexError::Redb(e.into()),
        })
    }
}
