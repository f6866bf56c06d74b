//! A full file system fails only the write that did not fit: the error names the file, the
//! bytes needed and the bytes free; nothing stored before is lost; the store is not
//! poisoned (flush works); and once there is room again, writes succeed in the same
//! process, without a reopen.

use std::fs;

use stratacache::{DiskStore, Error};

mod common;
use common::mount::Tmpfs;
use common::rng::incompressible;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const MIB: usize = 1 << 20;

#[test]
fn a_full_disk_fails_one_write_and_the_store_goes_on() -> TestResult {
    let Some(fs_root) = Tmpfs::mount("a_full_disk_fails_one_write_and_the_store_goes_on", 24)
    else {
        return Ok(());
    };
    let filler = fs_root.path().join("filler");
    fs::write(&filler, vec![0u8; 8 * MIB])?;
    let dir = fs_root.path().join("store");
    // A capacity far above what the file system holds: only the disk can say no.
    let store = DiskStore::builder(&dir)
        .capacity_bytes(1 << 30)
        .segment_size(4 << 20)
        .open()?;
    let mut stored = 0u64;
    let err = loop {
        match store.insert(format!("v{stored}"), &incompressible(stored, MIB / 2)) {
            Ok(()) => stored += 1,
            Err(e) => break e,
        }
        assert!(stored < 100, "the 24 MiB file system never filled");
    };
    match &err {
        Error::DiskFull {
            path,
            needed,
            available,
            ..
        } => {
            assert!(path.starts_with(&dir), "{err}");
            assert!(*needed > 0 && *available < MIB as u64, "{err}");
        }
        other => panic!("expected DiskFull, got {other:?}"),
    }
    assert!(err.to_string().contains("bytes free"), "{err}");
    assert!(stored >= 10, "only {stored} values fit");
    // Not poisoned: what was acknowledged becomes durable, and reads go on.
    store.flush()?;
    for i in 0..stored {
        let value = store
            .get(format!("v{i}"))?
            .expect("stored before the disk filled");
        assert_eq!(&*value, &incompressible(i, MIB / 2)[..], "v{i}");
    }
    // Room again: the same store writes again, without a reopen.
    fs::remove_file(&filler)?;
    for i in stored..stored + 8 {
        store.insert(format!("v{i}"), &incompressible(i, MIB / 2))?;
    }
    store.flush()?;
    drop(store);
    let store = DiskStore::builder(&dir).open()?;
    for i in 0..stored + 8 {
        let value = store.get(format!("v{i}"))?.expect("present after reopen");
        assert_eq!(&*value, &incompressible(i, MIB / 2)[..], "v{i}");
    }
    assert!(store.verify()?.is_ok());
    Ok(())
}

/// Eviction on a full disk: when moving recently read records forward (their second
/// chance) cannot be written, eviction drops them instead, so it still frees the segment
/// and the insert that needed the room goes through.
#[test]
fn eviction_drops_what_it_cannot_move_on_a_full_disk() -> TestResult {
    let dir = tempfile::tempdir()?;
    let faults = std::sync::Arc::new(stratacache::fuzzing::Faults::default());
    let store = DiskStore::builder(dir.path())
        .capacity_bytes(4 << 20)
        .segment_size(256 << 10)
        .checkpoint_interval(None)
        .background_maintenance(false)
        .faults(faults.clone())
        .open()?;
    let value = |i: u64| incompressible(i, 64 << 10);
    let mut i = 0;
    // Fill to the point of eviction, reading everything (every record earns a second chance).
    while store.stats()?.evictions == 0 {
        store.insert(format!("k{i}"), &value(i))?;
        for j in 0..=i {
            store.get(format!("k{j}"))?;
        }
        i += 1;
        assert!(i < 1000, "never evicted");
    }
    // Now every insert that needs a new segment evicts, and its first write is a move.
    let mut fell_back = false;
    for _ in 0..64 {
        for j in 0..i {
            store.get(format!("k{j}"))?;
        }
        let before = store.stats()?.evictions;
        faults.fail_write(1, libc::ENOSPC);
        match store.insert(format!("k{i}"), &value(i)) {
            Ok(()) if store.stats()?.evictions > before => {
                fell_back = true;
                assert_eq!(
                    &*store.get(format!("k{i}"))?.expect("just inserted"),
                    &value(i)[..]
                );
                break;
            }
            // The fault met the insert's own write (no eviction was due): a full disk
            // fails that write alone.
            Err(Error::DiskFull { .. }) => {}
            Ok(()) => {}
            Err(e) => return Err(e.into()),
        }
        faults.disarm();
        store.insert(format!("k{i}"), &value(i))?;
        i += 1;
    }
    assert!(fell_back, "no insert evicted through a failed move");
    store.flush()?;
    assert!(store.verify()?.is_ok());
    Ok(())
}

#[test]
fn a_write_larger_than_the_free_space_gives_back_what_it_took() -> TestResult {
    let test = "a_write_larger_than_the_free_space_gives_back_what_it_took";
    let Some(fs_root) = Tmpfs::mount(test, 24) else {
        return Ok(());
    };
    let dir = fs_root.path().join("store");
    let store = DiskStore::builder(&dir)
        .capacity_bytes(1 << 30)
        .max_value_size(64 * MIB)
        .open()?;
    store.insert("before", b"kept")?;
    // Part of it reaches the file before the disk says no; that part must not stay.
    let err = store
        .insert("huge", &incompressible(5, 40 * MIB))
        .unwrap_err();
    assert!(matches!(err, Error::DiskFull { .. }), "{err}");
    for i in 0..8 {
        store.insert(format!("after-{i}"), &incompressible(i, MIB))?;
    }
    assert_eq!(&*store.get("before")?.expect("kept"), b"kept");
    store.flush()?;
    store.close()?;
    Ok(())
}
