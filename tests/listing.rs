//! Listing by pages: `list_page`, `visit_page` and `scan` agree, respect the prefix, skip
//! expired entries, resume where a page ended, and `visit_page` stops when asked.

use std::time::Duration;

use stratacache::{DiskStore, EntryInfo, ManualClock};

fn store(dir: &std::path::Path) -> (DiskStore, std::sync::Arc<ManualClock>) {
    let clock = ManualClock::new(1_700_000_000_000);
    let store = DiskStore::builder(dir)
        .clock(clock.clone())
        .open()
        .expect("open");
    (store, clock)
}

/// Every entry under `prefix`, by `visit_page` with pages of `budget` rows.
fn visited(store: &DiskStore, prefix: &[u8], budget: usize) -> Vec<EntryInfo> {
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let next = store
            .visit_page(prefix, after.as_deref(), budget, |e| {
                out.push(e.to_info());
                true
            })
            .expect("visit");
        match next {
            Some(key) => after = Some(key),
            None => return out,
        }
    }
}

/// Every entry under `prefix`, by `list_page` with pages of `budget` rows.
fn listed(store: &DiskStore, prefix: &[u8], budget: usize) -> Vec<EntryInfo> {
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store
            .list_page(prefix, after.as_deref(), budget)
            .expect("list");
        out.extend(page.entries);
        match page.next_after {
            Some(key) => after = Some(key),
            None => return out,
        }
    }
}

#[test]
fn pages_agree_and_respect_prefix_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock) = store(dir.path());
    for i in 0..300u32 {
        store.insert(format!("a/{i:03}"), &[1; 10]).unwrap();
        store.insert(format!("b/{i:03}"), &[2; 20]).unwrap();
    }
    store.insert("a", b"shorter than the prefix").unwrap();
    store.insert(b"a/\xff", b"not UTF-8").unwrap();
    for i in (0..300u32).step_by(3) {
        store
            .insert_with_ttl(format!("a/{i:03}"), &[3; 5], Duration::from_secs(10))
            .unwrap();
    }
    clock.advance(Duration::from_secs(11));

    let expected: Vec<Vec<u8>> = (0..300u32)
        .filter(|i| i % 3 != 0)
        .map(|i| format!("a/{i:03}").into_bytes())
        .chain([b"a/\xff".to_vec()])
        .collect();
    for budget in [1, 2, 7, 100, 4096] {
        let visited = visited(&store, b"a/", budget);
        let keys: Vec<Vec<u8>> = visited.iter().map(|e| e.key.clone()).collect();
        assert_eq!(keys, expected, "budget {budget}");
        assert_eq!(visited, listed(&store, b"a/", budget), "budget {budget}");
        assert!(visited.iter().all(|e| e.size == 10 || e.key == b"a/\xff"));
    }
    let scanned: Vec<EntryInfo> = store.scan(b"a/").map(|e| e.expect("scan")).collect();
    assert_eq!(scanned, visited(&store, b"a/", 4096));
    assert_eq!(visited(&store, b"", 50).len(), expected.len() + 300 + 1);
    assert!(visited(&store, b"c/", 10).is_empty());
}

#[test]
fn visiting_stops_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store(dir.path());
    for i in 0..100u32 {
        store.insert(format!("k{i:03}"), b"v").unwrap();
    }
    let mut seen = Vec::new();
    let next = store
        .visit_page(b"k", None, 1000, |e| {
            seen.push(e.key.to_vec());
            seen.len() < 5
        })
        .unwrap();
    assert_eq!(next, None);
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[4], b"k004");
}
