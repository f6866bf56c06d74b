//! LRU in effect: replaying request traces through the store (get, insert on miss) gives at
//! least 0.97x the hit ratio of exact LRU holding as many value bytes as the store held, on
//! Zipf(0.9), Zipf(0.99) and a hot set mixed with one-pass scans; and the store holds at
//! least 0.7 of its capacity in values (its files, index and the room it keeps free take the
//! rest: the capacity bounds all of them). Background work is off, so the replay is
//! deterministic. `examples/trace_replay.rs` runs the larger version.

use stratacache::DiskStore;
use stratacache::sim::{replay_same_bytes, scan_mix_trace, zipf_trace};

#[test]
fn hit_ratio_is_at_least_097_of_exact_lru() -> Result<(), Box<dyn std::error::Error>> {
    let capacity: u64 = 16 << 20;
    let value_size = 4096;
    let fit = (capacity / value_size as u64) as usize;
    let len = fit * 16;
    let traces = [
        zipf_trace(fit * 6, 0.9, len, 11),
        zipf_trace(fit * 6, 0.99, len, 12),
        scan_mix_trace(fit * 2, len, 0.3, fit / 4, 13),
    ];
    for trace in &traces {
        let dir = tempfile::tempdir()?;
        let store = DiskStore::builder(dir.path())
            .capacity_bytes(capacity)
            .checkpoint_interval(None)
            .background_maintenance(false)
            .open()?;
        let r = replay_same_bytes(&store, trace, value_size, len / 4, 1000)?;
        let ratio = r.store_hit_ratio / r.lru_hit_ratio;
        let held = r.lru_bytes as f64 / capacity as f64;
        println!(
            "{}: store {:.4}, exact LRU {:.4}, {ratio:.3}x; held {held:.3} of the capacity",
            r.trace, r.store_hit_ratio, r.lru_hit_ratio
        );
        assert!(ratio >= 0.97, "{}: {ratio:.3}x of exact LRU", r.trace);
        assert!(
            held >= 0.7,
            "{}: held {held:.3} of the capacity in values",
            r.trace
        );
        assert!(store.stats()?.evictions > 0);
    }
    Ok(())
}
