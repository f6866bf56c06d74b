//! The engine's memory budget holds: a child process fills a store with two million small
//! entries while this test samples the child's anonymous memory (`RssAnon`) every few
//! milliseconds. Every sample stays within the child's memory before it opened the store,
//! plus the budget, plus [`SLACK`]; and `stats()` reports the budget and what its parts hold.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use stratacache::DiskStore;

/// Entries the child writes: 20-byte keys, 100-byte values.
const ENTRIES: u64 = 2_000_000;
/// What the process may hold beyond its starting memory and the budget: the allocator's
/// arenas and redb's bookkeeping of one commit, which do not shrink with the budget
/// (docs/design.md, "Memory").
const SLACK: u64 = 16 << 20;
/// Set in the child: the store directory and the budget to fill it with.
const CHILD_DIR: &str = "STRATACACHE_MEMORY_CHILD_DIR";
const CHILD_BUDGET: &str = "STRATACACHE_MEMORY_CHILD_BUDGET";

/// Bytes of anonymous memory of process `pid` (`RssAnon` in /proc/PID/status).
fn anon_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib << 10)
}

fn key(i: u64) -> [u8; 20] {
    let mut k = *b"key:0000000000000000";
    k[4..].copy_from_slice(format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).as_bytes());
    k
}

/// The child's body (a test that does nothing unless the parent set [`CHILD_DIR`]): prints
/// a start line, fills the store, prints its stats as JSON and a done line (each on a line
/// of its own: the test harness writes its own text before them).
#[test]
fn memory_child() {
    let (Some(dir), Some(budget)) = (
        std::env::var_os(CHILD_DIR),
        std::env::var(CHILD_BUDGET).ok(),
    ) else {
        return;
    };
    println!("\nmemory-child:start");
    let budget: u64 = budget.parse().expect("budget");
    let store = DiskStore::builder(dir)
        .capacity_bytes(1 << 40)
        .memory_budget(budget)
        .open()
        .expect("open");
    let value = [0x5au8; 100];
    let mut batch = Vec::with_capacity(1000);
    for i in 0..ENTRIES {
        batch.push((key(i), &value[..]));
        if batch.len() == 1000 {
            store.insert_many(&batch).expect("insert_many");
            batch.clear();
        }
    }
    store.flush().expect("flush");
    let stats = store.stats().expect("stats");
    println!(
        "\nmemory-child:stats {}",
        serde_json::to_string(&stats).expect("json")
    );
    store.close().expect("close");
    println!("\nmemory-child:done");
}

/// Runs the child with `budget` and returns (memory at start, peak while filling, stats).
fn fill_with_budget(budget: u64) -> (u64, u64, stratacache::Stats) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .args([
            "--exact",
            "memory_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_DIR, tmp.path().join("store"))
        .env(CHILD_BUDGET, budget.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next = || lines.next().expect("child output").expect("read");
    while next() != "memory-child:start" {}
    let start = anon_rss(pid).expect("RssAnon of the child");
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        while let Some(now) = anon_rss(pid) {
            peak = peak.max(now);
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    });
    let stats = loop {
        let line = next();
        if let Some(json) = line.strip_prefix("memory-child:stats ") {
            break serde_json::from_str(json).expect("stats JSON");
        }
    };
    while next() != "memory-child:done" {}
    let status = child.wait().expect("wait");
    assert!(status.success(), "the child failed: {status}");
    (start, sampler.join().expect("sampler"), stats)
}

fn check_budget(budget: u64) {
    let (start, peak, stats) = fill_with_budget(budget);
    let grown = peak.saturating_sub(start);
    println!(
        "budget {} MiB: started at {} MiB, peak {} MiB ({} MiB over the start); stats: {} MiB \
         (index cache {} MiB, locations {} MiB, staged {} MiB, policy {} MiB)",
        budget >> 20,
        start >> 20,
        peak >> 20,
        grown >> 20,
        stats.memory_bytes >> 20,
        stats.memory_index_cache_bytes >> 20,
        stats.memory_location_cache_bytes >> 20,
        stats.memory_staged_bytes >> 20,
        stats.memory_policy_bytes >> 20,
    );
    assert_eq!(stats.entries, ENTRIES);
    assert_eq!(stats.memory_budget_bytes, budget);
    assert!(
        grown <= budget + SLACK,
        "anonymous memory grew by {grown} bytes with a budget of {budget} (+ {SLACK} slack)"
    );
    assert!(
        stats.memory_bytes <= budget,
        "stats report {} bytes, over the budget {budget}",
        stats.memory_bytes
    );
    let parts = stats.memory_index_cache_bytes
        + stats.memory_location_cache_bytes
        + stats.memory_staged_bytes
        + stats.memory_policy_bytes;
    assert_eq!(stats.memory_bytes, parts);
    assert!(stats.memory_location_cache_bytes > 0 && stats.memory_policy_bytes > 0);
}

#[test]
fn two_million_small_entries_fill_within_the_default_budget() {
    check_budget(128 << 20);
}

#[test]
fn a_small_budget_bounds_the_fill_too() {
    check_budget(32 << 20);
}
