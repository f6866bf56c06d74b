//! Replays request traces through the disk tier and through exact LRU, and prints the hit
//! ratios side by side: LRU with the store's whole capacity in values, and LRU with as many
//! value bytes as the store held (the capacity also bounds the store's index and the room
//! it keeps free, so it holds less than that in values).
//!
//! ```text
//! cargo run --release --example trace_replay            # 64 MiB capacity, 4 KiB values
//! cargo run --release --example trace_replay -- --quick  # a smaller run
//! ```

use stratacache::DiskStore;
use stratacache::sim::{Trace, replay, replay_same_bytes, scan_mix_trace, zipf_trace};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let capacity: u64 = if quick { 16 << 20 } else { 64 << 20 };
    let value_size = 4096;
    let entries_fit = (capacity / value_size as u64) as usize;
    let keys = entries_fit * 6;
    let len = entries_fit * 30;
    let traces: Vec<Trace> = vec![
        zipf_trace(keys, 0.9, len, 1),
        zipf_trace(keys, 0.99, len, 2),
        scan_mix_trace(entries_fit * 2, len, 0.3, entries_fit / 4, 3),
    ];
    println!(
        "capacity {} MiB, {value_size}-byte values, {keys} keys, {len} requests per trace",
        capacity >> 20
    );
    println!(
        "| trace | stratacache | exact LRU, whole capacity | ratio | store held | exact LRU, same bytes | ratio | replay time |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let open = |dir: &std::path::Path| {
        DiskStore::builder(dir)
            .capacity_bytes(capacity)
            .checkpoint_interval(None)
            .background_maintenance(false)
            .open()
    };
    for trace in &traces {
        let (a, b) = (tempfile::tempdir()?, tempfile::tempdir()?);
        let whole = replay(&open(a.path())?, trace, capacity, value_size, len / 5)?;
        let same = replay_same_bytes(&open(b.path())?, trace, value_size, len / 5, 1000)?;
        println!(
            "| {} | {:.4} | {:.4} | {:.3}x | {:.3} | {:.4} | {:.3}x | {:.1} s |",
            whole.trace,
            whole.store_hit_ratio,
            whole.lru_hit_ratio,
            whole.store_hit_ratio / whole.lru_hit_ratio,
            same.lru_bytes as f64 / capacity as f64,
            same.lru_hit_ratio,
            same.store_hit_ratio / same.lru_hit_ratio,
            whole.store_time.as_secs_f64()
        );
    }
    Ok(())
}
