//! The size bound: all files in the store directory stay within 1.0 x capacity at every
//! moment (a thread samples the directory all along), and
//! eviction is least-recently-used in effect.
//!
//! Specified here:
//! - writing 4 x capacity of fresh incompressible data into a 64 MiB store (the smallest
//!   capacity the bound is promised for) never lets the directory pass 1.0 x capacity,
//!   sampled throughout; entries are evicted, a hot set read all along survives
//!   byte-identical, and `verify()` is clean;
//! - an entry read recently outlives one that was never read;
//! - the bound holds even when a working set larger than the capacity is read all the time
//!   (second chances cannot keep everything): single-threaded, after `set_capacity`, and
//!   with concurrent readers;
//! - a smaller capacity given at reopen (or through `set_capacity`) evicts down to it at
//!   once, is persisted, and leaves no segment file the index does not know;
//! - a larger capacity given at reopen evicts nothing and lets the store grow.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use stratacache::DiskStore;

mod common;
use common::files::{assert_no_leftover_files, seg_files};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const MIB: u64 = 1 << 20;

/// Sum of the lengths of every file under `dir`, recursively.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match fs::metadata(e.path()) {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            // A file deleted between read_dir and stat.
            Err(_) => 0,
        })
        .sum()
}

/// "name=len" of every file under `dir`, for diagnostics.
fn listing(dir: &Path) -> String {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            match fs::metadata(e.path()) {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => out.push(format!("{}={}", e.file_name().to_string_lossy(), m.len())),
                Err(_) => {}
            }
        }
    }
    out.sort();
    out.join(" ")
}

/// The incompressible value of key number `i`: 4 KiB..=64 KiB, a pure function of
/// (`seed`, `i`), so nothing needs to be kept in memory to check it later.
fn value(seed: u64, i: u64, len: Option<usize>) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let len = len.unwrap_or_else(|| rng.random_range(4096..=65536));
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

/// Watches the directory size against a capacity: a thread samples it all the time (so
/// checkpoints, eviction and compaction on other threads are seen too), and the test
/// samples it at points it chooses. Every sample must be within 1.0 x capacity.
struct BoundWatch<'a> {
    dir: &'a Path,
    capacity: u64,
    max_bytes: u64,
    /// The directory listing at the largest sample, for diagnosis.
    max_listing: String,
    samples: u64,
    sampler: Sampler,
}

/// The sampling thread and what it found.
struct Sampler {
    stop: Arc<AtomicBool>,
    found: Arc<Mutex<(u64, String, u64)>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(dir: &Path) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let found = Arc::new(Mutex::new((0, String::new(), 0)));
        let (dir, thread_stop, thread_found) = (dir.to_path_buf(), stop.clone(), found.clone());
        let thread = std::thread::spawn(move || {
            while !thread_stop.load(Ordering::Relaxed) {
                let bytes = dir_bytes(&dir);
                let mut found = thread_found.lock().unwrap();
                found.2 += 1;
                if bytes > found.0 {
                    *found = (bytes, listing(&dir), found.2);
                }
                drop(found);
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        });
        Self {
            stop,
            found,
            thread: Some(thread),
        }
    }

    /// (largest size seen, listing then, samples so far).
    fn found(&self) -> (u64, String, u64) {
        self.found.lock().unwrap().clone()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl<'a> BoundWatch<'a> {
    fn new(dir: &'a Path, capacity: u64) -> Self {
        Self {
            dir,
            capacity,
            max_bytes: 0,
            max_listing: String::new(),
            samples: 0,
            sampler: Sampler::start(dir),
        }
    }

    fn sample(&mut self, context: &str) {
        let bytes = dir_bytes(self.dir);
        self.samples += 1;
        if bytes > self.max_bytes {
            self.max_bytes = bytes;
            self.max_listing = format!("{context}: {}", listing(self.dir));
        }
        let (thread_max, thread_listing, thread_samples) = self.sampler.found();
        if thread_max > self.max_bytes {
            self.max_bytes = thread_max;
            self.max_listing = format!("background sample before {context}: {thread_listing}");
        }
        self.samples = self.samples.max(thread_samples);
        assert!(
            self.max_bytes <= self.capacity,
            "{context}: directory held {} bytes, over the capacity {} ({:.4} x): {}",
            self.max_bytes,
            self.capacity,
            self.ratio(),
            self.max_listing
        );
    }

    fn ratio(&self) -> f64 {
        self.max_bytes as f64 / self.capacity as f64
    }
}

#[test]
fn four_times_capacity_stays_within_bound_and_keeps_hot_set() -> TestResult {
    const CAPACITY: u64 = 64 * MIB;
    const HOT: u64 = 200;
    let seed: u64 = 0xCA9A_C17E;
    println!("seed {seed:#x}");
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let store = DiskStore::builder(dir.path())
        .capacity_bytes(CAPACITY)
        .open()?;
    let mut watch = BoundWatch::new(dir.path(), CAPACITY);

    let hot_key = |h: u64| format!("hot/{h:04}");
    let hot_values: Vec<Vec<u8>> = (0..HOT).map(|h| value(seed, h, None)).collect();
    let mut written: u64 = 0;
    for (h, v) in hot_values.iter().enumerate() {
        store.insert(hot_key(h as u64), v)?;
        written += v.len() as u64;
    }

    let mut hot_misses = Vec::new();
    let mut i: u64 = HOT;
    while written < 4 * CAPACITY {
        let v = value(seed, i, None);
        store.insert(format!("cold/{i:06}"), &v)?;
        written += v.len() as u64;
        // Two hot reads per insert: each hot key is read every 100 inserts.
        for h in [(2 * i) % HOT, (2 * i + 1) % HOT] {
            match store.get(hot_key(h))? {
                Some(got) => assert!(*got == hot_values[h as usize][..], "hot key {h} bytes"),
                None => hot_misses.push((i, h)),
            }
        }
        if i.is_multiple_of(10) {
            watch.sample(&format!("after insert {i}"));
        }
        i += 1;
    }
    watch.sample("at the end");
    let stats = store.stats()?;
    println!(
        "wrote {written} bytes in {} inserts; max dir bytes {} = {:.3} x capacity over {} \
         samples; {stats:?}; {:.1?}",
        i,
        watch.max_bytes,
        watch.ratio(),
        watch.samples,
        started.elapsed()
    );
    assert!(stats.evictions > 0, "{stats:?}");
    assert!(
        hot_misses.is_empty(),
        "hot keys were evicted although read every 100 inserts (insert no, hot key): {:?}",
        &hot_misses[..hot_misses.len().min(20)]
    );
    for (h, v) in hot_values.iter().enumerate() {
        let got = store.get(hot_key(h as u64))?;
        assert!(got.as_deref() == Some(&v[..]), "hot key {h} at the end");
    }
    assert!(stats.disk_bytes <= CAPACITY, "{stats:?}");
    assert_eq!(stats.disk_bytes, dir_bytes(dir.path()));
    assert!(
        stats.disk_bytes >= CAPACITY / 2,
        "the cache should use its capacity: {stats:?}"
    );
    // The newest cold keys survive; the oldest are gone.
    assert!(store.contains_key(format!("cold/{:06}", i - 1))?);
    assert!(!store.contains_key(format!("cold/{HOT:06}"))?);
    // Every entry left reads back correctly.
    let report = store.verify()?;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.checked, stats.entries);
    assert_eq!(store.stats()?.corruptions, 0);
    assert_no_leftover_files(&store, dir.path())?;

    // The hot set also survives a restart.
    drop(store);
    let store = DiskStore::builder(dir.path()).open()?;
    assert_eq!(store.stats()?.capacity_bytes, CAPACITY);
    for (h, v) in hot_values.iter().enumerate() {
        let got = store.get(hot_key(h as u64))?;
        assert!(got.as_deref() == Some(&v[..]), "hot key {h} after reopen");
    }
    assert!(dir_bytes(dir.path()) <= CAPACITY);
    Ok(())
}

#[test]
fn recently_read_entries_outlive_unread_ones() -> TestResult {
    const CAPACITY: u64 = 64 * MIB;
    let seed: u64 = 0x1EC3_0001;
    println!("seed {seed:#x}");
    let dir = tempfile::tempdir()?;
    let store = DiskStore::builder(dir.path())
        .capacity_bytes(CAPACITY)
        .open()?;
    let mut watch = BoundWatch::new(dir.path(), CAPACITY);

    // Early keys, interleaved: "read/*" are read all along, "unread/*" never.
    let pairs = 50u64;
    for p in 0..pairs {
        store.insert(format!("read/{p}"), &value(seed, 2 * p, Some(10_000)))?;
        store.insert(format!("unread/{p}"), &value(seed, 2 * p + 1, Some(10_000)))?;
    }
    let mut written = 0;
    let mut i = 2 * pairs;
    while written < 3 * CAPACITY {
        let v = value(seed, i, Some(32 << 10));
        store.insert(format!("filler/{i}"), &v)?;
        written += v.len() as u64;
        if i.is_multiple_of(200) {
            for p in 0..pairs {
                assert!(store.get(format!("read/{p}"))?.is_some(), "read/{p} at {i}");
            }
        }
        if i.is_multiple_of(50) {
            watch.sample(&format!("after insert {i}"));
        }
        i += 1;
    }
    let stats = store.stats()?;
    println!("max {:.3} x capacity; {stats:?}", watch.ratio());
    assert!(stats.evictions > 0);
    assert!(
        !store.contains_key("filler/100")?,
        "the early segments were evicted"
    );
    for p in 0..pairs {
        let got = store.get(format!("read/{p}"))?;
        assert!(
            got.as_deref() == Some(&value(seed, 2 * p, Some(10_000))[..]),
            "read/{p} was read recently and must survive"
        );
        assert!(
            store.get(format!("unread/{p}"))?.is_none(),
            "unread/{p} was never read and must be evicted"
        );
    }
    assert!(store.verify()?.is_ok());
    Ok(())
}

/// Fills a new store at `capacity` with about `bytes` of 64 KiB values, keys `fill/N`;
/// returns the number of keys written.
fn fill(
    dir: &Path,
    capacity: u64,
    bytes: u64,
    seed: u64,
) -> Result<u64, Box<dyn std::error::Error>> {
    let store = DiskStore::builder(dir).capacity_bytes(capacity).open()?;
    let n = bytes / (64 << 10);
    for i in 0..n {
        store.insert(format!("fill/{i:06}"), &value(seed, i, Some(64 << 10)))?;
    }
    let stats = store.stats()?;
    assert_eq!(stats.evictions, 0, "{stats:?}");
    assert_eq!(stats.entries, n);
    store.close()?;
    Ok(n)
}

/// Checks that every key still present reads back its own value, and returns how many are.
fn check_survivors(
    store: &DiskStore,
    n: u64,
    seed: u64,
) -> Result<u64, Box<dyn std::error::Error>> {
    let mut present = 0;
    for i in 0..n {
        if let Some(got) = store.get(format!("fill/{i:06}"))? {
            assert!(
                *got == value(seed, i, Some(64 << 10))[..],
                "fill/{i:06} bytes"
            );
            present += 1;
        }
    }
    Ok(present)
}

#[test]
fn smaller_capacity_at_reopen_evicts_at_once_and_is_persisted() -> TestResult {
    const BIG: u64 = 256 * MIB;
    const SMALL: u64 = 64 * MIB;
    let seed: u64 = 0x5812_0001;
    println!("seed {seed:#x}");
    let dir = tempfile::tempdir()?;
    let n = fill(dir.path(), BIG, 200 * MIB, seed)?;
    let before = dir_bytes(dir.path());
    println!("filled: {n} keys, {before} bytes");
    assert!(before > 190 * MIB);

    {
        let store = DiskStore::builder(dir.path())
            .capacity_bytes(SMALL)
            .open()?;
        let on_open = dir_bytes(dir.path());
        let stats = store.stats()?;
        println!(
            "reopened at 64 MiB: {on_open} bytes ({:.3} x); {stats:?}",
            on_open as f64 / SMALL as f64
        );
        assert!(on_open <= SMALL, "right after open: {on_open} bytes");
        assert_eq!(stats.capacity_bytes, SMALL);
        assert!(stats.evictions > 0);
        assert_eq!(
            seg_files(dir.path())?,
            stats.segments,
            "no leftover .seg files"
        );
        let present = check_survivors(&store, n, seed)?;
        assert_eq!(present, stats.entries);
        // Nothing was read: the newest survive, the oldest went.
        assert!(store.contains_key(format!("fill/{:06}", n - 1))?);
        assert!(!store.contains_key("fill/000000")?);
        assert!(store.verify()?.is_ok());
        store.close()?;
    }
    // Reopened without a capacity: the smaller one was recorded.
    let store = DiskStore::builder(dir.path()).open()?;
    let stats = store.stats()?;
    assert_eq!(stats.capacity_bytes, SMALL, "{stats:?}");
    assert!(stats.disk_bytes <= SMALL, "{stats:?}");
    assert_no_leftover_files(&store, dir.path())?;

    // And it keeps to it while more is written.
    let mut watch = BoundWatch::new(dir.path(), SMALL);
    for i in n..n + 1600 {
        store.insert(format!("fill/{i:06}"), &value(seed, i, Some(64 << 10)))?;
        if i % 20 == 0 {
            watch.sample(&format!("after insert {i}"));
        }
    }
    println!(
        "writing on at 64 MiB: max {:.3} x at {}",
        watch.ratio(),
        watch.max_listing
    );
    assert_no_leftover_files(&store, dir.path())?;
    assert!(store.verify()?.is_ok());
    Ok(())
}

#[test]
fn set_capacity_on_an_open_store_evicts_at_once() -> TestResult {
    const BIG: u64 = 256 * MIB;
    const SMALL: u64 = 64 * MIB;
    let seed: u64 = 0x5E7C_0001;
    println!("seed {seed:#x}");
    let dir = tempfile::tempdir()?;
    let store = DiskStore::builder(dir.path()).capacity_bytes(BIG).open()?;
    let n = 200 * MIB / (64 << 10);
    for i in 0..n {
        store.insert(format!("fill/{i:06}"), &value(seed, i, Some(64 << 10)))?;
    }
    assert!(dir_bytes(dir.path()) > 190 * MIB);
    assert_eq!(store.stats()?.evictions, 0);

    assert!(
        store.set_capacity(1000).is_err(),
        "below the minimum capacity"
    );
    store.set_capacity(SMALL)?;
    let now = dir_bytes(dir.path());
    let stats = store.stats()?;
    println!(
        "after set_capacity: {now} bytes ({:.3} x); {stats:?}",
        now as f64 / SMALL as f64
    );
    assert!(now <= SMALL, "{now} bytes right after set_capacity");
    assert_eq!(stats.capacity_bytes, SMALL);
    assert!(stats.evictions > 0);
    assert_no_leftover_files(&store, dir.path())?;
    assert_eq!(check_survivors(&store, n, seed)?, stats.entries);

    // Writing on keeps to the new bound.
    let mut watch = BoundWatch::new(dir.path(), SMALL);
    for i in n..n + 1600 {
        store.insert(format!("fill/{i:06}"), &value(seed, i, Some(64 << 10)))?;
        if i % 20 == 0 {
            watch.sample(&format!("after insert {i}"));
        }
    }
    println!(
        "writing on after set_capacity: max {:.3} x at {}",
        watch.ratio(),
        watch.max_listing
    );
    assert!(store.verify()?.is_ok());
    drop(store);

    // Persisted.
    let store = DiskStore::builder(dir.path()).open()?;
    assert_eq!(store.stats()?.capacity_bytes, SMALL);
    assert!(dir_bytes(dir.path()) <= SMALL);
    Ok(())
}

#[test]
fn larger_capacity_at_reopen_allows_growth() -> TestResult {
    const SMALL: u64 = 64 * MIB;
    const BIG: u64 = 256 * MIB;
    let seed: u64 = 0x6120_0001;
    println!("seed {seed:#x}");
    let dir = tempfile::tempdir()?;
    let n = fill(dir.path(), SMALL, 48 * MIB, seed)?;
    let before = dir_bytes(dir.path());

    let store = DiskStore::builder(dir.path()).capacity_bytes(BIG).open()?;
    let stats = store.stats()?;
    assert_eq!(stats.capacity_bytes, BIG);
    assert_eq!(stats.evictions, 0, "growing evicts nothing: {stats:?}");
    assert_eq!(stats.entries, n);
    assert!(dir_bytes(dir.path()) >= before - MIB);

    let m = n + 150 * MIB / (64 << 10);
    for i in n..m {
        store.insert(format!("fill/{i:06}"), &value(seed, i, Some(64 << 10)))?;
    }
    let stats = store.stats()?;
    println!("grown: {stats:?}");
    assert_eq!(stats.evictions, 0, "{stats:?}");
    assert_eq!(stats.entries, m);
    assert!(stats.disk_bytes > SMALL, "{stats:?}");
    assert!(stats.disk_bytes <= BIG, "{stats:?}");
    assert_eq!(check_survivors(&store, m, seed)?, m);
    drop(store);
    let store = DiskStore::builder(dir.path()).open()?;
    assert_eq!(store.stats()?.capacity_bytes, BIG);
    assert_eq!(store.stats()?.entries, m);
    Ok(())
}

/// Writes fresh 64 KiB values under `k/N` while every key still present is read after
/// every 16 inserts (a working set larger than the capacity), sampling the bound.
fn write_while_reading_everything(
    store: &DiskStore,
    watch: &mut BoundWatch<'_>,
    seed: u64,
    first: u64,
    bytes: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut live: Vec<u64> = (0..first).collect();
    let mut written = 0;
    let mut i = first;
    while written < bytes {
        let v = value(seed, i, Some(64 << 10));
        store.insert(format!("k/{i:06}"), &v)?;
        written += v.len() as u64;
        live.push(i);
        if i.is_multiple_of(16) {
            let mut kept = Vec::with_capacity(live.len());
            for k in live {
                if store.get(format!("k/{k:06}"))?.is_some() {
                    kept.push(k);
                }
            }
            live = kept;
            watch.sample(&format!("after insert {i}, {} keys live", live.len()));
        }
        i += 1;
    }
    Ok(())
}

#[test]
fn bound_holds_when_every_entry_is_read_all_the_time() -> TestResult {
    // The working set is larger than the capacity and every entry is read between any two
    // evictions: second chances cannot keep everything, and the bound must still hold.
    const CAPACITY: u64 = 64 * MIB;
    let seed: u64 = 0xA11_0001;
    println!("seed {seed:#x}");
    let dir = tempfile::tempdir()?;
    let store = DiskStore::builder(dir.path())
        .capacity_bytes(CAPACITY)
        .open()?;
    let mut watch = BoundWatch::new(dir.path(), CAPACITY);
    write_while_reading_everything(&store, &mut watch, seed, 0, 3 * CAPACITY)?;
    watch.sample("at the end");
    let stats = store.stats()?;
    println!(
        "max {:.3} x capacity at {}; {stats:?}",
        watch.ratio(),
        watch.max_listing
    );
    assert!(stats.evictions > 0, "{stats:?}");
    assert!(store.verify()?.is_ok());
    Ok(())
}

#[test]
fn bound_holds_after_set_capacity_when_every_entry_is_read() -> TestResult {
    const CAPACITY: u64 = 64 * MIB;
    let seed: u64 = 0xA11_0002;
    println!("seed {seed:#x}");
    let dir = tempfile::tempdir()?;
    let store = DiskStore::builder(dir.path())
        .capacity_bytes(256 * MIB)
        .open()?;
    let first = 100 * MIB / (64 << 10);
    for i in 0..first {
        store.insert(format!("k/{i:06}"), &value(seed, i, Some(64 << 10)))?;
    }
    store.set_capacity(CAPACITY)?;
    let mut watch = BoundWatch::new(dir.path(), CAPACITY);
    watch.sample("right after set_capacity");
    write_while_reading_everything(&store, &mut watch, seed, first, 3 * CAPACITY)?;
    println!("max {:.3} x capacity; {:?}", watch.ratio(), store.stats()?);
    Ok(())
}

#[test]
fn bound_holds_with_concurrent_readers_of_a_working_set_larger_than_capacity() -> TestResult {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    const CAPACITY: u64 = 64 * MIB;
    let seed: u64 = 0xA11_0003;
    println!("seed {seed:#x}");
    let dir = tempfile::tempdir()?;
    let store = Arc::new(
        DiskStore::builder(dir.path())
            .capacity_bytes(CAPACITY)
            .open()?,
    );
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // Two readers loop over the newest 1400 keys (about 1.4 x capacity), newest first.
    let readers: Vec<_> = (0..2usize)
        .map(|t| {
            let (store, next, stop) = (store.clone(), next.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let n = next.load(Ordering::Relaxed);
                    for k in (n.saturating_sub(1400)..n).rev().skip(t).step_by(2) {
                        let _ = store.get(format!("k/{k:06}"));
                    }
                }
            })
        })
        .collect();
    let mut watch = BoundWatch::new(dir.path(), CAPACITY);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> TestResult {
        for i in 0..3 * CAPACITY / (64 << 10) {
            store.insert(format!("k/{i:06}"), &value(seed, i, Some(64 << 10)))?;
            next.store(i + 1, Ordering::Relaxed);
            if i % 8 == 0 {
                watch.sample(&format!("after insert {i}"));
            }
        }
        Ok(())
    }));
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().expect("reader thread");
    }
    println!("max {:.3} x capacity; {:?}", watch.ratio(), store.stats()?);
    match result {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Small values make the index a large part of the store, and redb grows its file by
/// doubling; overwrites and removes leave sparse segments for compaction to copy forward.
/// The files still stay within the capacity at every moment.
#[test]
fn bound_holds_with_small_values_overwrites_and_removes() -> TestResult {
    const CAPACITY: u64 = 64 * MIB;
    let seed: u64 = 0x5A11_7A1E;
    let dir = tempfile::tempdir()?;
    let store = DiskStore::builder(dir.path())
        .capacity_bytes(CAPACITY)
        .open()?;
    let mut watch = BoundWatch::new(dir.path(), CAPACITY);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut written = 0u64;
    let mut i = 0u64;
    while written < 3 * CAPACITY {
        let key = rng.random_range(0..300_000u64);
        if rng.random_range(0..10) == 0 {
            store.remove(format!("small/{key:07}"))?;
        } else {
            let v = value(seed, i, Some(rng.random_range(100..400)));
            store.insert(format!("small/{key:07}"), &v)?;
            written += v.len() as u64;
        }
        if i.is_multiple_of(5000) {
            watch.sample(&format!("after operation {i}"));
        }
        i += 1;
    }
    store.flush()?;
    watch.sample("after the last flush");
    let stats = store.stats()?;
    println!(
        "max {:.3} x capacity over {} samples; {stats:?}",
        watch.ratio(),
        watch.samples
    );
    assert!(stats.evictions > 0, "{stats:?}");
    let report = store.verify()?;
    assert!(report.is_ok(), "{report:?}");
    Ok(())
}
