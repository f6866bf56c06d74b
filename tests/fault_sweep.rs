//! The fault seam over every write path: a store runs the same workload (inserts of many
//! sizes, overwrites, removes, flushes, compaction, and in one mode eviction) with the N-th
//! segment write, sync or mapping made to fail, for N from the first such operation to
//! late in the run and for each kind of failure (a full disk: ENOSPC, EDQUOT, EFBIG; a
//! dying one: EIO; no address space: ENOMEM). Then the store is dropped as a `kill -9`
//! would leave it (no final commit) and opened again without faults.
//!
//! Checked: while it runs, every read returns a value written for that key (never another
//! key's, never torn) or nothing where nothing is allowed, and reads go on after a failure;
//! after the reopen, every key reads as a state it had at or after the last successful
//! flush (nothing flushed is lost or wrong; without eviction nothing flushed is missing),
//! `verify()` is clean and no corruption is counted.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use stratacache::fuzzing::{FaultPoint, Faults};
use stratacache::{DiskStore, Error};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const KEYS: u32 = 60;
const OPS: u32 = 1500;

/// The failures injected: where, and with which errno.
const FAULTS: [(FaultPoint, i32); 7] = [
    (FaultPoint::Write, libc::ENOSPC),
    (FaultPoint::Write, libc::EDQUOT),
    (FaultPoint::Write, libc::EFBIG),
    (FaultPoint::Write, libc::EIO),
    (FaultPoint::Sync, libc::EIO),
    (FaultPoint::Sync, libc::ENOSPC),
    (FaultPoint::Map, libc::ENOMEM),
];

/// Which operation of its kind fails: every one of the first few, then further apart.
const NTH: [u64; 16] = [1, 2, 3, 4, 5, 6, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610];

/// The value of version `v` of key `k`: names both, then filler derived from them.
fn value(k: u32, v: u32) -> Vec<u8> {
    let len = 200 + (v as usize * 7919) % 8000;
    let mut out = format!("{k}:{v}:").into_bytes();
    let mut x = (u64::from(k) << 32 | u64::from(v)).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push(x as u8);
    }
    out
}

/// The version a value read back claims to be, after checking it is exactly that version of
/// key `k`; panics on anything else.
fn version_of(k: u32, bytes: &[u8], context: &str) -> u32 {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(24)]).to_string();
    let mut parts = text.split(':');
    let key: u32 = parts
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(u32::MAX);
    let version: u32 = parts
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(u32::MAX);
    assert_eq!(key, k, "{context}: key {k} read a value of key {key}");
    assert!(
        value(k, version) == bytes,
        "{context}: key {k} read torn or wrong bytes"
    );
    version
}

/// A key's state: a version, or `None` for absent.
type State = Option<u32>;

/// What each key may read as: `now` (states it may have now: one after a write that
/// succeeded, more after one that failed) and `durable` (states a crash may bring back:
/// those at the last successful flush and every one since).
#[derive(Default)]
struct Model {
    now: BTreeMap<u32, Vec<State>>,
    durable: BTreeMap<u32, Vec<State>>,
}

impl Model {
    fn write(&mut self, k: u32, state: State, ok: bool) {
        let now = self.now.entry(k).or_insert_with(|| vec![None]);
        if ok {
            *now = vec![state];
        } else {
            now.push(state);
        }
        self.durable
            .entry(k)
            .or_insert_with(|| vec![None])
            .push(state);
    }

    fn flushed(&mut self) {
        self.durable = self.now.clone();
    }

    fn allows(map: &BTreeMap<u32, Vec<State>>, k: u32, got: State, evicting: bool) -> bool {
        let states = map.get(&k).map_or(&[None][..], |s| s.as_slice());
        states.contains(&got) || (evicting && got.is_none())
    }
}

fn store_dir_base() -> std::path::PathBuf {
    // Syncs cost nothing on a tmpfs, and this test syncs a lot.
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fn open(dir: &Path, evicting: bool, faults: Option<Arc<Faults>>) -> stratacache::Result<DiskStore> {
    let mut builder = DiskStore::builder(dir)
        .capacity_bytes(if evicting { 4 << 20 } else { 1 << 30 })
        .segment_size(64 << 10)
        .checkpoint_interval(None)
        .sweep_interval(None)
        .background_maintenance(false);
    if let Some(faults) = faults {
        builder = builder.faults(faults);
    }
    builder.open()
}

/// Runs the workload with `nth` operation at `point` failing with `errno`. Returns whether
/// the failure fired (the workload may have fewer such operations), and the evictions.
fn run_once(
    point: FaultPoint,
    errno: i32,
    nth: u64,
    evicting: bool,
) -> Result<(bool, u64), Box<dyn std::error::Error>> {
    let context = format!("{point:?} #{nth} errno {errno}, evicting {evicting}");
    let tmp = tempfile::tempdir_in(store_dir_base())?;
    let faults = Arc::new(Faults::default());
    let store = open(tmp.path(), evicting, Some(faults.clone()))?;
    let mut model = Model::default();
    let mut failures = 0;
    // Evicting: every key written about once, more than the capacity holds.
    let keys = if evicting { OPS } else { KEYS };
    faults.fail(point, nth, errno);
    for i in 0..OPS {
        let k = (i * 7) % keys;
        let key = format!("k{k}");
        let result = match i % 11 {
            3 => store.remove(&key).map(|_| None),
            _ if i % 29 == 0 => store.flush().map(|()| Some(u32::MAX)),
            _ if i % 97 == 50 => store.compact().map(|_| Some(u32::MAX)),
            5 | 9 => {
                let got = store
                    .get(&key)
                    .unwrap_or_else(|e| panic!("{context}: op {i}: a read failed: {e}"));
                let got = got.map(|v| version_of(k, &v, &context));
                assert!(
                    Model::allows(&model.now, k, got, evicting),
                    "{context}: op {i}: key {k} read {got:?}, allowed {:?}",
                    model.now.get(&k)
                );
                continue;
            }
            _ => store.insert(&key, &value(k, i)).map(|()| Some(i)),
        };
        if let Err(e) = &result {
            failures += 1;
            let known = matches!(
                e,
                Error::DiskFull { .. } | Error::Poisoned { .. } | Error::Io { .. }
            );
            assert!(known, "{context}: op {i}: unexpected error {e:?}");
        }
        match result {
            Ok(Some(u32::MAX)) => model.flushed(),
            Ok(state) => model.write(k, state, true),
            Err(_) if i % 29 == 0 || i % 97 == 50 => {}
            Err(_) => {
                let state = if i % 11 == 3 { None } else { Some(i) };
                model.write(k, state, false);
            }
        }
    }
    let fired = !faults.armed();
    faults.disarm();
    let evictions = store.stats()?.evictions;
    // As `kill -9` leaves it: no final commit.
    store.crash_for_testing();
    let store = open(tmp.path(), evicting, None)?;
    for k in 0..keys {
        let got = store
            .get(format!("k{k}"))?
            .map(|v| version_of(k, &v, &context));
        assert!(
            Model::allows(&model.durable, k, got, evicting),
            "{context}: after the crash key {k} reads {got:?}, allowed {:?} ({failures} ops failed)",
            model.durable.get(&k)
        );
    }
    let report = store.verify()?;
    assert!(
        report.is_ok(),
        "{context}: verify after the crash: {report:?}"
    );
    assert_eq!(store.stats()?.corruptions, 0, "{context}");
    Ok((fired, evictions))
}

fn sweep(evicting: bool) -> TestResult {
    let (mut runs, mut evictions) = (0, 0);
    for (point, errno) in FAULTS {
        for nth in NTH {
            let (fired, evicted) = run_once(point, errno, nth, evicting)?;
            evictions += evicted;
            if !fired {
                break; // fewer such operations in the workload than `nth`
            }
            runs += 1;
        }
    }
    println!("{runs} runs in which the injected failure fired; {evictions} evictions");
    assert!(
        runs >= FAULTS.len() * 4,
        "the failures rarely fired: {runs} runs"
    );
    assert_eq!(evictions > 0, evicting, "evictions: {evictions}");
    Ok(())
}

#[test]
fn every_write_path_survives_an_injected_failure_and_a_crash() -> TestResult {
    sweep(false)
}

#[test]
fn every_write_path_survives_an_injected_failure_and_a_crash_while_evicting() -> TestResult {
    sweep(true)
}
