//! Changing the TTL of a 64 MiB value against rewriting it, each with and without making the
//! change durable. Target: the TTL change takes at most 1% of the rewrite's time.
//!
//! `expire` is one index change (staged; durable at the next checkpoint or `flush`), while a
//! rewrite appends 64 MiB to a segment. Interleaved rounds; the ratio table is printed at the
//! end in bench mode. Smoke mode (`cargo test --benches`): a 1 MiB value.

#[path = "common/pairs.rs"]
mod pairs;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use pairs::{Pair, quick, run_pairs};
use rand::{RngCore, SeedableRng};
use stratacache::DiskStore;

fn bench_expiry(c: &mut Criterion) {
    let size = if quick() { 1 << 20 } else { 64 << 20 };
    let mut value = vec![0u8; size];
    rand::rngs::StdRng::seed_from_u64(3).fill_bytes(&mut value);
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::builder(dir.path())
        .capacity_bytes(4 << 30)
        .max_value_size(128 << 20)
        .checkpoint_interval(None)
        .open()
        .unwrap();
    store.insert("scan", &value).unwrap();
    store.flush().unwrap();
    let ttl = |i: u64| Duration::from_secs(3600 + i % 1000);
    let pairs = vec![
        Pair {
            group: "ttl_change_vs_rewrite",
            target: "<= 0.01",
            ops_per_round: 3,
            cache: Box::new(|i| {
                black_box(store.expire("scan", ttl(i)).unwrap());
            }),
            baseline: Box::new(|i| {
                store.insert_with_ttl("scan", &value, ttl(i)).unwrap();
            }),
        },
        Pair {
            group: "ttl_change_vs_rewrite_durable",
            target: "<= 0.01",
            ops_per_round: 3,
            cache: Box::new(|i| {
                black_box(store.expire("scan", ttl(i)).unwrap());
                store.flush().unwrap();
            }),
            baseline: Box::new(|i| {
                store.insert_with_ttl("scan", &value, ttl(i)).unwrap();
                store.flush().unwrap();
            }),
        },
    ];
    run_pairs(c, &pairs);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_expiry
}
criterion_main!(benches);
