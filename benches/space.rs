//! Criterion benchmarks of space management, each against a baseline from the same run.
//!
//! 1. `insert_at_capacity`: 4 KiB incompressible inserts into a store kept at its 64 MiB
//!    capacity (every insert evicts in steady state) vs the same inserts into a new, empty
//!    store with room to spare. One iteration is 250k inserts (about 2 s), so both sides
//!    pay for the background checkpoints a running store makes; only eviction differs.
//!    Target: at capacity >= 0.8x the empty-store rate.
//! 2. `sweep`: sweeping 10k expired entries out of N (1M by default, 50k in smoke mode;
//!    `STRATACACHE_BENCH_SWEEP_ENTRIES` overrides) vs iterating all N index entries
//!    (`list("")`). Target: sweep < 5% of the full iteration.
//! 3. `compaction`: `compact_all()` of a store where a third of the records are dead (every
//!    other key overwritten once), which moves all live data, vs a raw sequential copy
//!    (`std::fs::copy` + fsync) of as many bytes as there are live. Throughput in live bytes
//!    moved vs bytes copied. Target: >= 0.5x.
//!
//! Smoke mode (`cargo test --benches` or `STRATACACHE_BENCH_QUICK=1`) shrinks every data set.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use stratacache::{DiskStore, ManualClock};

/// Smoke mode: criterion's test mode (no `--bench` flag, as under `cargo test --benches`)
/// or `STRATACACHE_BENCH_QUICK=1`.
fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
        || std::env::var("STRATACACHE_BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn random_values(n: usize, size: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let mut v = vec![0u8; size];
            rng.fill_bytes(&mut v);
            v
        })
        .collect()
}

fn open(dir: &Path, capacity: u64) -> DiskStore {
    DiskStore::builder(dir)
        .capacity_bytes(capacity)
        .open()
        .expect("open")
}

/// Inserts `iters` values under fresh keys and returns the elapsed time.
fn timed_inserts(store: &DiskStore, values: &[Vec<u8>], next: &mut u64, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let v = &values[(*next % values.len() as u64) as usize];
        store.insert(format!("k{next:012}"), v).expect("insert");
        *next += 1;
    }
    start.elapsed()
}

fn insert_at_capacity(c: &mut Criterion) {
    let capacity: u64 = if quick() { 8 << 20 } else { 64 << 20 };
    // One iteration is this many inserts: well over a second's worth (the checkpoint
    // interval), so that each pays for background checkpoints as a running store does.
    let run: u64 = if quick() { 4_000 } else { 250_000 };
    let values = random_values(256, 4096, 1);
    let mut group = c.benchmark_group("insert_at_capacity");
    group
        .throughput(Throughput::Elements(run))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(if quick() { 1 } else { 15 }));
    // Each iteration opens a new, empty store with room to spare, so it never evicts (nor
    // grows big enough for the kernel to start writing its pages back).
    group.bench_function("empty_store", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().expect("tempdir");
                let store = open(dir.path(), 64 << 30);
                let mut next = 0;
                total += timed_inserts(&store, &values, &mut next, run);
            }
            total
        })
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path(), capacity);
    let mut next = 0u64;
    // Fill to capacity first (twice over), untimed.
    timed_inserts(&store, &values, &mut next, 2 * capacity / 4096);
    group.bench_function("at_capacity", |b| {
        b.iter_custom(|iters| timed_inserts(&store, &values, &mut next, iters * run))
    });
    group.finish();
    if !quick() {
        // The two sides again in alternating rounds, so that the machine's noise (other
        // processes, the kernel writing pages back) falls on both alike.
        let (mut empty, mut full) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let fresh = tempfile::tempdir().expect("tempdir");
            let empty_store = open(fresh.path(), 64 << 30);
            let t = timed_inserts(&empty_store, &values, &mut 0, run);
            empty.push(run as f64 / t.as_secs_f64());
            drop(empty_store);
            let t = timed_inserts(&store, &values, &mut next, run);
            full.push(run as f64 / t.as_secs_f64());
        }
        empty.sort_by(f64::total_cmp);
        full.sort_by(f64::total_cmp);
        println!(
            "insert_at_capacity, 5 alternating rounds: empty {:.0}/s, at capacity {:.0}/s (medians), ratio {:.2} (target >= 0.8)",
            empty[2],
            full[2],
            full[2] / empty[2]
        );
    }
    let stats = store.stats().expect("stats");
    println!(
        "insert_at_capacity: disk {:.2} x capacity, {} evictions",
        stats.disk_bytes as f64 / capacity as f64,
        stats.evictions
    );
}

fn sweep(c: &mut Criterion) {
    let n: usize = std::env::var("STRATACACHE_BENCH_SWEEP_ENTRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick() { 20_000 } else { 1_000_000 });
    let expiring = 10_000.min(n / 2);
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(1_000_000_000);
    let store = DiskStore::builder(dir.path())
        .clock(clock.clone())
        .sweep_interval(None)
        .background_maintenance(false)
        .open()
        .expect("open");
    let value = [7u8; 16];
    for i in 0..n {
        store
            .insert(format!("entry/{i:09}"), &value)
            .expect("insert");
    }
    store.flush().expect("flush");
    let mut group = c.benchmark_group("sweep");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.bench_function(format!("iterate_all_{n}"), |b| {
        b.iter(|| black_box(store.list("").expect("list").len()))
    });
    let mut round = 0u64;
    group.bench_function(format!("sweep_{expiring}_of_{n}"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                for i in 0..expiring {
                    let key = format!("ttl/{round}/{i}");
                    store
                        .insert_with_ttl(key, &value, Duration::from_secs(1))
                        .expect("insert");
                }
                store.flush().expect("flush");
                clock.advance(Duration::from_secs(2));
                let start = Instant::now();
                let swept = store.sweep_expired().expect("sweep");
                total += start.elapsed();
                assert_eq!(swept, expiring);
            }
            total
        })
    });
    group.finish();
}

fn compaction(c: &mut Criterion) {
    let n = if quick() { 2_000 } else { 20_000 };
    let values = random_values(64, 4096, 3);
    let mut group = c.benchmark_group("compaction");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Bytes(n as u64 * 4096));
    group.bench_function("compact_half_dead", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().expect("tempdir");
                let store = DiskStore::builder(dir.path())
                    .segment_size(4 << 20)
                    .background_maintenance(false)
                    .open()
                    .expect("open");
                for i in 0..n {
                    store
                        .insert(format!("k{i:08}"), &values[i % 64])
                        .expect("insert");
                }
                for i in (0..n).step_by(2) {
                    store
                        .insert(format!("k{i:08}"), &values[(i + 1) % 64])
                        .expect("overwrite");
                }
                store.flush().expect("flush");
                let start = Instant::now();
                store.compact_all().expect("compact");
                total += start.elapsed();
            }
            total
        })
    });
    group.bench_function("raw_copy", |b| {
        b.iter_custom(|iters| {
            let dir = tempfile::tempdir().expect("tempdir");
            let src = dir.path().join("src");
            let bytes: Vec<u8> = values
                .iter()
                .flatten()
                .copied()
                .cycle()
                .take(n * 4096)
                .collect();
            std::fs::write(&src, &bytes).expect("write");
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let dst = dir.path().join(format!("dst{i}"));
                let start = Instant::now();
                std::fs::copy(&src, &dst).expect("copy");
                std::fs::File::open(&dst)
                    .and_then(|f| f.sync_all())
                    .expect("sync");
                total += start.elapsed();
                std::fs::remove_file(&dst).expect("remove");
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, insert_at_capacity, sweep, compaction);
criterion_main!(benches);
