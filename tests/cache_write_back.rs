//! Write policies and placement: with `WritePolicy::WriteBack` values stay in memory until
//! the memory tier evicts them (then they move to disk) or until `flush` / `close`; a
//! `remove` is never undone by a later move; `Placement::MemoryOnly` values never reach
//! disk and `Placement::SkipMemory` values never sit in memory.

use std::path::Path;

use stratacache::{Cache, DiskStore, InsertOptions, Placement, Promotion, TierKind, WritePolicy};

mod common;
use common::store::{DISK_CAPACITY, MEMORY, no_timers, tiered};

/// The disk tier of every cache here.
fn store_builder(dir: &Path) -> stratacache::DiskStoreBuilder {
    no_timers(dir).capacity_bytes(DISK_CAPACITY)
}

/// A write-back cache with a memory tier of `memory` bytes.
fn open_write_back(dir: &Path, memory: u64) -> Cache {
    tiered(memory, store_builder(dir))
        .write_policy(WritePolicy::WriteBack)
        .open()
        .expect("open cache")
}

fn tier(cache: &Cache, kind: TierKind) -> stratacache::TierStats {
    cache.stats().tier(kind).cloned().expect("tier configured")
}

fn on_disk(cache: &Cache, key: &str) -> bool {
    cache.disk_store().unwrap().contains_key(key).unwrap()
}

fn value(i: usize) -> Vec<u8> {
    (0..4096).map(|j| (i * 31 + j) as u8).collect()
}

#[test]
fn write_back_values_reach_disk_at_close() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_write_back(dir.path(), 8 << 20);
    for i in 0..50usize {
        cache.insert(format!("wb/{i}"), &i).unwrap();
    }
    for i in 0..50 {
        assert!(
            !on_disk(&cache, &format!("wb/{i}")),
            "wb/{i} written through"
        );
        assert_eq!(cache.get::<usize>(format!("wb/{i}")).unwrap(), Some(i));
    }
    let memory = tier(&cache, TierKind::Memory);
    assert_eq!((memory.entries, memory.hits), (Some(50), 50));
    assert_eq!(tier(&cache, TierKind::Disk).entries, Some(0));
    cache.close().unwrap();

    let store = DiskStore::builder(dir.path()).open().unwrap();
    assert_eq!(store.stats().unwrap().entries, 50);
    for i in 0..50 {
        assert!(store.contains_key(format!("wb/{i}")).unwrap(), "wb/{i}");
    }
    store.close().unwrap();
    let cache = open_write_back(dir.path(), 8 << 20);
    for i in 0..50 {
        assert_eq!(cache.get::<usize>(format!("wb/{i}")).unwrap(), Some(i));
    }
    cache.close().unwrap();
}

#[test]
fn flush_moves_write_back_values_down() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_write_back(dir.path(), 8 << 20);
    cache.insert_bytes("a", b"first").unwrap();
    assert!(!on_disk(&cache, "a"));
    cache.flush().unwrap();
    assert!(on_disk(&cache, "a"));
    assert_eq!(tier(&cache, TierKind::Disk).demotions, 1);
    // A newer value is again memory-only until the next flush.
    cache.insert_bytes("a", b"second").unwrap();
    let on_disk_now = cache.disk_store().unwrap().get("a").unwrap().unwrap();
    assert!(
        on_disk_now.ends_with(b"first"),
        "disk still holds the first value"
    );
    assert_eq!(&*cache.get_bytes("a").unwrap().unwrap(), b"second");
    cache.flush().unwrap();
    cache.flush().unwrap();
    assert_eq!(tier(&cache, TierKind::Disk).demotions, 2, "moved once");
    cache.close().unwrap();
    let cache = open_write_back(dir.path(), 8 << 20);
    assert_eq!(&*cache.get_bytes("a").unwrap().unwrap(), b"second");
    cache.close().unwrap();
}

#[test]
fn memory_eviction_moves_values_to_disk() {
    const N: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    let cache = open_write_back(dir.path(), 64 << 10);
    for i in 0..N {
        cache.insert_bytes(format!("blob/{i}"), &value(i)).unwrap();
    }
    let memory = tier(&cache, TierKind::Memory);
    let disk = tier(&cache, TierKind::Disk);
    let on_disk_now = (0..N)
        .filter(|i| on_disk(&cache, &format!("blob/{i}")))
        .count();
    let in_memory = memory.entries.unwrap();
    assert!(
        in_memory <= (64 << 10) / 4096,
        "memory holds {in_memory} entries"
    );
    assert!(memory.evictions.size > 0, "{:?}", memory.evictions);
    assert_eq!(
        on_disk_now as u64 + in_memory,
        N as u64,
        "every value is in exactly one tier (memory: {memory:?})"
    );
    assert_eq!(disk.demotions, on_disk_now as u64);
    assert_eq!(memory.evictions.size, on_disk_now as u64);

    cache.flush().unwrap();
    for i in 0..N {
        assert!(
            on_disk(&cache, &format!("blob/{i}")),
            "blob/{i} after flush"
        );
    }
    drop(cache);

    let fresh = Cache::builder()
        .disk(store_builder(dir.path()))
        .open()
        .unwrap();
    for i in 0..N {
        let got = fresh.get_bytes(format!("blob/{i}")).unwrap();
        assert_eq!(got.as_deref(), Some(&value(i)[..]), "blob/{i}");
    }
    fresh.close().unwrap();
}

#[test]
fn remove_is_not_undone_by_flush_or_eviction() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_write_back(dir.path(), 64 << 10);
    // Memory-only (dirty) value, removed, then flushed.
    cache.insert_bytes("dirty", &value(1)).unwrap();
    assert!(cache.remove("dirty").unwrap());
    cache.flush().unwrap();
    assert!(!on_disk(&cache, "dirty"));
    // Flushed once, then a newer dirty value, then removed: neither copy survives.
    cache.insert_bytes("twice", &value(2)).unwrap();
    cache.flush().unwrap();
    cache.insert_bytes("twice", &value(3)).unwrap();
    assert!(cache.remove("twice").unwrap());
    assert!(!on_disk(&cache, "twice"));
    // Removed values, then enough inserts to evict everything from memory.
    cache.insert_bytes("evicted", &value(4)).unwrap();
    cache.remove_prefix("evict").unwrap();
    for i in 0..60 {
        cache
            .insert_bytes(format!("filler/{i}"), &value(i))
            .unwrap();
    }
    assert!(tier(&cache, TierKind::Memory).evictions.size > 0);
    cache.flush().unwrap();
    for key in ["dirty", "twice", "evicted"] {
        assert!(!on_disk(&cache, key), "{key} came back on disk");
        assert_eq!(cache.get_bytes(key).unwrap().map(|b| b.to_vec()), None);
    }
    cache.close().unwrap();
    let cache = open_write_back(dir.path(), 64 << 10);
    for key in ["dirty", "twice", "evicted"] {
        assert_eq!(cache.get_bytes(key).unwrap().map(|b| b.to_vec()), None);
    }
    assert!(cache.get_bytes("filler/59").unwrap().is_some());
    cache.close().unwrap();
}

#[test]
fn memory_only_values_never_reach_disk() {
    for policy in [WritePolicy::WriteThrough, WritePolicy::WriteBack] {
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            tiered(64 << 10, store_builder(dir.path()))
                .write_policy(policy)
                .open()
                .unwrap()
        };
        let cache = open();
        let memory_only = InsertOptions::new().placement(Placement::MemoryOnly);
        // An older copy on disk is removed.
        cache.insert("m", &1u32).unwrap();
        cache.flush().unwrap();
        assert!(on_disk(&cache, "m"), "{policy:?}");
        cache.insert_with("m", &2u32, &memory_only).unwrap();
        assert!(!on_disk(&cache, "m"), "{policy:?}: older disk copy stays");
        assert_eq!(cache.get::<u32>("m").unwrap(), Some(2));
        // Never written down, not by flush and not by eviction.
        cache.insert_with("temp", &3u32, &memory_only).unwrap();
        cache.flush().unwrap();
        assert!(!on_disk(&cache, "temp"), "{policy:?}");
        for i in 0..60 {
            cache
                .insert_bytes(format!("filler/{i}"), &value(i))
                .unwrap();
        }
        cache.flush().unwrap();
        assert!(
            !on_disk(&cache, "m") && !on_disk(&cache, "temp"),
            "{policy:?}"
        );
        cache.close().unwrap();
        let cache = open();
        assert_eq!(cache.get::<u32>("m").unwrap(), None, "{policy:?}");
        assert_eq!(cache.get::<u32>("temp").unwrap(), None, "{policy:?}");
        cache.close().unwrap();
    }
}

#[test]
fn memory_only_needs_a_memory_tier() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::builder()
        .disk(store_builder(dir.path()))
        .open()
        .unwrap();
    let err = cache
        .insert_with(
            "k",
            &1u8,
            &InsertOptions::new().placement(Placement::MemoryOnly),
        )
        .unwrap_err();
    assert!(matches!(err, stratacache::Error::InvalidInput(_)), "{err}");
    cache.close().unwrap();
}

#[test]
fn skip_memory_values_are_not_in_memory() {
    for policy in [WritePolicy::WriteThrough, WritePolicy::WriteBack] {
        let dir = tempfile::tempdir().unwrap();
        let cache = tiered(MEMORY, store_builder(dir.path()))
            .write_policy(policy)
            .promotion(Promotion::Never)
            .open()
            .unwrap();
        let skip = InsertOptions::new().placement(Placement::SkipMemory);
        cache.insert_with("big", &vec![7u8; 10_000], &skip).unwrap();
        assert!(
            on_disk(&cache, "big"),
            "{policy:?}: written to disk at once"
        );
        assert_eq!(
            tier(&cache, TierKind::Memory).entries,
            Some(0),
            "{policy:?}"
        );
        // An older memory copy goes.
        cache.insert("k", &1u8).unwrap();
        assert_eq!(
            tier(&cache, TierKind::Memory).entries,
            Some(1),
            "{policy:?}"
        );
        cache.insert_with("k", &2u8, &skip).unwrap();
        assert_eq!(
            tier(&cache, TierKind::Memory).entries,
            Some(0),
            "{policy:?}"
        );
        let before = tier(&cache, TierKind::Disk).hits;
        assert_eq!(cache.get::<u8>("k").unwrap(), Some(2), "{policy:?}");
        assert_eq!(cache.get::<Vec<u8>>("big").unwrap().unwrap().len(), 10_000);
        assert_eq!(tier(&cache, TierKind::Disk).hits, before + 2, "{policy:?}");
        cache.flush().unwrap();
        assert_eq!(
            cache.get::<u8>("k").unwrap(),
            Some(2),
            "{policy:?}: a flush does not bring back the older memory value"
        );
        cache.close().unwrap();
    }
}

#[test]
fn a_value_evicted_by_growing_another_key_reaches_disk() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_write_back(dir.path(), 64 << 10);
    cache.insert_bytes("a", &[1u8; 24 << 10]).unwrap();
    cache.insert_bytes("k", &[2u8; 20 << 10]).unwrap();
    // Overwriting k with a value twice as big pushes the tier over its budget: what the
    // overwrite evicts must move down, like any eviction.
    cache.insert_bytes("k", &[3u8; 40 << 10]).unwrap();
    let memory = tier(&cache, TierKind::Memory);
    assert_eq!(memory.evictions.replaced, 1, "{memory:?}");
    assert!(memory.evictions.size >= 1, "{memory:?}");
    assert!(on_disk(&cache, "a"), "the evicted value was written down");
    cache.close().unwrap();
    let cache = open_write_back(dir.path(), 64 << 10);
    assert_eq!(
        cache.get_bytes("a").unwrap().unwrap().to_vec(),
        vec![1u8; 24 << 10]
    );
    assert_eq!(
        cache.get_bytes("k").unwrap().unwrap().to_vec(),
        vec![3u8; 40 << 10]
    );
}
