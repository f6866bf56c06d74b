//! What the cache counts: per-tier and per-operation counters, latency histograms, their
//! serializable snapshot and its Prometheus rendering.

mod counters;
mod histogram;

pub(crate) use counters::{CacheCounters, Op, TierCounters, bump};
pub use counters::{CacheStats, TierStats};
pub(crate) use histogram::Histogram;
pub use histogram::HistogramSnapshot;
