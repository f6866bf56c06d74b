//! `stratacache ls` against iterating the index directly, measured in the same run.
//!
//! A store of 2,000,000 keys (20,000 in smoke mode; `STRATACACHE_BENCH_LS_KEYS` overrides)
//! is listed by the real binary, `stratacache --dir D ls > /dev/null` (process start, open,
//! the listing, output), and, as the baseline, by a loop in this process that opens the
//! store's `index.redb` with redb and writes every key of its entries table to
//! `/dev/null` through the same 1 MiB buffer (and, for reference, iterates without writing
//! them). Rounds interleave the three; the medians and the ratios (baseline time / ls time,
//! so higher is better) are printed.
//! Target: ls >= 0.5x the baseline's rate.
//!
//! Smoke mode: `cargo test --benches` (no `--bench` flag) or `STRATACACHE_BENCH_QUICK=1`.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use redb::{Database, ReadableDatabase, ReadableTable};
use stratacache::DiskStore;
use stratacache::fuzzing::tables::ENTRIES;

fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
        || std::env::var("STRATACACHE_BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn build(dir: &Path, keys: usize) {
    let store = DiskStore::builder(dir).open().expect("open store");
    let value = [7u8; 16];
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..keys {
        batch.push((format!("scans/{:04}/page-{:06}.txt", i % 1000, i), value));
        if batch.len() == 10_000 {
            store.insert_many(&batch).expect("insert");
            batch.clear();
        }
    }
    store.insert_many(&batch).expect("insert");
    store.close().expect("close");
}

/// `stratacache --dir D ls > /dev/null`.
fn ls(dir: &Path) -> Duration {
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_stratacache"))
        .arg("--dir")
        .arg(dir)
        .arg("ls")
        .stdout(Stdio::from(
            std::fs::File::create("/dev/null").expect("/dev/null"),
        ))
        .status()
        .expect("run stratacache ls");
    assert!(status.success());
    started.elapsed()
}

/// Opens the index with redb and iterates its entries, writing every key to /dev/null
/// when `write_keys`; returns the time and the number of keys.
fn redb_direct(dir: &Path, write_keys: bool) -> (Duration, usize) {
    let started = Instant::now();
    let db = Database::builder()
        .set_cache_size(32 << 20)
        .open(dir.join("index.redb"))
        .expect("open index.redb");
    let txn = db.begin_read().expect("read");
    let table = txn.open_table(ENTRIES).expect("entries");
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create("/dev/null").unwrap());
    let mut n = 0;
    for row in table.iter().expect("iter") {
        let (key, _) = row.expect("row");
        if write_keys {
            out.write_all(key.value()).unwrap();
            out.write_all(b"\n").unwrap();
        }
        n += 1;
    }
    out.flush().unwrap();
    (started.elapsed(), n)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let keys = std::env::var("STRATACACHE_BENCH_LS_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick() { 20_000 } else { 2_000_000 });
    let rounds = if quick() { 1 } else { 7 };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    build(&store, keys);
    let (mut ours, mut base, mut bare) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let ls_time = ls(&store);
        let (redb_time, n) = redb_direct(&store, true);
        let (bare_time, _) = redb_direct(&store, false);
        assert_eq!(n, keys);
        println!(
            "round {round}: ls {:.1} ms, redb directly {:.1} ms, redb without output {:.1} ms",
            ls_time.as_secs_f64() * 1e3,
            redb_time.as_secs_f64() * 1e3,
            bare_time.as_secs_f64() * 1e3
        );
        ours.push(ls_time);
        base.push(redb_time);
        bare.push(bare_time);
    }
    let (ours, base, bare) = (median(ours), median(base), median(bare));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "ls of {keys} keys: median {:.1} ms; redb directly {:.1} ms (ratio {:.2}, target >= 0.5); \
         redb without output {:.1} ms (ratio {:.2})",
        ms(ours),
        ms(base),
        base.as_secs_f64() / ours.as_secs_f64(),
        ms(bare),
        bare.as_secs_f64() / ours.as_secs_f64()
    );
}
