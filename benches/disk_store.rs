//! Criterion benchmarks of [`stratacache::DiskStore`], each against a baseline measured in the
//! same run (timings on shared machines are noisy; only same-run ratios are meaningful).
//!
//! Groups (benchmark ids are `group/variant`; the read path is in `benches/read_path.rs`):
//!
//! 1. `insert_4k`: inserts of 4 KiB incompressible values under fresh keys, default durability
//!    (background checkpoint every second). Every 256 MiB of values ([`CHUNK_BYTES`]) the
//!    store (or file) is closed, synced and replaced, untimed: this bounds disk use and keeps
//!    the comparison about the code rather than the kernel's dirty-page throttling.
//!    - `stratacache_1t`, `stratacache_4t` (4 threads sharing one store);
//!    - `stratacache_batch_1t`: `insert_many` in batches of 1000 values;
//!    - `redb_per_value`: one `Durability::Immediate` write transaction per value;
//!    - `raw_buffered`: `BufWriter<File>` appends of the same 4 KiB chunks, no fsync.
//!
//!    Targets: `stratacache_1t` >= 5x `redb_per_value` and >= 0.3x `raw_buffered` throughput.
//! 2. `insert_1m`: 1 MiB incompressible values: `stratacache` vs `raw_write` (bytes/s), chunked
//!    the same way.
//! 3. `flush_after_10k`: 10k 4 KiB inserts into a fresh store then one `flush()`.
//!    - `insert_then_flush` (both timed) vs `raw_write_then_fsync` (BufWriter + `sync_data`)
//!      and `redb_one_txn` (10k inserts in one `Immediate` redb transaction);
//!    - `flush_only` (inserts untimed) vs `raw_fsync_only` (writes untimed, `sync_data` timed).
//! 4. `open`: open of a cleanly closed store of N entries (100-byte values), N = 10_000 and
//!    200_000 (`STRATACACHE_BENCH_OPEN_ENTRIES=1000000` raises the larger one to the 1M target).
//!    - `stratacache/N`: `open()` only; `stratacache_open_close/N`: `open()` + close (drop);
//!    - `redb_inline/N`: `Database::create()` of a redb file holding the same entries inline.
//!
//!    Goal: open time independent of N (no scan of entries at open).
//! 5. `space`: not a timing. Prints disk bytes / value bytes for 100k random 4 KiB values after
//!    `flush()` (from `stats().disk_bytes` and from walking the directory, apparent and
//!    allocated), next to redb holding the same values inline; then benches `stats()`.
//!
//! After a real benchmark run a ratio table (from criterion's `estimates.json` files written
//! by this run) is printed at the end.
//!
//! Smoke mode: under `cargo test --benches` (criterion's test mode, each bench runs once) or
//! with `STRATACACHE_BENCH_QUICK=1`, data sets shrink (1k values per flush,
//! 1k/5k open entries, 2k space values) so the run stays short even in a debug build.
//! `STRATACACHE_BENCH_DIR` sets where temporary stores are created (default: the system temp
//! directory; use a real disk, not tmpfs, or fsync costs nothing).

use std::cell::OnceCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use redb::{Database, Durability};
use stratacache::DiskStore;
use tempfile::TempDir;

#[path = "common/store_fixtures.rs"]
mod fixtures;

use fixtures::*;

/// Splits `total` items over `parts` workers: how many worker `part` gets.
fn share(total: u64, parts: u64, part: u64) -> u64 {
    total / parts + u64::from(part < total % parts)
}

/// Bytes of values written into one store or file before it is closed, synced and replaced
/// (untimed). This bounds disk use and keeps every timed stretch well below the kernel's
/// dirty-page limits: without it, whichever variant runs second pays for the writeback of the
/// first one's data, and long samples measure the disk (about 300 MB/s here) instead of the
/// code.
const CHUNK_BYTES: usize = 256 * MIB;

/// Splits `iters` writes of `value_size` bytes into chunks of at most [`CHUNK_BYTES`] and adds
/// up the times `chunk(first_index, count)` reports.
fn time_in_chunks(
    iters: u64,
    value_size: usize,
    mut chunk: impl FnMut(u64, u64) -> Duration,
) -> Duration {
    let per_chunk = (CHUNK_BYTES / value_size).max(1) as u64;
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = per_chunk.min(iters - done);
        total += chunk(done, n);
        done += n;
    }
    total
}

/// Times `iters` inserts of pool values under fresh keys, spread over `threads` threads
/// sharing one store. Each chunk gets a fresh store; opening and closing (which syncs) are
/// not timed.
fn time_store_inserts(iters: u64, threads: u64, pool: &ValuePool) -> Duration {
    time_in_chunks(iters, pool.size, |first, count| {
        let dir = tempdir();
        let store = open_store(dir.path());
        let start = Instant::now();
        if threads == 1 {
            for i in first..first + count {
                store.insert(key(0, i), pool.get(i as usize)).unwrap();
            }
        } else {
            let store = &store;
            std::thread::scope(|s| {
                for t in 0..threads {
                    s.spawn(move || {
                        for i in first..first + share(count, threads, t) {
                            let v = pool.get((t * 7919 + i) as usize);
                            store.insert(key(t, i), v).unwrap();
                        }
                    });
                }
            });
        }
        let elapsed = start.elapsed();
        drop(store);
        elapsed
    })
}

/// Times `iters` inserts through `insert_many`, in batches of [`BATCH`] values.
fn time_store_batch_inserts(iters: u64, pool: &ValuePool) -> Duration {
    time_in_chunks(iters, pool.size, |first, count| {
        let dir = tempdir();
        let store = open_store(dir.path());
        let start = Instant::now();
        let mut i = first;
        while i < first + count {
            let end = (i + BATCH).min(first + count);
            let batch: Vec<([u8; 16], &[u8])> = (i..end)
                .map(|j| (key(0, j), pool.get(j as usize)))
                .collect();
            store.insert_many(&batch).unwrap();
            i = end;
        }
        let elapsed = start.elapsed();
        drop(store);
        elapsed
    })
}

/// Values per `insert_many` call in `insert_4k/stratacache_batch_1t`.
const BATCH: u64 = 1000;

/// Times `iters` appends of pool values through a `BufWriter<File>` (no fsync). Each chunk
/// gets a fresh file, synced (untimed) before it is deleted.
fn time_raw_writes(iters: u64, pool: &ValuePool) -> Duration {
    time_in_chunks(iters, pool.size, |first, count| {
        let dir = tempdir();
        let file = File::create(dir.path().join("raw.bin")).unwrap();
        let start = Instant::now();
        let mut w = BufWriter::new(file);
        for i in first..first + count {
            w.write_all(pool.get(i as usize)).unwrap();
        }
        let file = w.into_inner().unwrap();
        let elapsed = start.elapsed();
        file.sync_data().unwrap();
        elapsed
    })
}

/// Sum of apparent and allocated sizes of the files under `dir`.
fn dir_size(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut apparent = 0;
    let mut allocated = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            let (a, b) = dir_size(&entry.path());
            apparent += a;
            allocated += b;
        } else {
            apparent += meta.len();
            allocated += meta.blocks() * 512;
        }
    }
    (apparent, allocated)
}

// ---------------------------------------------------------------------------------------
// 1. insert_4k and 2. insert_1m
// ---------------------------------------------------------------------------------------

fn bench_insert_4k(c: &mut Criterion) {
    let pool = OnceCell::new();
    let pool = || pool.get_or_init(|| ValuePool::new(1024, 4 * KIB, 3));
    let mut group = c.benchmark_group("insert_4k");
    group.throughput(Throughput::Elements(1));

    for threads in [1, 4] {
        group.bench_function(format!("stratacache_{threads}t"), |b| {
            b.iter_custom(|iters| time_store_inserts(iters, threads, pool()))
        });
    }
    group.bench_function("stratacache_batch_1t", |b| {
        b.iter_custom(|iters| time_store_batch_inserts(iters, pool()))
    });
    group.bench_function("raw_buffered", |b| {
        b.iter_custom(|iters| time_raw_writes(iters, pool()))
    });
    // Slow (one fsync per value): fewer, flat samples.
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("redb_per_value", |b| {
        b.iter_custom(|iters| {
            let dir = tempdir();
            let db = create_redb(&dir.path().join("inline.redb"));
            let start = Instant::now();
            for i in 0..iters {
                let mut txn = db.begin_write().unwrap();
                txn.set_durability(Durability::Immediate).unwrap();
                {
                    let mut table = txn.open_table(REDB_TABLE).unwrap();
                    table
                        .insert(&key(0, i)[..], pool().get(i as usize))
                        .unwrap();
                }
                txn.commit().unwrap();
            }
            start.elapsed()
        })
    });
    group.finish();
}

fn bench_insert_1m(c: &mut Criterion) {
    let pool = OnceCell::new();
    let pool = || pool.get_or_init(|| ValuePool::new(8, MIB, 4));
    let mut group = c.benchmark_group("insert_1m");
    group.throughput(Throughput::Bytes(MIB as u64));
    group.bench_function("stratacache", |b| {
        b.iter_custom(|iters| time_store_inserts(iters, 1, pool()))
    });
    group.bench_function("raw_write", |b| {
        b.iter_custom(|iters| time_raw_writes(iters, pool()))
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------
// 3. flush_after_10k
// ---------------------------------------------------------------------------------------

/// What part of "write `count` values, then make them durable" a variant times.
#[derive(Clone, Copy)]
enum Timed {
    /// Writes and the flush/fsync.
    All,
    /// Only the flush/fsync.
    SyncOnly,
}

/// Runs `round` `iters` times and adds up the times it reports.
fn repeat(iters: u64, round: &dyn Fn() -> Duration) -> Duration {
    (0..iters).map(|_| round()).sum()
}

/// One round against a fresh store: `count` inserts, then `flush()`.
fn store_then_flush(count: usize, pool: &ValuePool, timed: Timed) -> Duration {
    let dir = tempdir();
    let store = open_store(dir.path());
    let start = Instant::now();
    for i in 0..count {
        store.insert(key(0, i as u64), pool.get(i)).unwrap();
    }
    let flush_start = Instant::now();
    store.flush().unwrap();
    let elapsed = match timed {
        Timed::All => start.elapsed(),
        Timed::SyncOnly => flush_start.elapsed(),
    };
    drop(store);
    elapsed
}

/// One round against a fresh file: `count` buffered appends, then `sync_data()`.
fn raw_then_fsync(count: usize, pool: &ValuePool, timed: Timed) -> Duration {
    let dir = tempdir();
    let file = File::create(dir.path().join("raw.bin")).unwrap();
    let start = Instant::now();
    let mut w = BufWriter::new(file);
    for i in 0..count {
        w.write_all(pool.get(i)).unwrap();
    }
    let file = w.into_inner().unwrap();
    let sync_start = Instant::now();
    file.sync_data().unwrap();
    match timed {
        Timed::All => start.elapsed(),
        Timed::SyncOnly => sync_start.elapsed(),
    }
}

fn bench_flush_after_10k(c: &mut Criterion) {
    let count = scaled(10_000, 1_000);
    let pool = OnceCell::new();
    let pool = || pool.get_or_init(|| ValuePool::new(1024, 4 * KIB, 5));
    let mut group = c.benchmark_group("flush_after_10k");
    group.sampling_mode(SamplingMode::Flat);

    group.bench_function("insert_then_flush", |b| {
        b.iter_custom(|iters| repeat(iters, &|| store_then_flush(count, pool(), Timed::All)))
    });
    group.bench_function("raw_write_then_fsync", |b| {
        b.iter_custom(|iters| repeat(iters, &|| raw_then_fsync(count, pool(), Timed::All)))
    });
    group.bench_function("redb_one_txn", |b| {
        b.iter_custom(|iters| {
            repeat(iters, &|| {
                let dir = tempdir();
                let db = create_redb(&dir.path().join("inline.redb"));
                let start = Instant::now();
                let mut txn = db.begin_write().unwrap();
                txn.set_durability(Durability::Immediate).unwrap();
                {
                    let mut table = txn.open_table(REDB_TABLE).unwrap();
                    for i in 0..count {
                        table.insert(&key(0, i as u64)[..], pool().get(i)).unwrap();
                    }
                }
                txn.commit().unwrap();
                start.elapsed()
            })
        })
    });
    group.bench_function("flush_only", |b| {
        b.iter_custom(|iters| repeat(iters, &|| store_then_flush(count, pool(), Timed::SyncOnly)))
    });
    group.bench_function("raw_fsync_only", |b| {
        b.iter_custom(|iters| repeat(iters, &|| raw_then_fsync(count, pool(), Timed::SyncOnly)))
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------
// 4. open
// ---------------------------------------------------------------------------------------

/// A cleanly closed store and a redb file holding the same `n` small entries.
struct OpenFixture {
    store_dir: PathBuf,
    redb_path: PathBuf,
    _dir: TempDir,
}

impl OpenFixture {
    fn build(n: usize) -> Self {
        let dir = tempdir();
        let store_dir = dir.path().join("store");
        let redb_path = dir.path().join("inline.redb");
        let pool = ValuePool::new(1024, 100, 6);
        let store = open_store(&store_dir);
        for i in 0..n {
            store.insert(key(0, i as u64), pool.get(i)).unwrap();
        }
        store.close().unwrap();
        let db = create_redb(&redb_path);
        fill_redb(&db, n, &pool);
        drop(db);
        Self {
            store_dir,
            redb_path,
            _dir: dir,
        }
    }

    fn open(&self) -> DiskStore {
        DiskStore::builder(&self.store_dir).open().unwrap()
    }
}

/// Entry counts for the open group.
fn open_sizes() -> Vec<usize> {
    let large = std::env::var("STRATACACHE_BENCH_OPEN_ENTRIES")
        .ok()
        .map(|v| {
            v.parse()
                .expect("STRATACACHE_BENCH_OPEN_ENTRIES must be a number")
        })
        .unwrap_or(200_000);
    if quick() {
        vec![1_000, 5_000]
    } else {
        vec![10_000, large]
    }
}

fn bench_open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open");
    group.sampling_mode(SamplingMode::Flat);
    for n in open_sizes() {
        let fixture = OnceCell::new();
        let fx = || {
            fixture.get_or_init(|| {
                let start = Instant::now();
                let fx = OpenFixture::build(n);
                println!(
                    "open: built the {n}-entry fixture in {:.2?}",
                    start.elapsed()
                );
                fx
            })
        };
        group.bench_function(BenchmarkId::new("stratacache", n), |b| {
            let fx = fx();
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let store = fx.open();
                    total += start.elapsed();
                    drop(store);
                }
                total
            })
        });
        group.bench_function(BenchmarkId::new("stratacache_open_close", n), |b| {
            let fx = fx();
            b.iter(|| drop(fx.open()))
        });
        group.bench_function(BenchmarkId::new("redb_inline", n), |b| {
            let fx = fx();
            b.iter(|| drop(Database::create(&fx.redb_path).unwrap()))
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------------------------
// 5. space
// ---------------------------------------------------------------------------------------

/// Fills a store and a redb table with the same random 4 KiB values, prints the space ratios
/// and keeps the store for the `stats()` bench.
fn build_space_report(count: usize) -> (DiskStore, TempDir) {
    const SIZE: usize = 4 * KIB;
    let dir = tempdir();
    let store_dir = dir.path().join("store");
    let store = open_store(&store_dir);
    let mut rng = StdRng::seed_from_u64(7);
    let mut value = vec![0u8; SIZE];
    for i in 0..count {
        rng.fill_bytes(&mut value);
        store.insert(key(0, i as u64), &value).unwrap();
    }
    store.flush().unwrap();
    let stats = store.stats().unwrap();
    let (apparent, allocated) = dir_size(&store_dir);
    let (index_apparent, _) = file_size(&store_dir.join("index.redb"));

    let redb_path = dir.path().join("inline.redb");
    let db = create_redb(&redb_path);
    let mut rng = StdRng::seed_from_u64(7);
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(REDB_TABLE).unwrap();
        for i in 0..count {
            rng.fill_bytes(&mut value);
            table.insert(&key(0, i as u64)[..], &value[..]).unwrap();
        }
    }
    txn.commit().unwrap();
    drop(db);
    let (redb_apparent, redb_allocated) = file_size(&redb_path);

    let value_bytes = (count * SIZE) as f64;
    let ratio = |bytes: u64| bytes as f64 / value_bytes;
    println!(
        "space: {count} x 4 KiB random values = {:.1} MiB of values",
        value_bytes / MIB as f64
    );
    println!(
        "space: stratacache stats().disk_bytes {} -> ratio {:.4}",
        stats.disk_bytes,
        ratio(stats.disk_bytes)
    );
    println!(
        "space: stratacache files: apparent {apparent} (ratio {:.4}), allocated {allocated} \
         (ratio {:.4}); index.redb {index_apparent} ({:.1} B/entry), {} segments, live_bytes {}",
        ratio(apparent),
        ratio(allocated),
        index_apparent as f64 / count as f64,
        stats.segments,
        stats.live_bytes
    );
    println!(
        "space: redb_inline file: apparent {redb_apparent} (ratio {:.4}), allocated \
         {redb_allocated} (ratio {:.4})",
        ratio(redb_apparent),
        ratio(redb_allocated)
    );
    (store, dir)
}

/// Apparent and allocated size of one file.
fn file_size(path: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).unwrap();
    (meta.len(), meta.blocks() * 512)
}

fn bench_space(c: &mut Criterion) {
    let count = scaled(100_000, 2_000);
    let report = OnceCell::new();
    let mut group = c.benchmark_group("space");
    group.bench_function("stratacache_stats", |b| {
        let (store, _) = report.get_or_init(|| build_space_report(count));
        b.iter(|| store.stats().unwrap())
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------
// Ratio summary (read back from criterion's estimates of this run)
// ---------------------------------------------------------------------------------------

/// Where criterion writes its results (same lookup order as criterion, minus `cargo metadata`).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Path::new(&target).join("criterion");
    }
    // The bench binary lives in <target>/<profile>/deps/.
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// Nanoseconds per iteration of `group/id` measured by this run (slope, else mean).
fn estimate_ns(group: &str, id: &str, since: SystemTime) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
    if modified < since {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    ["slope", "mean"]
        .iter()
        .find_map(|k| json.get(k)?.get("point_estimate")?.as_f64())
}

fn print_summary(since: SystemTime) {
    let fmt_time = |ns: f64| match ns {
        ns if ns >= 1e9 => format!("{:.3} s", ns / 1e9),
        ns if ns >= 1e6 => format!("{:.3} ms", ns / 1e6),
        ns if ns >= 1e3 => format!("{:.3} us", ns / 1e3),
        ns => format!("{ns:.1} ns"),
    };
    // (group, stratacache id, baseline id, per-iteration unit, target)
    let open_ids: Vec<(String, String)> = open_sizes()
        .iter()
        .flat_map(|n| {
            [
                (format!("stratacache/{n}"), format!("redb_inline/{n}")),
                (
                    format!("stratacache_open_close/{n}"),
                    format!("redb_inline/{n}"),
                ),
            ]
        })
        .collect();
    let mut rows: Vec<(&str, String, String, &str)> = vec![
        (
            "insert_4k",
            "stratacache_1t".into(),
            "redb_per_value".into(),
            ">= 5x",
        ),
        (
            "insert_4k",
            "stratacache_1t".into(),
            "raw_buffered".into(),
            ">= 0.3x",
        ),
        (
            "insert_4k",
            "stratacache_4t".into(),
            "redb_per_value".into(),
            ">= 5x",
        ),
        (
            "insert_4k",
            "stratacache_4t".into(),
            "raw_buffered".into(),
            ">= 0.3x",
        ),
        ("insert_1m", "stratacache".into(), "raw_write".into(), ""),
        (
            "flush_after_10k",
            "insert_then_flush".into(),
            "raw_write_then_fsync".into(),
            "",
        ),
        (
            "flush_after_10k",
            "insert_then_flush".into(),
            "redb_one_txn".into(),
            "",
        ),
        (
            "flush_after_10k",
            "flush_only".into(),
            "raw_fsync_only".into(),
            "",
        ),
    ];
    rows.extend(open_ids.into_iter().map(|(s, b)| ("open", s, b, "")));

    println!();
    println!(
        "Ratio summary (speed = baseline time / stratacache time; >1 means stratacache is faster)"
    );
    println!(
        "{:<16} {:<28} {:>12} {:<22} {:>12} {:>8}  target",
        "group", "stratacache", "time", "baseline", "time", "speed"
    );
    for (group, ours, base, target) in rows {
        let (Some(a), Some(b)) = (
            estimate_ns(group, &ours, since),
            estimate_ns(group, &base, since),
        ) else {
            continue;
        };
        println!(
            "{group:<16} {ours:<28} {:>12} {base:<22} {:>12} {:>7.2}x  {target}",
            fmt_time(a),
            fmt_time(b),
            b / a
        );
    }
}

// ---------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = bench_insert_4k, bench_insert_1m, bench_flush_after_10k,
        bench_open, bench_space
}

fn main() {
    let since = SystemTime::now();
    benches();
    let criterion = Criterion::default().configure_from_args();
    criterion.final_summary();
    if bench_mode() {
        print_summary(since);
    }
}
