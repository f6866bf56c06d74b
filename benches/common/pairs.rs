//! Candidate-versus-baseline pairs shared by the cache and Redis benches: each side is
//! measured by criterion, then by interleaved rounds (candidate, baseline, candidate, ...)
//! whose medians make a ratio table. Interleaving keeps the noise of a shared machine out
//! of the ratio.

use std::time::{Duration, Instant};

use criterion::Criterion;

/// One pair: the operation under test and its baseline, each `fn(i)` one operation.
pub struct Pair<'a> {
    pub group: &'static str,
    pub target: &'static str,
    /// Operations per interleaved round.
    pub ops_per_round: u64,
    pub cache: Box<dyn Fn(u64) + 'a>,
    pub baseline: Box<dyn Fn(u64) + 'a>,
}

/// Smoke mode: criterion's test mode (no `--bench`, as under `cargo test --benches`) or
/// `STRATACACHE_BENCH_QUICK=1`.
pub fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
        || std::env::var("STRATACACHE_BENCH_QUICK").is_ok_and(|v| v == "1")
}

/// Interleaved rounds per pair (`STRATACACHE_BENCH_ROUNDS`, default 21).
pub fn rounds() -> u64 {
    std::env::var("STRATACACHE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21)
}

fn time_ops(op: &dyn Fn(u64), start: u64, n: u64) -> Duration {
    let t = Instant::now();
    for i in start..start + n {
        op(i);
    }
    t.elapsed()
}

/// Median ns/op of each side over interleaved rounds, after one warm-up round each.
fn interleaved(pair: &Pair<'_>) -> (f64, f64) {
    let n = pair.ops_per_round;
    time_ops(&*pair.cache, 0, n);
    time_ops(&*pair.baseline, 0, n);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..rounds() {
        a.push(time_ops(&*pair.cache, round * n, n).as_nanos() as f64 / n as f64);
        b.push(time_ops(&*pair.baseline, round * n, n).as_nanos() as f64 / n as f64);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut a), median(&mut b))
}

/// Benches every pair with criterion (ids `group/cache`, `group/baseline`) and, outside
/// smoke mode, prints the interleaved ratio table.
pub fn run_pairs(c: &mut Criterion, pairs: &[Pair<'_>]) {
    for pair in pairs {
        let mut group = c.benchmark_group(pair.group);
        group.bench_function("cache", |b| b.iter_custom(|n| time_ops(&*pair.cache, 0, n)));
        group.bench_function("baseline", |b| {
            b.iter_custom(|n| time_ops(&*pair.baseline, 0, n))
        });
        group.finish();
    }
    if quick() {
        return;
    }
    println!("\ninterleaved medians ({} rounds, same run):", rounds());
    println!(
        "{:<36} {:>14} {:>14} {:>8}  target",
        "pair", "cache", "baseline", "ratio"
    );
    for pair in pairs {
        let (cache_ns, base_ns) = interleaved(pair);
        println!(
            "{:<36} {:>11.1} ns {:>11.1} ns {:>8.3}  {}",
            pair.group,
            cache_ns,
            base_ns,
            cache_ns / base_ns,
            pair.target
        );
    }
}
