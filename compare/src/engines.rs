//! One adapter per engine: open, insert a batch, make everything acknowledged so far durable,
//! read, close. Every adapter is used the same way by the workloads in `main.rs`.

use std::path::Path;
use std::time::Duration;

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The engines this harness knows, in report order.
pub const ALL: &[&str] = &[
    "stratacache",
    "stratacache-disk",
    "foyer",
    "foyer-defaults",
    "redb",
    "fjall",
    "redis",
];

/// Settings shared by every engine in one workload.
#[derive(Debug, Clone)]
pub struct Params {
    /// Memory tier budget in bytes (stratacache `Cache`, foyer).
    pub memory_bytes: u64,
    /// Disk capacity in bytes (stratacache, foyer): large enough to hold all the data.
    pub disk_bytes: u64,
    /// Redis port (the harness runs the server).
    pub redis_port: u16,
}

/// The tier of a tiered engine that answered a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitTier {
    Memory,
    Disk,
}

pub trait Engine {
    /// Inserts one batch (for redb one transaction, for Redis one pipeline).
    fn insert_batch(&mut self, items: &[(Vec<u8>, Vec<u8>)]) -> Res<()>;
    /// Makes every insert so far durable, as far as the engine's API offers.
    fn persist(&mut self) -> Res<()>;
    /// Reads a key; `f` sees the value's bytes. Returns whether it was found.
    fn get(&mut self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> Res<bool>;
    /// For tiered engines: the tier that answered the last `get` that found its key.
    fn last_hit_tier(&self) -> Option<HitTier> {
        None
    }
    /// Clean close.
    fn close(self: Box<Self>) -> Res<()>;
}

pub fn open(name: &str, dir: &Path, p: &Params) -> Res<Box<dyn Engine>> {
    Ok(match name {
        "stratacache" => Box::new(Strata::open(dir, p)?),
        "stratacache-disk" => Box::new(StrataDisk::open(dir, p)?),
        "foyer" => Box::new(Foyer::open(dir, p, true)?),
        "foyer-defaults" => Box::new(Foyer::open(dir, p, false)?),
        "redb" => Box::new(Redb::open(dir, true)?),
        "redb-batched" => Box::new(Redb::open(dir, false)?),
        "fjall" => Box::new(Fjall::open(dir)?),
        "redis" => Box::new(Redis::connect(p.redis_port)?),
        other => return Err(format!("unknown engine {other:?}").into()),
    })
}

// ---------------------------------------------------------------- stratacache

fn disk_builder(dir: &Path, p: &Params) -> stratacache::DiskStoreBuilder {
    stratacache::DiskStore::builder(dir).capacity_bytes(p.disk_bytes)
}

/// The tiered `Cache`: a small memory tier over the disk store, write-through.
pub struct Strata {
    cache: stratacache::Cache,
    last_hit: Option<HitTier>,
}

impl Strata {
    fn open(dir: &Path, p: &Params) -> Res<Self> {
        let cache = stratacache::Cache::builder()
            .memory(p.memory_bytes)
            .disk(disk_builder(dir, p))
            .open()?;
        Ok(Self {
            cache,
            last_hit: None,
        })
    }
}

impl Engine for Strata {
    fn insert_batch(&mut self, items: &[(Vec<u8>, Vec<u8>)]) -> Res<()> {
        Ok(self.cache.insert_many_bytes(items)?)
    }
    fn persist(&mut self) -> Res<()> {
        Ok(self.cache.flush()?)
    }
    fn get(&mut self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> Res<bool> {
        match self.cache.get_bytes(key)? {
            None => Ok(false),
            Some(v) => {
                f(&v);
                self.last_hit = Some(match v.source() {
                    stratacache::TierKind::Memory => HitTier::Memory,
                    _ => HitTier::Disk,
                });
                Ok(true)
            }
        }
    }
    fn last_hit_tier(&self) -> Option<HitTier> {
        self.last_hit
    }
    fn close(self: Box<Self>) -> Res<()> {
        Ok(self.cache.close()?)
    }
}

/// The disk tier alone (`DiskStore`), no memory tier above it.
pub struct StrataDisk {
    store: stratacache::DiskStore,
}

impl StrataDisk {
    fn open(dir: &Path, p: &Params) -> Res<Self> {
        Ok(Self {
            store: disk_builder(dir, p).open()?,
        })
    }
}

impl Engine for StrataDisk {
    fn insert_batch(&mut self, items: &[(Vec<u8>, Vec<u8>)]) -> Res<()> {
        Ok(self.store.insert_many(items)?)
    }
    fn persist(&mut self) -> Res<()> {
        Ok(self.store.flush()?)
    }
    fn get(&mut self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> Res<bool> {
        match self.store.get(key)? {
            None => Ok(false),
            Some(v) => {
                f(&v);
                Ok(true)
            }
        }
    }
    fn close(self: Box<Self>) -> Res<()> {
        Ok(self.store.close()?)
    }
}

// ---------------------------------------------------------------- foyer

type FoyerCache = foyer::HybridCache<Vec<u8>, Vec<u8>>;

/// foyer's HybridCache: memory cache (weighed in bytes) over the block engine on a file-system
/// device. `durable = true` is the configuration that keeps what it is given: write to disk on
/// insertion, a submit queue that never overflows, a 64 MiB buffer pool, and a wait for the
/// flushers after every batch (about 4 MiB), because a flusher whose buffer is full drops the
/// entry (foyer counts it as `storage_queue_buffer_overflow`) whatever the queue settings.
/// `durable = false` is foyer's defaults (write on eviction from memory, 16 MiB buffer pool,
/// entries beyond the queue or the buffers are dropped); only `persist` waits there.
pub struct Foyer {
    rt: tokio::runtime::Runtime,
    cache: Option<FoyerCache>,
    durable: bool,
    last_hit: Option<HitTier>,
}

impl Foyer {
    fn open(dir: &Path, p: &Params, durable: bool) -> Res<Self> {
        use foyer::{
            BlockEngineConfig, DeviceBuilder, FsDeviceBuilder, HybridCacheBuilder,
            HybridCachePolicy, RecoverMode,
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let memory = p.memory_bytes as usize;
        let disk = p.disk_bytes as usize;
        let dir = dir.to_path_buf();
        let cache = rt.block_on(async move {
            let device = FsDeviceBuilder::new(&dir).with_capacity(disk).build()?;
            let mut engine = BlockEngineConfig::new(device);
            let mut builder = HybridCacheBuilder::new().with_name("compare");
            if durable {
                builder = builder.with_policy(HybridCachePolicy::WriteOnInsertion);
                engine = engine
                    .with_buffer_pool_size(64 << 20)
                    .with_submit_queue_size_threshold(usize::MAX / 2);
            }
            builder
                .memory(memory)
                .with_weighter(|k: &Vec<u8>, v: &Vec<u8>| k.len() + v.len())
                .storage()
                .with_engine_config(engine)
                .with_recover_mode(RecoverMode::Quiet)
                .build()
                .await
        })?;
        Ok(Self {
            rt,
            cache: Some(cache),
            durable,
            last_hit: None,
        })
    }

    fn cache(&self) -> &FoyerCache {
        self.cache.as_ref().expect("open")
    }
}

impl Engine for Foyer {
    fn insert_batch(&mut self, items: &[(Vec<u8>, Vec<u8>)]) -> Res<()> {
        let cache = self.cache();
        for (k, v) in items {
            cache.insert(k.clone(), v.clone());
        }
        if self.durable {
            self.rt.block_on(cache.storage().wait());
        }
        Ok(())
    }
    fn persist(&mut self) -> Res<()> {
        // Waits until the flushers wrote every entry submitted so far (foyer never fsyncs;
        // written pages survive a process kill).
        self.rt.block_on(self.cache().storage().wait());
        Ok(())
    }
    fn get(&mut self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> Res<bool> {
        let cache = self.cache.as_ref().expect("open");
        let fut = cache.get(key);
        let entry = match fut.try_unwrap() {
            Ok(entry) => Some(entry),
            Err(fut) => self.rt.block_on(fut)?,
        };
        match entry {
            None => Ok(false),
            Some(e) => {
                f(e.value());
                self.last_hit = Some(match e.source() {
                    foyer::Source::Disk => HitTier::Disk,
                    _ => HitTier::Memory,
                });
                Ok(true)
            }
        }
    }
    fn last_hit_tier(&self) -> Option<HitTier> {
        self.last_hit
    }
    fn close(mut self: Box<Self>) -> Res<()> {
        let cache = self.cache.take().expect("open");
        self.rt.block_on(cache.close())?;
        drop(cache);
        Ok(())
    }
}

// ---------------------------------------------------------------- redb

const REDB_TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("kv");

/// redb 4 with values inline: one transaction per batch, durable (`Immediate`) as "redb",
/// or, as "redb-batched", non-durable (`Durability::None`) with one durable commit at
/// `persist` (what stratacache and fjall do: durable at the flush, not per batch).
pub struct Redb {
    db: redb::Database,
    reader: Option<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>,
    durable_batches: bool,
}

impl Redb {
    fn open(dir: &Path, durable_batches: bool) -> Res<Self> {
        std::fs::create_dir_all(dir)?;
        let db = redb::Database::create(dir.join("redb.db"))?;
        Ok(Self {
            db,
            reader: None,
            durable_batches,
        })
    }
}

impl Engine for Redb {
    fn insert_batch(&mut self, items: &[(Vec<u8>, Vec<u8>)]) -> Res<()> {
        self.reader = None;
        let mut tx = self.db.begin_write()?;
        tx.set_durability(if self.durable_batches {
            redb::Durability::Immediate
        } else {
            redb::Durability::None
        })?;
        {
            let mut table = tx.open_table(REDB_TABLE)?;
            for (k, v) in items {
                table.insert(k.as_slice(), v.as_slice())?;
            }
        }
        tx.commit()?;
        Ok(())
    }
    fn persist(&mut self) -> Res<()> {
        if !self.durable_batches {
            // A durable commit makes the non-durable ones before it durable too.
            self.reader = None;
            let mut tx = self.db.begin_write()?;
            tx.set_durability(redb::Durability::Immediate)?;
            tx.commit()?;
        }
        Ok(())
    }
    fn get(&mut self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> Res<bool> {
        use redb::ReadableDatabase;
        if self.reader.is_none() {
            // One read transaction for the whole read phase (the cheapest way to read redb).
            let tx = self.db.begin_read()?;
            self.reader = match tx.open_table(REDB_TABLE) {
                Ok(t) => Some(t),
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(false),
                Err(e) => return Err(e.into()),
            };
        }
        let table = self.reader.as_ref().expect("set above");
        match table.get(key)? {
            None => Ok(false),
            Some(v) => {
                f(v.value());
                Ok(true)
            }
        }
    }
    fn close(self: Box<Self>) -> Res<()> {
        drop(self);
        Ok(())
    }
}

// ---------------------------------------------------------------- fjall

/// fjall 3 (LSM) with key-value separation (values of 1 KiB and more go to blob files, the
/// setting fjall documents for large values); `persist` is `PersistMode::SyncAll`.
pub struct Fjall {
    db: fjall::Database,
    ks: fjall::Keyspace,
}

impl Fjall {
    fn open(dir: &Path) -> Res<Self> {
        let db = fjall::Database::builder(dir).open()?;
        let ks = db.keyspace("kv", || {
            fjall::KeyspaceCreateOptions::default()
                .with_kv_separation(Some(fjall::KvSeparationOptions::default()))
        })?;
        Ok(Self { db, ks })
    }
}

impl Engine for Fjall {
    fn insert_batch(&mut self, items: &[(Vec<u8>, Vec<u8>)]) -> Res<()> {
        for (k, v) in items {
            self.ks.insert(k.as_slice(), v.as_slice())?;
        }
        Ok(())
    }
    fn persist(&mut self) -> Res<()> {
        Ok(self.db.persist(fjall::PersistMode::SyncAll)?)
    }
    fn get(&mut self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> Res<bool> {
        match self.ks.get(key)? {
            None => Ok(false),
            Some(v) => {
                f(&v);
                Ok(true)
            }
        }
    }
    fn close(self: Box<Self>) -> Res<()> {
        self.db.persist(fjall::PersistMode::SyncAll)?;
        drop(self);
        Ok(())
    }
}

// ---------------------------------------------------------------- redis

/// Redis on loopback (server run by the harness with `appendonly yes`, `appendfsync
/// everysec`); one pipeline per batch. Redis 7.0 has no WAITAOF, so a write counts as
/// persisted 1.1 s after its reply (`persist` sleeps that long).
pub struct Redis {
    con: redis::Connection,
}

impl Redis {
    fn connect(port: u16) -> Res<Self> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
        let con = client.get_connection_with_timeout(Duration::from_secs(10))?;
        con.set_read_timeout(Some(Duration::from_secs(60)))?;
        con.set_write_timeout(Some(Duration::from_secs(60)))?;
        Ok(Self { con })
    }
}

pub const REDIS_FSYNC_WAIT: Duration = Duration::from_millis(1100);

impl Engine for Redis {
    fn insert_batch(&mut self, items: &[(Vec<u8>, Vec<u8>)]) -> Res<()> {
        let mut pipe = redis::pipe();
        for (k, v) in items {
            pipe.cmd("SET").arg(k).arg(v).ignore();
        }
        pipe.query::<()>(&mut self.con)?;
        Ok(())
    }
    fn persist(&mut self) -> Res<()> {
        std::thread::sleep(REDIS_FSYNC_WAIT);
        Ok(())
    }
    fn get(&mut self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> Res<bool> {
        let v: Option<Vec<u8>> = redis::cmd("GET").arg(key).query(&mut self.con)?;
        match v {
            None => Ok(false),
            Some(v) => {
                f(&v);
                Ok(true)
            }
        }
    }
    fn close(self: Box<Self>) -> Res<()> {
        Ok(())
    }
}
