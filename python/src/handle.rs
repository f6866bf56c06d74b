//! The store behind one `Cache` object: its backend (opened here or a server's), the
//! directory it names in errors, and the rules every call follows: not after `close()`,
//! not in a child after `fork()`, and the GIL released while the store works.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use pyo3::prelude::*;

use crate::backend::{Backend, OpenOptions, Value};
use crate::errors::{self, Kind, raise};

/// Bumped in a child after `fork()`: a cache opened before it must not be used by both
/// processes (they would share its file descriptors, locks and connections).
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Called by `os.register_at_fork(after_in_child=...)`.
#[pyfunction]
pub fn _after_fork() {
    FORK_GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// An open store (until `close`), shared by a `Cache` and its key iterators.
pub struct Handle {
    dir: PathBuf,
    backend: RwLock<Option<Backend>>,
    generation: u64,
}

impl Handle {
    /// Opens `directory` (through its server when one holds it), without the GIL.
    pub fn open(py: Python<'_>, directory: PathBuf, options: &OpenOptions) -> PyResult<Self> {
        let generation = FORK_GENERATION.load(Ordering::Relaxed);
        let backend = py
            .detach(|| Backend::open(&directory, options))
            .map_err(|e| errors::from_store(e, &directory, None))?;
        Ok(Handle {
            dir: std::path::absolute(&directory).unwrap_or(directory),
            backend: RwLock::new(Some(backend)),
            generation,
        })
    }

    /// The store directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True when a server holds the store.
    pub fn is_remote(&self) -> bool {
        self.backend.read().as_ref().is_some_and(Backend::is_remote)
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.backend.read().is_none()
    }

    /// Runs `f` on the backend without the GIL. `key` names the key in errors.
    pub fn run<T: Send>(
        &self,
        py: Python<'_>,
        key: Option<&[u8]>,
        f: impl FnOnce(&Backend) -> stratacache::Result<T> + Send,
    ) -> PyResult<T> {
        self.check_fork()?;
        let result = py.detach(|| {
            let backend = self.backend.read();
            backend.as_ref().map(f)
        });
        match result {
            Some(result) => result.map_err(|e| errors::from_store(e, &self.dir, key)),
            None => Err(self.closed()),
        }
    }

    /// The value under `key`. A memory-tier hit is answered with the GIL held (it takes
    /// well under a microsecond, less than handing the GIL over would cost); anything
    /// slower runs with the GIL released.
    pub fn lookup(&self, py: Python<'_>, key: &[u8]) -> PyResult<Option<Value>> {
        self.check_fork()?;
        if let Some(Backend::Local(cache)) = self.backend.read().as_ref()
            && let Some(value) = cache.get_bytes_in_memory(key)
        {
            return Ok(Some(Value::Local(value)));
        }
        self.run(py, Some(key), |b| b.get(key))
    }

    /// Closes the store (flushing a local one); closing twice is fine.
    pub fn close(&self, py: Python<'_>) -> PyResult<()> {
        let backend = py.detach(|| self.backend.write().take());
        match backend {
            Some(backend) => py
                .detach(|| backend.close())
                .map_err(|e| errors::from_store(e, &self.dir, None)),
            None => Ok(()),
        }
    }

    fn closed(&self) -> PyErr {
        raise(
            Kind::Closed,
            format!("the cache at {} is closed", self.dir.display()),
        )
    }

    fn check_fork(&self) -> PyResult<()> {
        if self.generation == FORK_GENERATION.load(Ordering::Relaxed) {
            return Ok(());
        }
        Err(raise(
            Kind::Error,
            format!(
                "this Cache of {} was opened before the process forked; open it again in \
                 the child (several processes share one directory through `stratacache \
                 serve`)",
                self.dir.display()
            ),
        ))
    }
}
