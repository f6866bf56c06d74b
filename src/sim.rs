//! Trace generators and an exact LRU model, for comparing the disk tier's hit ratio with
//! exact LRU at the same byte capacity (`examples/trace_replay.rs`, `tests/hit_ratio.rs`).
//! Not part of the stable API.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::{DiskStore, Result};

/// A small deterministic PRNG (xorshift64*), so traces replay identically.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Zipf-distributed ranks over `n` items with exponent `s` (rank 0 is the most popular).
#[derive(Debug, Clone)]
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// The distribution over `n` items.
    pub fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for rank in 1..=n {
            total += 1.0 / (rank as f64).powf(s);
            cdf.push(total);
        }
        cdf.iter_mut().for_each(|c| *c /= total);
        Self { cdf }
    }

    /// Draws a rank.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.next_f64();
        self.cdf.partition_point(|c| *c < u).min(self.cdf.len() - 1)
    }
}

/// A named request trace: key ids in order.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Name for reports.
    pub name: String,
    /// Requested key ids.
    pub keys: Vec<u64>,
}

/// Zipf(`s`) requests over `n` keys.
pub fn zipf_trace(n: usize, s: f64, len: usize, seed: u64) -> Trace {
    let zipf = Zipf::new(n, s);
    let mut rng = Rng::new(seed);
    // Scatter ranks over ids so popularity does not follow insertion order.
    let keys = (0..len)
        .map(|_| (zipf.sample(&mut rng) as u64).wrapping_mul(0x9e37_79b9) % (n as u64 * 7919))
        .collect();
    Trace {
        name: format!("zipf({s})"),
        keys,
    }
}

/// A hot set read with Zipf(0.9), interrupted by one-pass scans over keys never seen again
/// (`scan_share` of all requests belong to scans, in runs of `scan_len`).
pub fn scan_mix_trace(
    hot: usize,
    len: usize,
    scan_share: f64,
    scan_len: usize,
    seed: u64,
) -> Trace {
    let zipf = Zipf::new(hot, 0.9);
    let mut rng = Rng::new(seed);
    let mut keys = Vec::with_capacity(len);
    let mut next_scan_key = 1u64 << 40;
    while keys.len() < len {
        if rng.next_f64() < scan_share / scan_len as f64 * 4.0 {
            for _ in 0..scan_len.min(len - keys.len()) {
                keys.push(next_scan_key);
                next_scan_key += 1;
            }
        } else {
            keys.push(zipf.sample(&mut rng) as u64);
        }
    }
    Trace {
        name: format!("hot zipf(0.9) + {:.0}% one-pass scans", scan_share * 100.0),
        keys,
    }
}

/// Exact LRU by bytes.
#[derive(Debug, Default)]
pub struct ExactLru {
    capacity: u64,
    used: u64,
    tick: u64,
    entries: HashMap<u64, (u64, u64)>,
    order: BTreeMap<u64, u64>,
}

impl ExactLru {
    /// An empty LRU holding up to `capacity` bytes.
    pub fn new(capacity: u64) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    /// Requests `key` of `size` bytes; true on a hit. A miss inserts it.
    pub fn request(&mut self, key: u64, size: u64) -> bool {
        self.tick += 1;
        if let Some((tick, _)) = self.entries.get_mut(&key) {
            self.order.remove(tick);
            *tick = self.tick;
            self.order.insert(self.tick, key);
            return true;
        }
        while self.used + size > self.capacity {
            let Some((_, victim)) = self.order.pop_first() else {
                break;
            };
            let (_, victim_size) = self.entries.remove(&victim).expect("ordered key present");
            self.used -= victim_size;
        }
        self.entries.insert(key, (self.tick, size));
        self.order.insert(self.tick, key);
        self.used += size;
        false
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
    /// Value bytes exact LRU could hold.
    pub lru_bytes: u64,
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

/// Replays `trace` through `store` (get; insert on miss) and through exact LRU with
/// `capacity` bytes, every value `value_size` bytes. The first `warmup` requests are not
/// counted.
pub fn replay(
    store: &DiskStore,
    trace: &Trace,
    capacity: u64,
    value_size: usize,
    warmup: usize,
) -> Result<Replay> {
    let mut lru = ExactLru::new(capacity);
    let (mut store_hits, mut lru_hits, mut counted) = (0u64, 0u64, 0u64);
    let started = std::time::Instant::now();
    for (i, &key) in trace.keys.iter().enumerate() {
        let hit = store_request(store, key, value_size)?;
        let lru_hit = lru.request(key, value_size as u64);
        if i >= warmup {
            counted += 1;
            store_hits += hit as u64;
            lru_hits += lru_hit as u64;
        }
    }
    Ok(Replay {
        trace: trace.name.clone(),
        requests: counted,
        store_hit_ratio: store_hits as f64 / counted.max(1) as f64,
        lru_hit_ratio: lru_hits as f64 / counted.max(1) as f64,
        lru_bytes: capacity,
        store_time: started.elapsed(),
    })
}

/// Like [`replay`], but exact LRU holds as many value bytes as the store held on average
/// after the warmup (sampled from `stats().live_bytes` every `sample_every` requests), not
/// the store's capacity: this compares which entries each keeps, apart from how much room
/// the store's own files (index, headers, the room it keeps free) take out of the capacity.
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
    let mut lru = ExactLru::new(lru_bytes);
    let mut lru_hits = 0u64;
    for (i, &key) in trace.keys.iter().enumerate() {
        let lru_hit = lru.request(key, value_size as u64);
        lru_hits += (i >= warmup && lru_hit) as u64;
    }
    Ok(Replay {
        trace: trace.name.clone(),
        requests: counted,
        store_hit_ratio: store_hits as f64 / counted.max(1) as f64,
        lru_hit_ratio: lru_hits as f64 / counted.max(1) as f64,
        lru_bytes,
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
