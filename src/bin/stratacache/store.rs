//! The store a command works on: opened here ([`Store::Local`], as a disk-only tiered cache,
//! so that tags and expiry mean what they mean to the server), or, while a server holds it,
//! reached through the server's socket ([`Store::Remote`]). Commands call the same methods
//! either way, so their output and exit codes do not depend on which it is.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::Mutex;

use crate::exit::Fatal;
use stratacache::{
    Cache, CachedBytes, Client, CompactReport, DiskStore, EntryInfo, InsertOptions, PayloadKind,
    Result, Stats, VerifyReport,
};

/// Index rows one page of a listing reads (locally, or on the server).
const PAGE: usize = 4096;

/// An open store, or a server's.
pub enum Store {
    /// Opened by this process: the store under a cache without a memory tier.
    Local(Cache),
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
    /// From the local store (borrowing its mapping when stored raw).
    Local(CachedBytes),
    /// From the server, with what its bytes are.
    Remote(Vec<u8>, PayloadKind),
}

impl Value {
    /// The value as JSON for people, when it is a JSON or MessagePack typed value.
    pub fn json(&self) -> Option<Vec<u8>> {
        match self {
            Value::Local(v) => v.to_json(),
            Value::Remote(bytes, kind) => kind.codec().and_then(|c| c.to_json(bytes)),
        }
    }
}

impl Deref for Value {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Value::Local(v) => v,
            Value::Remote(v, _) => v,
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

    /// The disk store of a local store.
    fn disk(cache: &Cache) -> &DiskStore {
        cache.disk_store().expect("the CLI's cache has a disk tier")
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        match self {
            Store::Local(c) => Self::disk(c).dir(),
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
            Store::Local(c) => Ok(c.get_bytes(key)?.map(Value::Local)),
            Store::Remote { client, .. } => Ok(client
                .lock()
                .get_with_kind(key)?
                .map(|(bytes, kind)| Value::Remote(bytes, kind))),
        }
    }

    /// Stores `value` under `key` with no expiry.
    pub fn insert(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.put(key, value, None, &[])
    }

    /// Stores `value` under `key`, expiring `ttl` from now.
    pub fn insert_with_ttl(&self, key: &[u8], value: &[u8], ttl: Duration) -> Result<()> {
        self.put(key, value, Some(ttl), &[])
    }

    /// Stores `value` under `key`, expiring after `ttl` when given, carrying `tags`.
    pub fn put(
        &self,
        key: &[u8],
        value: &[u8],
        ttl: Option<Duration>,
        tags: &[String],
    ) -> Result<()> {
        match self {
            Store::Local(c) => {
                let mut options = InsertOptions::new().tags(tags.iter().cloned());
                if let Some(ttl) = ttl {
                    options = options.ttl(ttl);
                }
                c.insert_bytes_with(key, value, &options)
            }
            Store::Remote { client, .. } => {
                let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
                client.lock().set(key, value, ttl, &tags)
            }
        }
    }

    /// Remaining time to live: `None` absent, `Some(None)` no expiry.
    pub fn ttl(&self, key: &[u8]) -> Result<Option<Option<Duration>>> {
        match self {
            Store::Local(c) => c.ttl(key),
            Store::Remote { client, .. } => client.lock().ttl(key),
        }
    }

    /// Makes `key` expire `ttl` from now; false when absent.
    pub fn expire(&self, key: &[u8], ttl: Duration) -> Result<bool> {
        match self {
            Store::Local(c) => c.expire(key, ttl),
            Store::Remote { client, .. } => client.lock().expire(key, ttl),
        }
    }

    /// Removes the expiry of `key`; true when it had one.
    pub fn persist(&self, key: &[u8]) -> Result<bool> {
        match self {
            Store::Local(c) => c.persist(key),
            Store::Remote { client, .. } => client.lock().persist(key),
        }
    }

    /// Removes every key starting with `prefix`; how many went.
    pub fn remove_prefix(&self, prefix: &[u8]) -> Result<u64> {
        match self {
            Store::Local(c) => c.remove_prefix(prefix),
            Store::Remote { client, .. } => client.lock().remove_prefix(prefix),
        }
    }

    /// Retires every value tagged `tag`.
    pub fn invalidate_tag(&self, tag: &str) -> Result<()> {
        match self {
            Store::Local(c) => c.invalidate_tag(tag),
            Store::Remote { client, .. } => client.lock().invalidate_tag(tag),
        }
    }

    /// Removes `key`; true when it was there.
    pub fn remove(&self, key: &[u8]) -> Result<bool> {
        match self {
            Store::Local(c) => c.remove(key),
            Store::Remote { client, .. } => client.lock().remove(key),
        }
    }

    /// True when `key` holds a live value.
    pub fn contains_key(&self, key: &[u8]) -> Result<bool> {
        match self {
            Store::Local(c) => c.contains_key(key),
            Store::Remote { client, .. } => client.lock().contains_key(key),
        }
    }

    /// The live entries whose keys start with `prefix`, in key order, handed to `each` a
    /// page at a time (memory stays bounded however many match).
    pub fn for_each_page<E: From<stratacache::Error>>(
        &self,
        prefix: &[u8],
        mut each: impl FnMut(Vec<EntryInfo>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match self {
            Store::Local(c) => {
                let disk = Self::disk(c);
                let mut after: Option<Vec<u8>> = None;
                loop {
                    let page = disk.list_page(prefix, after.as_deref(), PAGE)?;
                    each(page.entries)?;
                    match page.next_after {
                        Some(key) => after = Some(key),
                        None => return Ok(()),
                    }
                }
            }
            Store::Remote { client, .. } => {
                let mut cursor = 0;
                loop {
                    // The lock is not held while `each` runs: it may read values.
                    let page = client.lock().list_page(prefix, cursor, PAGE)?;
                    each(page.entries)?;
                    if page.next == 0 {
                        return Ok(());
                    }
                    cursor = page.next;
                }
            }
        }
    }

    /// Every live key starting with `prefix`, in key order, handed to `each` as it is read
    /// (locally without an allocation per key); stops at the first error `each` returns.
    pub fn for_each_key<E: From<stratacache::Error>>(
        &self,
        prefix: &[u8],
        mut each: impl FnMut(&[u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let Store::Local(c) = self else {
            return self.for_each_page(prefix, |entries| {
                entries.iter().try_for_each(|e| each(&e.key))
            });
        };
        let disk = Self::disk(c);
        let mut after: Option<Vec<u8>> = None;
        let mut failed = None;
        loop {
            let next = disk.visit_page(prefix, after.as_deref(), PAGE, |entry| {
                match each(entry.key) {
                    Ok(()) => true,
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            match next {
                Some(key) => after = Some(key),
                None => return Ok(()),
            }
        }
    }

    /// The store's stats.
    pub fn stats(&self) -> Result<Stats> {
        match self {
            Store::Local(c) => Self::disk(c).stats(),
            Store::Remote { client, .. } => client.lock().stats(),
        }
    }

    /// Now on the store's clock, in ms since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        match self {
            Store::Local(c) => c.now_ms(),
            Store::Remote { .. } => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        }
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<()> {
        match self {
            Store::Local(c) => c.flush(),
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
            Store::Local(c) => Self::disk(c).verify_with_progress(repair, progress),
            Store::Remote { client, .. } => client.lock().verify(repair),
        }
    }

    /// Compacts sparse segments, or every one with `all`.
    pub fn compact(&self, all: bool) -> Result<CompactReport> {
        match self {
            Store::Local(c) if all => Self::disk(c).compact_all(),
            Store::Local(c) => Self::disk(c).compact(),
            Store::Remote { client, .. } => client.lock().compact(all),
        }
    }

    /// Removes expired entries now.
    pub fn sweep_expired(&self) -> Result<u64> {
        match self {
            Store::Local(c) => Self::disk(c).sweep_expired().map(|n| n as u64),
            Store::Remote { client, .. } => client.lock().sweep(),
        }
    }

    /// Sets the capacity (evicting down to it).
    pub fn set_capacity(&self, bytes: u64) -> Result<()> {
        match self {
            Store::Local(c) => Self::disk(c).set_capacity(bytes),
            Store::Remote { client, .. } => client.lock().set_capacity(bytes).map(drop),
        }
    }

    /// Closes a local store (flushing it); a server's stays open.
    pub fn close(self) -> Result<()> {
        match self {
            Store::Local(c) => c.close(),
            Store::Remote { .. } => Ok(()),
        }
    }
}
