//! `get_with_async` and `try_get_with_async`: one loader run per key across tasks and
//! threads, errors to every waiter, a dropped leader taken over, hits answered at once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::store::{MEMORY, open_tiered, quiet};
use stratacache::{Cache, LoadError};

fn cache() -> (tempfile::TempDir, Cache) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open_tiered(MEMORY, quiet(dir.path()));
    (dir, cache)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("runtime")
}

#[test]
fn a_thousand_tasks_run_the_loader_once() {
    let (_dir, cache) = cache();
    let calls = Arc::new(AtomicUsize::new(0));
    let rt = runtime();
    let values: Vec<String> = rt.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                tokio::spawn(async move {
                    cache
                        .get_with_async("ocr/doc-1", || async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            "recognized text".to_string()
                        })
                        .await
                        .expect("get_with_async")
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    });
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one loader run for 1000 tasks"
    );
    assert!(values.iter().all(|v| v == "recognized text"));
    // Now a hit, from the tiers.
    let again: String = rt
        .block_on(cache.get_with_async("ocr/doc-1", || async { unreachable!("a hit") }))
        .expect("hit");
    assert_eq!(again, "recognized text");
    assert_eq!(
        cache.get::<String>("ocr/doc-1").expect("get").as_deref(),
        Some("recognized text")
    );
}

#[derive(Debug, PartialEq)]
struct OcrFailed(&'static str);

#[test]
fn a_failing_loader_reaches_every_waiter_and_is_not_cached() {
    let (_dir, cache) = cache();
    let calls = Arc::new(AtomicUsize::new(0));
    let rt = runtime();
    let errors = rt.block_on(async {
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                tokio::spawn(async move {
                    cache
                        .try_get_with_async::<String, _, _, _>("doc-2", || async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(30)).await;
                            Err(OcrFailed("tesseract exited 1"))
                        })
                        .await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    for e in errors {
        match e {
            Err(LoadError::Loader(e)) => assert_eq!(*e, OcrFailed("tesseract exited 1")),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        cache.get::<String>("doc-2").expect("get"),
        None,
        "errors are not cached"
    );
}

#[test]
fn threads_and_tasks_share_one_flight() {
    let (_dir, cache) = cache();
    let calls = Arc::new(AtomicUsize::new(0));
    let thread = {
        let (cache, calls) = (cache.clone(), calls.clone());
        std::thread::spawn(move || {
            cache
                .get_with("shared", || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(200));
                    7u32
                })
                .expect("get_with")
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let rt = runtime();
    let from_tasks: Vec<u32> = rt.block_on(async {
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                tokio::spawn(async move {
                    cache
                        .get_with_async("shared", || async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            8u32
                        })
                        .await
                        .expect("get_with_async")
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    });
    assert_eq!(thread.join().expect("thread"), 7);
    assert!(
        from_tasks.iter().all(|&v| v == 7),
        "the tasks got the thread's value"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn a_dropped_leader_is_taken_over() {
    let (_dir, cache) = cache();
    let calls = Arc::new(AtomicUsize::new(0));
    let rt = runtime();
    let value = rt.block_on(async {
        let leader = {
            let (cache, calls) = (cache.clone(), calls.clone());
            tokio::spawn(async move {
                cache
                    .get_with_async("k", || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        1u32
                    })
                    .await
            })
        };
        // Until the leader's loader runs (a loaded machine may start the task late).
        while calls.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let waiter = {
            let (cache, calls) = (cache.clone(), calls.clone());
            tokio::spawn(async move {
                cache
                    .get_with_async("k", || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        2u32
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        leader.abort();
        waiter.await.expect("task").expect("value")
    });
    assert_eq!(value, 2, "the waiter led the next attempt");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
