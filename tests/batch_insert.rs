//! `DiskStore::insert_many` and `Cache::insert_many_bytes`: a batch lands across segment
//! boundaries intact, survives a reopen, lets a later duplicate win, and fails as a whole
//! (writing nothing) when one item is bad.

use std::path::Path;

use stratacache::{DiskStore, Error, TierKind};

mod common;
use common::rng::incompressible;
use common::store::{no_checkpoints, tiered};

/// 1 MiB segments, so a batch of a few MiB spans several.
fn open(dir: &Path) -> DiskStore {
    no_checkpoints(dir)
        .segment_size(1 << 20)
        .open()
        .expect("open")
}

#[test]
fn a_batch_spanning_many_segments_reads_back_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    // 3 MiB of values in 1 MiB segments, sizes from 1 byte to 100 KiB (compressible and
    // raw, some past the size where single inserts write the value separately).
    let items: Vec<(String, Vec<u8>)> = (0..120u64)
        .map(|i| {
            let len = [1, 700, 4096, 30_000, 100_000][i as usize % 5];
            let v = if i % 7 == 0 {
                b"compressible text ".repeat(len / 18 + 1)
            } else {
                incompressible(i, len)
            };
            (format!("batch/{i:04}"), v)
        })
        .collect();
    let store = open(dir.path());
    store.insert_many(&items).unwrap();
    for (k, v) in &items {
        assert_eq!(
            store.get(k).unwrap().unwrap().to_vec(),
            *v,
            "{k} before reopen"
        );
    }
    let stats = store.stats().unwrap();
    assert!(stats.segments >= 3, "the batch spans segments: {stats:?}");
    assert_eq!(stats.inserts, items.len() as u64);
    store.close().unwrap();
    let store = open(dir.path());
    for (k, v) in &items {
        assert_eq!(
            store.get(k).unwrap().unwrap().to_vec(),
            *v,
            "{k} after reopen"
        );
    }
    assert!(store.verify().unwrap().bad.is_empty());
    assert_eq!(store.list("batch/").unwrap().len(), items.len());
}

#[test]
fn a_later_duplicate_in_a_batch_wins_and_older_values_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.insert("k", b"old").unwrap();
    store
        .insert_many(&[("k", &b"first"[..]), ("other", b"o"), ("k", b"second")])
        .unwrap();
    assert_eq!(&*store.get("k").unwrap().unwrap(), b"second");
    store.close().unwrap();
    let store = open(dir.path());
    assert_eq!(&*store.get("k").unwrap().unwrap(), b"second");
    assert_eq!(&*store.get("other").unwrap().unwrap(), b"o");
}

#[test]
fn one_bad_item_fails_the_whole_batch_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.insert("a", b"before").unwrap();
    let before = store.stats().unwrap();
    let err = store
        .insert_many(&[("a", &b"after"[..]), ("", b"empty key")])
        .unwrap_err();
    assert!(matches!(err, Error::EmptyKey), "{err}");
    let huge = vec![0u8; (64 << 20) + 1];
    let err = store
        .insert_many(&[("a", &b"after"[..]), ("b", &huge[..])])
        .unwrap_err();
    assert!(matches!(err, Error::ValueTooLarge { .. }), "{err}");
    assert_eq!(&*store.get("a").unwrap().unwrap(), b"before");
    assert!(store.get("b").unwrap().is_none());
    let after = store.stats().unwrap();
    assert_eq!(after.inserts, before.inserts);
    assert_eq!(after.live_bytes, before.live_bytes);
}

#[test]
fn expiring_items_in_a_batch_expire() {
    let dir = tempfile::tempdir().unwrap();
    let clock = stratacache::ManualClock::new(1_000_000);
    let store = no_checkpoints(dir.path())
        .clock(clock.clone())
        .open()
        .unwrap();
    store
        .insert_many_expiring_at(&[(b"short", b"1", 1_000_500), (b"forever", b"2", 0)])
        .unwrap();
    assert_eq!(store.expires_at("short").unwrap(), Some(1_000_500));
    clock.advance(std::time::Duration::from_secs(1));
    assert!(store.get("short").unwrap().is_none());
    assert_eq!(&*store.get("forever").unwrap().unwrap(), b"2");
}

#[test]
fn cache_insert_many_bytes_writes_every_tier_once() {
    let dir = tempfile::tempdir().unwrap();
    let open_cache = || tiered(1 << 20, no_checkpoints(dir.path())).open().unwrap();
    let items: Vec<(String, Vec<u8>)> = (0..50u64)
        .map(|i| (format!("c/{i}"), incompressible(i, 3000)))
        .collect();
    let cache = open_cache();
    cache.insert_many_bytes(&items).unwrap();
    let stats = cache.stats();
    assert_eq!(stats.tier(TierKind::Disk).unwrap().inserts, 50);
    let (k, v) = &items[7];
    let got = cache.get_bytes(k).unwrap().unwrap();
    assert_eq!((&*got, got.source()), (&v[..], TierKind::Memory));
    cache.close().unwrap();
    let cache = open_cache();
    for (k, v) in &items {
        let got = cache.get_bytes(k).unwrap().unwrap();
        assert_eq!((&*got, got.source()), (&v[..], TierKind::Disk), "{k}");
    }
    assert!(matches!(
        cache.insert_many_bytes(&[("ok", b"1"), ("", b"2")]),
        Err(Error::EmptyKey)
    ));
    assert!(cache.get_bytes("ok").unwrap().is_none());
}
