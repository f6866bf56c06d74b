//! Damaged files never yield wrong bytes or a panic.
//!
//! A store with several segments is written and closed, then its files are damaged on disk
//! (a flipped byte in a value, a record header or a segment header; a truncated, deleted or
//! scrambled file) and reopened. Damaged entries read as misses and are counted in
//! `stats().corruptions`; every other key still reads back byte-identical. `verify()` names
//! exactly the bad record and `verify_and_repair()` removes it. A garbage index is a clean
//! `Error::Index` naming the file. An index entry that disagrees with its intact record must
//! not change the bytes returned.

use std::fs;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stratacache::fuzzing::format::{COMPACT_MAGIC, Layout, SEGMENT_HEADER_LEN, decode_record};
use stratacache::{DiskStore, Error};

mod common;
use common::rng::seeded_rng;
use common::store::no_checkpoints;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const KEYS: usize = 60;

/// Keys are delimited so that one never occurs inside another (or inside a value).
fn key(i: usize) -> String {
    format!("<key-{i:03}>")
}

/// Small raw, compressible (>1 KiB, stored lz4), incompressible raw values, and long raw
/// ones (over 64 KiB: a read lends them out of the mapping instead of copying them).
fn value(i: usize) -> Vec<u8> {
    match i % 4 {
        0 => format!("small value {i}").into_bytes(),
        1 => format!("compressible value {i}; ").repeat(200).into_bytes(),
        2 => noise(i as u64, 7000),
        _ => noise(i as u64, 70_000),
    }
}

/// Deterministic incompressible bytes, all >= 0x80 so they never look like a key.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8 | 0x80
        })
        .collect()
}

/// 64 KiB segments, so the keys spread over several.
fn open(dir: &Path) -> stratacache::Result<DiskStore> {
    no_checkpoints(dir).segment_size(64 << 10).open()
}

/// Writes every key, closes the store and returns where each key's record is.
fn populate(dir: &Path) -> Result<Vec<Rec>, Box<dyn std::error::Error>> {
    let store = open(dir)?;
    for i in 0..KEYS {
        store.insert(key(i), &value(i))?;
    }
    assert!(store.stats()?.segments >= 3, "want several segments");
    store.close()?;
    let recs: Vec<Rec> = (0..KEYS).map(|i| find_record(dir, i)).collect();
    for (i, rec) in recs.iter().enumerate() {
        assert_eq!(rec.codec, u8::from(i % 4 == 1), "codec of {}", key(i));
    }
    Ok(recs)
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir.join("segments"))
        .expect("segments dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files
}

fn segment_id(path: &Path) -> u32 {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("file stem");
    stem.parse().expect("numeric segment name")
}

/// Where a key's record lives, found by scanning the segment files for the key bytes.
#[derive(Debug)]
struct Rec {
    path: PathBuf,
    offset: usize,
    head_len: usize,
    key_len: usize,
    stored_len: usize,
    codec: u8,
}

impl Rec {
    fn value_offset(&self) -> usize {
        self.offset + self.head_len + self.key_len
    }

    fn end(&self) -> usize {
        self.value_offset() + self.stored_len
    }

    /// Where the stored-length field sits in a compact header: after magic, CRC, flags and
    /// the key length (one varint byte for the short keys here).
    fn stored_len_field(&self) -> usize {
        assert!(self.key_len < 128);
        self.offset + 7
    }
}

/// Finds the one record of key `i` by decoding at every offset where the key's bytes follow
/// a header that checks out.
fn find_record(dir: &Path, i: usize) -> Rec {
    let needle = key(i).into_bytes();
    let mut found = Vec::new();
    for path in segment_files(dir) {
        let bytes = fs::read(&path).expect("read segment");
        for start in SEGMENT_HEADER_LEN..bytes.len() {
            if bytes[start] != COMPACT_MAGIC {
                continue;
            }
            let Ok(view) = decode_record(&bytes[start..]) else {
                continue;
            };
            if view.key == needle {
                assert_eq!(view.header.layout, Layout::Compact);
                found.push(Rec {
                    path: path.clone(),
                    offset: start,
                    head_len: view.header.head_len as usize,
                    key_len: needle.len(),
                    stored_len: view.stored.len(),
                    codec: view.header.codec as u8,
                });
            }
        }
    }
    assert_eq!(found.len(), 1, "records of {}: {found:?}", key(i));
    found.pop().unwrap()
}

fn flip(path: &Path, offset: usize, mask: u8) {
    let mut bytes = fs::read(path).expect("read");
    bytes[offset] ^= mask;
    fs::write(path, bytes).expect("write");
}

/// Every key in `missing` is a miss; every other key reads back byte-identical.
fn check_reads(store: &DiskStore, missing: &[usize]) -> TestResult {
    for i in 0..KEYS {
        let got = store.get(key(i))?.map(|v| v.to_vec());
        if missing.contains(&i) {
            assert_eq!(got, None, "{} should be a miss", key(i));
        } else {
            assert_eq!(got, Some(value(i)), "{} should read back", key(i));
        }
    }
    Ok(())
}

/// Damages the records of `victims` at `at(record)` and checks they become dropped misses.
fn damage_records_and_check(at: impl Fn(&Rec) -> usize) -> TestResult {
    let dir = tempfile::tempdir()?;
    let recs = populate(dir.path())?;
    let victims = [0, 1, 2]; // small raw, lz4, large raw
    for &i in &victims {
        flip(&recs[i].path, at(&recs[i]), 0x01);
    }
    let store = open(dir.path())?;
    check_reads(&store, &victims)?;
    let stats = store.stats()?;
    assert!(stats.corruptions >= 1, "{stats:?}");
    assert_eq!(
        stats.entries,
        (KEYS - victims.len()) as u64,
        "bad entries dropped"
    );
    for &i in &victims {
        assert!(store.get(key(i))?.is_none());
        assert!(!store.contains_key(key(i))?);
    }
    store.close()?;
    check_reads(&open(dir.path())?, &victims)
}

#[test]
fn flipped_value_byte_is_a_miss() -> TestResult {
    damage_records_and_check(|rec| rec.value_offset() + rec.stored_len / 2)
}

#[test]
fn flipped_record_header_byte_is_a_miss() -> TestResult {
    damage_records_and_check(Rec::stored_len_field)
}

/// Keys whose record lies in `path`: those ending at or before `cut`, and those past it.
fn keys_in(recs: &[Rec], path: &Path, cut: usize) -> (Vec<usize>, Vec<usize>) {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for (i, rec) in recs.iter().enumerate() {
        if rec.path == path {
            if rec.end() <= cut {
                before.push(i)
            } else {
                after.push(i)
            }
        }
    }
    (before, after)
}

/// After damage the store still accepts writes, and they survive a reopen.
fn check_still_writable(dir: &Path, missing: &[usize]) -> TestResult {
    let store = open(dir)?;
    check_reads(&store, missing)?;
    for j in 0..20 {
        store.insert(format!("new-{j}"), &noise(1000 + j, 3000))?;
    }
    check_reads(&store, missing)?;
    store.close()?;
    let store = open(dir)?;
    check_reads(&store, missing)?;
    for j in 0..20 {
        let got = store.get(format!("new-{j}"))?.map(|v| v.to_vec());
        assert_eq!(got, Some(noise(1000 + j, 3000)), "new-{j}");
    }
    Ok(())
}

#[test]
fn flipped_segment_header_loses_only_that_segment() -> TestResult {
    let dir = tempfile::tempdir()?;
    let recs = populate(dir.path())?;
    let files = segment_files(dir.path());
    let mut missing = Vec::new();
    // The first (sealed) and the last (active) segment.
    for path in [&files[0], &files[files.len() - 1]] {
        let (keys, _) = keys_in(&recs, path, usize::MAX);
        assert!(!keys.is_empty());
        missing.extend(keys);
        flip(path, 16, 0x01);
    }
    assert!(missing.len() < KEYS);
    check_still_writable(dir.path(), &missing)
}

#[test]
fn truncated_segment_loses_only_records_past_the_cut() -> TestResult {
    let dir = tempfile::tempdir()?;
    let recs = populate(dir.path())?;
    let files = segment_files(dir.path());
    let mut missing = Vec::new();
    // The first and the last segment with records on both sides of its middle (a long
    // value may have a segment of its own).
    let split: Vec<_> = (files.iter())
        .filter_map(|path| {
            let cut = fs::metadata(path).map_or(0, |m| m.len()) / 2;
            let (before, after) = keys_in(&recs, path, cut as usize);
            (!before.is_empty() && !after.is_empty()).then_some((path, cut, after))
        })
        .collect();
    assert!(
        split.len() >= 2,
        "want two segments holding several records"
    );
    for (path, cut, after) in [&split[0], &split[split.len() - 1]] {
        missing.extend(after);
        fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .set_len(*cut)?;
    }
    check_still_writable(dir.path(), &missing)
}

#[test]
fn deleted_segment_is_a_miss_and_counted() -> TestResult {
    let dir = tempfile::tempdir()?;
    let recs = populate(dir.path())?;
    let files = segment_files(dir.path());
    let (missing, _) = keys_in(&recs, &files[1], usize::MAX);
    assert!(!missing.is_empty());
    fs::remove_file(&files[1])?;
    let store = open(dir.path())?;
    assert_eq!(store.stats()?.corruptions, 0);
    check_reads(&store, &missing)?;
    let stats = store.stats()?;
    assert!(stats.corruptions >= missing.len() as u64, "{stats:?}");
    drop(store);
    check_still_writable(dir.path(), &missing)
}

#[test]
fn verify_names_the_bad_record_and_repair_removes_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let recs = populate(dir.path())?;
    let rec = &recs[6];
    flip(&rec.path, rec.value_offset() + 100, 0x20);
    let store = open(dir.path())?;

    let report = store.verify()?;
    assert_eq!(report.checked, KEYS as u64);
    assert_eq!(report.bad.len(), 1, "{report:?}");
    let bad = &report.bad[0];
    assert_eq!(bad.key, key(6));
    assert_eq!(bad.segment, segment_id(&rec.path));
    assert_eq!(bad.offset, rec.offset as u64);
    assert!(bad.reason.contains("crc"), "reason: {}", bad.reason);
    assert!(store.stats()?.corruptions >= 1);
    assert!(store.contains_key(key(6))?, "verify alone keeps the entry");

    let repaired = store.verify_and_repair()?;
    assert_eq!(repaired.bad.len(), 1, "{repaired:?}");
    assert!(!store.contains_key(key(6))?);
    let after = store.verify()?;
    assert!(after.is_ok(), "{after:?}");
    assert_eq!(after.checked, KEYS as u64 - 1);
    check_reads(&store, &[6])?;
    drop(store);

    let store = open(dir.path())?;
    assert!(store.verify()?.is_ok(), "repair is durable");
    check_reads(&store, &[6])
}

fn file_sizes(dir: &Path) -> Vec<(PathBuf, u64)> {
    segment_files(dir)
        .into_iter()
        .map(|p| {
            let len = fs::metadata(&p).expect("stat").len();
            (p, len)
        })
        .collect()
}

#[test]
fn garbage_index_is_an_index_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    populate(dir.path())?;
    let index = dir.path().join("index.redb");
    let len = fs::metadata(&index)?.len() as usize;
    let segments = file_sizes(dir.path());
    for seed in 0..3u64 {
        let mut garbage = vec![0u8; len];
        StdRng::seed_from_u64(seed).fill(&mut garbage[..]);
        fs::write(&index, &garbage)?;
        let err = DiskStore::builder(dir.path())
            .open()
            .expect_err("garbage index opened");
        assert!(matches!(err, Error::Index { .. }), "seed {seed}: {err:?}");
        let shown = err.to_string();
        assert!(shown.contains(&index.display().to_string()), "{shown}");
        assert_eq!(fs::read(&index)?, garbage, "the index was rewritten");
        assert_eq!(file_sizes(dir.path()), segments, "segments were touched");
    }
    Ok(())
}

fn copy_store(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::copy(from.join("index.redb"), to.join("index.redb"))?;
    fs::create_dir(to.join("segments"))?;
    for path in segment_files(from) {
        fs::copy(&path, to.join("segments").join(path.file_name().unwrap()))?;
    }
    Ok(())
}

#[test]
fn random_flips_never_return_wrong_bytes() -> TestResult {
    let (mut rng, seed) = seeded_rng("random_flips_never_return_wrong_bytes");
    let pristine = tempfile::tempdir()?;
    populate(pristine.path())?;
    let (mut misses, mut rounds_with_misses) = (0, 0);
    for round in 0..200 {
        let dir = tempfile::tempdir()?;
        copy_store(pristine.path(), dir.path())?;
        let mut flips = Vec::new();
        for path in segment_files(dir.path()) {
            let len = fs::metadata(&path)?.len() as usize;
            let (at, mask) = (rng.random_range(0..len), rng.random_range(1..=255u8));
            flip(&path, at, mask);
            flips.push((segment_id(&path), at, mask));
        }
        let ctx = format!("seed {seed}, round {round}, flips (segment, offset, mask) {flips:?}");
        let store = open(dir.path()).map_err(|e| format!("{ctx}: open failed: {e}"))?;
        let mut missed = 0;
        for _pass in 0..2 {
            for i in 0..KEYS {
                match store.get(key(i))? {
                    Some(v) => assert!(*v == value(i)[..], "{ctx}: wrong bytes for {}", key(i)),
                    None => missed += 1,
                }
            }
        }
        let report = store.verify()?;
        assert!(
            report.is_ok(),
            "{ctx}: misses were dropped, verify: {report:?}"
        );
        store.close()?;
        misses += missed;
        rounds_with_misses += usize::from(missed > 0);
    }
    println!("{rounds_with_misses} of 200 rounds had misses ({misses} in all)");
    assert!(rounds_with_misses > 0, "no flip was ever detected");
    Ok(())
}

/// An index entry whose key length disagrees with its (intact) record must not shift the
/// value window: the record is the authority, the entry a pointer to it.
#[test]
fn index_key_len_off_by_one_is_a_miss_not_shifted_bytes() -> TestResult {
    use redb::ReadableTable;
    use stratacache::fuzzing::tables::ENTRIES;
    let dir = tempfile::tempdir()?;
    let recs = populate(dir.path())?;
    // A raw value whose record is followed by another record in the same file.
    let i = (0..KEYS)
        .find(|&i| {
            i % 4 != 1
                && recs
                    .iter()
                    .any(|r| r.path == recs[i].path && r.offset > recs[i].offset)
        })
        .expect("a raw record that is not last");
    {
        let db = redb::Database::open(dir.path().join("index.redb"))?;
        let txn = db.begin_write()?;
        {
            let mut entries = txn.open_table(ENTRIES)?;
            let mut loc = entries.get(key(i).as_bytes())?.expect("indexed").value();
            loc.key_len += 1;
            entries.insert(key(i).as_bytes(), loc)?;
        }
        txn.commit()?;
    }
    let got = open(dir.path())?.get(key(i))?.map(|v| v.to_vec());
    if let Some(got) = got {
        // Today: the value shifted by one byte, ending in the next record's b's' of "sREC".
        let tail = String::from_utf8_lossy(&got[got.len() - 4..]).into_owned();
        assert!(got == value(i), "{}: wrong bytes, ending {tail:?}", key(i));
    }
    Ok(())
}
