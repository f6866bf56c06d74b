//! What every connection of a server shares.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Condvar, Mutex};

use super::clients::Clients;
use super::config::{Durability, ServerConfig};
use super::group_commit::GroupCommit;
use super::key_locks::KeyLocks;
use super::resp::request::Limits;
use crate::cache::Cache;
use crate::engine::DiskStore;

/// Server-wide counters for `INFO stats`.
#[derive(Default)]
pub struct ServerCounters {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Connections refused at `--max-clients`.
    pub rejected: AtomicU64,
    /// Commands run.
    pub commands: AtomicU64,
    /// Error replies sent.
    pub errors: AtomicU64,
    /// Keys read that existed.
    pub keyspace_hits: AtomicU64,
    /// Keys read that did not.
    pub keyspace_misses: AtomicU64,
    /// Bytes received.
    pub input_bytes: AtomicU64,
    /// Bytes sent.
    pub output_bytes: AtomicU64,
}

/// Open `SCAN` cursors: cursor number to the last key returned. Bounded; the oldest go.
#[derive(Default)]
pub struct Cursors {
    inner: Mutex<CursorTable>,
}

#[derive(Default)]
struct CursorTable {
    next: u64,
    map: HashMap<u64, Vec<u8>>,
    order: VecDeque<u64>,
}

/// Most cursors kept at once.
const MAX_CURSORS: usize = 65_536;

impl Cursors {
    /// A cursor that continues after `key`.
    pub fn open(&self, key: Vec<u8>) -> u64 {
        let mut t = self.inner.lock();
        t.next += 1;
        let id = t.next;
        t.map.insert(id, key);
        t.order.push_back(id);
        while t.order.len() > MAX_CURSORS {
            if let Some(old) = t.order.pop_front() {
                t.map.remove(&old);
            }
        }
        id
    }

    /// The key cursor `id` continues after (the cursor stays valid: a client may retry).
    pub fn get(&self, id: u64) -> Option<Vec<u8>> {
        self.inner.lock().map.get(&id).cloned()
    }
}

/// The shutdown request, and a way to wait for it.
pub struct Shutdown {
    requested: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
    /// Tells every connection and accept task to stop.
    pub stopping: tokio::sync::watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self {
            requested: AtomicBool::new(false),
            lock: Mutex::new(()),
            wake: Condvar::new(),
            stopping: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl Shutdown {
    /// Asks the server to stop.
    pub fn request(&self) {
        let _guard = self.lock.lock();
        self.requested.store(true, Ordering::SeqCst);
        self.wake.notify_all();
    }

    /// Tells the tasks to stop (after [`Shutdown::wait`] returned).
    pub fn stop_tasks(&self) {
        self.stopping.send_replace(true);
    }

    /// True once asked.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Blocks until asked.
    pub fn wait(&self) {
        let mut guard = self.lock.lock();
        while !self.is_requested() {
            self.wake.wait(&mut guard);
        }
    }
}

/// The state of a running server.
pub struct Shared {
    /// The cache it serves.
    pub cache: Cache,
    /// Its settings.
    pub config: ServerConfig,
    /// The store directory.
    pub dir: PathBuf,
    /// The unix socket.
    pub socket_path: PathBuf,
    /// What one request may be.
    pub limits: Limits,
    /// Connected clients.
    pub clients: Clients,
    /// Locks for conditional writes.
    pub locks: KeyLocks,
    /// Group commit (durability always).
    pub commit: GroupCommit,
    /// `SCAN` cursors.
    pub cursors: Cursors,
    /// `INFO` counters.
    pub counters: ServerCounters,
    /// The next client id.
    pub next_client: AtomicU64,
    /// When the server started.
    pub started: Instant,
    /// Unix seconds of the last completed `SAVE` (or start).
    pub last_save: Arc<AtomicU64>,
    /// A `BGSAVE` is running.
    pub bgsave_running: Arc<AtomicBool>,
    /// The shutdown request.
    pub shutdown: Shutdown,
    /// The memory tier budget, for `INFO` and `CONFIG GET maxmemory`.
    pub memory_budget: u64,
}

impl Shared {
    /// The state of a server of `cache` (whose disk tier is in `dir`) as `config` says.
    pub fn new(
        cache: Cache,
        config: ServerConfig,
        dir: PathBuf,
        limits: Limits,
        memory_budget: u64,
    ) -> Self {
        Self {
            cache,
            config,
            socket_path: dir.join(super::SOCKET_NAME),
            dir,
            limits,
            clients: Default::default(),
            locks: Default::default(),
            commit: Default::default(),
            cursors: Default::default(),
            counters: Default::default(),
            next_client: AtomicU64::new(0),
            started: Instant::now(),
            last_save: Arc::new(AtomicU64::new(unix_secs())),
            bgsave_running: Arc::new(AtomicBool::new(false)),
            shutdown: Default::default(),
            memory_budget,
        }
    }

    /// The disk store under the cache (a server always has one).
    pub fn store(&self) -> &DiskStore {
        self.cache
            .disk_store()
            .expect("a server's cache has a disk tier")
    }

    /// True when writes wait for durability.
    pub fn durable_writes(&self) -> bool {
        self.config.durability == Durability::Always
    }

    /// Makes everything written so far durable and notes the time for `LASTSAVE`.
    pub fn save(&self) -> crate::Result<()> {
        self.cache.flush()?;
        self.last_save.store(unix_secs(), Ordering::Relaxed);
        Ok(())
    }
}

/// Seconds since the Unix epoch.
pub fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
