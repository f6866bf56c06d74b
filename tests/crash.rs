//! Crash safety: a child process writes at full speed and is killed with SIGKILL at random
//! moments; after each kill the store must reopen, every key flushed and not changed since
//! must read back byte-identical, no key may ever return bytes not written for it, and
//! `verify()` must find nothing.
//!
//! The child is this test binary itself, re-run with `STRATACACHE_CRASH_DIR` set. Both sides
//! derive the same operation sequence from the seed, so the parent knows every value the
//! child could have written. Cycles: 50 by default, `STRATACACHE_CRASH_CYCLES` for more.
//! The seed is printed; `STRATACACHE_SEED=<seed>` replays a run.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stratacache::DiskStore;

mod common;
use common::rng::seeded_rng;
use common::store::no_checkpoints;

const KEYS: usize = 300;
const OPS_PER_CYCLE: usize = 20_000;

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
enum Op {
    Insert {
        key: String,
        len: usize,
        ttl_ms: Option<u64>,
    },
    Remove {
        key: String,
    },
    Flush,
    /// Compaction (even op index) or a TTL sweep (odd), in maintenance mode.
    Maintain,
}

impl Op {
    fn key(&self) -> Option<&str> {
        match self {
            Op::Insert { key, .. } | Op::Remove { key } => Some(key),
            Op::Flush | Op::Maintain => None,
        }
    }
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
        .map(|_| {
            let key = format!("key-{}", rng.random_range(0..KEYS));
            match rng.random_range(0..100) {
                0..3 => Op::Flush,
                3..4 => Op::Maintain,
                4..25 => Op::Remove { key },
                roll => {
                    let len = match roll {
                        25..40 => 0,
                        40..99 => rng.random_range(1..6000),
                        _ => rng.random_range(50_000..200_000),
                    };
                    let ttl_ms = (roll % 5 == 0).then(|| rng.random_range(5..500));
                    Op::Insert { key, len, ttl_ms }
                }
            }
        })
        .collect()
}

/// The child's body: runs the cycle's operations, printing `F <op>` after each flush returns.
#[test]
fn crash_child_entry() -> Result<()> {
    let Ok(dir) = std::env::var("STRATACACHE_CRASH_DIR") else {
        return Ok(());
    };
    let seed: u64 = std::env::var("STRATACACHE_CRASH_SEED")?.parse()?;
    let cycle: u64 = std::env::var("STRATACACHE_CRASH_CYCLE")?.parse()?;
    let maintenance = std::env::var("STRATACACHE_CRASH_MAINTENANCE").is_ok();
    let batch = 1 + (seed ^ cycle) as usize % 300;
    let mut builder = DiskStore::builder(&dir)
        .segment_size(256 << 10)
        .commit_batch(batch)
        .checkpoint_interval(Some(Duration::from_millis(15)));
    if maintenance {
        // A small capacity keeps eviction running; the sweeper runs every 10 ms.
        builder = builder
            .capacity_bytes(4 << 20)
            .sweep_interval(Some(Duration::from_millis(10)));
    }
    let store = builder.open()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "OPEN")?;
    out.flush()?;
    for (i, op) in ops_for(seed, cycle).into_iter().enumerate() {
        match op {
            Op::Insert { key, len, ttl_ms } => {
                let value = make_value(&key, cycle, i, len);
                match ttl_ms.filter(|_| maintenance) {
                    Some(ms) => store.insert_with_ttl(&key, &value, Duration::from_millis(ms))?,
                    None => store.insert(&key, &value)?,
                }
            }
            Op::Remove { key } => {
                store.remove(&key)?;
            }
            Op::Flush => {
                store.flush()?;
                writeln!(out, "F {i}")?;
                out.flush()?;
            }
            Op::Maintain if maintenance && i % 2 == 0 => {
                store.compact()?;
            }
            Op::Maintain if maintenance => {
                store.sweep_expired()?;
            }
            Op::Maintain => {}
        }
    }
    writeln!(out, "DONE")?;
    out.flush()?;
    // Wait to be killed: the parent decides when the process ends.
    std::thread::sleep(Duration::from_secs(60));
    Ok(())
}

/// Runs one child until `kill_after`, kills it with SIGKILL and returns the op index of the
/// last flush it acknowledged.
fn run_child(
    dir: &Path,
    seed: u64,
    cycle: u64,
    kill_after: Duration,
    maintenance: bool,
) -> Result<Option<usize>> {
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
        .envs(maintenance.then_some(("STRATACACHE_CRASH_MAINTENANCE", "1")))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let last_flush = Arc::new(Mutex::new(None::<usize>));
    let stdout = child.stdout.take().expect("piped stdout");
    let seen = last_flush.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout)
            .lines()
            .map_while(std::io::Result::ok)
        {
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

/// What the store must hold after the last acknowledged flush of a cycle: the state at the
/// start of the cycle with every op up to and including the flush applied.
fn expected_after(
    state: &BTreeMap<String, Vec<u8>>,
    ops: &[Op],
    applied: usize,
    cycle: u64,
) -> BTreeMap<String, Vec<u8>> {
    let mut last: BTreeMap<&str, (usize, Option<usize>)> = BTreeMap::new();
    for (i, op) in ops[..applied].iter().enumerate() {
        match op {
            Op::Insert { key, len, .. } => last.insert(key, (i, Some(*len))),
            Op::Remove { key } => last.insert(key, (i, None)),
            Op::Flush | Op::Maintain => None,
        };
    }
    let mut expected = state.clone();
    for (key, (i, len)) in last {
        match len {
            Some(len) => expected.insert(key.to_string(), make_value(key, cycle, i, len)),
            None => expected.remove(key),
        };
    }
    expected
}

#[test]
fn sigkill_at_random_moments_never_loses_flushed_data() -> Result<()> {
    crash_cycles("sigkill_at_random_moments_never_loses_flushed_data", false)
}

/// The same with a 4 MiB capacity (constant eviction), TTLs, the background sweeper and
/// explicit compactions and sweeps. A flushed key may now be evicted or expired (a miss),
/// but never reads as other bytes; a flushed remove stays removed; and no segment the index
/// references is ever missing (verify would report it).
#[test]
fn sigkill_during_eviction_sweep_and_compaction_keeps_invariants() -> Result<()> {
    crash_cycles(
        "sigkill_during_eviction_sweep_and_compaction_keeps_invariants",
        true,
    )
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

fn crash_cycles(test: &str, maintenance: bool) -> Result<()> {
    let cycles = env_u64("STRATACACHE_CRASH_CYCLES").unwrap_or(50);
    let (mut rng, seed) = seeded_rng(test);
    println!("{test}: {cycles} cycles");
    let dir = tempfile::tempdir()?;
    let mut state: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut cycles_with_ack = 0;
    for cycle in 0..cycles {
        let kill_after = Duration::from_millis(match rng.random_range(0..10) {
            0 => rng.random_range(0..10),
            _ => rng.random_range(10..250),
        });
        let acked = run_child(dir.path(), seed, cycle, kill_after, maintenance)?;
        cycles_with_ack += acked.is_some() as u32;
        let ops = ops_for(seed, cycle);
        let applied = acked.map_or(0, |a| a + 1);
        let expected = expected_after(&state, &ops, applied, cycle);
        let touched_later: BTreeSet<&str> = ops[applied..].iter().filter_map(Op::key).collect();
        let ctx = format!("cycle {cycle} seed {seed} (ack at op {acked:?})");
        let store = no_checkpoints(dir.path())
            .open()
            .map_err(|e| format!("{ctx}: reopen failed: {e}"))?;
        let corruptions_before = store.stats()?.corruptions;
        state.clear();
        for k in 0..KEYS {
            let key = format!("key-{k}");
            let got = store.get(&key)?.map(|v| v.to_vec());
            if let Some(v) = &got {
                assert!(
                    is_valid_value(&key, v),
                    "{ctx}: {key} returned bytes never written for it"
                );
                state.insert(key.clone(), v.clone());
            }
            // With eviction and TTLs a flushed value may be gone, but never replaced.
            let may_be_gone = maintenance && got.is_none();
            if !touched_later.contains(key.as_str()) && !may_be_gone {
                let prefix = |v: &Vec<u8>| v[..v.len().min(40)].to_vec();
                assert_eq!(
                    got.as_ref().map(prefix),
                    expected.get(&key).map(prefix),
                    "{ctx}: {key} reads differently"
                );
                assert!(
                    got.as_ref() == expected.get(&key),
                    "{ctx}: {key} differs in body"
                );
            }
        }
        let report = store.verify()?;
        assert!(report.is_ok(), "{ctx}: verify found {:?}", report.bad);
        assert_eq!(
            store.stats()?.corruptions,
            corruptions_before,
            "{ctx}: reads hit corruption"
        );
        store.close()?;
    }
    println!(
        "{cycles_with_ack} of {cycles} cycles were killed after at least one acknowledged flush"
    );
    assert!(
        cycles_with_ack * 2 >= cycles as u32,
        "too few cycles got as far as a flush to test anything"
    );
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
