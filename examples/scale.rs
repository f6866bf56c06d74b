//! How the disk tier's costs grow with the number of entries: fills a fresh store with
//! `insert_many` (batches of 1000, 20-byte keys, incompressible values), reopens it, and
//! reads random keys. Prints, per size: inserts per second, disk bytes per payload byte
//! (payload = key + value; bytes allocated on disk, so a file extended but not yet written
//! counts only what it holds), index file bytes per entry, the process's peak anonymous
//! memory during the fill (sampled every 5 ms) and the engine's own count of its memory
//! (`stats().memory_bytes`, within the default 128 MiB budget), close time (it compacts an
//! index file the fill left mostly free), open time, random gets per second after the
//! reopen, and the minor page faults per get (first touches of segment pages through their
//! fresh mapping: the part of a get's cost that a warm process does not pay).
//!
//! ```text
//! cargo run --release --example scale                       # 100k and 1M entries, 100-byte values
//! cargo run --release --example scale -- 100000 10000000    # any sizes
//! STRATACACHE_SCALE_VALUE=4096 cargo run --release --example scale -- 100000 1000000
//! ```
//!
//! Rates are for data in the page cache (the machine has the memory); each size runs in a
//! fresh directory under `STRATACACHE_BENCH_DIR` (default: the system temp directory), removed
//! afterwards unless `STRATACACHE_SCALE_KEEP` is set. `STRATACACHE_SCALE_BUDGET_MIB=512` runs
//! with another memory budget (default 128 MiB).

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use stratacache::DiskStore;

const BATCH: usize = 1000;
const GETS: usize = 500_000;
const KEY_LEN: usize = 20;

/// The 20-byte key of entry `i`.
fn key(i: u64) -> [u8; KEY_LEN] {
    let mut k = *b"key:0000000000000000";
    k[4..].copy_from_slice(format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).as_bytes());
    k
}

/// `len` pseudo-random bytes: values lz4 cannot shrink, so disk bytes count what real
/// payloads of this size would take.
fn incompressible(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// Minor page faults of this process so far (Linux: field 10 of /proc/self/stat), most of
/// them first touches of a segment page through its mapping.
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after_name
        .split_whitespace()
        .nth(7)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

/// Bytes of anonymous memory the process holds (Linux: `RssAnon` in /proc/self/status).
fn anon_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib << 10)
}

/// Apparent size of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.blocks() * 512,
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn open(dir: &Path) -> DiskStore {
    let mut builder = DiskStore::builder(dir).capacity_bytes(1 << 40);
    if let Some(mib) = std::env::var("STRATACACHE_SCALE_BUDGET_MIB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        builder = builder.memory_budget(mib << 20);
    }
    builder.open().expect("open store")
}

fn run(entries: u64, value_len: usize) {
    let root = std::env::var_os("STRATACACHE_BENCH_DIR");
    let dir = match root {
        Some(root) => tempfile::tempdir_in(root),
        None => tempfile::tempdir(),
    }
    .expect("temp dir");
    let value = incompressible(value_len);

    let store = open(dir.path());
    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(anon_rss().unwrap_or(0), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let start = Instant::now();
    let mut batch: Vec<([u8; KEY_LEN], &[u8])> = Vec::with_capacity(BATCH);
    for i in 0..entries {
        batch.push((key(i), &value));
        if batch.len() == BATCH || i + 1 == entries {
            store.insert_many(&batch).expect("insert_many");
            batch.clear();
        }
    }
    store.flush().expect("flush");
    let insert_rate = entries as f64 / start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    sampler.join().expect("sampler");
    let peak_anon = peak.load(Ordering::Relaxed);
    let engine_memory = store.stats().expect("stats").memory_bytes;
    let start = Instant::now();
    store.close().expect("close");
    let close_ms = start.elapsed().as_secs_f64() * 1e3;

    let payload = entries * (KEY_LEN + value_len) as u64;
    let disk = dir_bytes(dir.path());
    let index = std::fs::metadata(dir.path().join("index.redb")).map_or(0, |m| m.blocks() * 512);

    let start = Instant::now();
    let store = open(dir.path());
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let faults_before = minor_faults();
    let start = Instant::now();
    for _ in 0..GETS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let found = store.get(key(x % entries)).expect("get");
        assert_eq!(found.map(|v| v.len()), Some(value_len));
    }
    let get_rate = GETS as f64 / start.elapsed().as_secs_f64();
    let faults_per_get = (minor_faults() - faults_before) as f64 / GETS as f64;
    if std::env::var_os("STRATACACHE_SCALE_KEEP").is_some() {
        let _ = dir.keep();
    }
    println!(
        "| {entries} | {value_len} B | {:.0}k | {:.2}x | {:.0} B | {} MiB | {} MiB | {close_ms:.0} ms | {open_ms:.1} ms | {:.0}k | {faults_per_get:.2} |",
        insert_rate / 1e3,
        disk as f64 / payload as f64,
        index as f64 / entries as f64,
        peak_anon >> 20,
        engine_memory >> 20,
        get_rate / 1e3,
    );
}

fn main() {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100_000, 1_000_000]
    } else {
        sizes
    };
    let value_len = std::env::var("STRATACACHE_SCALE_VALUE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    if std::env::var_os("STRATACACHE_SCALE_CHILD").is_some() {
        return sizes.iter().for_each(|&n| run(n, value_len));
    }
    println!(
        "| entries | value | insert/s | disk bytes / payload | index bytes / entry | peak anon RSS during fill | engine memory (stats) | close | open | random get/s | page faults / get |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    // One process per size, so each memory reading is that size's alone.
    let me = std::env::current_exe().expect("own path");
    for entries in sizes {
        let status = std::process::Command::new(&me)
            .arg(entries.to_string())
            .env("STRATACACHE_SCALE_CHILD", "1")
            .status()
            .expect("run a size");
        assert!(status.success(), "the run of {entries} entries failed");
    }
}
