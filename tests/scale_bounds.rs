//! Costs that must not grow with the store: the index under churn (overwrites and
//! evictions of ten times the capacity: its file stops growing), and the work of opening a store of two
//! million entries (bytes read and pages touched, against a store of a thousand).

mod common;

use std::path::Path;

use common::store::quiet;
use stratacache::DiskStore;

const MIB: u64 = 1 << 20;

fn key(i: u64) -> String {
    format!("key:{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn fill(store: &DiskStore, keys: std::ops::Range<u64>, value: &[u8]) {
    let mut batch = Vec::with_capacity(1000);
    for i in keys {
        batch.push((key(i), value));
        if batch.len() == 1000 {
            store.insert_many(&batch).expect("insert_many");
            batch.clear();
        }
    }
    store.insert_many(&batch).expect("insert_many");
    store.flush().expect("flush");
}

fn index_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("index.redb"))
        .expect("index")
        .len()
}

/// Bytes the index file takes on disk: redb grows a file by extending it, and the
/// extension takes no blocks until pages are written there.
fn index_disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir.join("index.redb"))
        .expect("index")
        .blocks()
        * 512
}

#[test]
fn churn_of_ten_capacities_does_not_grow_the_index() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("store");
    let capacity = 16 * MIB;
    let store = quiet(&dir).capacity_bytes(capacity).open().expect("open");
    let value = [7u8; 100];
    // About what the store holds: ~130 bytes of record and ~100 of index per entry.
    let per_fill = capacity / 230;
    fill(&store, 0..per_fill, &value);
    let mut largest = [0u64; 2];
    // Ten capacities more: half new keys (evicting old ones), half overwrites.
    for round in 1..=10u64 {
        let fresh = round * per_fill;
        fill(&store, fresh..fresh + per_fill / 2, &value);
        fill(&store, fresh - per_fill / 2..fresh, &value);
        let stats = store.stats().expect("stats");
        println!(
            "round {round}: {} entries, index {} bytes, {} of {capacity} bytes on disk",
            stats.entries,
            index_len(&dir),
            stats.disk_bytes
        );
        assert!(stats.disk_bytes <= capacity, "round {round}: {stats:?}");
        let half = usize::from(round > 5);
        largest[half] = largest[half].max(index_len(&dir));
    }
    let [early, late] = largest;
    println!("largest index file: {early} bytes in rounds 1-5, {late} in rounds 6-10");
    assert!(
        late <= 2 * early,
        "the index kept growing under churn: {early} bytes at most in rounds 1-5, {late} after"
    );
}

#[test]
fn a_bulk_load_leaves_a_compact_index_at_close() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("store");
    let entries = 300_000;
    // Checkpoints of 20k changes: keys in random order land in a tree that already holds
    // most of them, as in a load of millions with the default memory budget.
    let store = quiet(&dir)
        .capacity_bytes(1 << 30)
        .commit_batch(20_000)
        .open()
        .expect("open");
    fill(&store, 0..entries, &[3u8; 100]);
    let before = index_disk_bytes(&dir);
    store.close().expect("close");
    let after = index_disk_bytes(&dir);
    println!(
        "index on disk after a load of {entries}: {} bytes per entry open, {} after close",
        before / entries,
        after / entries
    );
    // 20-byte keys and 32-byte locations (56 bytes with redb's offsets) in full leaves,
    // the branches and the other tables; a load in random key order leaves over 100
    // before close.
    assert!(
        after / entries <= 72,
        "the index takes {} bytes per entry after close",
        after / entries
    );
    // A session that only reads saves its counters and nothing more: the index takes
    // about the same room on disk.
    // Every entry survived the rewrite, at its place.
    let store = quiet(&dir).open().expect("reopen");
    for i in 0..entries {
        let value = store.get(key(i)).expect("get");
        assert_eq!(value.as_deref(), Some(&[3u8; 100][..]), "entry {i}");
    }
    assert_eq!(store.stats().expect("stats").entries, entries);
    store.close().expect("close");
    let reread = index_disk_bytes(&dir);
    assert!(
        reread <= after + (1 << 20),
        "a read-only session took the index from {after} to {reread} bytes on disk"
    );
}

/// Blocks the segment files take on disk, in bytes.
fn segment_disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let files = std::fs::read_dir(dir.join("segments")).expect("segments dir");
    files
        .map(|e| e.expect("dir entry").metadata().expect("metadata").blocks() * 512)
        .sum()
}

#[test]
fn small_values_take_little_more_than_their_bytes_in_segments() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("store");
    let entries = 100_000;
    let store = quiet(&dir).capacity_bytes(1 << 30).open().expect("open");
    fill(&store, 0..entries, &[5u8; 100]);
    store.close().expect("close");
    let per_entry = segment_disk_bytes(&dir) / entries;
    println!("segments: {per_entry} bytes per entry of a 20-byte key and a 100-byte value");
    // An 11-byte record header at these sequence numbers (magic, CRC, flags, varint
    // lengths and sequence; no expiry, no metadata), the key and the value: 131 bytes;
    // segment headers and the last block of each file add a little. The 40-byte header of
    // format 2 took 160.
    assert!(
        (120..=136).contains(&per_entry),
        "{per_entry} bytes of segment per entry"
    );
}

/// Bytes read through system calls plus pages faulted in by this process so far (4 KiB
/// each).
fn io_and_faults() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").expect("/proc/self/io");
    let rchar: u64 = io
        .lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .expect("rchar")
        .parse()
        .expect("number");
    // SAFETY: rusage is plain data; zeroed is a valid value for getrusage to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage for getrusage to fill.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
    rchar + (usage.ru_minflt + usage.ru_majflt) as u64 * 4096
}

/// Bytes read and touched by opening the store in `dir` (the second open of two: the
/// first after a bulk load may finish one-time work).
fn open_cost(dir: &Path) -> u64 {
    let open = || {
        let before = io_and_faults();
        let store = quiet(dir).open().expect("open");
        let cost = io_and_faults() - before;
        store.close().expect("close");
        cost
    };
    open();
    open()
}

#[test]
fn opening_two_million_entries_costs_what_opening_a_thousand_does() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (small, large) = (tmp.path().join("small"), tmp.path().join("large"));
    let value = [1u8; 100];
    for (dir, entries) in [(&small, 1000), (&large, 2_000_000)] {
        // The same capacity, so the eviction policy's tables are the same size.
        let store = quiet(dir).capacity_bytes(1 << 30).open().expect("open");
        fill(&store, 0..entries, &value);
        store.close().expect("close");
    }
    let (small_cost, large_cost) = (open_cost(&small), open_cost(&large));
    println!("open: {small_cost} bytes read or touched for 1000 entries, {large_cost} for 2000000");
    assert!(
        large_cost <= small_cost + 2 * MIB,
        "opening 2M entries read or touched {large_cost} bytes, 1000 entries {small_cost}"
    );
}
