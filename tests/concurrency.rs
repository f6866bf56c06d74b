//! Readers running alongside writers see no stale, torn or foreign values.
//!
//! Two writer threads and four reader threads share one `Arc<DiskStore>` for about three
//! seconds, with a small segment size and commit batch so that segment rotations, batch
//! commits and background checkpoints all happen while reads are in flight.
//!
//! Each writer owns its keys. Every operation on a key gets the next version number; a value
//! encodes (key, version) plus filler derived from both, so a reader can tell a torn or
//! foreign value from a real one. A writer publishes `started[k]` before an operation and
//! `published[k]` (version, and whether it was a remove) after it returns. A reader that
//! loaded `published[k]` before its `get` must see that operation or a later one:
//! never an older value, never a miss unless a remove is published or in flight.
//! At the end the store is closed and reopened, and holds exactly the published state.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stratacache::DiskStore;

mod common;

type TestResult = Result<(), Box<dyn std::error::Error>>;
type ThreadResult = Result<u64, String>;

const WRITERS: usize = 2;
const READERS: usize = 4;
const KEYS_PER_WRITER: usize = 40;
const KEYS: usize = WRITERS * KEYS_PER_WRITER;
const RUN_FOR: Duration = Duration::from_secs(3);
/// Bounds disk use should the machine be very fast.
const MAX_OPS_PER_WRITER: u64 = 200_000;

fn key(k: usize) -> String {
    format!("writer{}/key{:03}", k / KEYS_PER_WRITER, k)
}

fn mix(a: u64, b: u64) -> u64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

/// 16 bytes of (key, version), then filler: compressible on even versions (stored lz4 when
/// over 1 KiB), noise on odd ones.
fn value_for(k: usize, version: u64) -> Vec<u8> {
    let len = (mix(k as u64, version) % 2500) as usize;
    let mut v = Vec::with_capacity(16 + len);
    v.extend_from_slice(&(k as u64).to_le_bytes());
    v.extend_from_slice(&version.to_le_bytes());
    v.extend((0..len as u64).map(|j| match version % 2 {
        0 => (j % 13 + k as u64) as u8,
        _ => mix(version ^ j << 20, k as u64) as u8,
    }));
    v
}

/// Checks that `bytes` is a complete value written for key `k`; returns its version.
fn version_of(k: usize, bytes: &[u8]) -> Result<u64, String> {
    if bytes.len() < 16 {
        return Err(format!("{}: short value of {} bytes", key(k), bytes.len()));
    }
    let owner = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    let version = u64::from_le_bytes(bytes[8..16].try_into().unwrap());
    if owner != k as u64 {
        return Err(format!("{}: read a value of key #{owner}", key(k)));
    }
    if bytes != value_for(k, version) {
        return Err(format!("{}: torn value for version {version}", key(k)));
    }
    Ok(version)
}

/// Published state of a key: `version << 1 | removed`. Version 0 is "never written".
const NEVER_WRITTEN: u64 = 1;

struct Model {
    published: Vec<AtomicU64>,
    started: Vec<AtomicU64>,
}

fn writer(
    store: &DiskStore,
    model: &Model,
    w: usize,
    seed: u64,
    deadline: Instant,
) -> ThreadResult {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ops = 0;
    while Instant::now() < deadline && ops < MAX_OPS_PER_WRITER {
        let k = w * KEYS_PER_WRITER + rng.random_range(0..KEYS_PER_WRITER);
        let state = model.published[k].load(SeqCst); // only this thread changes it
        let version = (state >> 1) + 1;
        model.started[k].store(version, SeqCst);
        let err = |e: stratacache::Error| format!("writer {w}, {}: {e}", key(k));
        if rng.random_ratio(1, 5) {
            let was_present = state & 1 == 0;
            let removed = store.remove(key(k)).map_err(err)?;
            model.published[k].store(version << 1 | 1, SeqCst);
            if removed != was_present {
                return Err(format!("{}: remove returned {removed}", key(k)));
            }
            if store.get(key(k)).map_err(err)?.is_some() {
                return Err(format!("{}: value after remove", key(k)));
            }
        } else {
            store.insert(key(k), &value_for(k, version)).map_err(err)?;
            model.published[k].store(version << 1, SeqCst);
            let got = store.get(key(k)).map_err(err)?;
            let got = got.ok_or_else(|| format!("{}: miss after insert", key(k)))?;
            if version_of(k, &got)? != version {
                return Err(format!("{}: own write v{version} not read back", key(k)));
            }
        }
        ops += 1;
    }
    Ok(ops)
}

fn reader(
    store: &DiskStore,
    model: &Model,
    r: usize,
    seed: u64,
    deadline: Instant,
) -> ThreadResult {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut reads = 0;
    let mut next_verify = Instant::now();
    while Instant::now() < deadline {
        let k = rng.random_range(0..KEYS);
        let before = model.published[k].load(SeqCst);
        let got = store.get(key(k)).map_err(|e| format!("reader {r}: {e}"))?;
        let started = model.started[k].load(SeqCst);
        let (published, removed) = (before >> 1, before & 1 == 1);
        match got {
            Some(bytes) => {
                let v = version_of(k, &bytes)?;
                if v < published || (removed && v == published) || v > started {
                    return Err(format!(
                        "{}: read v{v}; published v{published} (removed: {removed}), \
                         started v{started}",
                        key(k)
                    ));
                }
            }
            None if !removed && started == published => {
                return Err(format!("{}: miss, but v{published} is published", key(k)));
            }
            None => {}
        }
        reads += 1;
        if r == 0 && Instant::now() >= next_verify {
            let report = store.verify().map_err(|e| format!("verify: {e}"))?;
            if !report.is_ok() {
                return Err(format!("verify during writes: {report:?}"));
            }
            next_verify = Instant::now() + Duration::from_millis(400);
        }
    }
    Ok(reads)
}

#[test]
fn readers_never_see_stale_or_torn_values() -> TestResult {
    let seed = common::rng::seed("readers_never_see_stale_or_torn_values");
    let dir = tempfile::tempdir()?;
    let store = Arc::new(
        DiskStore::builder(dir.path())
            .segment_size(256 << 10)
            .commit_batch(64)
            .checkpoint_interval(Some(Duration::from_millis(200)))
            .open()?,
    );
    let model = Arc::new(Model {
        published: (0..KEYS).map(|_| AtomicU64::new(NEVER_WRITTEN)).collect(),
        started: (0..KEYS).map(|_| AtomicU64::new(0)).collect(),
    });
    let deadline = Instant::now() + RUN_FOR;
    let mut handles = Vec::new();
    for t in 0..WRITERS + READERS {
        let (store, model) = (store.clone(), model.clone());
        let seed = seed.wrapping_add(t as u64);
        handles.push(thread::spawn(move || {
            let role = if t < WRITERS { "writer" } else { "reader" };
            let result = if t < WRITERS {
                writer(&store, &model, t, seed, deadline)
            } else {
                reader(&store, &model, t - WRITERS, seed, deadline)
            };
            (role, result)
        }));
    }
    let mut failures = Vec::new();
    for handle in handles {
        match handle.join() {
            Ok((role, Ok(n))) => println!("{role}: {n} operations"),
            Ok((role, Err(e))) => failures.push(format!("{role}: {e}")),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    assert!(failures.is_empty(), "seed {seed}: {failures:#?}");

    store.flush()?;
    let stats = store.stats()?;
    println!("{stats:?}");
    assert_eq!(stats.corruptions, 0);
    // Segments rotated many times during the run (background compaction may since have
    // folded the few live entries into one segment, so count writes, not files).
    assert!(
        stats.inserts > 10_000,
        "too few writes to rotate 256 KiB segments: {stats:?}"
    );
    let store = Arc::try_unwrap(store).map_err(|_| "store still shared")?;
    store.close()?;

    let store = DiskStore::builder(dir.path()).open()?;
    let mut live = 0;
    for (k, state) in model.published.iter().enumerate() {
        let state = state.load(SeqCst);
        let got = store.get(key(k))?;
        if state & 1 == 1 {
            assert!(got.is_none(), "{} was removed at v{}", key(k), state >> 1);
        } else {
            let got = got.ok_or_else(|| format!("{} lost after reopen", key(k)))?;
            assert_eq!(version_of(k, &got)?, state >> 1, "{}", key(k));
            live += 1;
        }
    }
    assert_eq!(store.stats()?.entries, live);
    assert!(store.verify()?.is_ok());
    Ok(())
}
