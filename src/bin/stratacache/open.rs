//! Opening the store: which directory, whether it may be created, which settings.
//!
//! The directory comes from `--dir`, else `$STRATACACHE_DIR`, else `./.stratacache` (clap
//! resolves that order). Only `put` and `import` create a store, and only in a missing or
//! empty directory; the library refuses a non-empty directory that is not a store
//! (`Error::NotACache`) and, without create, a missing one (`Error::NoStore`, printed as
//! "no store at DIR").

use std::path::Path;
use std::time::{Duration, Instant};

use stratacache::{DiskStore, DiskStoreBuilder};

use crate::exit::Fatal;
use crate::units::{grouped, human_size};

/// Whether a command may create the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create the store when the directory is missing or empty.
    CreateIfMissing,
    /// The store must exist.
    Existing,
}

/// Opens the store in `dir` for one command, waiting up to `wait` for another process
/// that holds it, with `max_value_size` as its value limit.
///
/// A capacity, when given, is the capacity of a new store; for an existing store it is
/// changed right after opening, evicting down to it at once, and what that evicted is
/// reported on stderr. The CLI is short-lived, so it turns off the background sweeper and
/// compactor: `sweep` and `compact` run them on demand, and `stats` sees the store as it
/// was left. The background checkpoint stays on, so a long import that is interrupted
/// keeps most of its work.
pub fn open(
    dir: &Path,
    capacity: Option<u64>,
    mode: Mode,
    wait: Option<Duration>,
    max_value_size: u64,
) -> Result<DiskStore, Fatal> {
    let is_new = !dir.join("index.redb").exists();
    let mut builder = DiskStore::builder(dir)
        .create(mode == Mode::CreateIfMissing)
        .max_value_size(max_value_size as usize)
        .sweep_interval(None)
        .background_maintenance(false);
    if let Some(bytes) = capacity.filter(|_| is_new) {
        builder = builder.capacity_bytes(bytes);
    }
    let store = open_waiting(builder, wait)?;
    if let Some(bytes) = capacity.filter(|_| !is_new) {
        change_capacity(&store, bytes)?;
    }
    Ok(store)
}

/// Opens, retrying while another process holds the store, until `wait` has passed.
fn open_waiting(builder: DiskStoreBuilder, wait: Option<Duration>) -> Result<DiskStore, Fatal> {
    let deadline = Instant::now() + wait.unwrap_or_default();
    loop {
        match builder.clone().open() {
            Err(stratacache::Error::Locked { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            result => return Ok(result?),
        }
    }
}

/// Sets a new capacity on an open store and says what that evicted.
fn change_capacity(store: &DiskStore, bytes: u64) -> Result<(), Fatal> {
    let before = store.stats()?;
    if before.capacity_bytes == bytes {
        return Ok(());
    }
    store.set_capacity(bytes)?;
    let after = store.stats()?;
    let evicted = after.evictions - before.evictions;
    eprintln!(
        "stratacache: capacity changed from {} to {}; evicted {} {} ({} now on disk)",
        human_size(before.capacity_bytes),
        human_size(bytes),
        grouped(evicted),
        if evicted == 1 { "entry" } else { "entries" },
        human_size(after.disk_bytes),
    );
    Ok(())
}
