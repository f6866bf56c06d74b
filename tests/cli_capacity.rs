//! The CLI keeps its word about capacity and busy stores: a value that cannot fit is
//! refused, an acknowledged put reads back at once, reading never changes a store,
//! changing the capacity says what it evicted, and a store held by another process has
//! its own exit code and can be waited for.

use std::path::Path;
use std::time::{Duration, Instant};

use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::cli::{put, sc, setup};
use common::rng::incompressible;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn stats(store: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    let out = sc(store).args(["stats", "--json"]).assert().success();
    Ok(serde_json::from_slice(&out.get_output().stdout)?)
}

#[test]
fn a_value_larger_than_the_capacity_is_refused_and_later_puts_read_back() -> TestResult {
    let (_tmp, store) = setup();
    sc(&store)
        .args(["--capacity", "1MiB", "put", "big"])
        .write_stdin(incompressible(1, 5_000_000))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not fit in the store"))
        .stderr(predicate::str::contains("capacity 1048576 bytes"));
    sc(&store).args(["get", "big"]).assert().code(1);
    put(&store, "medium", &incompressible(2, 300_000));
    sc(&store).args(["get", "medium"]).assert().success();
    for i in 0..8 {
        let key = format!("k{i}");
        put(&store, &key, format!("v{i}").as_bytes());
        sc(&store)
            .args(["get", &key])
            .assert()
            .success()
            .stdout(format!("v{i}"));
    }
    Ok(())
}

#[test]
fn reading_never_changes_the_capacity() -> TestResult {
    let (_tmp, store) = setup();
    sc(&store)
        .args(["--capacity", "64MiB", "put", "k"])
        .write_stdin("v")
        .assert()
        .success();
    for command in [&["stats"][..], &["ls"], &["get", "k"], &["verify"]] {
        sc(&store)
            .args(["--capacity", "16MiB"])
            .args(command)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("only reads it"));
    }
    assert_eq!(stats(&store)?["capacity_bytes"], 64u64 << 20);
    Ok(())
}

#[test]
fn changing_the_capacity_evicts_down_to_it_at_once_and_says_so() -> TestResult {
    let (_tmp, store) = setup();
    sc(&store)
        .args(["--capacity", "64MiB", "put", "first"])
        .write_stdin("1")
        .assert()
        .success();
    for i in 0..40 {
        put(&store, &format!("doc/{i:02}"), &incompressible(i, 1 << 20));
    }
    assert_eq!(stats(&store)?["evictions"], 0);
    sc(&store)
        .args(["--capacity", "16MiB", "sweep"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "capacity changed from 64.0 MiB to 16.0 MiB; evicted",
        ));
    let after = stats(&store)?;
    assert_eq!(after["capacity_bytes"], 16u64 << 20);
    assert!(after["evictions"].as_u64().unwrap() >= 20, "{after}");
    assert!(
        after["disk_bytes"].as_u64().unwrap() <= 16 << 20,
        "over the new capacity at once: {after}"
    );
    Ok(())
}

#[test]
fn a_busy_store_has_its_own_exit_code_and_can_be_waited_for() -> TestResult {
    let (_tmp, store) = setup();
    put(&store, "k", b"v");
    let held = stratacache::DiskStore::builder(&store).open()?;
    sc(&store)
        .args(["get", "k"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(format!(
            "locked by another process (pid {})",
            std::process::id()
        )))
        .stderr(predicate::str::contains("--wait"));
    let started = Instant::now();
    sc(&store)
        .args(["--wait", "300ms", "get", "k"])
        .assert()
        .code(4);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(held);
    });
    sc(&store)
        .args(["--wait", "20s", "get", "k"])
        .assert()
        .success()
        .stdout("v");
    release.join().expect("release thread");
    Ok(())
}
