//! Request traces and reference cache policies (exact LRU, W-TinyLFU, S3-FIFO), for
//! measuring the disk tier's hit ratio against them on the same trace in one run
//! (`examples/trace_replay.rs`, `tests/hit_ratio.rs`). Not part of the stable API.

mod lru;
mod replay;
mod s3fifo;
mod tinylfu;
mod traces;

pub use lru::ExactLru;
pub use replay::{References, Replay, reference_hit_ratios, replay_same_bytes, value_for};
pub use s3fifo::S3Fifo;
pub use tinylfu::WTinyLfu;
pub use traces::{Rng, Trace, Zipf, policy_traces, scan_mix_trace, sliding_trace, zipf_trace};

/// A cache policy replayed over a trace: each request hits or misses, and a miss inserts.
pub trait Policy {
    /// Requests `key` of `size` bytes; true on a hit. A miss inserts it (or, for policies
    /// with admission, offers it).
    fn request(&mut self, key: u64, size: u64) -> bool;
}

/// Hit ratio of `policy` over `trace`, every object `size` bytes, not counting the first
/// `warmup` requests.
pub fn hit_ratio(policy: &mut dyn Policy, trace: &Trace, size: u64, warmup: usize) -> f64 {
    let mut hits = 0u64;
    for (i, &key) in trace.keys.iter().enumerate() {
        let hit = policy.request(key, size);
        hits += (hit && i >= warmup) as u64;
    }
    hits as f64 / trace.keys.len().saturating_sub(warmup).max(1) as f64
}

/// A 64-bit mix of `x` (splitmix64's finaliser): spreads key ids over hash slots.
pub(crate) fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
