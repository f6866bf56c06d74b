//! Refresh-ahead: reloads run on a small pool of threads per cache (never one thread per
//! refresh), a full refresh queue drops the refresh and counts it, and a refreshed value
//! keeps the tags and placement it was loaded with.
//!
//! TTLs run on a manual clock. The only waits are for background reloads to land (and
//! threads to end), polled with a deadline; no assertion depends on how long anything takes.
//! The tests share one lock: they count the refresh threads of this process.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use stratacache::{Cache, InsertOptions, ManualClock, Placement, Promotion};

mod common;
use common::store::{MEMORY, no_checkpoints, tiered};

const TTL: Duration = Duration::from_secs(100);

/// Serializes the tests of this file (each counts the process's refresh threads), and
/// waits for the threads of the test before to end.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let serial = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    eventually("refresh threads of the test before end", || {
        refresh_threads() == 0
    });
    serial
}

/// Names of the threads of this process (Linux keeps the first 15 bytes of a name).
fn thread_names() -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|name| name.trim_end().to_string())
        .collect()
}

/// Threads of this process named like the cache's refresh threads. A new thread names
/// itself once it runs, so a thread just started may not be counted yet.
fn refresh_threads() -> usize {
    thread_names()
        .iter()
        .filter(|name| name.starts_with("stratacache-ref"))
        .count()
}

/// Polls `done` until it holds, for at most 10 s.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within 10 s");
        thread::sleep(Duration::from_millis(2));
    }
}

/// A gate loaders wait at until the test opens it.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

fn open(dir: &std::path::Path, clock: &Arc<ManualClock>, promotion: Promotion) -> Cache {
    tiered(MEMORY, no_checkpoints(dir))
        .default_ttl(TTL)
        .refresh_ahead(0.2)
        .promotion(promotion)
        .clock(clock.clone())
        .open()
        .unwrap()
}

#[test]
fn many_hot_keys_refreshing_at_once_use_a_few_threads() {
    const KEYS: u32 = 300;
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let cache = open(dir.path(), &clock, Promotion::Always);
    for k in 0..KEYS {
        let v: u32 = cache.get_with_refresh(format!("hot/{k}"), || 1).unwrap();
        assert_eq!(v, 1);
    }
    assert_eq!(refresh_threads(), 0, "no refresh thread before a refresh");

    // 85% of the TTL gone: every hit wants a refresh; the reloads block at the gate.
    clock.advance(Duration::from_secs(85));
    let gate = Arc::new(Gate::default());
    let threads_before = thread_names().len();
    for k in 0..KEYS {
        let gate = gate.clone();
        let v: u32 = cache
            .get_with_refresh(format!("hot/{k}"), move || {
                gate.wait();
                2
            })
            .unwrap();
        assert_eq!(v, 1, "the old value is served while refreshes wait");
    }
    // Every thread started since is a refresh thread (once it has named itself).
    let started = thread_names().len() - threads_before;
    assert!(
        (1..=2).contains(&started),
        "{started} threads started for {KEYS} refreshes"
    );
    eventually("the new threads are the refresh threads", || {
        refresh_threads() == started
    });
    let stats = cache.stats();
    assert_eq!(stats.refreshes + stats.refreshes_dropped, u64::from(KEYS));
    assert!(
        stats.refreshes <= 2 + 64 && stats.refreshes_dropped >= u64::from(KEYS) - 66,
        "{} queued, {} dropped",
        stats.refreshes,
        stats.refreshes_dropped
    );

    // Open the gate: the queued reloads land; a dropped one was abandoned, so the next
    // hit of its key starts it again. In the end every key is refreshed.
    gate.open();
    eventually("every key refreshed", || {
        let mut all = true;
        for k in 0..KEYS {
            let v: u32 = cache.get_with_refresh(format!("hot/{k}"), || 2).unwrap();
            all &= v == 2;
        }
        assert!(refresh_threads() <= 2);
        all
    });
    for k in 0..KEYS {
        assert_eq!(cache.ttl(format!("hot/{k}")).unwrap(), Some(Some(TTL)));
    }

    drop(cache);
    eventually("refresh threads end with the cache", || {
        refresh_threads() == 0
    });
}

#[test]
fn a_refresh_keeps_the_tags_and_placement_it_was_loaded_with() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let cache = open(dir.path(), &clock, Promotion::Never);
    let options = InsertOptions::new()
        .tags(["user:7"])
        .placement(Placement::MemoryOnly);
    let skip_memory = InsertOptions::new()
        .tags(["user:7"])
        .placement(Placement::SkipMemory);
    let v: u32 = cache
        .get_with_refresh_options("mem", &options, || 1)
        .unwrap();
    assert_eq!(v, 1);
    let v: u32 = cache
        .get_with_refresh_options("disk", &skip_memory, || 1)
        .unwrap();
    assert_eq!(v, 1);
    let store = cache.disk_store().unwrap();
    assert!(
        !store.contains_key("mem").unwrap(),
        "MemoryOnly stays off disk"
    );
    assert_eq!(memory_entries(&cache), 1, "SkipMemory stays out of memory");

    clock.advance(Duration::from_secs(85));
    for key in ["mem", "disk"] {
        let options = if key == "mem" { &options } else { &skip_memory };
        let v: u32 = cache.get_with_refresh_options(key, options, || 2).unwrap();
        assert_eq!(v, 1);
    }
    eventually("both refreshed", || {
        cache.get::<u32>("mem").unwrap() == Some(2) && cache.get::<u32>("disk").unwrap() == Some(2)
    });
    assert_eq!(cache.stats().refreshes, 2);
    assert!(
        !store.contains_key("mem").unwrap(),
        "refreshed MemoryOnly value on disk"
    );
    assert_eq!(
        memory_entries(&cache),
        1,
        "refreshed SkipMemory value in memory"
    );
    assert_eq!(cache.ttl("mem").unwrap(), Some(Some(TTL)));

    cache.invalidate_tag("user:7").unwrap();
    assert_eq!(
        cache.get::<u32>("mem").unwrap(),
        None,
        "refreshed value lost its tag"
    );
    assert_eq!(
        cache.get::<u32>("disk").unwrap(),
        None,
        "refreshed value lost its tag"
    );
    cache.close().unwrap();
}

#[test]
fn a_refresh_keeps_the_tags_and_ttl_of_the_stored_value() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let cache = open(dir.path(), &clock, Promotion::Always);
    let ttl = Duration::from_secs(50);
    cache
        .insert_with("k", &1u32, &InsertOptions::new().ttl(ttl).tags(["doc:1"]))
        .unwrap();
    clock.advance(Duration::from_secs(45));
    let v: u32 = cache.get_with_refresh("k", || 2).unwrap();
    assert_eq!(v, 1);
    eventually("refreshed", || cache.get::<u32>("k").unwrap() == Some(2));
    assert_eq!(
        cache.ttl("k").unwrap(),
        Some(Some(ttl)),
        "the stored TTL is kept"
    );
    cache.invalidate_tag("doc:1").unwrap();
    assert_eq!(
        cache.get::<u32>("k").unwrap(),
        None,
        "refreshed value lost its tag"
    );
    cache.close().unwrap();
}

fn memory_entries(cache: &Cache) -> u64 {
    cache
        .stats()
        .tier(stratacache::TierKind::Memory)
        .unwrap()
        .entries
        .expect("the memory tier knows its entries")
}
