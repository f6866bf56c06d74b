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
    #[error("cache directory {} is locked by another process{} (lock file {}); only one process can open a store at a time", dir.display(), holder.map(|pid| format!(" (pid {pid})")).unwrap_or_default(), dir.join("LOCK").display())]
    Locked {
        /// The cache directory.
        dir: PathBuf,
        /// The process that holds it, when it recorded itself in the lock file.
        holder: Option<u32>,
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
    /// The value cannot fit in the store's capacity, even with everything else evicted.
    #[error("a value taking {len} bytes on disk does not fit in the store at {} (capacity {capacity} bytes; at most {max} bytes fit)", dir.display())]
    DoesNotFit {
        /// The cache directory.
        dir: PathBuf,
        /// Bytes the value's record takes (header, key, stored value).
        len: u64,
        /// The store's capacity in bytes.
        capacity: u64,
        /// The largest record that fits now.
        max: u64,
    },
    /// The file system is full (ENOSPC, EDQUOT or EFBIG): this write failed, nothing stored
    /// before it is lost, and writes succeed again once there is room.
    #[error("no space for {needed} more bytes in {} ({available} bytes free): {source}", path.display())]
    DiskFull {
        /// The file that could not grow.
        path: PathBuf,
        /// Bytes the write needed.
        needed: u64,
        /// Bytes the file system had free for this user when it failed.
        available: u64,
        /// The OS error.
        #[source]
        source: std::io::Error,
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
    /// A Redis call was not made: Redis failed repeatedly and the circuit breaker holds
    /// calls back until its backoff ends. Nothing was written or read. The cache counts
    /// these in the Redis tier's `skipped` (not in `errors`, `inserts` or `misses`).
    #[error("redis {op}: not attempted, Redis is unavailable (circuit breaker open)")]
    RedisUnavailable {
        /// What would have been done.
        op: String,
    },
    /// Redis refused this cache when it opened: a wrong ACL user or password, or a TLS
    /// certificate one side does not accept. Every call would fail the same way, so the
    /// cache does not open. Never carries a password.
    #[error("Redis refused this cache when it opened: {reason}")]
    RedisRefused {
        /// The server's `host:port` (with Sentinel, the master's or a sentinel's).
        address: String,
        /// Why, naming the user and the address for a login failure.
        reason: String,
    },
    /// A server (`stratacache serve`) answered with an error.
    #[error("server at {}: {message}", socket.display())]
    Server {
        /// The socket the client used.
        socket: std::path::PathBuf,
        /// The server's error text.
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

/// True for the errors of a full file system: ENOSPC, EDQUOT, EFBIG.
pub(crate) fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSPC | libc::EDQUOT | libc::EFBIG)
    )
}

/// [`Error::DiskFull`] for a write of `needed` bytes to `path` that failed with `source`,
/// or [`Error::Io`] for `op` when `source` is another error.
pub(crate) fn write_err(
    op: &'static str,
    path: &Path,
    needed: u64,
    source: std::io::Error,
) -> Error {
    if !is_disk_full(&source) {
        return io_err(op, path)(source);
    }
    Error::DiskFull {
        path: path.to_path_buf(),
        needed,
        available: free_bytes(path),
        source,
    }
}

/// Bytes free for an unprivileged user on the file system holding `path` (0 when unknown).
pub(crate) fn free_bytes(path: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let probe = if path.exists() {
        path
    } else {
        path.parent().unwrap_or(path)
    };
    let Ok(c) = std::ffi::CString::new(probe.as_os_str().as_bytes()) else {
        return 0;
    };
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a valid C string and `st` a valid out-pointer for one `statvfs`.
    if unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return 0;
    }
    // SAFETY: statvfs returned 0, so it filled `st`.
    let st = unsafe { st.assume_init() };
    st.f_bavail.saturating_mul(st.f_frsize)
}
