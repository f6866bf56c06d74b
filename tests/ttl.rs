//! TTL: an expired entry is a miss at once; the sweep deletes it and gives the space back.
//!
//! Time comes from an injected `ManualClock`, so nothing here sleeps to wait for expiry.
//! Stores are opened with the background sweeper and maintenance off, so only explicit calls
//! act, except in the test of the background sweeper itself. Specified here:
//! - an entry with a TTL is a hit before its expiry and a miss (`get`, `contains_key`,
//!   `expires_at`) from the moment the clock reaches it, before any sweep; entries without a
//!   TTL never expire; `expires_at` reports the absolute expiry (0 for none);
//! - `sweep_expired()` returns how many it removed, counts them in `stats().expirations`,
//!   shrinks `entries`, and a second sweep finds nothing; an overwrite replaces the expiry
//!   (no TTL keeps the key alive, a new TTL is the one that counts, longer or shorter);
//! - after expiry, sweep and compaction the disk space is returned;
//! - the expiry is absolute and survives reopen;
//! - the background sweeper removes expired entries without any call.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use stratacache::{DiskStore, ManualClock};

mod common;
use common::store::quiet_with_clock;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// 2023-11-14T22:13:20Z: a realistic "now" in ms since the epoch.
const START_MS: u64 = 1_700_000_000_000;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn expired_entry_is_a_miss_before_any_sweep() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(START_MS);
    let store = quiet_with_clock(dir.path(), &clock).open()?;

    store.insert_with_ttl("ttl", b"short-lived", secs(10))?;
    store.insert("forever", b"no expiry")?;
    assert_eq!(store.expires_at("ttl")?, Some(START_MS + 10_000));
    assert_eq!(store.expires_at("forever")?, Some(0));
    assert_eq!(store.expires_at("absent")?, None);

    // One millisecond before expiry: still a hit.
    clock.advance(Duration::from_millis(9_999));
    assert_eq!(store.get("ttl")?.as_deref(), Some(&b"short-lived"[..]));
    assert!(store.contains_key("ttl")?);

    // At the expiry instant and after: a miss everywhere, though nothing was swept.
    clock.advance(Duration::from_millis(1));
    assert!(store.get("ttl")?.is_none(), "expired at its expiry instant");
    assert!(!store.contains_key("ttl")?);
    assert_eq!(store.expires_at("ttl")?, None);
    clock.advance(Duration::from_millis(1));
    let misses_before = store.stats()?.misses;
    assert!(store.get("ttl")?.is_none());
    assert!(!store.contains_key("ttl")?);
    let stats = store.stats()?;
    assert_eq!(stats.misses, misses_before + 1, "an expired read is a miss");
    assert_eq!(stats.entries, 2, "expired entries count until swept");
    assert_eq!(stats.expirations, 0, "nothing was swept yet");

    // Removing an expired key is not reported as removing a live value.
    assert!(!store.remove("ttl")?);

    // Entries without a TTL are untouched forever (well, for a thousand years).
    clock.advance(Duration::from_secs(1000 * 365 * 24 * 3600));
    assert_eq!(store.get("forever")?.as_deref(), Some(&b"no expiry"[..]));
    assert!(store.contains_key("forever")?);
    assert_eq!(store.expires_at("forever")?, Some(0));
    assert_eq!(store.sweep_expired()?, 0);
    assert_eq!(store.get("forever")?.as_deref(), Some(&b"no expiry"[..]));
    Ok(())
}

#[test]
fn absolute_expiry_via_insert_expiring_at() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(START_MS);
    let store = quiet_with_clock(dir.path(), &clock).open()?;
    store.insert_expiring_at("past", b"already gone", START_MS - 1)?;
    store.insert_expiring_at("future", b"later", START_MS + 500)?;
    assert!(store.get("past")?.is_none());
    assert_eq!(store.expires_at("future")?, Some(START_MS + 500));
    assert!(store.get("future")?.is_some());
    clock.advance(Duration::from_millis(500));
    assert!(store.get("future")?.is_none());
    assert_eq!(store.sweep_expired()?, 2);
    assert_eq!(store.stats()?.entries, 0);
    Ok(())
}

#[test]
fn sweep_counts_and_removes_only_expired_entries() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(START_MS);
    let store = quiet_with_clock(dir.path(), &clock).open()?;

    // More expired entries than one sweep batch (1024), to cover batching.
    const SHORT: usize = 3000;
    for i in 0..SHORT {
        store.insert_with_ttl(format!("short/{i}"), format!("v{i}").as_bytes(), secs(10))?;
    }
    for i in 0..50 {
        store.insert(format!("plain/{i}"), format!("p{i}").as_bytes())?;
    }
    for i in 0..20 {
        store.insert_with_ttl(format!("long/{i}"), format!("l{i}").as_bytes(), secs(60))?;
    }
    // TTL keys overwritten before they expire.
    store.insert_with_ttl("becomes-plain", b"old", secs(10))?;
    store.insert_with_ttl("gets-longer", b"old", secs(10))?;
    store.insert_with_ttl("gets-shorter", b"old", secs(100))?;
    store.insert("becomes-plain", b"new, no ttl")?;
    store.insert_with_ttl("gets-longer", b"new, 100 s", secs(100))?;
    store.insert_with_ttl("gets-shorter", b"new, 5 s", secs(5))?;
    assert_eq!(store.expires_at("becomes-plain")?, Some(0));
    assert_eq!(store.expires_at("gets-longer")?, Some(START_MS + 100_000));
    assert_eq!(store.expires_at("gets-shorter")?, Some(START_MS + 5_000));

    // Nothing has expired yet.
    assert_eq!(store.sweep_expired()?, 0);
    let before = store.stats()?;
    assert_eq!(before.entries, (SHORT + 50 + 20 + 3) as u64);
    assert_eq!(before.expirations, 0);

    clock.advance(secs(11));
    let swept = store.sweep_expired()?;
    assert_eq!(swept, SHORT + 1, "the short ones and gets-shorter");
    let after = store.stats()?;
    assert_eq!(after.expirations, before.expirations + swept as u64);
    assert_eq!(after.entries, before.entries - swept as u64);
    assert_eq!(store.sweep_expired()?, 0, "a second sweep finds nothing");
    assert_eq!(store.stats()?.expirations, after.expirations);

    for i in (0..SHORT).step_by(97) {
        assert!(store.get(format!("short/{i}"))?.is_none());
    }
    for i in 0..50 {
        assert_eq!(
            store.get(format!("plain/{i}"))?.as_deref(),
            Some(format!("p{i}").as_bytes())
        );
    }
    for i in 0..20 {
        assert_eq!(
            store.get(format!("long/{i}"))?.as_deref(),
            Some(format!("l{i}").as_bytes())
        );
    }
    assert_eq!(
        store.get("becomes-plain")?.as_deref(),
        Some(&b"new, no ttl"[..])
    );
    assert_eq!(
        store.get("gets-longer")?.as_deref(),
        Some(&b"new, 100 s"[..])
    );
    assert!(store.get("gets-shorter")?.is_none());

    // The longer TTLs run out later, and only then are swept.
    clock.advance(secs(50)); // t = 61 s
    assert_eq!(store.sweep_expired()?, 20);
    assert_eq!(
        store.get("gets-longer")?.as_deref(),
        Some(&b"new, 100 s"[..])
    );
    clock.advance(secs(40)); // t = 101 s
    assert!(store.get("gets-longer")?.is_none());
    assert_eq!(store.sweep_expired()?, 1);
    let end = store.stats()?;
    assert_eq!(end.entries, 51, "50 plain + becomes-plain");
    assert_eq!(end.expirations, (SHORT + 1 + 20 + 1) as u64);
    assert!(store.verify()?.is_ok());

    // The sweep is durable: after reopen the swept keys are still gone.
    drop(store);
    let store = quiet_with_clock(dir.path(), &clock).open()?;
    assert_eq!(store.stats()?.entries, 51);
    assert!(store.get("short/0")?.is_none());
    assert_eq!(store.sweep_expired()?, 0);
    Ok(())
}

#[test]
fn expiry_sweep_and_compaction_return_the_space() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(START_MS);
    let store = quiet_with_clock(dir.path(), &clock)
        .segment_size(1 << 20)
        .open()?;
    let seed = 0x7711_u64;
    println!("seed {seed:#x}");
    let mut rng = StdRng::seed_from_u64(seed);

    // 20 MiB of incompressible values with a TTL, and a few small ones without.
    let mut value = vec![0u8; 16 << 10];
    for i in 0..1280 {
        rng.fill_bytes(&mut value);
        store.insert_with_ttl(format!("ttl/{i}"), &value, secs(30))?;
    }
    for i in 0..10 {
        store.insert(format!("keep/{i}"), format!("kept {i}").as_bytes())?;
    }
    store.flush()?;
    let full = store.stats()?;
    println!("before expiry: {full:?}");
    assert!(full.disk_bytes >= 20 << 20, "{full:?}");

    clock.advance(secs(31));
    assert_eq!(store.sweep_expired()?, 1280);
    let report = store.compact()?;
    println!("compact: {report:?}");
    let after = store.stats()?;
    println!("after sweep + compact: {after:?}");
    assert_eq!(after.entries, 10);
    assert!(
        after.disk_bytes * 4 < full.disk_bytes,
        "disk bytes {} not below 25% of {}",
        after.disk_bytes,
        full.disk_bytes
    );
    for i in 0..10 {
        assert_eq!(
            store.get(format!("keep/{i}"))?.as_deref(),
            Some(format!("kept {i}").as_bytes())
        );
    }
    assert!(store.verify()?.is_ok());

    // And it stays that way after reopen.
    drop(store);
    let store = quiet_with_clock(dir.path(), &clock).open()?;
    let reopened = store.stats()?;
    assert!(reopened.disk_bytes * 4 < full.disk_bytes, "{reopened:?}");
    assert_eq!(store.get("keep/3")?.as_deref(), Some(&b"kept 3"[..]));
    Ok(())
}

#[test]
fn compaction_alone_drops_expired_records() -> TestResult {
    // Without a sweep, compact_all() must not carry expired entries forward, and must not
    // bring them back either.
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(START_MS);
    let store = quiet_with_clock(dir.path(), &clock)
        .segment_size(1 << 20)
        .open()?;
    let mut rng = StdRng::seed_from_u64(0x7712);
    let mut value = vec![0u8; 16 << 10];
    for i in 0..320 {
        rng.fill_bytes(&mut value);
        store.insert_with_ttl(format!("ttl/{i}"), &value, secs(30))?;
    }
    store.insert("keep", b"kept")?;
    clock.advance(secs(31));
    let before = store.stats()?;
    store.compact_all()?;
    let after = store.stats()?;
    println!("before {before:?}\nafter {after:?}");
    assert!(store.get("ttl/0")?.is_none());
    assert_eq!(store.get("keep")?.as_deref(), Some(&b"kept"[..]));
    assert!(after.disk_bytes * 4 < before.disk_bytes, "{after:?}");
    assert!(store.verify()?.is_ok());
    // Whatever compaction did with the expired entries, a sweep leaves only "keep".
    store.sweep_expired()?;
    assert_eq!(store.stats()?.entries, 1);
    Ok(())
}

#[test]
fn expiry_is_absolute_and_survives_reopen() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(START_MS);
    {
        let store = quiet_with_clock(dir.path(), &clock).open()?;
        store.insert_with_ttl("ten", b"10 s", secs(10))?;
        store.insert_with_ttl("hundred", b"100 s", secs(100))?;
        store.insert("forever", b"none")?;
        store.close()?;
    }
    // Five seconds pass while the store is closed: the TTL kept running.
    clock.advance(secs(5));
    {
        let store = quiet_with_clock(dir.path(), &clock).open()?;
        assert_eq!(store.expires_at("ten")?, Some(START_MS + 10_000));
        assert_eq!(store.expires_at("hundred")?, Some(START_MS + 100_000));
        assert_eq!(store.expires_at("forever")?, Some(0));
        assert_eq!(store.get("ten")?.as_deref(), Some(&b"10 s"[..]));
        clock.advance(secs(5)); // t = 10 s
        assert!(store.get("ten")?.is_none());
        assert!(!store.contains_key("ten")?);
        assert!(store.get("hundred")?.is_some());
        store.close()?;
    }
    // Expired while closed: a miss right after open, before any sweep.
    clock.advance(secs(200));
    let store = quiet_with_clock(dir.path(), &clock).open()?;
    assert_eq!(store.stats()?.entries, 3, "nothing swept yet");
    assert!(store.get("ten")?.is_none());
    assert!(store.get("hundred")?.is_none());
    assert!(!store.contains_key("hundred")?);
    assert_eq!(store.expires_at("hundred")?, None);
    assert_eq!(store.get("forever")?.as_deref(), Some(&b"none"[..]));
    assert_eq!(store.sweep_expired()?, 2);
    assert_eq!(store.stats()?.entries, 1);
    Ok(())
}

#[test]
fn background_sweeper_removes_expired_entries() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(START_MS);
    let store = DiskStore::builder(dir.path())
        .clock(clock.clone())
        .sweep_interval(Some(Duration::from_millis(20)))
        .checkpoint_interval(Some(Duration::from_millis(10)))
        .background_maintenance(false)
        .open()?;
    for i in 0..2000 {
        store.insert_with_ttl(format!("ttl/{i}"), format!("v{i}").as_bytes(), secs(60))?;
    }
    for i in 0..10 {
        store.insert(format!("plain/{i}"), b"plain")?;
    }
    // The sweeper runs, but nothing is due yet.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(store.stats()?.entries, 2010);

    clock.advance(secs(61));
    let deadline = Instant::now() + Duration::from_secs(5);
    let stats = loop {
        let stats = store.stats()?;
        if stats.entries == 10 {
            break stats;
        }
        assert!(
            Instant::now() < deadline,
            "background sweeper did not remove the expired entries: {stats:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(stats.expirations, 2000);
    for i in 0..10 {
        assert!(store.contains_key(format!("plain/{i}"))?);
    }
    // The sweep was checkpointed: it holds after reopen.
    drop(store);
    let store = quiet_with_clock(dir.path(), &clock).open()?;
    assert_eq!(store.stats()?.entries, 10);
    Ok(())
}
