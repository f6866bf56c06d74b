//! The eviction policies side by side, on stores at capacity (every insert evicts):
//! S3-FIFO (the default) against LRU (the policy before it). Target: inserts with S3-FIFO at
//! least 0.9x as fast as with LRU (a time ratio of at most 1.11). Also a replay of a
//! Zipf(0.9) trace (get, insert on a miss), where S3-FIFO's higher hit ratio means fewer
//! inserts. Interleaved rounds; the ratio table is printed at the end in bench mode. Smoke
//! mode (`cargo test --benches`): small stores, one round.
//!
//! Hit ratios themselves: `cargo run --release --example trace_replay`.

#[path = "common/pairs.rs"]
mod pairs;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use pairs::{Pair, quick, run_pairs};
use stratacache::sim::{value_for, zipf_trace};
use stratacache::{DiskStore, EvictionPolicy};

const VALUE: usize = 4096;

/// A store of `capacity` bytes under `policy`, filled past its capacity once.
fn full_store(dir: &std::path::Path, capacity: u64, policy: EvictionPolicy) -> DiskStore {
    let store = DiskStore::builder(dir)
        .capacity_bytes(capacity)
        .eviction_policy(policy)
        .open()
        .expect("open store");
    let value = value_for(0, VALUE);
    for i in 0..capacity / VALUE as u64 * 2 {
        store.insert(format!("fill{i}"), &value).expect("fill");
    }
    store
}

fn bench_eviction(c: &mut Criterion) {
    let capacity: u64 = if quick() { 8 << 20 } else { 128 << 20 };
    let fit = (capacity / VALUE as u64) as usize;
    let dirs = [(); 4].map(|_| tempfile::tempdir().expect("temp dir"));
    let [s3, lru, s3_replay, lru_replay] = [
        (EvictionPolicy::S3Fifo, &dirs[0]),
        (EvictionPolicy::Lru, &dirs[1]),
        (EvictionPolicy::S3Fifo, &dirs[2]),
        (EvictionPolicy::Lru, &dirs[3]),
    ]
    .map(|(policy, dir)| full_store(dir.path(), capacity, policy));
    let values: Vec<Vec<u8>> = (0..64).map(|i| value_for(i, VALUE)).collect();
    let fresh = AtomicU64::new(0);
    let insert = |store: &DiskStore| {
        let n = fresh.fetch_add(1, Ordering::Relaxed);
        let value = &values[(n % 64) as usize];
        store.insert(format!("new{n}"), value).expect("insert");
    };
    // Zipf(0.9) over ten times the keys that fit; each side walks the same trace.
    let trace = zipf_trace(fit * 10, 0.9, fit * 40, 7).keys;
    let replay = |store: &DiskStore, i: u64| {
        let key = trace[i as usize % trace.len()];
        let name = format!("z{key}");
        let hit = store.get(&name).expect("get").is_some();
        if !black_box(hit) {
            store
                .insert(&name, &values[(key % 64) as usize])
                .expect("insert");
        }
    };
    let pairs = vec![
        Pair {
            group: "insert_4k_at_capacity_s3fifo_vs_lru",
            target: "<= 1.11 (>= 0.9x the rate)",
            ops_per_round: if quick() { 100 } else { 20_000 },
            cache: Box::new(|_| insert(&s3)),
            baseline: Box::new(|_| insert(&lru)),
        },
        Pair {
            group: "zipf_replay_4k_s3fifo_vs_lru",
            target: "informative (fewer misses, fewer inserts)",
            ops_per_round: if quick() { 100 } else { 50_000 },
            cache: Box::new(|i| replay(&s3_replay, i)),
            baseline: Box::new(|i| replay(&lru_replay, i)),
        },
    ];
    run_pairs(c, &pairs);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_eviction
}
criterion_main!(benches);
