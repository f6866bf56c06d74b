//! Replays request traces through the disk tier and through exact LRU at the same byte
//! capacity, and prints the hit ratios side by side.
//!
//! ```text
//! cargo run --release --example trace_replay            # 64 MiB capacity, 4 KiB values
//! cargo run --release --example trace_replay -- --quick  # a smaller run
//! ```

use stratacache::DiskStore;
use stratacache::sim::{Trace, replay, scan_mix_trace, zipf_trace};

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
    println!("| trace | stratacache hit ratio | exact LRU hit ratio | ratio | replay time |");
    println!("|---|---|---|---|---|");
    for trace in &traces {
        let dir = tempfile::tempdir()?;
        let store = DiskStore::builder(dir.path())
            .capacity_bytes(capacity)
            .checkpoint_interval(None)
            .background_maintenance(false)
            .open()?;
        let r = replay(&store, trace, capacity, value_size, len / 5)?;
        println!(
            "| {} | {:.4} | {:.4} | {:.3}x | {:.1} s |",
            r.trace,
            r.store_hit_ratio,
            r.lru_hit_ratio,
            r.store_hit_ratio / r.lru_hit_ratio,
            r.store_time.as_secs_f64()
        );
    }
    Ok(())
}
