//! Crash safety: a child process writes at full speed and is killed with SIGKILL at random
//! moments; after each kill the store must reopen, every key flushed and not changed since
//! must read back byte-identical, no key may ever return bytes not written for it, and
//! `verify()` must find nothing.
//!
//! The child is this test binary itself, re-run with `STRATACACHE_CRASH_DIR` set. Both sides
//! derive the same operation sequence from the seed, so the parent knows every value the
//! child could have written. Cycles: 50 by default, `STRATACACHE_CRASH_CYCLES` for more.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stratacache::DiskStore;

const KEYS: usize = 300;
const OPS_PER_CYCLE: usize = 20_000;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[derive(Debug, Clone)]
enum Op {
    Insert { key: String, len: usize },
    Remove { key: String },
    Flush,
}

/// Deterministic filler so any value can be checked on its own.
fn filler(header: &[u8], len: usize) -> Vec<u8> {
    let mut x = header.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let compressible = x % 2 == 0;
    (0..len)
        .map(|i| {
            if compressible {
                b"ocr text line "[i % 14]
            } else {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            }
        })
        .collect()
}

fn make_value(key: &str, cycle: u64, op: usize, len: usize) -> Vec<u8> {
    let mut v = format!("{key}|{cycle}|{op}|{len}|").into_bytes();
    let body = filler(&v, len);
    v.extend_from_slice(&body);
    v
}

/// True when `value` is exactly a value `make_value` produces for `key`.
fn is_valid_value(key: &str, value: &[u8]) -> bool {
    let fields: Vec<&[u8]> = value.splitn(5, |b| *b == b'|').collect();
    if fields.len() != 5 || fields[0] != key.as_bytes() {
        return false;
    }
    let Some(len) = std::str::from_utf8(fields[3])
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    else {
        return false;
    };
    let header_len = value.len() - fields[4].len();
    fields[4].len() == len && fields[4] == filler(&value[..header_len], len).as_slice()
}

fn ops_for(seed: u64, cycle: u64) -> Vec<Op> {
    let mut rng = StdRng::seed_from_u64(seed ^ cycle.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    (0..OPS_PER_CYCLE)
        .map(|i| {
            let key = format!("key-{}", rng.random_range(0..KEYS));
            match rng.random_range(0..100) {
                0..3 => Op::Flush,
                3..25 => Op::Remove { key },
                roll => {
                    let len = match roll {
                        25..40 => 0,
                        40..99 => rng.random_range(1..6000),
                        _ => rng.random_range(50_000..200_000),
                    };
                    Op::Insert { key, len }
                }
            }
        })
        .collect()
}

/// The child's body: runs the cycle's operations, printing `F <op>` after each flush returns.
#[test]
fn crash_child_entry() -> TestResult {
    let Ok(dir) = std::env::var("STRATACACHE_CRASH_DIR") else {
        return Ok(());
    };
    let seed: u64 = std::env::var("STRATACACHE_CRASH_SEED")?.parse()?;
    let cycle: u64 = std::env::var("STRATACACHE_CRASH_CYCLE")?.parse()?;
    let batch = 1 + (seed ^ cycle) as usize % 300;
    let store = DiskStore::builder(&dir)
        .segment_size(256 << 10)
        .commit_batch(batch)
        .checkpoint_interval(Some(Duration::from_millis(15)))
        .open()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "OPEN")?;
    out.flush()?;
    for (i, op) in ops_for(seed, cycle).into_iter().enumerate() {
        match op {
            Op::Insert { key, len } => store.insert(&key, &make_value(&key, cycle, i, len))?,
            Op::Remove { key } => {
                store.remove(&key)?;
            }
            Op::Flush => {
                store.flush()?;
                writeln!(out, "F {i}")?;
                out.flush()?;
            }
        }
    }
    writeln!(out, "DONE")?;
    out.flush()?;
    // Wait to be killed: the parent decides when the process ends.
    std::thread::sleep(Duration::from_secs(60));
    Ok(())
}

/// Runs one child until a random moment, kills it with SIGKILL; returns the last acknowledged
/// flush (op index) and whether the child finished all operations.
fn run_child(
    dir: &std::path::Path,
    seed: u64,
    cycle: u64,
    kill_after: Duration,
) -> Result<Option<usize>, Box<dyn std::error::Error>> {
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "crash_child_entry",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("STRATACACHE_CRASH_DIR", dir)
        .env("STRATACACHE_CRASH_SEED", seed.to_string())
        .env("STRATACACHE_CRASH_CYCLE", cycle.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let last_flush = Arc::new(Mutex::new(None::<usize>));
    let stdout = child.stdout.take().expect("piped stdout");
    let seen = last_flush.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("F ").and_then(|n| n.parse().ok()) {
                *seen.lock().unwrap() = Some(n);
            }
        }
    });
    std::thread::sleep(kill_after);
    child.kill()?; // SIGKILL on Unix
    child.wait()?;
    reader.join().expect("reader thread");
    let acked = *last_flush.lock().unwrap();
    Ok(acked)
}

#[test]
fn sigkill_at_random_moments_never_loses_flushed_data() -> TestResult {
    let cycles: u64 = std::env::var("STRATACACHE_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var("STRATACACHE_CRASH_SEED_BASE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!(
        "crash test seed {seed} (set STRATACACHE_CRASH_SEED_BASE={seed} to replay), {cycles} cycles"
    );
    let dir = tempfile::tempdir()?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut state: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for cycle in 0..cycles {
        let kill_after = Duration::from_millis(match rng.random_range(0..10) {
            0 => rng.random_range(0..10),
            _ => rng.random_range(10..250),
        });
        let acked = run_child(dir.path(), seed, cycle, kill_after)?;
        let ops = ops_for(seed, cycle);
        let applied = acked.map_or(0, |a| a + 1);
        // Last acknowledged-durable operation per key: Some(len) for an insert, None for a remove.
        let mut last: BTreeMap<&str, (usize, Option<usize>)> = BTreeMap::new();
        for (i, op) in ops[..applied].iter().enumerate() {
            match op {
                Op::Insert { key, len } => last.insert(key, (i, Some(*len))),
                Op::Remove { key } => last.insert(key, (i, None)),
                Op::Flush => None,
            };
        }
        let mut expected = state.clone();
        for (key, (i, len)) in last {
            match len {
                Some(len) => expected.insert(key.to_string(), make_value(key, cycle, i, len)),
                None => expected.remove(key),
            };
        }
        let touched_later: BTreeSet<&str> = ops[applied..]
            .iter()
            .filter_map(|op| match op {
                Op::Insert { key, .. } | Op::Remove { key } => Some(key.as_str()),
                Op::Flush => None,
            })
            .collect();
        let store = DiskStore::builder(dir.path())
            .checkpoint_interval(None)
            .open()
            .map_err(|e| format!("cycle {cycle} (seed {seed}): reopen failed: {e}"))?;
        let corruptions_before = store.stats()?.corruptions;
        state.clear();
        for k in 0..KEYS {
            let key = format!("key-{k}");
            let got = store.get(&key)?.map(|v| v.to_vec());
            if let Some(v) = &got {
                assert!(
                    is_valid_value(&key, v),
                    "cycle {cycle} seed {seed}: {key} returned bytes never written for it"
                );
                state.insert(key.clone(), v.clone());
            }
            if !touched_later.contains(key.as_str()) {
                assert_eq!(
                    got.as_ref().map(|v| &v[..v.len().min(40)]),
                    expected.get(&key).map(|v| &v[..v.len().min(40)]),
                    "cycle {cycle} seed {seed}: {key} flushed (ack at op {acked:?}) but reads differently"
                );
                assert!(
                    got == expected.get(&key).cloned(),
                    "cycle {cycle} seed {seed}: {key} differs in body"
                );
            }
        }
        let report = store.verify()?;
        assert!(
            report.is_ok(),
            "cycle {cycle} seed {seed}: verify found {:?}",
            report.bad
        );
        assert_eq!(
            store.stats()?.corruptions,
            corruptions_before,
            "cycle {cycle} seed {seed}: reads hit corruption"
        );
        store.close()?;
    }
    Ok(())
}

#[test]
fn value_checker_rejects_foreign_bytes() {
    let v = make_value("key-1", 3, 7, 100);
    assert!(is_valid_value("key-1", &v));
    assert!(!is_valid_value("key-2", &v));
    let mut bad = v.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert!(!is_valid_value("key-1", &bad));
}
