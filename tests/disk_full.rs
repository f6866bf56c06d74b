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
