//! Replaying a trace through a store and through the reference policies.

use std::time::Duration;

use super::{ExactLru, Policy, Rng, S3Fifo, Trace, WTinyLfu, hit_ratio};
use crate::{DiskStore, Result};

/// Hit ratios of the reference policies on one trace at one byte capacity.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct References {
    /// Exact LRU.
    pub lru: f64,
    /// W-TinyLFU.
    pub w_tinylfu: f64,
    /// S3-FIFO.
    pub s3fifo: f64,
}

impl References {
    /// The better of W-TinyLFU and S3-FIFO.
    pub fn best_modern(&self) -> f64 {
        self.w_tinylfu.max(self.s3fifo)
    }
}

/// Replays `trace` through exact LRU, W-TinyLFU and S3-FIFO holding `capacity` bytes of
/// `value_size`-byte objects, not counting the first `warmup` requests.
pub fn reference_hit_ratios(
    trace: &Trace,
    capacity: u64,
    value_size: u64,
    warmup: usize,
) -> References {
    let run = |policy: &mut dyn Policy| hit_ratio(policy, trace, value_size, warmup);
    References {
        lru: run(&mut ExactLru::new(capacity)),
        w_tinylfu: run(&mut WTinyLfu::new(capacity, value_size)),
        s3fifo: run(&mut S3Fifo::new(capacity, value_size)),
    }
}

/// Result of replaying one trace.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Replay {
    /// Trace name.
    pub trace: String,
    /// Requests replayed.
    pub requests: u64,
    /// Hit ratio of the store.
    pub store_hit_ratio: f64,
    /// Hit ratio of exact LRU.
    pub lru_hit_ratio: f64,
    /// Value bytes the reference policies could hold.
    pub lru_bytes: u64,
    /// Hit ratios of all the reference policies with `lru_bytes`.
    pub references: References,
    /// Wall time of the store replay.
    pub store_time: Duration,
}

/// Deterministic value bytes for a key (incompressible).
pub fn value_for(key: u64, size: usize) -> Vec<u8> {
    let mut rng = Rng::new(key ^ 0x5eed);
    let mut v = Vec::with_capacity(size + 8);
    while v.len() < size {
        v.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    v.truncate(size);
    v
}

/// Replays `trace` through `store` (get; insert on miss), every value `value_size` bytes,
/// then through exact LRU, W-TinyLFU and S3-FIFO holding as many value bytes as the store
/// held on average after the first `warmup` requests (which are not counted; sampled from
/// `stats().live_bytes` every `sample_every` requests), not the store's capacity: this
/// compares which entries each keeps, apart from how much room the store's own files
/// (index, headers, the room it keeps free) take out of the capacity.
pub fn replay_same_bytes(
    store: &DiskStore,
    trace: &Trace,
    value_size: usize,
    warmup: usize,
    sample_every: usize,
) -> Result<Replay> {
    let (mut store_hits, mut counted) = (0u64, 0u64);
    let (mut held, mut samples) = (0u128, 0u128);
    let started = std::time::Instant::now();
    for (i, &key) in trace.keys.iter().enumerate() {
        let hit = store_request(store, key, value_size)?;
        if i >= warmup {
            counted += 1;
            store_hits += hit as u64;
            if (i - warmup).is_multiple_of(sample_every.max(1)) {
                held += u128::from(store.stats()?.live_bytes);
                samples += 1;
            }
        }
    }
    let store_time = started.elapsed();
    let lru_bytes = (held / samples.max(1)) as u64;
    let references = reference_hit_ratios(trace, lru_bytes, value_size as u64, warmup);
    Ok(Replay {
        trace: trace.name.clone(),
        requests: counted,
        store_hit_ratio: store_hits as f64 / counted.max(1) as f64,
        lru_hit_ratio: references.lru,
        lru_bytes,
        references,
        store_time,
    })
}

/// One request: a read, and an insert on a miss. True on a hit.
fn store_request(store: &DiskStore, key: u64, value_size: usize) -> Result<bool> {
    let name = format!("k{key:016x}");
    let hit = store.get(&name)?.is_some();
    if !hit {
        store.insert(&name, &value_for(key, value_size))?;
    }
    Ok(hit)
}
