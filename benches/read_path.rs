//! The warm read path: `get` of 4 KiB incompressible values in random order (~20k keys,
//! 80 MiB, more than the CPU caches hold), against the same values inline in redb and a
//! plain copy out of an mmapped file.
//!
//! Criterion group `get_4k` (ids `get_4k/variant`):
//! - `stratacache`: `get()` and take the value as a `Vec` (`ValueRef::into_vec`: a short
//!   value is copied out of its segment once, checked in the copy, and handed over);
//! - `stratacache_ref`: `get()` and read the value's last byte through the `ValueRef`;
//! - `stratacache_2t`: `stratacache` from 2 threads sharing the store (time per get of both
//!   together);
//! - `redb_inline`: the values inline in a redb table, one read txn per get, copied out;
//! - `redb_inline_reused_txn`: the same with one read txn and table opened once, reused;
//! - `mmap_copy`: a 4 KiB copy out of an mmapped file holding the same bytes (the floor),
//!   written in one go;
//! - `mmap_copy_appended`: the same out of a file written 4 KiB at a time, as segments are
//!   (see [`map_flat`] for why that differs).
//!
//! Then, in bench mode, interleaved rounds (candidate, baseline, candidate, ...) whose
//! medians make the ratio table: the machine is shared and noisy, and only same-run,
//! interleaved ratios mean much. Targets: `get` >= 2x redb with a reused read transaction
//! (time ratio <= 0.5), >= 0.6x the mmap copy (<= 1.67); 2 threads >= 1.7x one thread.
//!
//! Smoke mode (`cargo test --benches`): 2k keys, one pass, no table.

#[path = "common/store_fixtures.rs"]
mod fixtures;
#[path = "common/pairs.rs"]
mod pairs;

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use fixtures::{
    KIB, REDB_TABLE, ValuePool, bench_mode, create_redb, criterion_config, fill_redb, key,
    open_store, scaled, tempdir,
};
use memmap2::Mmap;
use pairs::{Pair, rounds, run_pairs};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use redb::{Database, ReadableDatabase};
use stratacache::DiskStore;
use tempfile::TempDir;

/// The same 4 KiB values in a store, in redb and in a flat mmapped file.
struct GetFixture {
    keys: Vec<[u8; 16]>,
    /// Random order of key indexes; every variant cycles through it.
    order: Vec<usize>,
    store: DiskStore,
    redb: Database,
    flat: Mmap,
    /// The same file written 4 KiB at a time, as a store appends records.
    appended: Mmap,
    _dir: TempDir,
}

impl GetFixture {
    fn build(count: usize) -> Self {
        let dir = tempdir();
        let pool = ValuePool::new(count, 4 * KIB, 1);
        let keys: Vec<[u8; 16]> = (0..count as u64).map(|i| key(0, i)).collect();
        let mut order: Vec<usize> = (0..count).collect();
        order.shuffle(&mut StdRng::seed_from_u64(2));

        let store = open_store(&dir.path().join("store"));
        for (i, k) in keys.iter().enumerate() {
            store.insert(k, pool.get(i)).unwrap();
        }
        store.flush().unwrap();

        let redb = create_redb(&dir.path().join("inline.redb"));
        fill_redb(&redb, count, &pool);

        let flat = map_flat(&dir.path().join("flat.bin"), &pool.data, pool.data.len());
        let appended = map_flat(&dir.path().join("appended.bin"), &pool.data, 4 * KIB);

        // Warm every path (page cache, stratacache's location cache) and check they agree.
        let txn = redb.begin_read().unwrap();
        let table = txn.open_table(REDB_TABLE).unwrap();
        for &i in &order {
            let from_store = store.get(keys[i]).unwrap().expect("value in store");
            let from_redb = table.get(&keys[i][..]).unwrap().expect("value in redb");
            assert!(*from_store == *pool.get(i) && from_redb.value() == pool.get(i));
            assert!(&flat[i * 4 * KIB..(i + 1) * 4 * KIB] == pool.get(i));
            assert!(&appended[i * 4 * KIB..(i + 1) * 4 * KIB] == pool.get(i));
        }
        drop((table, txn));
        Self {
            keys,
            order,
            store,
            redb,
            flat,
            appended,
            _dir: dir,
        }
    }

    /// The key of the `n`th read (cycling through the random order).
    fn key_at(&self, n: u64) -> &[u8; 16] {
        &self.keys[self.order[n as usize % self.order.len()]]
    }

    /// The flat file's copy of the `n`th read's value.
    fn flat_value(&self, n: u64) -> &[u8] {
        let i = self.order[n as usize % self.order.len()];
        &self.flat[i * 4 * KIB..(i + 1) * 4 * KIB]
    }

    /// The appended file's copy of the `n`th read's value.
    fn appended_value(&self, n: u64) -> &[u8] {
        let i = self.order[n as usize % self.order.len()];
        &self.appended[i * 4 * KIB..(i + 1) * 4 * KIB]
    }

    /// Reads `count` values from `threads` threads sharing the store, each starting at its
    /// own place in the order; returns the wall time.
    fn read_from_threads(&self, threads: u64, first: u64, count: u64) -> Duration {
        let start = Instant::now();
        std::thread::scope(|s| {
            for t in 0..threads {
                let skip = t * self.order.len() as u64 / threads;
                s.spawn(move || {
                    for n in first..first + count.div_ceil(threads) {
                        let value = self.store.get(self.key_at(n + skip)).unwrap();
                        black_box(value.unwrap().into_vec());
                    }
                });
            }
        });
        start.elapsed()
    }
}

/// Writes `data` to a new file at `path`, `chunk` bytes per write, syncs it and maps it.
/// How a file is written decides how the kernel maps it: this kernel's page cache (ext4
/// with large folios) keeps one big write in 2 MiB folios, mapped with 2 MiB pages (no TLB
/// miss per value), and 4 KiB writes, like a store's appends, in 4 KiB pages.
fn map_flat(path: &std::path::Path, data: &[u8], chunk: usize) -> Mmap {
    let mut file = File::create(path).unwrap();
    for part in data.chunks(chunk) {
        file.write_all(part).unwrap();
    }
    file.sync_all().unwrap();
    // SAFETY: the file is private to this fixture and never modified while mapped.
    unsafe { Mmap::map(&File::open(path).unwrap()) }.unwrap()
}

fn bench_get_4k(c: &mut Criterion, fx: &GetFixture) {
    let mut group = c.benchmark_group("get_4k");
    group.throughput(Throughput::Elements(1));
    group.bench_function("stratacache", |b| {
        let mut n = 0;
        b.iter(|| {
            n += 1;
            fx.store.get(fx.key_at(n)).unwrap().unwrap().into_vec()
        })
    });
    group.bench_function("stratacache_2t", |b| {
        b.iter_custom(|iters| fx.read_from_threads(2, 0, iters))
    });
    group.bench_function("stratacache_ref", |b| {
        let mut n = 0;
        b.iter(|| {
            n += 1;
            let v = fx.store.get(fx.key_at(n)).unwrap().unwrap();
            black_box(v[v.len() - 1])
        })
    });
    group.bench_function("redb_inline", |b| {
        let mut n = 0;
        b.iter(|| {
            n += 1;
            let txn = fx.redb.begin_read().unwrap();
            let table = txn.open_table(REDB_TABLE).unwrap();
            let guard = table.get(&fx.key_at(n)[..]).unwrap().unwrap();
            guard.value().to_vec()
        })
    });
    group.bench_function("redb_inline_reused_txn", |b| {
        let txn = fx.redb.begin_read().unwrap();
        let table = txn.open_table(REDB_TABLE).unwrap();
        let mut n = 0;
        b.iter(|| {
            n += 1;
            let guard = table.get(&fx.key_at(n)[..]).unwrap().unwrap();
            guard.value().to_vec()
        })
    });
    group.bench_function("mmap_copy", |b| {
        let mut n = 0;
        b.iter(|| {
            n += 1;
            fx.flat_value(n).to_vec()
        })
    });
    group.bench_function("mmap_copy_appended", |b| {
        let mut n = 0;
        b.iter(|| {
            n += 1;
            fx.appended_value(n).to_vec()
        })
    });
    group.finish();
}

/// Interleaved rounds: `get` against both baselines (through [`run_pairs`]), then one
/// thread against two.
fn interleaved_table(c: &mut Criterion, fx: &GetFixture) {
    let txn = fx.redb.begin_read().unwrap();
    let table = txn.open_table(REDB_TABLE).unwrap();
    let get = |n: u64| {
        black_box(fx.store.get(fx.key_at(n)).unwrap().unwrap().into_vec());
    };
    let ops_per_round = fx.order.len() as u64;
    let pairs = [
        Pair {
            group: "get_4k_vs_redb_reused_txn",
            target: "<= 0.5 (>= 2x)",
            ops_per_round,
            cache: Box::new(get),
            baseline: Box::new(|n| {
                let guard = table.get(&fx.key_at(n)[..]).unwrap().unwrap();
                black_box(guard.value().to_vec());
            }),
        },
        Pair {
            group: "get_4k_vs_mmap_copy",
            target: "<= 1.67 (>= 0.6x)",
            ops_per_round,
            cache: Box::new(get),
            baseline: Box::new(|n| {
                black_box(fx.flat_value(n).to_vec());
            }),
        },
        Pair {
            group: "get_4k_vs_mmap_copy_appended",
            target: "informative (baseline file in 4 KiB pages, like segments)",
            ops_per_round,
            cache: Box::new(get),
            baseline: Box::new(|n| {
                black_box(fx.appended_value(n).to_vec());
            }),
        },
    ];
    run_pairs(c, &pairs);
    if !bench_mode() {
        return;
    }
    let (mut one, mut two) = (Vec::new(), Vec::new());
    for round in 0..rounds() {
        let first = round * ops_per_round;
        one.push(fx.read_from_threads(1, first, ops_per_round));
        two.push(fx.read_from_threads(2, first, ops_per_round));
    }
    one.sort();
    two.sort();
    let (one, two) = (one[one.len() / 2], two[two.len() / 2]);
    println!(
        "{:<36} {:>11.1} ns {:>11.1} ns {:>8.3}  >= 1.7 (2 threads / 1 thread, gets per second)",
        "get_4k_2_threads_vs_1",
        two.as_nanos() as f64 / ops_per_round as f64,
        one.as_nanos() as f64 / ops_per_round as f64,
        one.as_secs_f64() / two.as_secs_f64(),
    );
}

fn benches(c: &mut Criterion) {
    let fixture = GetFixture::build(scaled(20_000, 2_000));
    bench_get_4k(c, &fixture);
    interleaved_table(c, &fixture);
}

criterion_group! {
    name = read_path;
    config = criterion_config();
    targets = benches
}

fn main() {
    read_path();
    Criterion::default().configure_from_args().final_summary();
}
