//! Benchmarks of the tiered [`stratacache::Cache`], each against a baseline in the same run.
//!
//! Pairs (candidate vs baseline), 4 KiB incompressible values, 1 thread, random key order:
//!
//! 1. `memory_hit`: `Cache::get_bytes` served by the memory tier vs `moka::sync::Cache::get`
//!    on a moka cache holding the same `Arc<[u8]>` values (moka: the memory cache crate most
//!    users would pick; our tier is built on quick_cache). Target: candidate throughput at
//!    least 0.8x the baseline (time ratio <= 1.25). `memory_hit_vs_moka_configured_alike`:
//!    the same against moka with a weigher, an eviction listener and per-entry expiry, as a
//!    moka-based tier would need, for information.
//! 2. `memory_hit_typed`: `Cache::get::<String>` of 4 KiB texts (bincode decode, one copy)
//!    vs moka `get` of the same `Arc<String>` plus a clone (for information).
//! 3. `disk_hit`: memory miss then disk hit (`Promotion::Never`, values only on disk), i.e.
//!    `Cache::get_bytes`, vs `DiskStore::get` on the same store. Target: time <= 1.3x.
//! 4. `get_with_hit`: `Cache::get_with::<String>` on a present key vs `Cache::get::<String>`.
//!    Target: time <= 1.2x.
//! 5. `get_with_async_hit`: `Cache::get_with_async::<String>` on a present key, polled once
//!    (a hit is ready at once; no runtime), vs `Cache::get::<String>`. Target: time <= 1.3x.
//!
//! Each pair is measured twice: by criterion (group/id as above, ids `cache` and `baseline`),
//! and, in bench mode, by an interleaved loop (rounds alternate candidate and baseline, the
//! median of 21 rounds is kept), whose ratio table is printed at the end. Interleaving keeps
//! the noise of this shared machine out of the ratio.
//!
//! Smoke mode (`cargo test --benches` or `STRATACACHE_BENCH_QUICK=1`) uses 256 keys.

#[path = "common/pairs.rs"]
mod pairs;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use pairs::{Pair, quick, run_pairs};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use stratacache::{Cache, DiskStore, InsertOptions, Placement, Promotion};
use tempfile::TempDir;

const VALUE_SIZE: usize = 4096;

/// Keys, values and a random read order.
struct Data {
    keys: Vec<Vec<u8>>,
    values: Vec<Vec<u8>>,
    order: Vec<usize>,
}

impl Data {
    fn new() -> Self {
        let n = if quick() { 256 } else { 4096 };
        let mut rng = StdRng::seed_from_u64(7);
        let keys = (0..n).map(|i| format!("doc/{i:06}").into_bytes()).collect();
        let values = (0..n)
            .map(|_| {
                let mut v = vec![0u8; VALUE_SIZE];
                rng.fill_bytes(&mut v);
                v
            })
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        Self {
            keys,
            values,
            order,
        }
    }

    fn key(&self, i: u64) -> &[u8] {
        &self.keys[self.order[i as usize % self.order.len()]]
    }
}

fn disk(dir: &TempDir) -> stratacache::DiskStoreBuilder {
    DiskStore::builder(dir.path()).capacity_bytes(1 << 30)
}

/// The caches of the memory-hit pairs: raw values, typed values (4 KiB strings), and moka
/// holding the same values. Each holds the same number of entries.
struct MemorySetup {
    raw: Cache,
    typed: Cache,
    moka: moka::sync::Cache<Vec<u8>, Arc<[u8]>>,
    moka_like_tier: moka::sync::Cache<Vec<u8>, Arc<[u8]>>,
    texts: moka::sync::Cache<Vec<u8>, Arc<String>>,
    _dirs: [TempDir; 2],
}

fn memory_setup(data: &Data) -> MemorySetup {
    let open = |dir: &TempDir| {
        Cache::builder()
            .memory(256 << 20)
            .disk(disk(dir))
            .open()
            .unwrap()
    };
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (raw, typed) = (open(&dirs[0]), open(&dirs[1]));
    let moka = moka::sync::Cache::builder()
        .max_capacity(256 << 20)
        .weigher(|k: &Vec<u8>, v: &Arc<[u8]>| (k.len() + v.len()) as u32)
        .build();
    let moka_like_tier = moka::sync::Cache::builder()
        .max_capacity(256 << 20)
        .weigher(|k: &Vec<u8>, v: &Arc<[u8]>| (k.len() + v.len()) as u32)
        .expire_after(NoExpiry)
        .eviction_listener(|_, _, _| {})
        .build();
    let texts = moka::sync::Cache::builder()
        .max_capacity(256 << 20)
        .weigher(|k: &Vec<u8>, v: &Arc<String>| (k.len() + v.len()) as u32)
        .build();
    for (k, v) in data.keys.iter().zip(&data.values) {
        raw.insert_bytes(k, v).unwrap();
        moka.insert(k.clone(), Arc::from(&v[..]));
        moka_like_tier.insert(k.clone(), Arc::from(&v[..]));
        let text = text_of(v);
        typed.insert(k, &text).unwrap();
        texts.insert(k.clone(), Arc::new(text));
    }
    MemorySetup {
        raw,
        typed,
        moka,
        moka_like_tier,
        texts,
        _dirs: dirs,
    }
}

/// Per-entry expiry that never expires anything (moka configured like our memory tier).
struct NoExpiry;

impl moka::Expiry<Vec<u8>, Arc<[u8]>> for NoExpiry {}

/// A 4 KiB ASCII text made from random bytes (an OCR page stands in for it).
fn text_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| (b'a' + b % 26) as char).collect()
}

/// A memory + disk cache whose values are on disk only and are never promoted.
fn disk_setup(data: &Data) -> (Cache, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::builder()
        .memory(1 << 20)
        .promotion(Promotion::Never)
        .disk(disk(&dir))
        .open()
        .unwrap();
    let skip = InsertOptions::new().placement(Placement::SkipMemory);
    for (k, v) in data.keys.iter().zip(&data.values) {
        cache.insert_bytes_with(k, v, &skip).unwrap();
    }
    cache.flush().unwrap();
    (cache, dir)
}

fn pairs<'a>(data: &'a Data, mem: &'a MemorySetup, on_disk: &'a Cache) -> Vec<Pair<'a>> {
    let (raw, typed, moka, texts) = (&mem.raw, &mem.typed, &mem.moka, &mem.texts);
    vec![
        Pair {
            group: "memory_hit",
            target: "<= 1.25 (>= 0.8x throughput)",
            ops_per_round: 20_000,
            cache: Box::new(move |i| {
                let v = raw.get_bytes(data.key(i)).unwrap().unwrap();
                black_box(v[0]);
            }),
            baseline: Box::new(move |i| {
                let v = moka.get(data.key(i)).unwrap();
                black_box(v[0]);
            }),
        },
        Pair {
            group: "memory_hit_vs_moka_configured_alike",
            target: "",
            ops_per_round: 20_000,
            cache: Box::new(move |i| {
                let v = raw.get_bytes(data.key(i)).unwrap().unwrap();
                black_box(v[0]);
            }),
            baseline: Box::new(move |i| {
                let v = mem.moka_like_tier.get(data.key(i)).unwrap();
                black_box(v[0]);
            }),
        },
        Pair {
            group: "memory_hit_typed",
            target: "",
            ops_per_round: 20_000,
            cache: Box::new(move |i| {
                let v: String = typed.get(data.key(i)).unwrap().unwrap();
                black_box(v);
            }),
            baseline: Box::new(move |i| {
                let v = String::clone(&texts.get(data.key(i)).unwrap());
                black_box(v);
            }),
        },
        Pair {
            group: "disk_hit",
            target: "<= 1.3",
            ops_per_round: 20_000,
            cache: Box::new(move |i| {
                let v = on_disk.get_bytes(data.key(i)).unwrap().unwrap();
                black_box(v[VALUE_SIZE / 2]);
            }),
            baseline: Box::new(move |i| {
                let store = on_disk.disk_store().unwrap();
                let v = store.get(data.key(i)).unwrap().unwrap();
                black_box(v[VALUE_SIZE / 2]);
            }),
        },
        Pair {
            group: "get_with_hit",
            target: "<= 1.2",
            ops_per_round: 20_000,
            cache: Box::new(move |i| {
                let v: String = typed
                    .get_with(data.key(i), || unreachable!("every key is present"))
                    .unwrap();
                black_box(v);
            }),
            baseline: Box::new(move |i| {
                let v: String = typed.get(data.key(i)).unwrap().unwrap();
                black_box(v);
            }),
        },
        Pair {
            group: "get_with_async_hit",
            target: "<= 1.3",
            ops_per_round: 20_000,
            cache: Box::new(move |i| {
                let hit = typed.get_with_async(data.key(i), || async {
                    unreachable!("every key is present")
                });
                let v: String = ready(hit).unwrap();
                black_box(v);
            }),
            baseline: Box::new(move |i| {
                let v: String = typed.get(data.key(i)).unwrap().unwrap();
                black_box(v);
            }),
        },
    ]
}

/// The output of a future that is ready when first polled (a cache hit).
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("a hit is ready at once"),
    }
}

fn bench_cache(c: &mut Criterion) {
    let data = Data::new();
    let mem = memory_setup(&data);
    let (on_disk, _disk_dir) = disk_setup(&data);
    let pairs = pairs(&data, &mem, &on_disk);
    run_pairs(c, &pairs);
}

criterion_group!(benches, bench_cache);
criterion_main!(benches);
