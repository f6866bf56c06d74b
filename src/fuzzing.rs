//! Fuzz bodies, shared by the `fuzz/` targets and the proptest suites in `cargo test`.
//! Not part of the stable API.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::engine::index::EntryLoc;
use crate::engine::segment::SegmentMeta;
use crate::engine::segment::format::{decode_record, decode_segment_header};
use crate::engine::segment::scan::RecordScan;
use crate::{DiskStore, Error, ManualClock};

pub use crate::engine::segment::{FaultPoint, Faults};

/// The segment byte format, for tests that build or damage segment files by hand.
pub mod format {
    pub use crate::engine::segment::format::*;
}

/// The index's redb tables, for tests that damage the index by hand.
pub mod tables {
    pub use crate::engine::index::tables::*;
}

/// Feeds raw bytes to every decoder: each must return (`Ok` or `Err`), never panic.
pub fn decoders(data: &[u8]) {
    let _ = decode_segment_header(data);
    if let Ok(view) = decode_record(data) {
        assert!(view.key.len() + view.stored.len() <= data.len());
        if view.header.codec == crate::Codec::Lz4 {
            let _ =
                crate::codec::decompress(view.stored, (view.header.raw_len as usize).min(1 << 24));
        }
    }
    for (offset, view) in RecordScan::new(data) {
        assert!(offset as usize + view.header.record_len() <= data.len());
    }
    let loc = EntryLoc::decode(data);
    assert_eq!(EntryLoc::decode(&loc.encode()), loc);
    let meta = SegmentMeta::decode(data);
    assert_eq!(SegmentMeta::decode(&meta.encode()), meta);
    let _ = crate::codec::decompress(data, data.first().map_or(0, |b| *b as usize * 64));
    cache_decoders(data);
    crate::server::fuzz_body::protocol_parsers(data);
}

/// Requests into the server's command layer (over a live cache): every request gets a
/// reply its own client can read, and nothing panics.
pub fn server_requests(data: &[u8]) {
    crate::server::fuzz_body::requests(data);
}

/// The tiered cache's decoders: value envelopes, Redis frames, invalidation messages.
fn cache_decoders(data: &[u8]) {
    use crate::cache::envelope;
    use crate::cache::tier::redis::{frame, messages};
    if let Ok(view) = envelope::decode(data) {
        assert!(view.payload_start <= data.len());
        assert!(view.tags().count() <= envelope::MAX_TAGS);
    }
    if let Ok(decoded) = frame::decode_frame(b"key", data.to_vec()) {
        assert!(decoded.value.bytes().len() <= frame::MAX_FRAME_VALUE);
    }
    let expiry = data.first().map(|&b| u64::from(b) + 1);
    let framed = frame::encode_frame(b"key", data, expiry, 64);
    let decoded = frame::decode_frame(b"key", framed.clone()).expect("own frame decodes");
    assert_eq!(
        (decoded.value.bytes(), decoded.expires_at_ms),
        (data, expiry)
    );
    assert!(frame::decode_frame(b"other key", framed).is_err());
    if let Ok((sender, change)) = messages::decode(data) {
        let again = messages::decode(&messages::encode(sender, &change));
        assert_eq!(again, Ok((sender, change)));
    }
}

/// One operation of the model test.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    /// Insert a value chosen by the parameter.
    Insert(u8, u8),
    /// Insert with a TTL of 1-5 seconds.
    InsertTtl(u8, u8),
    /// Insert 1-4 keys from the given one on in one batch (`insert_many`), the first key
    /// again at the end when the parameter is a multiple of 5 (the later value wins).
    InsertMany(u8, u8),
    /// Read and compare with the model.
    Get(u8),
    /// Remove and compare the result with the model.
    Remove(u8),
    /// Advance the clock by parameter x 100 ms.
    Advance(u8),
    /// Sweep expired entries.
    Sweep,
    /// Compact (everything when the parameter is odd).
    Compact(u8),
    /// Flush: everything so far becomes durable.
    Flush,
    /// Close and reopen.
    Reopen,
    /// Drop without the final commit and reopen.
    Crash,
    /// Make the (parameter % 4 + 1)-th next segment write fail: when the parameter is even,
    /// with one of the full-disk errors (ENOSPC, EDQUOT, EFBIG: the store lowers its budget
    /// to the file system, evicts and tries once more, or fails only that write), else with
    /// EIO (which poisons the store until it is reopened).
    FailWrite(u8),
    /// Make the (parameter % 3 + 1)-th next sync fail with EIO (poisons the store).
    FailSync(u8),
    /// Make the (parameter % 3 + 1)-th next mapping of a new segment fail with ENOMEM.
    FailMap(u8),
    /// Change the expiry in place: remove it when the parameter is a multiple of 3, else
    /// set it to (parameter % 5) seconds from now (0: now, which removes the key).
    SetExpiry(u8, u8),
}

/// Decodes operations from fuzzer bytes, three bytes an operation.
pub fn ops_from_bytes(data: &[u8]) -> Vec<Op> {
    data.chunks_exact(3)
        .map(|c| {
            let (key, p) = (c[1] % 8, c[2]);
            match c[0] % 20 {
                0 | 1 => Op::Insert(key, p),
                2 => Op::InsertMany(key, p),
                3 => Op::InsertTtl(key, p),
                4..=6 => Op::Get(key),
                7 | 8 => Op::Remove(key),
                9 => Op::Advance(p),
                10 => Op::Sweep,
                11 => Op::Compact(p),
                12 | 13 => Op::Flush,
                14 => Op::Reopen,
                15 => Op::Crash,
                16 => Op::FailWrite(p),
                17 => Op::FailSync(p),
                18 => Op::SetExpiry(key, p),
                _ => Op::FailMap(p),
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    value: Vec<u8>,
    expires_at: u64,
}

fn value_for(key: u8, p: u8, n: u64) -> Vec<u8> {
    let mut x = (key as u64) << 32 | (p as u64) << 16 | n | 1;
    let len = [0usize, 17, 2000, 3000][p as usize % 4];
    (0..len)
        .map(|i| {
            if p % 4 == 2 {
                b"compressible "[i % 13]
            } else {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            }
        })
        .collect()
}

/// The model: what each key holds now, and what a crash may leave for keys changed since
/// the last durable point.
struct Model {
    now: HashMap<u8, Entry>,
    /// Per key changed since the last durable point: its durable state, then every later one.
    since_durable: HashMap<u8, Vec<Option<Entry>>>,
    /// The new states a write in progress may give each key it touches (`None`: a remove;
    /// a batch may set one key twice).
    pending: HashMap<u8, Vec<Option<Entry>>>,
}

impl Model {
    fn live(&self, key: u8, now_ms: u64) -> Option<&Entry> {
        self.now
            .get(&key)
            .filter(|e| e.expires_at == 0 || e.expires_at > now_ms)
    }

    /// Notes the state a write is about to give `key`, in case the write fails: the store
    /// may show it anyway (it was staged before a checkpoint failed).
    fn candidate(&mut self, key: u8, entry: Option<Entry>) {
        self.pending.entry(key).or_default().push(entry);
    }

    fn set(&mut self, key: u8, entry: Option<Entry>) {
        let before = self.now.get(&key).cloned();
        self.since_durable
            .entry(key)
            .or_insert_with(|| vec![before])
            .push(entry.clone());
        match entry {
            Some(e) => self.now.insert(key, e),
            None => self.now.remove(&key),
        };
    }
}

static RUN: AtomicU64 = AtomicU64::new(0);

fn key_name(key: u8) -> String {
    format!("key-{key}")
}

fn open(dir: &PathBuf, clock: &Arc<ManualClock>, faults: &Arc<Faults>) -> DiskStore {
    DiskStore::builder(dir)
        .faults(faults.clone())
        .segment_size(4096)
        .commit_batch(3)
        .clock(clock.clone())
        .checkpoint_interval(None)
        .sweep_interval(None)
        .background_maintenance(false)
        .open()
        .expect("open")
}

/// Runs `ops` against a store and a model, checking after every operation. Panics on any
/// difference. Injected failures (`FailWrite`, `FailSync`) may fail the writes that meet
/// them: then every key the write touched must read as its old or its new state, a
/// poisoned store must refuse writes and go on reading, and after a reopen every key must
/// read as its state at the last durable point or a later one (nothing flushed is lost).
pub fn op_sequence(ops: &[Op]) {
    // tmpfs when there is one: the model is about logic, and fsync there costs nothing.
    let base = match std::env::var_os("STRATACACHE_FUZZ_DIR") {
        Some(dir) => PathBuf::from(dir),
        None if std::path::Path::new("/dev/shm").is_dir() => PathBuf::from("/dev/shm"),
        None => std::env::temp_dir(),
    };
    let dir = base.join(format!(
        "stratacache-fuzz-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let clock = ManualClock::new(1_000_000);
    let faults = Arc::new(Faults::default());
    let mut store = open(&dir, &clock, &faults);
    let mut model = Model {
        now: HashMap::new(),
        since_durable: HashMap::new(),
        pending: HashMap::new(),
    };
    let mut faulted = Faulted::default();
    faults.disarm();
    for (n, op) in ops.iter().enumerate() {
        let now_ms = clock_now(&clock);
        match *op {
            Op::Insert(k, p) | Op::InsertTtl(k, p) => {
                let value = value_for(k, p, n as u64);
                let expires_at = match op {
                    Op::InsertTtl(..) => now_ms + (p as u64 % 5 + 1) * 1000,
                    _ => 0,
                };
                let result = store.insert_expiring_at(key_name(k), &value, expires_at);
                let entry = Entry { value, expires_at };
                // A write that failed may still have been staged (its checkpoint failed).
                model.candidate(k, Some(entry.clone()));
                if !faulted.failed(&store, result, &[k], &mut model, now_ms, n) {
                    model.set(k, Some(entry));
                }
            }
            Op::InsertMany(k, p) => {
                let mut keys: Vec<u8> = (0..p % 4 + 1).map(|j| (k + j) % 8).collect();
                if p % 5 == 0 {
                    keys.push(k);
                }
                let items: Vec<(String, Vec<u8>)> = keys
                    .iter()
                    .enumerate()
                    .map(|(j, &key)| {
                        (
                            key_name(key),
                            value_for(key, p.wrapping_add(j as u8), n as u64),
                        )
                    })
                    .collect();
                for (&key, (_, value)) in keys.iter().zip(&items) {
                    let entry = Entry {
                        value: value.clone(),
                        expires_at: 0,
                    };
                    model.candidate(key, Some(entry));
                }
                let result = store.insert_many(&items);
                if !faulted.failed(&store, result, &keys, &mut model, now_ms, n) {
                    for (&key, (_, value)) in keys.iter().zip(items) {
                        let expires_at = 0;
                        model.set(key, Some(Entry { value, expires_at }));
                    }
                }
            }
            Op::Get(k) => {
                let got = store.get(key_name(k)).expect("get").map(|v| v.to_vec());
                assert_eq!(
                    got.as_ref(),
                    model.live(k, now_ms).map(|e| &e.value),
                    "op {n}: get {k}"
                );
            }
            Op::Remove(k) => {
                let result = store.remove(key_name(k));
                model.candidate(k, None);
                let expected = model.live(k, now_ms).is_some();
                let removed = result.as_ref().ok().copied();
                if !faulted.failed(&store, result.map(|_| ()), &[k], &mut model, now_ms, n) {
                    assert_eq!(removed, Some(expected), "op {n}: remove {k}");
                    if model.now.contains_key(&k) {
                        model.set(k, None);
                    }
                }
            }
            Op::SetExpiry(k, p) => {
                let at = if p % 3 == 0 {
                    0
                } else {
                    now_ms + (p as u64 % 5) * 1000
                };
                let result = store.set_expires_at(key_name(k), at);
                let before = model.live(k, now_ms).cloned();
                let after = before.clone().and_then(|e| {
                    (at == 0 || at > now_ms).then_some(Entry {
                        expires_at: at,
                        ..e
                    })
                });
                if before.is_some() {
                    model.candidate(k, after.clone());
                }
                let answer = result.as_ref().ok().copied();
                if !faulted.failed(&store, result.map(|_| ()), &[k], &mut model, now_ms, n) {
                    let expected = before.as_ref().map(|e| e.expires_at);
                    assert_eq!(answer, Some(expected), "op {n}: set expiry of {k}");
                    if before.is_some() {
                        model.set(k, after);
                    }
                }
            }
            Op::Advance(p) => clock.advance(Duration::from_millis(p as u64 * 100)),
            Op::Sweep => {
                // Removes only expired entries, which read as misses either way.
                let result = store.sweep_expired().map(|_| ());
                faulted.failed(&store, result, &[], &mut model, now_ms, n);
            }
            Op::Compact(p) => {
                let result = if p % 2 == 1 {
                    store.compact_all()
                } else {
                    store.compact()
                };
                faulted.failed(&store, result.map(|_| ()), &[], &mut model, now_ms, n);
            }
            Op::Flush => {
                // A poisoned store with nothing left to make durable has nothing to refuse.
                let result = store.flush();
                let nothing_to_do = faulted.poisoned && result.is_ok();
                if !nothing_to_do && !faulted.failed(&store, result, &[], &mut model, now_ms, n) {
                    model.since_durable.clear();
                }
            }
            Op::Reopen => match store.close() {
                Ok(()) => {
                    assert!(
                        !faulted.poisoned,
                        "op {n}: a poisoned store closed without an error"
                    );
                    store = open(&dir, &clock, &faults);
                    model.since_durable.clear();
                    check_all(&store, &model, now_ms, n);
                }
                Err(_) => {
                    assert!(
                        faulted.injected,
                        "op {n}: close failed with nothing injected"
                    );
                    store = open(&dir, &clock, &faults);
                    faulted = Faulted::default();
                    faults.disarm();
                    adopt_after_crash(&store, &mut model, now_ms, n);
                    check_all(&store, &model, now_ms, n);
                }
            },
            Op::Crash => {
                store.crash_for_testing();
                store = open(&dir, &clock, &faults);
                faulted = Faulted::default();
                faults.disarm();
                adopt_after_crash(&store, &mut model, now_ms, n);
                check_all(&store, &model, now_ms, n);
            }
            Op::FailWrite(p) => {
                let errno = match p % 6 {
                    0 => libc::ENOSPC,
                    2 => libc::EDQUOT,
                    4 => libc::EFBIG,
                    _ => libc::EIO,
                };
                faults.fail_write(p as u64 % 4 + 1, errno);
                faulted.injected = true;
            }
            Op::FailSync(p) => {
                faults.fail_sync(p as u64 % 3 + 1, libc::EIO);
                faulted.injected = true;
            }
            Op::FailMap(p) => {
                faults.fail_map(p as u64 % 3 + 1, libc::ENOMEM);
                faulted.injected = true;
            }
        }
    }
    check_all(&store, &model, clock_now(&clock), ops.len());
    // The final checks are not part of the sequence: nothing injected fires in them.
    faults.disarm();
    let report = store.verify().expect("verify");
    assert!(report.is_ok(), "verify: {:?}", report.bad);
    assert_eq!(store.stats().expect("stats").corruptions, 0);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What injected failures did to the store since it was last opened.
#[derive(Default)]
struct Faulted {
    /// A failure was injected: writes may fail.
    injected: bool,
    /// A failure poisoned the store: every write must fail, reads go on.
    poisoned: bool,
}

impl Faulted {
    /// Checks the result of a write that touched `keys`; true when it failed (then the
    /// model takes what the store shows for those keys).
    fn failed(
        &mut self,
        store: &DiskStore,
        result: crate::Result<()>,
        keys: &[u8],
        model: &mut Model,
        now_ms: u64,
        n: usize,
    ) -> bool {
        let Err(err) = result else {
            assert!(!self.poisoned, "op {n}: a poisoned store accepted a write");
            model.pending.clear();
            return false;
        };
        assert!(
            self.injected,
            "op {n}: a write failed with nothing injected: {err}"
        );
        if !matches!(err, Error::DiskFull { .. }) {
            self.poisoned = true;
        }
        adopt_what_it_shows(store, model, keys, now_ms, n);
        true
    }
}

/// After a write that failed, each key it touched reads as its old state or one of the new
/// ones (recorded with [`Model::candidate`]): take what the store shows as the model's state.
fn adopt_what_it_shows(store: &DiskStore, model: &mut Model, keys: &[u8], now_ms: u64, n: usize) {
    let mut pending = std::mem::take(&mut model.pending);
    for &key in keys {
        // Value and expiry: two states may hold the same bytes with different TTLs.
        let got = store.get(key_name(key)).expect("get").map(|v| Entry {
            value: v.to_vec(),
            expires_at: store
                .expires_at(key_name(key))
                .expect("expires_at")
                .unwrap_or(0),
        });
        let old = model.live(key, now_ms).cloned();
        if got == old {
            continue;
        }
        let candidates = pending.remove(&key).unwrap_or_default();
        let Some(new) = candidates.into_iter().find(|c| *c == got) else {
            panic!(
                "op {n}: after a failed write key {key} reads {:?} bytes: neither its old state \
                 ({:?} bytes) nor a new one",
                got.map(|e| e.value.len()),
                old.map(|e| e.value.len())
            );
        };
        model.set(key, new);
    }
}

fn clock_now(clock: &ManualClock) -> u64 {
    crate::Clock::now_ms(clock)
}

/// After a crash each changed key may hold its durable state or any later one: take what
/// the store shows (checking it is one of those) as the model's new state.
fn adopt_after_crash(store: &DiskStore, model: &mut Model, now_ms: u64, n: usize) {
    for (key, states) in std::mem::take(&mut model.since_durable) {
        let got = store.get(key_name(key)).expect("get").map(|v| v.to_vec());
        let expiry = store.expires_at(key_name(key)).expect("expires_at");
        let got = got.map(|value| Entry {
            value,
            expires_at: expiry.unwrap_or(0),
        });
        let live = |e: &Option<Entry>| {
            e.clone()
                .filter(|e| e.expires_at == 0 || e.expires_at > now_ms)
        };
        let matching = states.iter().find(|s| live(s) == got);
        let Some(state) = matching else {
            panic!(
                "op {n}: after crash key {key} reads {got:?}, not a state it had since the last flush"
            );
        };
        match state {
            Some(e) => model.now.insert(key, e.clone()),
            None => model.now.remove(&key),
        };
    }
}

fn check_all(store: &DiskStore, model: &Model, now_ms: u64, n: usize) {
    for k in 0..8u8 {
        let got = store.get(key_name(k)).expect("get").map(|v| v.to_vec());
        assert_eq!(
            got.as_ref(),
            model.live(k, now_ms).map(|e| &e.value),
            "op {n}: key {k} after reopen"
        );
    }
}
