//! Helpers the store benches share: smoke-mode switches, temporary directories, keys,
//! pools of random values, and a store and a redb database to measure against.
#![allow(dead_code)] // each bench uses a different subset

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::Criterion;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use redb::{Database, TableDefinition};
use stratacache::DiskStore;
use tempfile::TempDir;

pub const KIB: usize = 1 << 10;
pub const MIB: usize = 1 << 20;
/// Capacity of every bench store: far above anything written, so nothing is evicted.
pub const BIG_CAPACITY: u64 = 1 << 40;
/// The baseline table: values stored inline in redb.
pub const REDB_TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("values");

/// True when criterion really measures (`cargo bench`), not in test or list mode.
pub fn bench_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list")
}

/// True in smoke mode: criterion's test mode (`cargo test --benches`, or no `--bench` flag),
/// `--list`, or `STRATACACHE_BENCH_QUICK=1`.
pub fn quick() -> bool {
    static QUICK: OnceLock<bool> = OnceLock::new();
    *QUICK.get_or_init(|| {
        let env = std::env::var("STRATACACHE_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        !bench_mode() || env
    })
}

/// `full` normally, `small` in smoke mode.
pub fn scaled(full: usize, small: usize) -> usize {
    if quick() { small } else { full }
}

/// A fresh temporary directory (under `STRATACACHE_BENCH_DIR` when set).
pub fn tempdir() -> TempDir {
    match std::env::var_os("STRATACACHE_BENCH_DIR") {
        Some(root) => tempfile::tempdir_in(root),
        None => tempfile::tempdir(),
    }
    .expect("create temp dir")
}

/// A 16-byte key: writer id and counter, big-endian (sorted in insertion order).
pub fn key(thread: u64, i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&thread.to_be_bytes());
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

/// `count` random (incompressible) values of `size` bytes in one buffer.
pub struct ValuePool {
    pub data: Vec<u8>,
    pub size: usize,
}

impl ValuePool {
    pub fn new(count: usize, size: usize, seed: u64) -> Self {
        let mut data = vec![0u8; count * size];
        StdRng::seed_from_u64(seed).fill_bytes(&mut data);
        Self { data, size }
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.size
    }

    /// Value `i` (modulo the pool size).
    pub fn get(&self, i: usize) -> &[u8] {
        let i = i % self.len();
        &self.data[i * self.size..(i + 1) * self.size]
    }
}

/// Opens (or creates) a store with default settings apart from a huge capacity.
pub fn open_store(dir: &Path) -> DiskStore {
    DiskStore::builder(dir)
        .capacity_bytes(BIG_CAPACITY)
        .open()
        .expect("open store")
}

/// Creates a redb database with the baseline table.
pub fn create_redb(path: &Path) -> Database {
    let db = Database::create(path).expect("create redb");
    let txn = db.begin_write().unwrap();
    txn.open_table(REDB_TABLE).unwrap();
    txn.commit().unwrap();
    db
}

/// Inserts `count` values (keys `key(0, i)`, values from `pool`) in one redb transaction.
pub fn fill_redb(db: &Database, count: usize, pool: &ValuePool) {
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(REDB_TABLE).unwrap();
        for i in 0..count {
            table.insert(&key(0, i as u64)[..], pool.get(i)).unwrap();
        }
    }
    txn.commit().unwrap();
}

/// Criterion settings of the store benches: 10 samples, 1 s warm-up, 3 s of measurement.
pub fn criterion_config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}
