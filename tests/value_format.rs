//! One value format for every door: what `Cache` and `DiskStore` store is read back as the
//! same bytes through the other, metadata (TTL, tags) kept beside the value; stores written
//! in format 1 open and read back; expiry changes are index updates.

mod common;

use std::path::Path;
use std::time::Duration;

use common::store::{MEMORY, open_tiered, quiet, quiet_with_clock, tiered};
use stratacache::{Cache, InsertOptions, ManualClock};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn cache_errors(cache: &Cache) -> u64 {
    cache.stats().errors
}

#[test]
fn bytes_written_by_the_cache_read_back_alone_through_the_store() -> TestResult {
    let dir = tempfile::tempdir()?;
    {
        let cache = open_tiered(MEMORY, quiet(dir.path()));
        cache.insert_bytes("plain", b"plain bytes")?;
        let options = InsertOptions::new()
            .ttl(Duration::from_secs(3600))
            .tags(["doc:1".to_string()]);
        cache.insert_bytes_with("tagged", b"tagged bytes", &options)?;
        cache.close()?;
    }
    let store = quiet(dir.path()).open()?;
    assert_eq!(&*store.get("plain")?.expect("plain"), b"plain bytes");
    let tagged = store.get("tagged")?.expect("tagged");
    assert_eq!(
        &*tagged, b"tagged bytes",
        "tags and TTL stay beside the value"
    );
    assert!(tagged.expires_at_ms().is_some());
    assert_eq!(store.list("")?.len(), 2);
    store.close()?;
    Ok(())
}

#[test]
fn bytes_written_by_the_store_read_back_through_the_cache() -> TestResult {
    let dir = tempfile::tempdir()?;
    {
        let store = quiet(dir.path()).open()?;
        store.insert("imported", b"\xc7 looks like an envelope but is not")?;
        store.insert_with_ttl("short", b"short-lived", Duration::from_secs(60))?;
        store.close()?;
    }
    let cache = open_tiered(MEMORY, quiet(dir.path()));
    let got = cache.get_bytes("imported")?.expect("imported");
    assert_eq!(&*got, b"\xc7 looks like an envelope but is not");
    assert_eq!(&*cache.get_bytes("short")?.expect("short"), b"short-lived");
    assert!(matches!(cache.ttl("short")?, Some(Some(_))));
    // Promoted to memory and read again: still the same bytes.
    assert_eq!(&*cache.get_bytes("imported")?.expect("again"), &*got);
    assert_eq!(cache_errors(&cache), 0, "no value was taken for damage");
    cache.close()?;
    Ok(())
}

#[test]
fn tags_kept_beside_the_value_still_retire_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let cache = tiered(MEMORY, quiet(dir.path())).open()?;
    cache.insert_with_tags("page", &"words".to_string(), &["doc:9"])?;
    cache.close()?;
    // A fresh cache reads it from disk (memory is empty), then the tag retires it.
    let cache = tiered(MEMORY, quiet(dir.path())).open()?;
    assert_eq!(cache.get::<String>("page")?.as_deref(), Some("words"));
    cache.invalidate_tag("doc:9")?;
    assert_eq!(cache.get::<String>("page")?, None);
    cache.close()?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// `tests/fixtures/format1` was written by the format 1 build: `DiskStore::insert` of two
/// raw values (one with a TTL of ten years), then a `Cache` that stored bytes, a typed
/// `Vec<u32>` and a tagged `String` (its envelopes inside the values, as format 1 did).
fn format1_store() -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format1");
    copy_dir(&fixture, dir.path())?;
    Ok(dir)
}

#[test]
fn a_format_1_store_opens_and_reads_back_through_every_door() -> TestResult {
    let dir = format1_store()?;
    {
        let cache = open_tiered(MEMORY, quiet(dir.path()));
        let bytes = |k: &str| cache.get_bytes(k).map(|v| v.map(|v| v.to_vec()));
        assert_eq!(
            bytes("imported/page-1.txt")?.as_deref(),
            Some(&b"text the CLI imported"[..])
        );
        assert_eq!(
            bytes("imported/expiring")?.as_deref(),
            Some(&b"raw with a ttl"[..])
        );
        assert_eq!(
            bytes("cached/bytes")?.as_deref(),
            Some(&b"bytes the cache wrote"[..])
        );
        assert_eq!(cache.get::<Vec<u32>>("cached/typed")?, Some(vec![1, 2, 3]));
        assert_eq!(
            cache.get::<String>("cached/tagged")?.as_deref(),
            Some("tagged value")
        );
        assert_eq!(cache_errors(&cache), 0);
        // New writes beside old ones.
        cache.insert_bytes("new", b"format 3")?;
        cache.invalidate_tag("doc:7")?;
        assert_eq!(cache.get::<String>("cached/tagged")?, None);
        cache.close()?;
    }
    let store = quiet(dir.path()).open()?;
    assert_eq!(
        &*store.get("imported/page-1.txt")?.expect("raw"),
        b"text the CLI imported"
    );
    assert_eq!(&*store.get("new")?.expect("new"), b"format 3");
    assert_eq!(store.verify()?.bad.len(), 0);
    // Segments now hold wide records beside compact ones; compaction moves both kinds.
    store.compact()?;
    assert_eq!(store.verify()?.bad.len(), 0);
    store.close()?;
    let store = quiet(dir.path()).open()?;
    assert_eq!(
        &*store.get("imported/expiring")?.expect("raw"),
        b"raw with a ttl"
    );
    assert_eq!(&*store.get("new")?.expect("new"), b"format 3");
    assert_eq!(store.verify()?.bad.len(), 0);
    store.close()?;
    Ok(())
}

#[test]
fn store_expiry_changes_are_index_updates_that_survive_a_restart() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(1_000_000);
    let value = vec![7u8; 256 << 10];
    {
        let store = quiet_with_clock(dir.path(), &clock).open()?;
        store.insert("k", &value)?;
        store.insert_with_ttl("t", b"x", Duration::from_secs(10))?;
        store.flush()?;
        let before = store.stats()?.disk_bytes;
        assert_eq!(store.ttl("k")?, Some(None));
        assert!(store.expire("k", Duration::from_secs(60))?);
        assert_eq!(store.ttl("k")?, Some(Some(Duration::from_secs(60))));
        assert!(store.persist("t")?);
        assert!(!store.persist("t")?, "no expiry left to remove");
        assert!(!store.expire("missing", Duration::from_secs(1))?);
        store.flush()?;
        assert!(
            store.stats()?.disk_bytes <= before + 4096,
            "no value was rewritten"
        );
        store.close()?;
    }
    let store = quiet_with_clock(dir.path(), &clock).open()?;
    assert_eq!(store.ttl("k")?, Some(Some(Duration::from_secs(60))));
    assert_eq!(store.ttl("t")?, Some(None));
    assert_eq!(
        store.verify()?.bad.len(),
        0,
        "records still match their entries"
    );
    clock.advance(Duration::from_secs(61));
    assert!(store.get("k")?.is_none(), "the new expiry holds");
    assert_eq!(&*store.get("t")?.expect("persisted"), b"x");
    // An expiry already past removes the key.
    assert_eq!(store.set_expires_at("t", 1)?, Some(0));
    assert!(!store.contains_key("t")?);
    store.compact()?;
    assert_eq!(store.ttl("t")?, None);
    store.close()?;
    Ok(())
}

#[test]
fn cache_expiry_changes_reach_every_tier() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(5_000_000);
    let open = || {
        tiered(MEMORY, quiet_with_clock(dir.path(), &clock))
            .clock(clock.clone())
            .open()
    };
    let cache = open()?;
    cache.insert_bytes("a", b"alpha")?;
    assert!(cache.expire("a", Duration::from_secs(30))?);
    assert_eq!(cache.ttl("a")?, Some(Some(Duration::from_secs(30))));
    assert!(cache.persist("a")?);
    assert_eq!(cache.ttl("a")?, Some(None));
    assert!(cache.expire("a", Duration::from_secs(30))?);
    cache.close()?;
    // The disk tier kept the change: a fresh cache (empty memory) sees it.
    let cache = open()?;
    assert_eq!(cache.ttl("a")?, Some(Some(Duration::from_secs(30))));
    clock.advance(Duration::from_secs(31));
    assert!(cache.get_bytes("a")?.is_none());
    assert!(!cache.expire("a", Duration::from_secs(5))?);
    cache.insert_bytes("b", b"beta")?;
    assert!(
        cache.expire("b", Duration::ZERO)?,
        "a zero TTL removes the key"
    );
    assert!(cache.get_bytes("b")?.is_none());
    cache.close()?;
    Ok(())
}
