//! Opening the store: which directory, whether it may be created, which settings.
//!
//! The directory comes from `--dir`, else `$STRATACACHE_DIR`, else `./.stratacache` (clap
//! resolves that order). Only `put` and `import` create a store, and only in a missing or
//! empty directory; the library refuses a non-empty directory that is not a store
//! (`Error::NotACache`) and, without create, a missing one (`Error::NoStore`, printed as
//! "no store at DIR").

use std::path::Path;
use std::time::{Duration, Instant};

use stratacache::{Cache, DiskStore, DiskStoreBuilder, EvictionPolicy, Sharing};

use crate::store::Store;

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

/// How a command opens its store.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Capacity of a new store, or the new capacity of an existing one.
    pub capacity: Option<u64>,
    /// The eviction policy, when not the default.
    pub eviction_policy: Option<EvictionPolicy>,
    /// The engine's memory budget, when not the default.
    pub memory_budget: Option<u64>,
    /// How long to wait for a store another process holds.
    pub wait: Option<std::time::Duration>,
    /// The value limit.
    pub max_value_size: u64,
    /// A new store is shared with the owner's group.
    pub shared_group: bool,
}

/// Opens the store in `dir` for one command (or, while `stratacache serve` holds it,
/// connects to the server, which then does the work), waiting up to `wait` for another process
/// that holds it, with `max_value_size` as its value limit; a new store is readable by
/// its owner only unless `shared_group`.
///
/// A capacity, when given, is the capacity of a new store; for an existing store it is
/// changed right after opening, evicting down to it at once, and what that evicted is
/// reported on stderr. The CLI is short-lived, so it turns off the background sweeper and
/// compactor: `sweep` and `compact` run them on demand, and `stats` sees the store as it
/// was left. The background checkpoint stays on, so a long import that is interrupted
/// keeps most of its work.
pub fn open(dir: &Path, mode: Mode, options: Options) -> Result<Store, Fatal> {
    if let Some(remote) = Store::remote_if_served(dir)? {
        if let Some(policy) = options.eviction_policy {
            return Err(Fatal::msg(format!(
                "{} is served by `stratacache serve`, which chose its eviction policy; \
                 --eviction-policy {} applies only to a store this command opens itself",
                dir.display(),
                policy.name()
            )));
        }
        if let Some(bytes) = options.capacity {
            change_capacity(&remote, bytes)?;
        }
        return Ok(remote);
    }
    let Options {
        capacity,
        eviction_policy,
        memory_budget,
        wait,
        max_value_size,
        shared_group,
    } = options;
    let sharing = if shared_group {
        Sharing::Group
    } else {
        Sharing::Owner
    };
    let is_new = !dir.join("index.redb").exists();
    let mut builder = DiskStore::builder(dir)
        .create(mode == Mode::CreateIfMissing)
        .max_value_size(max_value_size as usize)
        .sharing(sharing)
        .sweep_interval(None)
        .background_maintenance(false);
    if let Some(bytes) = capacity.filter(|_| is_new) {
        builder = builder.capacity_bytes(bytes);
    }
    if let Some(policy) = eviction_policy {
        builder = builder.eviction_policy(policy);
    }
    if let Some(bytes) = memory_budget {
        builder = builder.memory_budget(bytes);
    }
    let store = open_waiting(dir, builder, wait)?;
    if let Some(bytes) = capacity.filter(|_| !is_new || store.is_remote()) {
        change_capacity(&store, bytes)?;
    }
    Ok(store)
}

/// Opens, retrying while another process holds the store, until `wait` has passed; a
/// server that starts meanwhile is used through its socket.
fn open_waiting(
    dir: &Path,
    builder: DiskStoreBuilder,
    wait: Option<Duration>,
) -> Result<Store, Fatal> {
    let deadline = Instant::now() + wait.unwrap_or_default();
    loop {
        match Cache::builder().disk(builder.clone()).open() {
            Err(locked @ stratacache::Error::Locked { .. }) => {
                if let Some(remote) = Store::remote_if_served(dir)? {
                    return Ok(remote);
                }
                if Instant::now() >= deadline {
                    return Err(locked.into());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            result => return Ok(Store::Local(result?)),
        }
    }
}

/// Sets a new capacity on an open store and says what that evicted.
fn change_capacity(store: &Store, bytes: u64) -> Result<(), Fatal> {
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
