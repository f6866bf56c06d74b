//! Single-flight loading: `get_with` / `try_get_with` run the loader once per key however
//! many threads wait; errors reach every waiter (the same `Arc<E>`) and are not cached; a
//! panicking loader does not wedge the key; refresh-ahead serves the old value while a
//! background reload replaces it.
//!
//! The sleeps here only keep a loader busy while other threads pile up behind it; no
//! assertion depends on how long anything takes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use stratacache::{Cache, DiskStore, LoadError, ManualClock};

mod common;
use common::store::{MEMORY, no_checkpoints, open_tiered, tiered};

/// Waits (bounded) until `counter` reaches `n`, then a little longer so the threads that
/// counted themselves are inside the cache call.
fn wait_for(counter: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while counter.load(Ordering::SeqCst) < n {
        assert!(Instant::now() < deadline, "threads did not arrive");
        thread::sleep(Duration::from_millis(1));
    }
    thread::sleep(Duration::from_millis(100));
}

#[test]
fn sixty_four_threads_one_loader_call() {
    const THREADS: usize = 64;
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(MEMORY, no_checkpoints(dir.path()));
    let calls = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (cache, calls, barrier) = (cache.clone(), calls.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                cache
                    .get_with("report/42", || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(50));
                        vec![42u64; 100]
                    })
                    .unwrap()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), vec![42u64; 100]);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the loader ran once");
    let stats = cache.stats();
    assert_eq!(stats.loader_calls, 1);
    assert_eq!(stats.inserts, 1);
    assert_eq!(stats.loader_errors + stats.loader_panics, 0);
    // Stored in every tier.
    assert!(
        cache
            .disk_store()
            .unwrap()
            .contains_key("report/42")
            .unwrap()
    );
    assert_eq!(
        cache.get::<Vec<u64>>("report/42").unwrap().unwrap().len(),
        100
    );
    cache.close().unwrap();
}

#[test]
fn hit_does_not_call_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(MEMORY, no_checkpoints(dir.path()));
    cache.insert("k", &"cached".to_string()).unwrap();
    let value: String = cache
        .get_with("k", || -> String { panic!("loader must not run on a hit") })
        .unwrap();
    assert_eq!(value, "cached");
    let tried: Result<String, LoadError<String>> =
        cache.try_get_with("k", || Err("loader must not run".to_string()));
    assert_eq!(tried.unwrap(), "cached");
    let stats = cache.stats();
    assert_eq!(stats.loader_calls, 0);
    assert_eq!(stats.hits, 2);
    // A hit after a restart (served from disk) does not call it either.
    cache.close().unwrap();
    let cache = open_tiered(MEMORY, no_checkpoints(dir.path()));
    let value: String = cache
        .get_with("k", || -> String {
            panic!("loader must not run on a disk hit")
        })
        .unwrap();
    assert_eq!(value, "cached");
    assert_eq!(cache.stats().loader_calls, 0);
    cache.close().unwrap();
}

#[derive(Debug, PartialEq)]
struct BackendDown(&'static str);

#[test]
fn loader_error_reaches_every_waiter_and_is_not_cached() {
    const THREADS: usize = 16;
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(MEMORY, no_checkpoints(dir.path()));
    let calls = Arc::new(AtomicUsize::new(0));
    let arrived = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (cache, calls, arrived) = (cache.clone(), calls.clone(), arrived.clone());
            thread::spawn(move || {
                let mut ran = false;
                arrived.fetch_add(1, Ordering::SeqCst);
                let result = cache.try_get_with("user/7", || {
                    ran = true;
                    calls.fetch_add(1, Ordering::SeqCst);
                    wait_for(&arrived, THREADS);
                    Err::<u32, _>(BackendDown("db timeout"))
                });
                (ran, result)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one loader run for all");
    let leader = results
        .iter()
        .find(|(ran, _)| *ran)
        .and_then(|(_, r)| r.as_ref().err())
        .and_then(LoadError::loader_error)
        .expect("the leader got its loader's error")
        .clone();
    assert_eq!(*leader, BackendDown("db timeout"));
    for (_, result) in &results {
        let error = result
            .as_ref()
            .err()
            .and_then(LoadError::loader_error)
            .expect("every waiter gets the loader error");
        assert!(Arc::ptr_eq(error, &leader), "the same Arc<E>");
    }
    let stats = cache.stats();
    assert_eq!((stats.loader_calls, stats.loader_errors), (1, 1));

    // Not cached: the next call runs the loader again.
    assert_eq!(cache.get::<u32>("user/7").unwrap(), None);
    let value = cache
        .try_get_with("user/7", || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, BackendDown>(7u32)
        })
        .unwrap();
    assert_eq!(value, 7);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(cache.get::<u32>("user/7").unwrap(), Some(7));
    assert_eq!(cache.stats().loader_calls, 2);
    cache.close().unwrap();
}

#[test]
fn panicking_leader_does_not_wedge_the_waiters() {
    const WAITERS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(MEMORY, no_checkpoints(dir.path()));
    let started = Arc::new(Barrier::new(2));
    let arrived = Arc::new(AtomicUsize::new(0));
    let leader = {
        let (cache, started, arrived) = (cache.clone(), started.clone(), arrived.clone());
        thread::spawn(move || {
            catch_unwind(AssertUnwindSafe(|| {
                cache.get_with("flaky", || -> u32 {
                    started.wait();
                    wait_for(&arrived, WAITERS);
                    panic!("loader blew up");
                })
            }))
        })
    };
    started.wait(); // the leader's loader is running
    let calls = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..WAITERS)
        .map(|_| {
            let (cache, calls, arrived) = (cache.clone(), calls.clone(), arrived.clone());
            thread::spawn(move || {
                arrived.fetch_add(1, Ordering::SeqCst);
                cache
                    .get_with("flaky", || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(20));
                        99u32
                    })
                    .unwrap()
            })
        })
        .collect();
    assert!(
        leader.join().unwrap().is_err(),
        "the panic reaches the leader's caller"
    );
    for w in waiters {
        assert_eq!(w.join().unwrap(), 99, "every waiter ends with a value");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one waiter re-ran the loader"
    );
    let stats = cache.stats();
    assert_eq!(stats.loader_panics, 1);
    assert_eq!(stats.loader_calls, 2);
    assert_eq!(cache.get::<u32>("flaky").unwrap(), Some(99));
    cache.close().unwrap();
}

#[test]
fn refresh_ahead_serves_old_value_and_reloads_in_background() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let cache = tiered(MEMORY, no_checkpoints(dir.path()))
        .default_ttl(Duration::from_secs(100))
        .refresh_ahead(0.2)
        .clock(clock.clone())
        .open()
        .unwrap();

    let first: u32 = cache.get_with_refresh("rate", || 1).unwrap();
    assert_eq!(first, 1);
    assert_eq!(
        cache.ttl("rate").unwrap(),
        Some(Some(Duration::from_secs(100)))
    );

    // 70% of the TTL gone: a plain hit, no refresh.
    clock.advance(Duration::from_secs(70));
    let v: u32 = cache
        .get_with_refresh("rate", || -> u32 { panic!("no refresh before 80%") })
        .unwrap();
    assert_eq!(v, 1);
    assert_eq!(cache.stats().refreshes, 0);

    // 85% gone: the old value comes back at once; the reload runs in the background and
    // is held until we let it go, so the return cannot have waited for it.
    clock.advance(Duration::from_secs(15));
    let (release, gate) = mpsc::channel::<()>();
    let v: u32 = cache
        .get_with_refresh("rate", move || {
            gate.recv_timeout(Duration::from_secs(10)).ok();
            2
        })
        .unwrap();
    assert_eq!(v, 1, "old value served while the reload runs");
    // A second call while the reload runs starts no other one.
    let v: u32 = cache
        .get_with_refresh("rate", || -> u32 { panic!("second refresh") })
        .unwrap();
    assert_eq!(v, 1);
    assert_eq!(cache.stats().refreshes, 1);
    release.send(()).unwrap();

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if cache.get::<u32>("rate").unwrap() == Some(2) {
            break;
        }
        assert!(Instant::now() < deadline, "background reload never landed");
        thread::sleep(Duration::from_millis(5));
    }
    // The reloaded value has a fresh full TTL, on disk too.
    assert_eq!(
        cache.ttl("rate").unwrap(),
        Some(Some(Duration::from_secs(100)))
    );
    let stats = cache.stats();
    assert_eq!((stats.refreshes, stats.loader_calls), (1, 2));
    cache.close().unwrap();

    // The refresh thread holds a handle until it ends; the store closes after that.
    let deadline = Instant::now() + Duration::from_secs(5);
    let cache = loop {
        match Cache::builder()
            .disk(DiskStore::builder(dir.path()))
            .clock(clock.clone())
            .open()
        {
            Ok(cache) => break cache,
            Err(stratacache::Error::Locked { .. }) if Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("reopen: {e}"),
        }
    };
    assert_eq!(cache.get::<u32>("rate").unwrap(), Some(2));
    cache.close().unwrap();
}
