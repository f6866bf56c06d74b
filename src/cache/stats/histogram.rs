//! A fixed-bucket latency histogram with atomic counters (Prometheus style).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Upper bounds of the buckets in nanoseconds: 1 µs to 10 s, about three per decade.
pub const BOUNDS_NS: [u64; 22] = [
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Durations of one kind of operation.
#[derive(Default)]
pub struct Histogram {
    /// Per-bucket counts (not cumulative); the last one is `+Inf`.
    buckets: [AtomicU64; BOUNDS_NS.len() + 1],
    sum_ns: AtomicU64,
    count: AtomicU64,
}

/// A point-in-time copy of a [`Histogram`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistogramSnapshot {
    /// Cumulative counts per upper bound in seconds (`le`), ending with `+Inf`. Serialized
    /// as `[le, count]` pairs with the last bound as the string `"+Inf"` (JSON has no
    /// infinity; a plain f64 would come out as `null` and not read back).
    #[serde(with = "le_buckets")]
    pub buckets: Vec<(f64, u64)>,
    /// Sum of all durations in seconds.
    pub sum_seconds: f64,
    /// Number of observations.
    pub count: u64,
}

impl Histogram {
    /// Records one duration.
    pub fn record(&self, took: Duration) {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let bucket = BOUNDS_NS.partition_point(|&bound| bound < ns);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Cumulative snapshot.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0;
        let mut buckets = Vec::with_capacity(self.buckets.len());
        for (i, b) in self.buckets.iter().enumerate() {
            running += b.load(Ordering::Relaxed);
            let le = BOUNDS_NS
                .get(i)
                .map_or(f64::INFINITY, |&ns| ns as f64 / 1e9);
            buckets.push((le, running));
        }
        HistogramSnapshot {
            buckets,
            sum_seconds: self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
            count: self.count.load(Ordering::Relaxed),
        }
    }
}

/// Serde for bucket bounds: finite bounds as numbers, infinite ones as `"+Inf"`.
mod le_buckets {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Le {
        Bound(f64),
        Named(String),
    }

    pub fn serialize<S: Serializer>(buckets: &[(f64, u64)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(buckets.iter().map(|&(le, count)| {
            let le = if le == f64::INFINITY {
                Le::Named("+Inf".into())
            } else {
                Le::Bound(le)
            };
            (le, count)
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(f64, u64)>, D::Error> {
        Vec::<(Le, u64)>::deserialize(d)?
            .into_iter()
            .map(|(le, count)| match le {
                Le::Bound(le) => Ok((le, count)),
                Le::Named(name) if name == "+Inf" => Ok((f64::INFINITY, count)),
                Le::Named(name) => Err(D::Error::custom(format!(
                    "bucket bound {name:?} is neither a number nor \"+Inf\""
                ))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_bounds_inclusive() {
        let h = Histogram::default();
        h.record(Duration::from_nanos(1_000)); // exactly on the first bound
        h.record(Duration::from_micros(3));
        h.record(Duration::from_secs(60)); // past the last bound
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.buckets[0], (1e-6, 1));
        assert_eq!(s.buckets[2], (5e-6, 2));
        assert_eq!(s.buckets[BOUNDS_NS.len() - 1].1, 2);
        assert_eq!(s.buckets.last().unwrap(), &(f64::INFINITY, 3));
        assert!((s.sum_seconds - 60.000004).abs() < 1e-9);
    }
}
