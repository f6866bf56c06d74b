//! Request traces: Zipf, a hot set with one-pass scans, and a sliding working set.

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

/// A sliding working set, where recency predicts reuse better than frequency: requests
/// draw Zipf(0.9) ranks counted back from the newest key of a window of `window` keys, and
/// a new key enters (the window slides by one) every `slide_every` requests. Keys that were
/// popular stop being requested as the window moves on.
pub fn sliding_trace(window: usize, len: usize, slide_every: usize, seed: u64) -> Trace {
    let zipf = Zipf::new(window, 0.9);
    let mut rng = Rng::new(seed);
    let mut newest = window as u64;
    let keys = (0..len)
        .map(|i| {
            if i % slide_every.max(1) == 0 {
                newest += 1;
            }
            (newest - zipf.sample(&mut rng) as u64) | (1 << 41)
        })
        .collect();
    Trace {
        name: format!("sliding working set ({window} keys)"),
        keys,
    }
}

impl Trace {
    /// Distinct keys requested.
    pub fn unique(&self) -> usize {
        self.keys
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
    }
}

/// The traces every hit-ratio claim is measured on, `len` requests each over about `keys`
/// keys: Zipf(0.9), Zipf(0.99), a hot set of `keys / 2` with 20% one-pass scans of 2000
/// keys, and a sliding working set of `keys / 6` keys that moves by one every 20 requests.
pub fn policy_traces(keys: usize, len: usize) -> Vec<Trace> {
    vec![
        zipf_trace(keys, 0.9, len, 1),
        zipf_trace(keys, 0.99, len, 2),
        scan_mix_trace(keys / 2, len, 0.2, 2000, 3),
        sliding_trace(keys / 6, len, 20, 4),
    ]
}
