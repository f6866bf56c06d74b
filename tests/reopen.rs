//! Everything inserted and flushed is there after drop + open, byte-identical.

use std::collections::BTreeMap;

use stratacache::DiskStore;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn value_for(i: usize) -> Vec<u8> {
    // Mix of empty, small, compressible and incompressible values.
    match i % 4 {
        0 => Vec::new(),
        1 => format!("small value {i}").into_bytes(),
        2 => format!("compressible {i} ").repeat(200).into_bytes(),
        _ => (0..5000u32)
            .map(|j| (j.wrapping_mul(2654435761).wrapping_add(i as u32) >> 13) as u8)
            .collect(),
    }
}

#[test]
fn flushed_values_survive_reopen_byte_identical() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut model = BTreeMap::new();
    {
        let store = DiskStore::builder(dir.path())
            .segment_size(64 << 10)
            .open()?;
        for i in 0..2000 {
            let key = format!("key/{i:05}");
            store.insert(&key, &value_for(i))?;
            model.insert(key, value_for(i));
        }
        for i in (0..2000).step_by(7) {
            let key = format!("key/{i:05}");
            assert!(store.remove(&key)?);
            model.remove(&key);
        }
        for i in (0..2000).step_by(11) {
            let key = format!("key/{i:05}");
            store.insert(&key, b"overwritten")?;
            model.insert(key, b"overwritten".to_vec());
        }
        store.flush()?;
    }
    let store = DiskStore::builder(dir.path()).open()?;
    for i in 0..2000 {
        let key = format!("key/{i:05}");
        let got = store.get(&key)?.map(|v| v.to_vec());
        assert_eq!(got.as_ref(), model.get(&key), "key {key}");
    }
    let stats = store.stats()?;
    assert_eq!(stats.entries, model.len() as u64);
    assert!(
        stats.segments > 1,
        "small segment size should rotate: {stats:?}"
    );
    assert!(store.verify()?.is_ok());
    Ok(())
}

#[test]
fn close_without_flush_keeps_everything() -> TestResult {
    let dir = tempfile::tempdir()?;
    {
        let store = DiskStore::builder(dir.path())
            .checkpoint_interval(None)
            .open()?;
        store.insert("a", b"1")?;
        store.insert([0u8, 1, 2].as_slice(), b"binary key")?;
        store.close()?;
    }
    let store = DiskStore::builder(dir.path()).open()?;
    assert_eq!(store.get("a")?.as_deref(), Some(&b"1"[..]));
    assert_eq!(
        store.get(vec![0u8, 1, 2])?.as_deref(),
        Some(&b"binary key"[..])
    );
    Ok(())
}

#[test]
fn counters_persist_across_processes() -> TestResult {
    let dir = tempfile::tempdir()?;
    {
        let store = DiskStore::builder(dir.path()).open()?;
        store.insert("k", b"v")?;
        store.get("k")?;
        store.get("missing")?;
    }
    let stats = DiskStore::builder(dir.path()).open()?.stats()?;
    assert_eq!((stats.inserts, stats.hits, stats.misses), (1, 1, 1));
    Ok(())
}

#[test]
fn reads_alone_do_not_commit_at_every_checkpoint_tick() -> TestResult {
    let dir = tempfile::tempdir()?;
    DiskStore::builder(dir.path()).open()?.insert("k", b"v")?;
    let index = dir.path().join("index.redb");
    {
        // A background tick every 5 ms: before, each one committed the changed hit
        // counter durably (a sync per tick for a session that only reads).
        let store = DiskStore::builder(dir.path())
            .checkpoint_interval(Some(std::time::Duration::from_millis(5)))
            .open()?;
        let written = std::fs::metadata(&index)?.modified()?;
        for _ in 0..40 {
            assert!(store.get("k")?.is_some());
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(
            std::fs::metadata(&index)?.modified()?,
            written,
            "the index was written while the session only read"
        );
    }
    // The close saves what the reads counted.
    let stats = DiskStore::builder(dir.path()).open()?.stats()?;
    assert_eq!(stats.hits, 40);
    Ok(())
}

#[test]
fn large_value_gets_its_own_segment() -> TestResult {
    let dir = tempfile::tempdir()?;
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
        .collect();
    {
        let store = DiskStore::builder(dir.path())
            .segment_size(1 << 20)
            .open()?;
        store.insert("small", b"x")?;
        store.insert("big", &big)?;
        store.insert("after", b"y")?;
        store.flush()?;
    }
    let store = DiskStore::builder(dir.path()).open()?;
    assert_eq!(store.get("big")?.unwrap().to_vec(), big);
    assert_eq!(store.get("after")?.as_deref(), Some(&b"y"[..]));
    Ok(())
}

/// Named numbers and blobs kept with the index for the layers above: point lookups, prefix
/// visits, batch updates and blobs, all still there after a reopen.
#[test]
fn user_meta_and_blobs_survive_reopen() -> TestResult {
    let dir = tempfile::tempdir()?;
    {
        let store = DiskStore::builder(dir.path()).open()?;
        assert_eq!(store.user_blob("sketch")?, None, "no blob table yet");
        assert_eq!(store.user_meta_get("tag:a")?, None);
        store.update_user_meta(&[("tag:a", 1), ("tag:b", 2), ("other", 3)], &[])?;
        store.update_user_meta(&[("tag:c", 4)], &["tag:b"])?;
        store.set_user_blob("sketch", b"first")?;
        store.set_user_blob("sketch", &[7u8; 100_000])?;
        store.set_user_blob("empty", b"")?;
        store.close()?;
    }
    let store = DiskStore::builder(dir.path()).open()?;
    assert_eq!(store.user_meta_get("tag:a")?, Some(1));
    assert_eq!(store.user_meta_get("tag:b")?, None, "removed");
    let mut tags = Vec::new();
    store.visit_user_meta("tag:", |name, value| {
        tags.push((name.to_string(), value));
        true
    })?;
    assert_eq!(tags, [("tag:a".to_string(), 1), ("tag:c".to_string(), 4)]);
    assert_eq!(store.user_meta()?.len(), 3);
    assert_eq!(store.user_blob("sketch")?, Some(vec![7u8; 100_000]));
    assert_eq!(store.user_blob("empty")?, Some(Vec::new()));
    assert_eq!(store.user_blob("missing")?, None);
    assert!(store.set_user_blob(&"n".repeat(2000), b"x").is_err());
    Ok(())
}
