//! Counters of the tiered cache, their serializable snapshot and its Prometheus rendering.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::cache::stats::{Histogram, HistogramSnapshot};
use crate::cache::tier::{Evictions, TierKind, Usage};

/// Adds one.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

fn ratio(hits: u64, misses: u64) -> f64 {
    if hits + misses == 0 {
        0.0
    } else {
        hits as f64 / (hits + misses) as f64
    }
}

/// Live counters of one tier, as the cache sees it.
#[derive(Default)]
pub(crate) struct TierCounters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub inserts: AtomicU64,
    pub promotions: AtomicU64,
    pub demotions: AtomicU64,
    pub errors: AtomicU64,
    pub skipped: AtomicU64,
}

/// Live counters of the cache as a whole.
#[derive(Default)]
pub(crate) struct CacheCounters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub inserts: AtomicU64,
    pub removes: AtomicU64,
    pub loader_calls: AtomicU64,
    pub loader_errors: AtomicU64,
    pub loader_panics: AtomicU64,
    pub lease_waits: AtomicU64,
    pub refreshes: AtomicU64,
    pub refreshes_dropped: AtomicU64,
    pub errors: AtomicU64,
    pub decode_errors: AtomicU64,
    pub stale_tags: AtomicU64,
    pub times: OpTimes,
}

/// The timed operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Get,
    Insert,
    Remove,
    GetWith,
}

/// One latency histogram per operation.
#[derive(Default)]
pub(crate) struct OpTimes {
    get: Histogram,
    insert: Histogram,
    remove: Histogram,
    get_with: Histogram,
}

impl OpTimes {
    /// The histogram of `op`.
    pub fn of(&self, op: Op) -> &Histogram {
        match op {
            Op::Get => &self.get,
            Op::Insert => &self.insert,
            Op::Remove => &self.remove,
            Op::GetWith => &self.get_with,
        }
    }

    fn snapshot(&self) -> BTreeMap<String, HistogramSnapshot> {
        [
            ("get", Op::Get),
            ("insert", Op::Insert),
            ("remove", Op::Remove),
            ("get_with", Op::GetWith),
        ]
        .into_iter()
        .map(|(name, op)| (name.to_string(), self.of(op).snapshot()))
        .collect()
    }
}

/// What one tier did, from the cache's point of view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierStats {
    /// Which tier.
    pub tier: TierKind,
    /// Lookups this tier answered.
    pub hits: u64,
    /// Lookups that reached this tier and missed it.
    pub misses: u64,
    /// `hits / (hits + misses)`, 0 when there were none.
    pub hit_ratio: f64,
    /// Values written to this tier by inserts.
    pub inserts: u64,
    /// Values copied into this tier from a tier below it.
    pub promotions: u64,
    /// Values moved into this tier from the memory tier (write-back).
    pub demotions: u64,
    /// Failed tier calls (the cache carried on without the tier).
    pub errors: u64,
    /// Tier calls not made because the tier was unavailable (the Redis tier's circuit
    /// breaker was open): writes that did not happen, reads that did not reach it. Neither
    /// `inserts`, `promotions` nor `misses` count these.
    #[serde(default)]
    pub skipped: u64,
    /// Values the tier dropped, by cause.
    pub evictions: Evictions,
    /// Bytes the tier holds (disk: file bytes; memory: weighed bytes). `None` (JSON
    /// `null`) when the tier cannot tell: the Redis tier, whose server is shared with
    /// other caches and applications.
    #[serde(default)]
    pub size_bytes: Option<u64>,
    /// Entries the tier holds. `None` (JSON `null`) when the tier cannot tell (Redis).
    #[serde(default)]
    pub entries: Option<u64>,
    /// Anonymous memory the tier's bookkeeping holds apart from the values (the disk
    /// tier's engine: index cache, location cache, staged changes, policy tables). `None`
    /// for tiers that do not count it (memory: see `size_bytes`; Redis).
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    /// The bound on `memory_bytes` (the disk tier's memory budget).
    #[serde(default)]
    pub memory_budget_bytes: Option<u64>,
}

/// Serializable snapshot of [`Cache::stats`](crate::Cache::stats). Counters count since the
/// cache was opened (the disk tier's eviction counts are the store's lifetime totals).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Lookups answered by some tier.
    pub hits: u64,
    /// Lookups no tier answered.
    pub misses: u64,
    /// `hits / (hits + misses)`, 0 when there were none.
    pub hit_ratio: f64,
    /// Values inserted (directly or by a loader).
    pub inserts: u64,
    /// Explicit removes that found a value.
    pub removes: u64,
    /// Loader runs (one per key however many callers waited).
    pub loader_calls: u64,
    /// Loader runs that returned an error.
    pub loader_errors: u64,
    /// Loader runs that panicked.
    pub loader_panics: u64,
    /// `get_with` misses answered by a load another process ran: they waited on its
    /// lease in the Redis tier instead of loading.
    #[serde(default)]
    pub lease_waits: u64,
    /// Background refresh-ahead reloads started (queued for the cache's refresh threads).
    pub refreshes: u64,
    /// Refresh-ahead reloads not started because the refresh queue was full (the hit was
    /// served; a later hit of the key asks again).
    #[serde(default)]
    pub refreshes_dropped: u64,
    /// Values dropped because a tag they carry was invalidated.
    pub stale_by_tag: u64,
    /// Tag generations read from the disk store: one point lookup per tag the cache did
    /// not have in memory (opening reads none).
    #[serde(default)]
    pub tag_lookups: u64,
    /// Tag generation rows pruned into their buckets' floors (past 65,536 rows).
    #[serde(default)]
    pub tag_rows_pruned: u64,
    /// Errors the cache absorbed (a failed tier, a value it did not write).
    pub errors: u64,
    /// Typed reads whose value did not decode as the type asked for (written as another
    /// type, or by another version of the program): misses, kept apart from damage.
    #[serde(default)]
    pub decode_errors: u64,
    /// Per tier, in read order.
    pub tiers: Vec<TierStats>,
    /// Operation latencies: `get`, `insert`, `remove`, `get_with`.
    pub operations: BTreeMap<String, HistogramSnapshot>,
}

impl CacheCounters {
    /// Snapshot with the given per-tier stats.
    pub fn snapshot(&self, tiers: Vec<TierStats>) -> CacheStats {
        let (hits, misses) = (load(&self.hits), load(&self.misses));
        CacheStats {
            hits,
            misses,
            hit_ratio: ratio(hits, misses),
            inserts: load(&self.inserts),
            removes: load(&self.removes),
            loader_calls: load(&self.loader_calls),
            loader_errors: load(&self.loader_errors),
            loader_panics: load(&self.loader_panics),
            lease_waits: load(&self.lease_waits),
            refreshes: load(&self.refreshes),
            refreshes_dropped: load(&self.refreshes_dropped),
            stale_by_tag: load(&self.stale_tags),
            tag_lookups: 0,
            tag_rows_pruned: 0,
            errors: load(&self.errors),
            decode_errors: load(&self.decode_errors),
            tiers,
            operations: self.times.snapshot(),
        }
    }
}

impl TierCounters {
    /// Snapshot, with what the tier itself reports.
    pub fn snapshot(&self, tier: TierKind, usage: Usage) -> TierStats {
        let (hits, misses) = (load(&self.hits), load(&self.misses));
        TierStats {
            tier,
            hits,
            misses,
            hit_ratio: ratio(hits, misses),
            inserts: load(&self.inserts),
            promotions: load(&self.promotions),
            demotions: load(&self.demotions),
            errors: load(&self.errors),
            skipped: load(&self.skipped),
            evictions: usage.evictions,
            size_bytes: usage.size_bytes,
            entries: usage.entries,
            memory_bytes: usage.memory_bytes,
            memory_budget_bytes: usage.memory_budget_bytes,
        }
    }
}

impl CacheStats {
    /// The stats of the tier of `kind`, if the cache has one.
    pub fn tier(&self, kind: TierKind) -> Option<&TierStats> {
        self.tiers.iter().find(|t| t.tier == kind)
    }

    /// The stats in the Prometheus text exposition format (version 0.0.4).
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, value) in rows {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        // A tier that cannot tell a value (`None`) has no series for it, rather than 0.
        let per_tier = |f: &dyn Fn(&TierStats) -> Option<u64>| -> Vec<(String, String)> {
            self.tiers
                .iter()
                .filter_map(|t| Some((format!("{{tier=\"{}\"}}", t.tier), f(t)?.to_string())))
                .collect()
        };
        family(
            "cache_hits_total",
            "counter",
            "Lookups answered, by the tier that answered.",
            per_tier(&|t| Some(t.hits)),
        );
        family(
            "cache_misses_total",
            "counter",
            "Lookups that missed, by tier (tier=\"all\": missed every tier).",
            per_tier(&|t| Some(t.misses))
                .into_iter()
                .chain([("{tier=\"all\"}".to_string(), self.misses.to_string())])
                .collect(),
        );
        let mut evictions = Vec::new();
        for t in &self.tiers {
            let e = &t.evictions;
            for (reason, n) in [
                ("expired", e.expired),
                ("size", e.size),
                ("explicit", e.explicit),
                ("replaced", e.replaced),
            ] {
                evictions.push((
                    format!("{{tier=\"{}\",reason=\"{reason}\"}}", t.tier),
                    n.to_string(),
                ));
            }
        }
        family(
            "cache_evictions_total",
            "counter",
            "Values dropped, by tier and reason.",
            evictions,
        );
        type Field = fn(&TierStats) -> Option<u64>;
        let per_tier_families: [(&str, &str, &str, Field); 9] = [
            (
                "cache_tier_memory_bytes",
                "gauge",
                "Anonymous memory a tier's bookkeeping holds apart from the values (disk: the engine's index cache, location cache, staged changes and policy tables).",
                |t| t.memory_bytes,
            ),
            (
                "cache_tier_memory_budget_bytes",
                "gauge",
                "The bound on cache_tier_memory_bytes (disk: the memory budget).",
                |t| t.memory_budget_bytes,
            ),
            ("cache_size_bytes", "gauge", "Bytes held, by tier.", |t| {
                t.size_bytes
            }),
            ("cache_entries", "gauge", "Entries held, by tier.", |t| {
                t.entries
            }),
            (
                "cache_inserts_total",
                "counter",
                "Values written, by tier.",
                |t| Some(t.inserts),
            ),
            (
                "cache_promotions_total",
                "counter",
                "Values copied up into a tier after a hit below it.",
                |t| Some(t.promotions),
            ),
            (
                "cache_demotions_total",
                "counter",
                "Values moved down into a tier from memory (write-back).",
                |t| Some(t.demotions),
            ),
            (
                "cache_errors_total",
                "counter",
                "Failed tier calls the cache carried on from, by tier.",
                |t| Some(t.errors),
            ),
            (
                "cache_skipped_total",
                "counter",
                "Tier calls not made while the tier was unavailable (circuit breaker open).",
                |t| Some(t.skipped),
            ),
        ];
        for (name, kind, help, field) in per_tier_families {
            family(name, kind, help, per_tier(&field));
        }
        family(
            "cache_loader_calls_total",
            "counter",
            "Loader runs (single-flight: one per key however many callers wait).",
            vec![(String::new(), self.loader_calls.to_string())],
        );
        family(
            "cache_loader_errors_total",
            "counter",
            "Loader runs that failed, by kind.",
            vec![
                (
                    "{kind=\"error\"}".to_string(),
                    self.loader_errors.to_string(),
                ),
                (
                    "{kind=\"panic\"}".to_string(),
                    self.loader_panics.to_string(),
                ),
            ],
        );
        family(
            "cache_refreshes_total",
            "counter",
            "Refresh-ahead reloads, by result (dropped: the refresh queue was full).",
            vec![
                (
                    "{result=\"started\"}".to_string(),
                    self.refreshes.to_string(),
                ),
                (
                    "{result=\"dropped\"}".to_string(),
                    self.refreshes_dropped.to_string(),
                ),
            ],
        );
        let mut histogram = Vec::new();
        for (op, h) in &self.operations {
            for (le, count) in &h.buckets {
                let le = if le.is_infinite() {
                    "+Inf".to_string()
                } else {
                    format!("{le}")
                };
                histogram.push((
                    format!("_bucket{{op=\"{op}\",le=\"{le}\"}}"),
                    count.to_string(),
                ));
            }
            histogram.push((format!("_sum{{op=\"{op}\"}}"), h.sum_seconds.to_string()));
            histogram.push((format!("_count{{op=\"{op}\"}}"), h.count.to_string()));
        }
        family(
            "cache_operation_duration_seconds",
            "histogram",
            "Time spent in cache operations, by operation.",
            histogram,
        );
        out
    }
}
