//! Hit ratio of the disk tier against exact LRU, W-TinyLFU and S3-FIFO, each replayed on
//! the same trace with as many value bytes as the store held on average (the capacity also
//! bounds the store's index, headers and the room it keeps free). Four traces, each at
//! about 5%, 10% and 25% of its distinct keys; the default policy (S3-FIFO on segments)
//! must reach, at 10%: 1.08x exact LRU on Zipf(0.9), 1.06x on Zipf(0.99) and on a hot set
//! with one-pass scans, within 2 points of the better of W-TinyLFU and S3-FIFO on the Zipf
//! traces; and never below 0.98x exact LRU. The LRU policy, kept as an option, must stay
//! within 0.97x of exact LRU. Background work is off, so every replay is deterministic.
//! `examples/trace_replay.rs` prints the same table for larger runs.

use stratacache::sim::{Trace, policy_traces, replay_same_bytes, scan_mix_trace, zipf_trace};
use stratacache::{DiskStore, EvictionPolicy};

const VALUE: usize = 4096;
const KEYS: usize = 40_000;
const LEN: usize = 240_000;

/// Capacity for `held` bytes of values: at these sizes (1 MiB segments) the store keeps
/// about 0.94 of its capacity, less 4 MiB (the active segments of both logs, the spare
/// segment, the index), in values.
fn capacity_for(held: f64) -> u64 {
    ((held + (4 << 20) as f64) / 0.94) as u64
}

/// At 10% of the distinct keys: (least ratio to exact LRU, most points below the better of
/// W-TinyLFU and S3-FIFO).
fn targets(trace: usize) -> (f64, Option<f64>) {
    match trace {
        0 => (1.08, Some(0.02)),
        1 => (1.06, Some(0.02)),
        2 => (1.06, None),
        _ => (0.98, None),
    }
}

fn open(dir: &std::path::Path, capacity: u64, policy: EvictionPolicy) -> DiskStore {
    DiskStore::builder(dir)
        .capacity_bytes(capacity)
        .checkpoint_interval(None)
        .background_maintenance(false)
        .eviction_policy(policy)
        .open()
        .expect("open store")
}

fn check_trace(index: usize) {
    let trace: Trace = policy_traces(KEYS, LEN).swap_remove(index);
    let unique = trace.unique();
    for share in [0.05, 0.10, 0.25] {
        let capacity = capacity_for(share * unique as f64 * VALUE as f64);
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path(), capacity, EvictionPolicy::S3Fifo);
        let r = replay_same_bytes(&store, &trace, VALUE, LEN / 4, 1000).expect("replay");
        let refs = r.references;
        let held = r.lru_bytes as f64 / VALUE as f64 / unique as f64;
        let ratio = r.store_hit_ratio / refs.lru;
        let behind = refs.best_modern() - r.store_hit_ratio;
        println!(
            "| {} | {held:.3} | {:.4} | {:.4} | {ratio:.3}x | {:.4} | {:.4} | {:+.2} |",
            r.trace,
            r.store_hit_ratio,
            refs.lru,
            refs.w_tinylfu,
            refs.s3fifo,
            -behind * 100.0
        );
        assert!(
            ratio >= 0.98,
            "{}: {ratio:.3}x exact LRU at {held:.3}",
            r.trace
        );
        assert!(
            r.lru_bytes as f64 >= 0.4 * capacity as f64,
            "{}: held {} of {capacity} bytes in values",
            r.trace,
            r.lru_bytes
        );
        if share == 0.10 {
            assert!(
                (0.085..0.115).contains(&held),
                "{}: held {held:.3}",
                r.trace
            );
            let (least, points) = targets(index);
            assert!(ratio >= least, "{}: {ratio:.3}x < {least}x", r.trace);
            if let Some(points) = points {
                assert!(behind <= points, "{}: {behind:.4} behind", r.trace);
            }
        }
    }
}

#[test]
fn zipf_09() {
    check_trace(0);
}

#[test]
fn zipf_099() {
    check_trace(1);
}

#[test]
fn hot_set_with_scans() {
    check_trace(2);
}

#[test]
fn sliding_working_set() {
    check_trace(3);
}

/// The LRU policy (the only one before S3-FIFO) stays close to exact LRU.
#[test]
fn lru_policy_is_at_least_097_of_exact_lru() {
    let capacity: u64 = 16 << 20;
    let fit = (capacity / VALUE as u64) as usize;
    let len = fit * 16;
    let traces = [
        zipf_trace(fit * 6, 0.9, len, 11),
        scan_mix_trace(fit * 2, len, 0.3, fit / 4, 13),
    ];
    for trace in &traces {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path(), capacity, EvictionPolicy::Lru);
        let r = replay_same_bytes(&store, trace, VALUE, len / 4, 1000).expect("replay");
        let ratio = r.store_hit_ratio / r.lru_hit_ratio;
        println!("LRU policy, {}: {ratio:.3}x exact LRU", r.trace);
        assert!(ratio >= 0.97, "{}: {ratio:.3}x of exact LRU", r.trace);
        assert!(store.stats().expect("stats").evictions > 0);
    }
}
