//! The public `Cache` API surface: typed values (a serde struct), raw bytes, key types, and
//! the errors for bad input and bad configuration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stratacache::{Cache, DiskStore, Error, TierKind, WritePolicy};

mod common;
use common::store::{MEMORY, no_checkpoints, open_tiered, tiered};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Status {
    Draft,
    Published { at: u64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Article {
    id: u64,
    title: String,
    tags: Vec<String>,
    score: f64,
    status: Status,
    meta: BTreeMap<String, Option<i32>>,
    thumbnail: Option<Vec<u8>>,
}

fn article(id: u64) -> Article {
    Article {
        id,
        title: format!("Article №{id} — ünïcode"),
        tags: vec!["rust".into(), "cache".into()],
        score: 0.25 * id as f64,
        status: if id.is_multiple_of(2) {
            Status::Draft
        } else {
            Status::Published {
                at: 1_700_000_000 + id,
            }
        },
        meta: [("views".to_string(), Some(-3)), ("x".to_string(), None)].into(),
        thumbnail: id.is_multiple_of(3).then(|| vec![0, 255, 7]),
    }
}

#[test]
fn typed_struct_round_trips_through_every_tier() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(MEMORY, no_checkpoints(dir.path()));
    for id in 0..6 {
        cache.insert(format!("article/{id}"), &article(id)).unwrap();
    }
    for id in 0..6 {
        let got: Article = cache.get(format!("article/{id}")).unwrap().unwrap();
        assert_eq!(got, article(id));
    }
    cache.close().unwrap();
    let cache = open_tiered(MEMORY, no_checkpoints(dir.path()));
    for id in 0..6 {
        let from_disk: Option<Article> = cache.get(format!("article/{id}")).unwrap();
        assert_eq!(from_disk, Some(article(id)));
    }
    assert_eq!(cache.stats().tiers[1].hits, 6, "served from disk");
    cache.close().unwrap();
}

#[test]
fn a_read_says_which_tier_answered() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(MEMORY, no_checkpoints(dir.path()));
    cache.insert_bytes("k", b"v").unwrap();
    assert_eq!(
        cache.get_bytes("k").unwrap().unwrap().source(),
        TierKind::Memory
    );
    cache.close().unwrap();
    let cache = open_tiered(MEMORY, no_checkpoints(dir.path()));
    let first = cache.get_bytes("k").unwrap().unwrap();
    assert_eq!((&*first, first.source()), (&b"v"[..], TierKind::Disk));
    // The disk hit was promoted (Promotion::Always): the next read is a memory hit.
    assert_eq!(
        cache.get_bytes("k").unwrap().unwrap().source(),
        TierKind::Memory
    );
    cache.close().unwrap();
}

#[test]
fn the_memory_tier_keeps_values_up_to_its_shard_size() {
    // 64 MiB of memory: quick_cache shards it, and rejects a value heavier than a shard;
    // shards are at least 16 MiB, so a 12 MiB OCR result stays in memory.
    let dir = tempfile::tempdir().unwrap();
    let cache = tiered(64 << 20, no_checkpoints(dir.path())).open().unwrap();
    let big: Vec<u8> = (0..12u32 << 20).map(|i| (i % 251) as u8).collect();
    cache.insert_bytes("big", &big).unwrap();
    let got = cache.get_bytes("big").unwrap().unwrap();
    assert_eq!((got.len(), got.source()), (big.len(), TierKind::Memory));
    assert_eq!(
        cache.stats().tier(TierKind::Memory).unwrap().evictions.size,
        0
    );
    // A small tier keeps a value of most of its budget.
    let small = Cache::builder().memory(4 << 20).open().unwrap();
    small.insert_bytes("v", &big[..3 << 20]).unwrap();
    assert_eq!(small.get_bytes("v").unwrap().unwrap().len(), 3 << 20);
}

#[test]
fn raw_bytes_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(MEMORY, no_checkpoints(dir.path()));
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    cache.insert_bytes("empty", b"").unwrap();
    cache.insert_bytes("bin", &[0, 1, 2, 0xC7, 0xFF]).unwrap();
    cache.insert_bytes("big", &big).unwrap();
    assert_eq!(cache.get_bytes("empty").unwrap().unwrap().len(), 0);
    assert_eq!(
        &*cache.get_bytes("bin").unwrap().unwrap(),
        &[0, 1, 2, 0xC7, 0xFF]
    );
    assert_eq!(cache.get_bytes("big").unwrap().unwrap().to_vec(), big);
    assert!(cache.get_bytes("absent").unwrap().is_none());
    cache.close().unwrap();
    let cache = open_tiered(MEMORY, no_checkpoints(dir.path()));
    assert_eq!(cache.get_bytes("big").unwrap().unwrap().as_ref(), &big[..]);
    assert_eq!(cache.get_bytes("empty").unwrap().unwrap().to_vec(), b"");
    cache.close().unwrap();
}

#[test]
fn every_key_type_names_the_same_key() {
    let cache = Cache::builder().memory(1 << 20).open().unwrap();
    cache.insert("key", &1u8).unwrap();
    assert_eq!(cache.get::<u8>(String::from("key")).unwrap(), Some(1));
    let owned: Vec<u8> = b"key".into();
    assert_eq!(cache.get::<u8>(owned).unwrap(), Some(1));
    assert_eq!(cache.get::<u8>(&b"key"[..]).unwrap(), Some(1));
    // Binary keys work too.
    cache.insert(&[0u8, 159, 146, 150][..], &2u8).unwrap();
    assert_eq!(cache.get::<u8>(vec![0u8, 159, 146, 150]).unwrap(), Some(2));
}

#[test]
fn bad_keys_are_rejected_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::builder()
        .memory(1 << 20)
        .disk(DiskStore::builder(dir.path()).max_key_len(16))
        .open()
        .unwrap();
    let long = "k".repeat(17);
    let ok = "k".repeat(16);
    cache.insert(&ok, &1u8).unwrap();
    assert_eq!(cache.get::<u8>(&ok).unwrap(), Some(1));

    assert!(matches!(cache.insert("", &1u8), Err(Error::EmptyKey)));
    assert!(matches!(cache.get::<u8>(""), Err(Error::EmptyKey)));
    assert!(matches!(cache.get_bytes(""), Err(Error::EmptyKey)));
    assert!(matches!(cache.remove(""), Err(Error::EmptyKey)));
    assert!(matches!(cache.contains_key(""), Err(Error::EmptyKey)));
    assert!(matches!(cache.ttl(""), Err(Error::EmptyKey)));
    assert!(matches!(cache.get_with("", || 1u8), Err(Error::EmptyKey)));
    assert!(matches!(
        cache.insert(&long, &1u8),
        Err(Error::KeyTooLong { len: 17, max: 16 })
    ));
    assert!(matches!(
        cache.insert_bytes(&long, b"v"),
        Err(Error::KeyTooLong { .. })
    ));
    assert!(matches!(
        cache.get::<u8>(&long),
        Err(Error::KeyTooLong { .. })
    ));
    let mut ran = false;
    assert!(matches!(
        cache.get_with(&long, || {
            ran = true;
            1u8
        }),
        Err(Error::KeyTooLong { .. })
    ));
    assert!(!ran, "no loader for a bad key");
    let stats = cache.stats();
    assert_eq!(
        (stats.inserts, stats.misses),
        (1, 0),
        "bad calls count nothing"
    );

    // Without a disk tier the default limit is 4 KiB.
    let memory_only = Cache::builder().memory(1 << 20).open().unwrap();
    memory_only.insert("k".repeat(4096), &1u8).unwrap();
    assert!(matches!(
        memory_only.insert("k".repeat(4097), &1u8),
        Err(Error::KeyTooLong { max: 4096, .. })
    ));
}

#[test]
fn bad_configurations_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let config_error = |r: stratacache::Result<Cache>| match r {
        Err(Error::Config(message)) => message,
        Err(e) => panic!("expected a config error, got {e}"),
        Ok(_) => panic!("expected a config error, got a cache"),
    };

    let m = config_error(
        Cache::builder()
            .memory(1 << 20)
            .tier_order([TierKind::Memory, TierKind::Disk])
            .open(),
    );
    assert!(m.contains("disk") && m.contains("not configured"), "{m}");
    let m = config_error(
        Cache::builder()
            .memory(1 << 20)
            .disk(DiskStore::builder(dir.path()))
            .tier_order([TierKind::Memory, TierKind::Redis, TierKind::Disk])
            .open(),
    );
    assert!(m.contains("redis"), "{m}");
    let m = config_error(
        Cache::builder()
            .memory(1 << 20)
            .disk(DiskStore::builder(dir.path()))
            .tier_order([TierKind::Disk])
            .open(),
    );
    assert!(m.contains("leaves out"), "{m}");
    let m = config_error(
        Cache::builder()
            .memory(1 << 20)
            .tier_order([TierKind::Memory, TierKind::Memory])
            .open(),
    );
    assert!(m.contains("twice"), "{m}");
    let m = config_error(
        Cache::builder()
            .disk(DiskStore::builder(dir.path()))
            .write_policy(WritePolicy::WriteBack)
            .open(),
    );
    assert!(m.contains("WriteBack"), "{m}");
    config_error(Cache::builder().open());
    config_error(Cache::builder().memory(0).open());
    for fraction in [0.0, 1.0, -0.5, 2.0, f64::NAN] {
        config_error(
            Cache::builder()
                .memory(1 << 20)
                .refresh_ahead(fraction)
                .open(),
        );
    }

    // None of the failed opens left the store locked or created anything unusable.
    let cache = Cache::builder()
        .memory(1 << 20)
        .disk(DiskStore::builder(dir.path()))
        .tier_order([TierKind::Disk, TierKind::Memory])
        .open()
        .unwrap();
    cache.insert("k", &1u8).unwrap();
    assert_eq!(cache.get::<u8>("k").unwrap(), Some(1));
    // Disk first in the read order: the hit is the disk tier's.
    let stats = cache.stats();
    assert_eq!(stats.tiers[0].tier, TierKind::Disk);
    assert_eq!(stats.tiers[0].hits, 1);
    cache.close().unwrap();
}
