//! Bad input gets a clear error, and nothing already stored is lost.
//!
//! Empty keys, keys over the key limit, values over `max_value_size`, a locked directory, a
//! directory that is not a cache, an index with a newer format version and a missing store
//! each give their own `Error` variant, whose message names what and where (the directory,
//! the file, the sizes). After every error the data stored before still reads back.

use std::path::Path;
use std::time::Duration;

use redb::{Database, TableDefinition};
use stratacache::{DiskStore, Error};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// A store in `dir` holding "a" -> "1" and "b" -> 2000 bytes, flushed.
fn seeded_store(dir: &Path) -> stratacache::Result<DiskStore> {
    let store = DiskStore::builder(dir).max_value_size(1000).open()?;
    store.insert("a", b"1")?;
    store.insert("b", &[7u8; 1000])?;
    store.flush()?;
    Ok(store)
}

fn assert_seeded(store: &DiskStore) -> TestResult {
    assert_eq!(store.get("a")?.as_deref(), Some(&b"1"[..]));
    assert_eq!(store.get("b")?.as_deref(), Some(&[7u8; 1000][..]));
    Ok(())
}

/// Reopens `dir` (after the handle using it was dropped) and checks the seeded data.
fn assert_seeded_after_reopen(dir: &Path) -> TestResult {
    assert_seeded(&DiskStore::builder(dir).open()?)
}

fn shows(err: &Error, what: &str) {
    let shown = err.to_string();
    assert!(shown.contains(what), "{shown:?} should mention {what:?}");
}

#[test]
fn empty_key_is_refused_everywhere() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = seeded_store(dir.path())?;
    let errors = [
        store.insert("", b"x").unwrap_err(),
        store
            .insert_with_ttl(b"", b"x", Duration::from_secs(9))
            .unwrap_err(),
        store.get("").unwrap_err(),
        store.contains_key("").unwrap_err(),
        store.remove(Vec::new()).unwrap_err(),
    ];
    for err in &errors {
        assert!(matches!(err, Error::EmptyKey), "{err:?}");
        shows(err, "empty key");
    }
    assert_seeded(&store)?;
    drop(store);
    assert_seeded_after_reopen(dir.path())
}

#[test]
fn key_over_the_limit_is_refused_and_the_limit_itself_works() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = seeded_store(dir.path())?;
    let longest = vec![b'k'; 4096];
    store.insert(&longest, b"at the limit")?;
    assert_eq!(store.get(&longest)?.as_deref(), Some(&b"at the limit"[..]));
    assert!(store.contains_key(&longest)?);

    let too_long = vec![b'k'; 4097];
    let errors = [
        store.insert(&too_long, b"x").unwrap_err(),
        store.get(&too_long).unwrap_err(),
        store.contains_key(&too_long).unwrap_err(),
        store.remove(&too_long).unwrap_err(),
    ];
    for err in &errors {
        assert!(
            matches!(
                err,
                Error::KeyTooLong {
                    len: 4097,
                    max: 4096
                }
            ),
            "{err:?}"
        );
        shows(err, "4097");
        shows(err, "4096");
    }
    assert_seeded(&store)?;
    drop(store);
    let store = DiskStore::builder(dir.path()).open()?;
    assert_seeded(&store)?;
    assert_eq!(store.get(&longest)?.as_deref(), Some(&b"at the limit"[..]));
    assert!(store.remove(&longest)?);
    Ok(())
}

#[test]
fn value_over_max_value_size_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = seeded_store(dir.path())?;
    store.insert("exact", &[1u8; 1000])?;
    assert_eq!(store.get("exact")?.map(|v| v.len()), Some(1000));
    // An oversized overwrite leaves the old value in place.
    let err = store.insert("b", &[9u8; 1001]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ValueTooLarge {
                len: 1001,
                max: 1000
            }
        ),
        "{err:?}"
    );
    shows(&err, "1001");
    shows(&err, "1000");
    let err = store
        .insert_with_ttl("new", &[0u8; 5000], Duration::from_secs(5))
        .unwrap_err();
    assert!(
        matches!(err, Error::ValueTooLarge { len: 5000, .. }),
        "{err:?}"
    );
    assert!(!store.contains_key("new")?);
    assert_seeded(&store)?;
    drop(store);
    assert_seeded_after_reopen(dir.path())
}

#[test]
fn second_open_is_locked_and_the_first_keeps_working() -> TestResult {
    let dir = tempfile::tempdir()?;
    let first = seeded_store(dir.path())?;
    first.insert("unflushed", b"still here")?;
    for _ in 0..2 {
        let err = DiskStore::builder(dir.path()).open().unwrap_err();
        assert!(matches!(err, Error::Locked { .. }), "{err:?}");
        shows(&err, &dir.path().display().to_string());
        shows(&err, "LOCK");
    }
    // The failed opener changed nothing: the first handle reads and writes on.
    assert_seeded(&first)?;
    assert_eq!(first.get("unflushed")?.as_deref(), Some(&b"still here"[..]));
    first.insert("after", b"the failed open")?;
    first.close()?;
    let store = DiskStore::builder(dir.path()).open()?;
    assert_seeded(&store)?;
    assert_eq!(store.get("unflushed")?.as_deref(), Some(&b"still here"[..]));
    assert_eq!(
        store.get("after")?.as_deref(),
        Some(&b"the failed open"[..])
    );
    Ok(())
}

#[test]
fn directory_that_is_not_a_cache_is_left_alone() -> TestResult {
    let dir = tempfile::tempdir()?;
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, b"my own file")?;
    for create in [true, false] {
        let err = DiskStore::builder(dir.path())
            .create(create)
            .open()
            .unwrap_err();
        assert!(matches!(err, Error::NotACache { .. }), "{err:?}");
        shows(&err, &dir.path().display().to_string());
    }
    assert_eq!(std::fs::read(&notes)?, b"my own file");
    let names: Vec<_> = std::fs::read_dir(dir.path())?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    assert_eq!(names, ["notes.txt"], "nothing may be created beside it");
    Ok(())
}

fn set_format_version(index: &Path, version: u64) -> TestResult {
    let db = Database::open(index)?;
    let txn = db.begin_write()?;
    txn.open_table(META)?.insert("format_version", version)?;
    txn.commit()?;
    Ok(())
}

#[test]
fn newer_format_version_is_refused_untouched() -> TestResult {
    let dir = tempfile::tempdir()?;
    seeded_store(dir.path())?.close()?;
    let index = dir.path().join("index.redb");
    set_format_version(&index, 99)?;

    let err = DiskStore::builder(dir.path()).open().unwrap_err();
    assert!(
        matches!(
            err,
            Error::NewerFormat {
                found: 99,
                supported: 3,
                ..
            }
        ),
        "{err:?}"
    );
    shows(&err, &index.display().to_string());
    shows(&err, "99");

    // The refused open wrote nothing: the version is still 99.
    {
        let db = Database::open(&index)?;
        let txn = redb::ReadableDatabase::begin_read(&db)?;
        let version = txn
            .open_table(META)?
            .get("format_version")?
            .map(|v| v.value());
        assert_eq!(version, Some(99));
    }
    // Back to the current version, everything is there.
    set_format_version(&index, 1)?;
    assert_seeded_after_reopen(dir.path())
}

#[test]
fn missing_store_without_create_is_no_store() -> TestResult {
    let parent = tempfile::tempdir()?;
    let missing = parent.path().join("nothing-here");
    let err = DiskStore::builder(&missing)
        .create(false)
        .open()
        .unwrap_err();
    assert!(matches!(err, Error::NoStore { .. }), "{err:?}");
    shows(&err, &missing.display().to_string());
    assert!(
        !missing.exists(),
        "create(false) must not create the directory"
    );

    // An empty directory holds no store either.
    std::fs::create_dir(&missing)?;
    let err = DiskStore::builder(&missing)
        .create(false)
        .open()
        .unwrap_err();
    assert!(matches!(err, Error::NoStore { .. }), "{err:?}");
    assert_eq!(std::fs::read_dir(&missing)?.count(), 0);

    // An existing store opens fine without create.
    seeded_store(&missing)?.close()?;
    assert_seeded(&DiskStore::builder(&missing).create(false).open()?)
}
