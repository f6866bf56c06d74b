//! Replays request traces through the disk tier, under each eviction policy, and through the
//! reference policies (exact LRU, W-TinyLFU, S3-FIFO) holding as many value bytes as the
//! store held, and prints the hit ratios side by side: four traces (Zipf 0.9, Zipf 0.99, a
//! hot set with one-pass scans, a sliding working set), each at about 5%, 10% and 25% of its
//! distinct keys.
//!
//! ```text
//! cargo run --release --example trace_replay             # 100k keys, 1.2M requests per trace
//! cargo run --release --example trace_replay -- --quick  # the sizes of tests/hit_ratio.rs
//! ```

use stratacache::sim::{policy_traces, replay_same_bytes};
use stratacache::{DiskStore, EvictionPolicy};

const VALUE: usize = 4096;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let (keys, len) = if quick {
        (40_000, 240_000)
    } else {
        (100_000, 1_200_000)
    };
    println!(
        "{VALUE}-byte values, about {keys} keys, {len} requests per trace (a quarter warms up)"
    );
    println!(
        "| trace | size (of distinct keys) | policy | store | exact LRU | W-TinyLFU | S3-FIFO (sim) | store / LRU | points behind the better of W-TinyLFU, S3-FIFO |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for trace in policy_traces(keys, len) {
        let unique = trace.unique();
        for share in [0.05, 0.10, 0.25] {
            for policy in [EvictionPolicy::S3Fifo, EvictionPolicy::Lru] {
                // About 0.94 of the capacity, less 4 MiB, holds values (tests/hit_ratio.rs).
                let held = share * unique as f64 * VALUE as f64;
                let capacity = ((held + (4 << 20) as f64) / 0.94) as u64;
                let dir = tempfile::tempdir()?;
                let store = DiskStore::builder(dir.path())
                    .capacity_bytes(capacity)
                    .checkpoint_interval(None)
                    .background_maintenance(false)
                    .eviction_policy(policy)
                    .open()?;
                let r = replay_same_bytes(&store, &trace, VALUE, len / 4, 1000)?;
                let refs = r.references;
                let size = r.lru_bytes as f64 / VALUE as f64 / unique as f64;
                println!(
                    "| {} | {:.1}% | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.3}x | {:.2} |",
                    r.trace,
                    size * 100.0,
                    policy.name(),
                    r.store_hit_ratio,
                    refs.lru,
                    refs.w_tinylfu,
                    refs.s3fifo,
                    r.store_hit_ratio / refs.lru,
                    (refs.best_modern() - r.store_hit_ratio) * 100.0
                );
            }
        }
    }
    Ok(())
}
