//! The store a command works on: opened here ([`Store::Local`]), or, while a server holds
//! it, reached through the server's socket ([`Store::Remote`]). Commands call the same
//! methods either way, so their output and exit codes do not depend on which it is.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::Mutex;

use crate::exit::Fatal;
use stratacache::{
    Client, CompactReport, DiskStore, EntryInfo, Result, Stats, ValueRef, VerifyReport,
};

/// Entries one listing request asks a server for.
const REMOTE_PAGE: usize = 4096;

/// An open store, or a server's.
pub enum Store {
    /// Opened by this process.
    Local(DiskStore),
    /// Held by `stratacache serve`; requests go over its socket, one at a time.
    Remote {
        /// The store directory.
        dir: PathBuf,
        /// The connection.
        client: Mutex<Client>,
    },
}

/// A value read from either kind of store.
pub enum Value {
    /// From the local store (borrowing its mapping).
    Local(ValueRef),
    /// From the server.
    Remote(Vec<u8>),
}

impl Deref for Value {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Value::Local(v) => v,
            Value::Remote(v) => v,
        }
    }
}

impl Store {
    /// Connects to the server of `dir` if one answers there, authenticating with
    /// `$STRATACACHE_PASSWORD` when it is set. A server that wants a password it was not
    /// given is an error.
    pub fn remote_if_served(dir: &Path) -> std::result::Result<Option<Store>, Fatal> {
        if !stratacache::server::socket_path(dir).exists() {
            return Ok(None);
        }
        let Ok(mut client) = Client::connect(dir) else {
            return Ok(None);
        };
        if let Ok(password) = std::env::var("STRATACACHE_PASSWORD") {
            client.authenticate(&password)?;
        }
        match client.ping() {
            Ok(()) => Ok(Some(Store::Remote {
                dir: dir.to_path_buf(),
                client: Mutex::new(client),
            })),
            Err(stratacache::Error::Server { message, .. }) if message.starts_with("NOAUTH") => {
                Err(Fatal::msg(format!(
                    "the server holding {} wants a password; set STRATACACHE_PASSWORD",
                    dir.display()
                )))
            }
            Err(_) => Ok(None),
        }
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        match self {
            Store::Local(s) => s.dir(),
            Store::Remote { dir, .. } => dir,
        }
    }

    /// True when a server holds the store.
    pub fn is_remote(&self) -> bool {
        matches!(self, Store::Remote { .. })
    }

    /// The value under `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Value>> {
        match self {
            Store::Local(s) => Ok(s.get(key)?.map(Value::Local)),
            Store::Remote { client, .. } => Ok(client.lock().get(key)?.map(Value::Remote)),
        }
    }

    /// Stores `value` under `key` with no expiry.
    pub fn insert(&self, key: &[u8], value: &[u8]) -> Result<()> {
        match self {
            Store::Local(s) => s.insert(key, value),
            Store::Remote { client, .. } => client.lock().set(key, value, None, &[]),
        }
    }

    /// Stores `value` under `key`, expiring `ttl` from now.
    pub fn insert_with_ttl(&self, key: &[u8], value: &[u8], ttl: Duration) -> Result<()> {
        match self {
            Store::Local(s) => s.insert_with_ttl(key, value, ttl),
            Store::Remote { client, .. } => client.lock().set(key, value, Some(ttl), &[]),
        }
    }

    /// Removes `key`; true when it was there.
    pub fn remove(&self, key: &[u8]) -> Result<bool> {
        match self {
            Store::Local(s) => s.remove(key),
            Store::Remote { client, .. } => client.lock().remove(key),
        }
    }

    /// True when `key` holds a live value.
    pub fn contains_key(&self, key: &[u8]) -> Result<bool> {
        match self {
            Store::Local(s) => s.contains_key(key),
            Store::Remote { client, .. } => client.lock().contains_key(key),
        }
    }

    /// Every live entry whose key starts with `prefix`, in key order.
    pub fn list(&self, prefix: &[u8]) -> Result<Vec<EntryInfo>> {
        match self {
            Store::Local(s) => s.list(prefix),
            Store::Remote { client, .. } => {
                let mut client = client.lock();
                let mut all = Vec::new();
                let mut cursor = 0;
                loop {
                    let page = client.list_page(prefix, cursor, REMOTE_PAGE)?;
                    all.extend(page.entries);
                    if page.next == 0 {
                        return Ok(all);
                    }
                    cursor = page.next;
                }
            }
        }
    }

    /// The store's stats.
    pub fn stats(&self) -> Result<Stats> {
        match self {
            Store::Local(s) => s.stats(),
            Store::Remote { client, .. } => client.lock().stats(),
        }
    }

    /// Now on the store's clock, in ms since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        match self {
            Store::Local(s) => s.now_ms(),
            Store::Remote { .. } => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        }
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<()> {
        match self {
            Store::Local(s) => s.flush(),
            Store::Remote { client, .. } => client.lock().save(),
        }
    }

    /// Checks every record, reporting progress (a server reports only at the end).
    pub fn verify_with_progress(
        &self,
        repair: bool,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<VerifyReport> {
        match self {
            Store::Local(s) => s.verify_with_progress(repair, progress),
            Store::Remote { client, .. } => client.lock().verify(repair),
        }
    }

    /// Compacts sparse segments, or every one with `all`.
    pub fn compact(&self, all: bool) -> Result<CompactReport> {
        match self {
            Store::Local(s) if all => s.compact_all(),
            Store::Local(s) => s.compact(),
            Store::Remote { client, .. } => client.lock().compact(all),
        }
    }

    /// Removes expired entries now.
    pub fn sweep_expired(&self) -> Result<u64> {
        match self {
            Store::Local(s) => s.sweep_expired().map(|n| n as u64),
            Store::Remote { client, .. } => client.lock().sweep(),
        }
    }

    /// Sets the capacity (evicting down to it).
    pub fn set_capacity(&self, bytes: u64) -> Result<()> {
        match self {
            Store::Local(s) => s.set_capacity(bytes),
            Store::Remote { client, .. } => client.lock().set_capacity(bytes).map(drop),
        }
    }

    /// Closes a local store (flushing it); a server's stays open.
    pub fn close(self) -> Result<()> {
        match self {
            Store::Local(s) => s.close(),
            Store::Remote { .. } => Ok(()),
        }
    }
}
