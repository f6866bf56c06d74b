//! Two caches (separate disk directories, as two processes would have) sharing one Redis:
//! values written by one are read by the other, and the other's removes, overwrites,
//! prefix removes and tag invalidations reach its local copies (memory and disk) through
//! the invalidation channel.
#![cfg(feature = "redis")]

use std::path::Path;
use std::time::{Duration, Instant};

use stratacache::{Cache, RedisConfig, TierKind};

mod common;
use common::redis_server::{RedisServer, redis_available};
use common::store::redis_tiered;

/// One of the two caches: its own disk in `dir`, reading in `order` (the default when
/// `None`).
fn open(server: &RedisServer, dir: &Path, order: Option<[TierKind; 3]>) -> Cache {
    let config = RedisConfig::new(server.url()).key_prefix("two:");
    let mut builder = redis_tiered(config, Some(dir));
    if let Some(order) = order {
        builder = builder.tier_order(order);
    }
    builder.open().unwrap()
}

fn tier(cache: &Cache, kind: TierKind) -> stratacache::TierStats {
    cache.stats().tier(kind).cloned().expect("tier configured")
}

/// Polls `done` for up to 1 s.
fn within_a_second(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while !done() {
        assert!(Instant::now() < deadline, "not within 1 s: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn on_disk(cache: &Cache, key: &str) -> bool {
    cache.disk_store().unwrap().contains_key(key).unwrap()
}

/// Returns once `b` has applied every change `a` announced so far: `a` removes a marker
/// that `b` holds on its disk only, and the channel delivers `a`'s announcements in order.
fn settle(a: &Cache, b: &Cache) {
    let marker = "settle/marker";
    b.disk_store().unwrap().insert(marker, b"x").unwrap();
    a.remove(marker).unwrap();
    within_a_second("b applies a's announcements", || !on_disk(b, marker));
}

fn get(cache: &Cache, key: &str) -> Option<String> {
    cache.get::<String>(key).unwrap()
}

/// The whole exchange, for a read order.
fn two_caches_stay_coherent(order: Option<[TierKind; 3]>) {
    let server = RedisServer::start(&[]);
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(&server, a_dir.path(), order);
    let b = open(&server, b_dir.path(), order);
    let disk_above_redis = order.is_some_and(|o| o[1] == TierKind::Disk);

    // Written by a, read by b (from Redis, then from its memory). Once a's announcement of
    // the write has reached b: arriving after b's first read, it would drop the copy that
    // read made.
    a.insert("doc/1", &"one".to_string()).unwrap();
    settle(&a, &b);
    assert_eq!(get(&b, "doc/1").as_deref(), Some("one"));
    assert_eq!(tier(&b, TierKind::Redis).hits, 1);
    assert_eq!(get(&b, "doc/1").as_deref(), Some("one"));
    assert_eq!(tier(&b, TierKind::Memory).hits, 1);
    if disk_above_redis {
        assert!(
            on_disk(&b, "doc/1"),
            "a Redis hit is promoted into the disk above it"
        );
    }

    // An overwrite in a: b reads the new value soon.
    a.insert("doc/1", &"uno".to_string()).unwrap();
    within_a_second("b reads a's overwrite", || {
        get(&b, "doc/1").as_deref() == Some("uno")
    });

    // A remove in a drops b's copies.
    assert!(a.remove("doc/1").unwrap());
    within_a_second("b drops the removed value", || get(&b, "doc/1").is_none());
    assert!(!on_disk(&b, "doc/1"));

    // A value b wrote itself (in b's memory, Redis and b's disk) is removed by a's remove.
    b.insert("doc/2", &"two".to_string()).unwrap();
    assert!(on_disk(&b, "doc/2"));
    assert!(a.remove("doc/2").unwrap(), "a removes it from Redis");
    within_a_second("b drops its own value removed by a", || {
        get(&b, "doc/2").is_none() && !on_disk(&b, "doc/2")
    });

    // remove_prefix in a reaches values b holds on its own disk.
    for i in 0..20 {
        b.insert(format!("batch/{i}"), &format!("v{i}")).unwrap();
    }
    b.insert("other/1", &"keep".to_string()).unwrap();
    assert_eq!(get(&a, "batch/3").as_deref(), Some("v3"));
    assert_eq!(a.remove_prefix("batch/").unwrap(), 20);
    within_a_second("b drops the prefix", || {
        (0..20).all(|i| !on_disk(&b, &format!("batch/{i}")))
    });
    for i in 0..20 {
        assert_eq!(get(&b, &format!("batch/{i}")), None, "batch/{i}");
        assert_eq!(get(&a, &format!("batch/{i}")), None, "batch/{i}");
    }
    assert_eq!(get(&b, "other/1").as_deref(), Some("keep"));
    assert!(on_disk(&b, "other/1"));

    // invalidate_tag in a retires b's tagged values, including copies only on b's disk.
    b.insert_with_tags("t/1", &"tagged".to_string(), &["owner:7"])
        .unwrap();
    b.insert_with_tags("t/2", &"tagged too".to_string(), &["owner:7"])
        .unwrap();
    b.insert_with_tags("t/3", &"other tag".to_string(), &["owner:8"])
        .unwrap();
    assert_eq!(get(&b, "t/1").as_deref(), Some("tagged"));
    let mut direct = server.connection();
    let _: () = redis::cmd("DEL")
        .arg("two:v:t/2")
        .query(&mut direct)
        .unwrap();
    assert!(on_disk(&b, "t/2"));
    assert_eq!(get(&a, "t/1").as_deref(), Some("tagged"));
    a.invalidate_tag("owner:7").unwrap();
    assert_eq!(get(&a, "t/1"), None, "a: retired at once");
    within_a_second("b retires the tag", || {
        get(&b, "t/1").is_none() && get(&b, "t/2").is_none()
    });
    assert!(
        !on_disk(&b, "t/2"),
        "the stale disk copy is dropped when read"
    );
    assert_eq!(get(&b, "t/3").as_deref(), Some("other tag"));
    assert_eq!(get(&a, "t/3").as_deref(), Some("other tag"));
    // Values tagged after the invalidation are current in both caches.
    b.insert_with_tags("t/4", &"new".to_string(), &["owner:7"])
        .unwrap();
    assert_eq!(get(&b, "t/4").as_deref(), Some("new"));
    assert_eq!(get(&a, "t/4").as_deref(), Some("new"));

    // A cache opened later learns the generation from Redis.
    let c_dir = tempfile::tempdir().unwrap();
    {
        let c = open(&server, c_dir.path(), order);
        assert_eq!(get(&c, "t/4").as_deref(), Some("new"));
        assert_eq!(get(&c, "t/1"), None);
    }

    assert_eq!(tier(&a, TierKind::Redis).errors, 0);
    assert_eq!(tier(&b, TierKind::Redis).errors, 0);
}

#[test]
fn two_caches_share_values_and_invalidations() {
    if !redis_available("two_caches_share_values_and_invalidations") {
        return;
    }
    two_caches_stay_coherent(None);
}

#[test]
fn two_caches_stay_coherent_with_disk_above_redis() {
    if !redis_available("two_caches_stay_coherent_with_disk_above_redis") {
        return;
    }
    two_caches_stay_coherent(Some([TierKind::Memory, TierKind::Disk, TierKind::Redis]));
}

#[test]
fn get_many_and_insert_many_across_caches() {
    if !redis_available("get_many_and_insert_many_across_caches") {
        return;
    }
    let server = RedisServer::start(&[]);
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(&server, a_dir.path(), None);
    let b = open(&server, b_dir.path(), None);
    let items: Vec<(String, u64)> = (0..50).map(|i| (format!("many/{i}"), i * 3)).collect();
    a.insert_many(&items).unwrap();
    let mut keys: Vec<String> = items.iter().map(|(k, _)| k.clone()).collect();
    keys.push("many/absent".into());
    let got: Vec<Option<u64>> = b.get_many(&keys).unwrap();
    let mut want: Vec<Option<u64>> = items.iter().map(|(_, v)| Some(*v)).collect();
    want.push(None);
    assert_eq!(got, want);
    assert_eq!(tier(&b, TierKind::Redis).hits, 50);
    // Overwrites by insert_many reach b's memory copies.
    let newer: Vec<(String, u64)> = (0..50).map(|i| (format!("many/{i}"), i + 1000)).collect();
    a.insert_many(&newer).unwrap();
    within_a_second("b reads insert_many overwrites", || {
        let got: Vec<Option<u64>> = b.get_many(&keys[..50]).unwrap();
        got.iter()
            .enumerate()
            .all(|(i, v)| *v == Some(i as u64 + 1000))
    });
}

#[test]
fn a_cache_sees_invalidations_sent_right_after_it_opened() {
    if !redis_available("a_cache_sees_invalidations_sent_right_after_it_opened") {
        return;
    }
    let server = RedisServer::start(&[]);
    let a_dir = tempfile::tempdir().unwrap();
    let a = open(&server, a_dir.path(), None);
    for round in 0..10 {
        let key = format!("fresh/{round}");
        a.insert(&key, &"old".to_string()).unwrap();
        let b_dir = tempfile::tempdir().unwrap();
        let b = open(&server, b_dir.path(), None);
        // Read at once (the copy lands in b's memory), then a overwrites it.
        assert_eq!(get(&b, &key).as_deref(), Some("old"));
        a.insert(&key, &"new".to_string()).unwrap();
        within_a_second("a cache just opened reads the overwrite", || {
            get(&b, &key).as_deref() == Some("new")
        });
    }
}

/// Opening a cache learns the tag generations other caches raised while it was away from
/// one hash (`<prefix>tags`): no SCAN, however many other keys Redis holds, and no key per
/// tag.
#[test]
fn open_learns_tag_generations_without_scanning_the_keyspace() {
    if !redis_available("open_learns_tag_generations_without_scanning_the_keyspace") {
        return;
    }
    let server = RedisServer::start(&[]);
    let mut direct = server.connection();
    // 20,000 keys of other applications.
    for chunk in 0..20 {
        let mut mset = redis::cmd("MSET");
        for i in 0..1000 {
            mset.arg(format!("app:{chunk}:{i}")).arg("x");
        }
        let _: () = mset.query(&mut direct).unwrap();
    }
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(&server, a_dir.path(), None);
    {
        let b = open(&server, b_dir.path(), None);
        b.insert_with_tags("doc", &"old".to_string(), &["owner:2"])
            .unwrap();
        b.close().unwrap();
    }
    // While b is away, a invalidates the tag (b's disk copy and the Redis copy are stale).
    a.invalidate_tag("owner:2").unwrap();
    a.invalidate_tag("owner:3").unwrap();
    let generations: Vec<(String, u64)> = redis::cmd("HGETALL")
        .arg("two:tags")
        .query(&mut direct)
        .unwrap();
    let names: Vec<&str> = generations.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(names.len(), 2, "{generations:?}");
    assert!(names.contains(&"owner:2") && names.contains(&"owner:3"));

    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut direct)
        .unwrap();
    let b = open(&server, b_dir.path(), None);
    let commands: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut direct)
        .unwrap();
    assert!(
        !commands.contains("cmdstat_scan:") && !commands.contains("cmdstat_keys:"),
        "open walked the keyspace:\n{commands}"
    );
    assert!(commands.contains("cmdstat_hscan:calls=1,"), "{commands}");
    // b learned the generation at open: its stale copies are misses.
    assert_eq!(get(&b, "doc"), None);
    assert!(
        !on_disk(&b, "doc"),
        "the stale disk copy is dropped when read"
    );
    // One key holds the generations; none per tag.
    let per_tag: Vec<String> = redis::cmd("KEYS")
        .arg("two:t:*")
        .query(&mut direct)
        .unwrap();
    assert_eq!(per_tag, Vec::<String>::new());
    assert_eq!(tier(&b, TierKind::Redis).errors, 0);
}
