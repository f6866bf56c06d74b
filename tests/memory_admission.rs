//! Memory admission: which writes go to the memory tier at once, and which wait until the
//! key is read again, so a value written once and never read (a one-hit wonder) is kept by
//! one tier, not two.

use stratacache::{Cache, DiskStore, MemoryAdmission, Promotion, TierKind};

fn open(dir: &std::path::Path, admission: Option<MemoryAdmission>) -> Cache {
    let mut builder = Cache::builder()
        .memory(8 << 20)
        .disk(DiskStore::builder(dir).capacity_bytes(64 << 20));
    if let Some(admission) = admission {
        builder = builder.memory_admission(admission);
    }
    builder.open().expect("open cache")
}

fn in_memory(cache: &Cache, key: &str) -> bool {
    cache.get_bytes_in_memory(key).is_some()
}

fn hits(cache: &Cache, tier: TierKind) -> u64 {
    cache.stats().tier(tier).expect("tier configured").hits
}

fn load(cache: &Cache, key: &str) -> String {
    cache
        .get_with(key, || format!("loaded {key}"))
        .expect("get_with")
}

#[test]
fn by_default_a_loaded_value_waits_for_a_read_and_an_inserted_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), None);

    assert_eq!(load(&cache, "scan/1"), "loaded scan/1");
    assert!(
        !in_memory(&cache, "scan/1"),
        "a load alone stays below memory"
    );
    assert!(cache.disk_store().unwrap().contains_key("scan/1").unwrap());
    assert_eq!(cache.stats().tier(TierKind::Memory).unwrap().inserts, 0);

    // Read again: answered by the disk tier and promoted; then memory answers.
    assert_eq!(load(&cache, "scan/1"), "loaded scan/1");
    assert_eq!(hits(&cache, TierKind::Disk), 1);
    assert!(in_memory(&cache, "scan/1"));
    let before = hits(&cache, TierKind::Memory);
    assert_eq!(load(&cache, "scan/1"), "loaded scan/1");
    assert_eq!(hits(&cache, TierKind::Memory), before + 1);
    assert_eq!(cache.stats().loader_calls, 1);

    cache.insert("doc/1", &"inserted".to_string()).unwrap();
    assert!(
        in_memory(&cache, "doc/1"),
        "an insert goes to memory at once"
    );
}

#[test]
fn on_read_holds_back_inserts_too_but_replaces_values_memory_holds() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), Some(MemoryAdmission::OnRead));
    cache.insert_bytes("k", b"one").unwrap();
    assert!(!in_memory(&cache, "k"));
    assert_eq!(cache.get_bytes("k").unwrap().unwrap().to_vec(), b"one");
    assert!(in_memory(&cache, "k"), "promoted by its first read");

    // A key memory holds: the new value replaces the old one there.
    cache.insert_bytes("k", b"two").unwrap();
    let held = cache.get_bytes_in_memory("k").map(|v| v.to_vec());
    assert_eq!(held.as_deref(), Some(&b"two"[..]));
    let disk = cache
        .disk_store()
        .unwrap()
        .get("k")
        .unwrap()
        .unwrap()
        .to_vec();
    assert!(disk.ends_with(b"two"), "the disk has the new value too");
}

#[test]
fn on_insert_puts_every_value_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), Some(MemoryAdmission::OnInsert));
    load(&cache, "scan/1");
    assert!(in_memory(&cache, "scan/1"));
    cache.insert_bytes("k", b"v").unwrap();
    assert!(in_memory(&cache, "k"));
}

#[test]
fn without_promotion_or_a_tier_below_memory_every_write_goes_to_memory() {
    let dir = tempfile::tempdir().unwrap();
    let never = Cache::builder()
        .memory(8 << 20)
        .disk(DiskStore::builder(dir.path()).capacity_bytes(64 << 20))
        .memory_admission(MemoryAdmission::OnRead)
        .promotion(Promotion::Never)
        .open()
        .unwrap();
    never.insert_bytes("k", b"v").unwrap();
    assert!(in_memory(&never, "k"), "nothing would ever promote it");

    let memory_only = Cache::builder()
        .memory(8 << 20)
        .memory_admission(MemoryAdmission::OnRead)
        .open()
        .unwrap();
    load(&memory_only, "scan/1");
    assert!(in_memory(&memory_only, "scan/1"), "memory is the only tier");
}
