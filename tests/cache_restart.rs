//! A cache closed and reopened over the same directory: the memory tier starts empty, values
//! come from disk and are promoted (the next get is a memory hit), and a value keeps its
//! remaining TTL through the restart and the promotion.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stratacache::{Cache, DiskStore, ManualClock, Promotion, TierKind};

mod common;
use common::store::{DISK_CAPACITY, MEMORY, no_checkpoints, no_timers, tiered};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Page {
    title: String,
    words: Vec<String>,
    views: u64,
}

/// A cache whose time is `clock`, over a disk tier without timers.
fn open(dir: &Path, clock: &Arc<ManualClock>) -> Cache {
    tiered(MEMORY, no_timers(dir).capacity_bytes(DISK_CAPACITY))
        .clock(clock.clone())
        .open()
        .expect("open cache")
}

fn tier(cache: &Cache, kind: TierKind) -> stratacache::TierStats {
    cache.stats().tier(kind).cloned().expect("tier configured")
}

#[test]
fn memory_is_empty_after_reopen_and_disk_hits_are_promoted() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let cache = open(dir.path(), &clock);
    for i in 0..20u64 {
        let page = Page {
            title: format!("page {i}"),
            words: vec!["a".into(); i as usize],
            views: i,
        };
        cache.insert(format!("page/{i}"), &page).unwrap();
    }
    assert_eq!(tier(&cache, TierKind::Memory).entries, Some(20));
    cache.close().unwrap();

    let cache = open(dir.path(), &clock);
    let memory = tier(&cache, TierKind::Memory);
    assert_eq!(memory.entries, Some(0), "memory tier starts empty");
    assert_eq!(memory.size_bytes, Some(0));
    assert_eq!(tier(&cache, TierKind::Disk).entries, Some(20));

    for i in 0..20u64 {
        let key = format!("page/{i}");
        let first: Page = cache.get(&key).unwrap().expect("served from disk");
        assert_eq!(first.views, i);
        assert_eq!(first.words.len(), i as usize);
        let second: Page = cache.get(&key).unwrap().expect("served from memory");
        assert_eq!(second, first);
    }
    let (memory, disk) = (tier(&cache, TierKind::Memory), tier(&cache, TierKind::Disk));
    assert_eq!(disk.hits, 20, "each first get came from disk");
    assert_eq!(memory.hits, 20, "each second get came from memory");
    assert_eq!(memory.misses, 20);
    assert_eq!(memory.promotions, 20);
    assert_eq!(memory.entries, Some(20));
    assert_eq!(cache.stats().misses, 0);
    cache.close().unwrap();
}

#[test]
fn remaining_ttl_survives_restart_and_promotion() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let cache = open(dir.path(), &clock);
    cache
        .insert_with_ttl("session", &"alice", Duration::from_secs(100))
        .unwrap();
    cache.insert("forever", &1u8).unwrap();
    assert_eq!(
        cache.ttl("session").unwrap(),
        Some(Some(Duration::from_secs(100)))
    );
    cache.close().unwrap();

    clock.advance(Duration::from_secs(30));
    let cache = open(dir.path(), &clock);
    assert_eq!(tier(&cache, TierKind::Memory).entries, Some(0));
    assert_eq!(
        cache.get::<String>("session").unwrap().as_deref(),
        Some("alice")
    );
    assert_eq!(tier(&cache, TierKind::Memory).promotions, 1);
    clock.advance(Duration::from_secs(10));
    // Now answered from the promoted memory copy: 60 s left, not a fresh 100 s.
    let before = tier(&cache, TierKind::Memory).hits;
    assert_eq!(
        cache.get::<String>("session").unwrap().as_deref(),
        Some("alice")
    );
    assert_eq!(tier(&cache, TierKind::Memory).hits, before + 1);
    assert_eq!(
        cache.ttl("session").unwrap(),
        Some(Some(Duration::from_secs(60)))
    );
    assert_eq!(cache.ttl("forever").unwrap(), Some(None));
    assert_eq!(cache.ttl("absent").unwrap(), None);

    // The memory copy expires when the disk copy does.
    clock.advance(Duration::from_secs(60));
    assert_eq!(cache.get::<String>("session").unwrap(), None);
    assert_eq!(cache.ttl("session").unwrap(), None);
    assert!(!cache.disk_store().unwrap().contains_key("session").unwrap());
    cache.close().unwrap();

    // And stays expired after another restart.
    let cache = open(dir.path(), &clock);
    assert_eq!(cache.get::<String>("session").unwrap(), None);
    assert_eq!(cache.get::<u8>("forever").unwrap(), Some(1));
    cache.close().unwrap();
}

#[test]
fn default_ttl_applies_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(5_000);
    let open_with_default = || {
        tiered(1 << 20, no_checkpoints(dir.path()))
            .default_ttl(Duration::from_secs(60))
            .clock(clock.clone())
            .open()
            .unwrap()
    };
    let cache = open_with_default();
    cache.insert("defaulted", &1u32).unwrap();
    cache
        .insert_with_ttl("explicit", &2u32, Duration::from_secs(10))
        .unwrap();
    assert_eq!(
        cache.ttl("defaulted").unwrap(),
        Some(Some(Duration::from_secs(60)))
    );
    assert_eq!(
        cache.ttl("explicit").unwrap(),
        Some(Some(Duration::from_secs(10)))
    );
    cache.close().unwrap();

    clock.advance(Duration::from_secs(59));
    let cache = open_with_default();
    assert_eq!(
        cache.ttl("defaulted").unwrap(),
        Some(Some(Duration::from_secs(1)))
    );
    assert_eq!(cache.get::<u32>("explicit").unwrap(), None);
    assert_eq!(cache.get::<u32>("defaulted").unwrap(), Some(1));
    clock.advance(Duration::from_secs(1));
    assert_eq!(cache.get::<u32>("defaulted").unwrap(), None);
    cache.close().unwrap();
}

#[test]
fn disk_only_cache_without_clock_keeps_values() {
    // No `.clock(..)`: the disk tier must still be there (the builder once dropped it).
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::builder()
        .memory(1 << 20)
        .disk(DiskStore::builder(dir.path()))
        .open()
        .unwrap();
    assert!(cache.disk_store().is_some());
    cache.insert_bytes("raw", b"\x00\x01bytes").unwrap();
    cache.close().unwrap();
    let cache = Cache::builder()
        .disk(DiskStore::builder(dir.path()))
        .open()
        .unwrap();
    assert_eq!(
        cache.get_bytes("raw").unwrap().unwrap().to_vec(),
        b"\x00\x01bytes"
    );
    cache.close().unwrap();
}

/// `Promotion::AfterHits` counts lower-tier hits across restarts: the counts are saved with
/// the disk store when the cache closes (or its last handle drops) and loaded at open.
#[test]
fn after_hits_counts_survive_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let open_after = |n| {
        tiered(MEMORY, no_timers(dir.path()).capacity_bytes(DISK_CAPACITY))
            .clock(clock.clone())
            .promotion(Promotion::AfterHits(n))
            .open()
    };
    let cache = open_after(3).unwrap();
    cache.insert_bytes("warm", b"v").unwrap();
    cache.insert_bytes("once", b"v").unwrap();
    cache.close().unwrap();

    // One disk hit per session: the third promotes, although each session saw one.
    for session in 1..=3u64 {
        let cache = open_after(3).unwrap();
        assert_eq!(&*cache.get_bytes("warm").unwrap().unwrap(), b"v");
        assert_eq!(tier(&cache, TierKind::Disk).hits, 1);
        let promoted = tier(&cache, TierKind::Memory).promotions;
        assert_eq!(promoted, u64::from(session == 3), "session {session}");
        if session == 1 {
            assert!(cache.get_bytes("once").unwrap().is_some());
        }
        // The last handle dropped without close() saves the counts too.
        drop(cache);
    }
    let cache = open_after(3).unwrap();
    assert!(cache.get_bytes("once").unwrap().is_some());
    assert_eq!(
        tier(&cache, TierKind::Memory).promotions,
        0,
        "a key read once before is at two hits"
    );
    cache.close().unwrap();

    let refused = open_after(16).unwrap_err();
    assert!(refused.to_string().contains("AfterHits(16)"), "{refused}");
}
