//! Where a `Cache`'s requests go: the store opened in this process (`Local`), or the
//! `stratacache serve` that holds the directory, through its socket (`Remote`). Both take
//! and give the same Rust values, so the Python layer does not care which it has.

use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::Mutex;
use stratacache::{
    Cache, CacheStats, CachedBytes, Client, DiskStore, Error, InsertOptions, PayloadKind, Result,
    Stats,
};

/// What `Cache(...)` was asked for.
pub struct OpenOptions {
    /// Disk capacity: for a new store, else `None` keeps the store's own.
    pub capacity: Option<u64>,
    /// Memory tier budget in bytes (0: none). Local mode only: a server has its own.
    pub memory: u64,
    /// TTL of values set without one.
    pub default_ttl: Option<Duration>,
    /// Whether values are lz4-compressed on disk (local mode; a server has its own).
    pub compression: stratacache::Compression,
    /// A Redis tier (local mode; a server has its own, `serve --redis`).
    pub redis: Option<stratacache::RedisConfig>,
}

/// Capacity of a store created without one: 10 GiB.
pub const DEFAULT_CAPACITY: u64 = stratacache::limits::DEFAULT_CAPACITY;

/// One value to store: its key, its encoded bytes and what they are, its TTL and tags.
pub struct Write<'a> {
    /// The key.
    pub key: &'a [u8],
    /// What the bytes are.
    pub kind: PayloadKind,
    /// The encoded value.
    pub payload: &'a [u8],
    /// Expiry from now, if any.
    pub ttl: Option<Duration>,
    /// Tags that retire it.
    pub tags: &'a [String],
}

impl Write<'_> {
    fn options(&self) -> InsertOptions {
        Backend::options(self.ttl, self.tags)
    }

    fn tag_strs(&self) -> Vec<&str> {
        self.tags.iter().map(String::as_str).collect()
    }
}

/// A value read back, with what its bytes are.
pub enum Value {
    /// From the local cache (borrowing its memory or mapping).
    Local(CachedBytes),
    /// From the server.
    Remote(Vec<u8>, PayloadKind),
}

impl Value {
    /// The stored bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Value::Local(v) => v,
            Value::Remote(v, _) => v,
        }
    }

    /// What they are.
    pub fn kind(&self) -> PayloadKind {
        match self {
            Value::Local(v) => v.kind(),
            Value::Remote(_, kind) => *kind,
        }
    }
}

/// One page of keys and where the next starts.
pub struct KeyPage {
    /// Keys, in order.
    pub keys: Vec<Vec<u8>>,
    /// Where the next page starts, `None` at the end.
    pub next: Option<Cursor>,
}

/// Where a listing resumes.
#[derive(Debug, Clone)]
pub enum Cursor {
    /// Locally: after this key.
    After(Vec<u8>),
    /// On a server: its cursor.
    Remote(u64),
}

/// Keys one page of `keys()` fetches.
const PAGE: usize = 1024;

/// The store of a `Cache`, opened here or held by a server.
pub enum Backend {
    /// Opened by this process.
    Local(Cache),
    /// Held by a server; connections are pooled, one per concurrent call.
    Remote(Remote),
}

/// A server's store, reached through its socket.
pub struct Remote {
    dir: PathBuf,
    password: Option<String>,
    idle: Mutex<Vec<Client>>,
}

impl Remote {
    fn connect(&self) -> Result<Client> {
        let mut client = Client::connect(&self.dir)?;
        if let Some(password) = &self.password {
            client.authenticate(password)?;
        }
        Ok(client)
    }

    /// Runs `f` on an idle connection (or a new one). A connection that fails on I/O is
    /// dropped. When a pooled connection fails that way (the server restarted since it was
    /// last used), `f` runs once more on a new connection.
    fn with<T>(&self, mut f: impl FnMut(&mut Client) -> Result<T>) -> Result<T> {
        let idle = self.idle.lock().pop();
        let (mut client, pooled) = match idle {
            Some(client) => (client, true),
            None => (self.connect()?, false),
        };
        let mut result = f(&mut client);
        if pooled && matches!(result, Err(Error::Io { .. })) {
            self.idle.lock().clear();
            client = self.connect()?;
            result = f(&mut client);
        }
        if !matches!(result, Err(Error::Io { .. })) {
            self.idle.lock().push(client);
        }
        result
    }
}

impl Backend {
    /// Opens `dir`: through its server when one answers there, else here. `Err(Locked)`
    /// when another process holds it without serving it.
    pub fn open(dir: &Path, options: &OpenOptions) -> Result<Backend> {
        if let Some(remote) = Self::served(dir)? {
            if options.redis.is_some() {
                return Err(Error::InvalidInput(
                    "a stratacache server holds this directory; redis= applies only when \
                     this process opens the store itself (give the server its Redis tier: \
                     stratacache serve --redis URL)"
                        .into(),
                ));
            }
            if let Some(bytes) = options.capacity {
                remote.set_capacity_if_different(bytes)?;
            }
            return Ok(remote);
        }
        let is_new = !dir.join("index.redb").exists();
        let mut disk = DiskStore::builder(dir)
            .create(true)
            .compression(options.compression);
        if is_new {
            disk = disk.capacity_bytes(options.capacity.unwrap_or(DEFAULT_CAPACITY));
        }
        let mut builder = Cache::builder().disk(disk);
        if options.memory > 0 {
            builder = builder.memory(options.memory);
        }
        if let Some(ttl) = options.default_ttl {
            builder = builder.default_ttl(ttl);
        }
        if let Some(redis) = &options.redis {
            builder = builder.redis_config(redis.clone());
        }
        let cache = match builder.open() {
            Err(locked @ Error::Locked { .. }) => {
                // A server may have taken the directory since we looked.
                return match Self::served(dir)? {
                    Some(remote) => Ok(remote),
                    None => Err(locked),
                };
            }
            other => other?,
        };
        let local = Backend::Local(cache);
        if let Some(bytes) = options.capacity.filter(|_| !is_new) {
            local.set_capacity_if_different(bytes)?;
        }
        Ok(local)
    }

    /// The server of `dir`, when one answers on its socket (authenticating with
    /// `$STRATACACHE_PASSWORD` when set).
    fn served(dir: &Path) -> Result<Option<Backend>> {
        if !stratacache::server::socket_path(dir).exists() {
            return Ok(None);
        }
        let remote = Remote {
            dir: dir.to_path_buf(),
            password: std::env::var("STRATACACHE_PASSWORD").ok(),
            idle: Mutex::new(Vec::new()),
        };
        match remote.with(|c| c.ping()) {
            Ok(()) => Ok(Some(Backend::Remote(remote))),
            Err(Error::Server { socket, message }) if message.starts_with("NOAUTH") => {
                Err(Error::Server {
                    socket,
                    message: "the server wants a password; set STRATACACHE_PASSWORD".into(),
                })
            }
            Err(Error::Server { socket, message }) if message.starts_with("WRONGPASS") => {
                Err(Error::Server {
                    socket,
                    message: format!("the server refused STRATACACHE_PASSWORD: {message}"),
                })
            }
            Err(_) => Ok(None),
        }
    }

    /// True when a server holds the store.
    pub fn is_remote(&self) -> bool {
        matches!(self, Backend::Remote(_))
    }

    fn disk(cache: &Cache) -> &DiskStore {
        cache
            .disk_store()
            .expect("a Python cache always has a disk tier")
    }

    fn set_capacity_if_different(&self, bytes: u64) -> Result<()> {
        if self.disk_stats()?.capacity_bytes != bytes {
            match self {
                Backend::Local(c) => Self::disk(c).set_capacity(bytes)?,
                Backend::Remote(r) => r.with(|c| c.set_capacity(bytes)).map(drop)?,
            }
        }
        Ok(())
    }

    /// The value under `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Value>> {
        match self {
            Backend::Local(c) => Ok(c.get_bytes(key)?.map(Value::Local)),
            Backend::Remote(r) => Ok(r
                .with(|c| c.get_with_kind(key))?
                .map(|(bytes, kind)| Value::Remote(bytes, kind))),
        }
    }

    /// The values under `keys`, in order.
    pub fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Value>>> {
        match self {
            Backend::Local(c) => Ok(c
                .get_many_bytes(keys)?
                .into_iter()
                .map(|v| v.map(Value::Local))
                .collect()),
            Backend::Remote(r) => {
                let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
                Ok(r.with(|c| c.get_many_with_kind(&keys))?
                    .into_iter()
                    .map(|v| v.map(|(bytes, kind)| Value::Remote(bytes, kind)))
                    .collect())
            }
        }
    }

    fn options(ttl: Option<Duration>, tags: &[String]) -> InsertOptions {
        let mut options = InsertOptions::new().tags(tags.iter().cloned());
        if let Some(ttl) = ttl {
            options = options.ttl(ttl);
        }
        options
    }

    /// Stores `w.payload` as `w.kind` under `w.key`.
    pub fn set(&self, w: &Write<'_>) -> Result<()> {
        match self {
            Backend::Local(c) => c.insert_payload(w.key, w.kind, w.payload, &w.options()),
            Backend::Remote(r) => {
                let tags = w.tag_strs();
                r.with(|c| c.set_payload(w.key, w.kind, w.payload, w.ttl, &tags))
            }
        }
    }

    /// Stores like [`Self::set`], only when `w.key` holds no live value; true when stored.
    /// Through a server the check and the write happen under the server's lock on the key,
    /// so of many processes adding one key, one wins. In this process, adds are serialized
    /// with each other (the store is this process's alone).
    pub fn add(&self, w: &Write<'_>) -> Result<bool> {
        match self {
            Backend::Local(c) => {
                static ADDS: Mutex<()> = Mutex::new(());
                let _one_at_a_time = ADDS.lock();
                if c.contains_key(w.key)? {
                    return Ok(false);
                }
                c.insert_payload(w.key, w.kind, w.payload, &w.options())?;
                Ok(true)
            }
            Backend::Remote(r) => {
                let tags = w.tag_strs();
                r.with(|c| c.set_payload_if_absent(w.key, w.kind, w.payload, w.ttl, &tags))
            }
        }
    }

    /// Stores every `(key, kind, payload)` with the same TTL.
    pub fn set_many(
        &self,
        items: &[(Vec<u8>, PayloadKind, Vec<u8>)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        match self {
            Backend::Local(c) => c.insert_many_payloads(items, &Self::options(ttl, &[])),
            Backend::Remote(r) => {
                let items: Vec<(&[u8], PayloadKind, &[u8])> = items
                    .iter()
                    .map(|(k, kind, v)| (k.as_slice(), *kind, v.as_slice()))
                    .collect();
                r.with(|c| c.set_many_payloads(&items, ttl, &[]))
            }
        }
    }

    /// Removes `key`; true when it was there.
    pub fn remove(&self, key: &[u8]) -> Result<bool> {
        match self {
            Backend::Local(c) => c.remove(key),
            Backend::Remote(r) => r.with(|c| c.remove(key)),
        }
    }

    /// True when `key` holds a live value.
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        match self {
            Backend::Local(c) => c.contains_key(key),
            Backend::Remote(r) => r.with(|c| c.contains_key(key)),
        }
    }

    /// Time left: `None` absent, `Some(None)` no expiry.
    pub fn ttl(&self, key: &[u8]) -> Result<Option<Option<Duration>>> {
        match self {
            Backend::Local(c) => c.ttl(key),
            Backend::Remote(r) => r.with(|c| c.ttl(key)),
        }
    }

    /// Makes `key` expire `ttl` from now; false when absent.
    pub fn expire(&self, key: &[u8], ttl: Duration) -> Result<bool> {
        match self {
            Backend::Local(c) => c.expire(key, ttl),
            Backend::Remote(r) => r.with(|c| c.expire(key, ttl)),
        }
    }

    /// Removes the expiry of `key`; true when it had one.
    pub fn persist(&self, key: &[u8]) -> Result<bool> {
        match self {
            Backend::Local(c) => c.persist(key),
            Backend::Remote(r) => r.with(|c| c.persist(key)),
        }
    }

    /// Retires every value tagged `tag`.
    pub fn invalidate_tag(&self, tag: &str) -> Result<()> {
        match self {
            Backend::Local(c) => c.invalidate_tag(tag),
            Backend::Remote(r) => r.with(|c| c.invalidate_tag(tag)),
        }
    }

    /// Removes every key starting with `prefix`; how many went.
    pub fn remove_prefix(&self, prefix: &[u8]) -> Result<u64> {
        match self {
            Backend::Local(c) => c.remove_prefix(prefix),
            Backend::Remote(r) => r.with(|c| c.remove_prefix(prefix)),
        }
    }

    /// One page of the live keys starting with `prefix`, from `from` (`None`: the start).
    pub fn key_page(&self, prefix: &[u8], from: Option<&Cursor>) -> Result<KeyPage> {
        match self {
            Backend::Local(c) => {
                let after = match from {
                    Some(Cursor::After(key)) => Some(key.as_slice()),
                    _ => None,
                };
                let page = Self::disk(c).list_page(prefix, after, PAGE)?;
                Ok(KeyPage {
                    keys: page.entries.into_iter().map(|e| e.key).collect(),
                    next: page.next_after.map(Cursor::After),
                })
            }
            Backend::Remote(r) => {
                let cursor = match from {
                    Some(Cursor::Remote(n)) => *n,
                    _ => 0,
                };
                let page = r.with(|c| c.list_page(prefix, cursor, PAGE))?;
                Ok(KeyPage {
                    keys: page.entries.into_iter().map(|e| e.key).collect(),
                    next: (page.next != 0).then_some(Cursor::Remote(page.next)),
                })
            }
        }
    }

    /// The disk store's stats.
    pub fn disk_stats(&self) -> Result<Stats> {
        match self {
            Backend::Local(c) => Self::disk(c).stats(),
            Backend::Remote(r) => r.with(|c| c.stats()),
        }
    }

    /// The disk store's stats and the cache's (per tier; a server's cache when remote).
    pub fn stats(&self) -> Result<(Stats, CacheStats)> {
        match self {
            Backend::Local(c) => Ok((Self::disk(c).stats()?, c.stats())),
            Backend::Remote(r) => r.with(|c| c.all_stats()),
        }
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<()> {
        match self {
            Backend::Local(c) => c.flush(),
            Backend::Remote(r) => r.with(|c| c.save()),
        }
    }

    /// Closes: flushes a local store and releases its directory; drops a server's
    /// connections.
    pub fn close(self) -> Result<()> {
        match self {
            Backend::Local(c) => c.close(),
            Backend::Remote(_) => Ok(()),
        }
    }
}
