//! Criterion benchmarks of `stats()` on a store of 1M entries (20k in smoke mode), each
//! beside a baseline from the same run.
//!
//! 1. `stats/idle`: nothing staged since the last checkpoint. Target: <= 20 us.
//! 2. `stats/1000_staged`: 1,000 inserts staged since the last checkpoint (stats looks each
//!    key up in an index snapshot), timed alone.
//! 3. Baseline `stats/checkpoint_1000_staged`: what `stats()` cost before it stopped
//!    checkpointing: a `flush()` of 1,000 staged inserts (syncs and a durable commit).
//!
//! Smoke mode (`cargo test --benches` or `STRATACACHE_BENCH_QUICK=1`) shrinks the store.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use stratacache::DiskStore;

fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
        || std::env::var("STRATACACHE_BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn stats(c: &mut Criterion) {
    let entries: u64 = if quick() { 20_000 } else { 1_000_000 };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DiskStore::builder(dir.path())
        .checkpoint_interval(None)
        .background_maintenance(false)
        .open()
        .expect("open");
    let value = [7u8; 100];
    let mut next = 0u64;
    while next < entries {
        let keys: Vec<String> = (next..(next + 10_000).min(entries))
            .map(|i| format!("key/{i:010}"))
            .collect();
        let items: Vec<(&str, &[u8])> = keys.iter().map(|k| (k.as_str(), &value[..])).collect();
        store.insert_many(&items).expect("insert_many");
        next += keys.len() as u64;
    }
    store.flush().expect("flush");
    assert_eq!(store.stats().expect("stats").entries, entries);

    let stage_1000 = |next: &mut u64| {
        for _ in 0..1000 {
            store
                .insert(format!("key/{:010}", *next), &value)
                .expect("insert");
            *next += 1;
        }
    };
    let mut group = c.benchmark_group("stats");
    group.measurement_time(Duration::from_secs(if quick() { 1 } else { 5 }));
    group.bench_function("idle", |b| {
        b.iter(|| black_box(store.stats().expect("stats")))
    });
    group.bench_function("1000_staged", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                stage_1000(&mut next);
                let started = Instant::now();
                black_box(store.stats().expect("stats"));
                total += started.elapsed();
                store.flush().expect("flush");
            }
            total
        })
    });
    group.bench_function("checkpoint_1000_staged", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                stage_1000(&mut next);
                let started = Instant::now();
                store.flush().expect("flush");
                total += started.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, stats);
criterion_main!(benches);
