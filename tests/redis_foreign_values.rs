//! Things other clients leave under the cache's key prefix: values that are not frames,
//! truncated frames, frames copied from another key, keys of another type, and garbage on
//! the invalidation channel. All are misses (or ignored), never errors, and the cache
//! falls through to the disk tier when it has the value.
#![cfg(feature = "redis")]

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use stratacache::{Cache, InsertOptions, Placement, TierKind};

mod common;
use common::redis_server::{RedisServer, redis_available};
use common::store::open_redis_tiered;

fn tier(cache: &Cache, kind: TierKind) -> stratacache::TierStats {
    cache.stats().tier(kind).cloned().expect("tier configured")
}

fn get_raw(direct: &mut redis::Connection, key: &str) -> Vec<u8> {
    redis::cmd("GET").arg(key).query(direct).unwrap()
}

fn set_raw(direct: &mut redis::Connection, key: &str, value: &[u8]) {
    let _: () = redis::cmd("SET").arg(key).arg(value).query(direct).unwrap();
}

/// Plants the four kinds of foreign value under the keys `<kind>/<n>`; `real` is a valid
/// frame of key `source`.
fn plant(direct: &mut redis::Connection, n: u32, real: &[u8]) {
    set_raw(
        direct,
        &format!("fv:v:garbage/{n}"),
        b"\x00\x01not a frame at all\xff",
    );
    set_raw(
        direct,
        &format!("fv:v:truncated/{n}"),
        &real[..real.len() - 3],
    );
    set_raw(direct, &format!("fv:v:copied/{n}"), real);
    let list = format!("fv:v:list/{n}");
    let _: () = redis::cmd("DEL").arg(&list).query(direct).unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(&list)
        .arg("a")
        .arg("b")
        .query(direct)
        .unwrap();
}

const KINDS: [&str; 4] = ["garbage", "truncated", "copied", "list"];

#[test]
fn foreign_values_are_misses_and_fall_through_to_disk() {
    if !redis_available("foreign_values_are_misses_and_fall_through_to_disk") {
        return;
    }
    let server = RedisServer::start(&[]);
    let mut direct = server.connection();
    let dir = tempfile::tempdir().unwrap();
    let cache = open_redis_tiered(&server, "fv:", Some(dir.path()));
    let no_disk = open_redis_tiered(&server, "fv:", None);
    cache.insert("source", &"a real value".to_string()).unwrap();
    let real = get_raw(&mut direct, "fv:v:source");
    assert!(real.len() > 13);

    // Keys the disk tier has (memory skipped, so every get reaches Redis first).
    let below_memory = InsertOptions::new().placement(Placement::SkipMemory);
    for kind in KINDS {
        cache
            .insert_with(format!("{kind}/1"), &format!("disk {kind}"), &below_memory)
            .unwrap();
    }
    plant(&mut direct, 1, &real);
    plant(&mut direct, 2, &real); // on no tier of `cache`
    for kind in KINDS {
        let key = format!("{kind}/1");
        let got = no_disk.get::<String>(&key);
        assert_eq!(got.unwrap(), None, "{key} without a disk tier");
        // The disk hit is promoted into Redis, replacing the foreign value.
        let got = cache.get::<String>(&key);
        assert_eq!(got.unwrap(), Some(format!("disk {kind}")), "{key}");
        let got = cache.get::<String>(format!("{kind}/2"));
        assert_eq!(got.unwrap(), None, "{kind}/2");
    }
    let redis = tier(&cache, TierKind::Redis);
    assert_eq!(
        redis.errors, 0,
        "foreign values are misses, not errors: {redis:?}"
    );
    assert_eq!(redis.hits, 0);
    assert_eq!(tier(&cache, TierKind::Disk).hits, 4);
    assert_eq!(tier(&no_disk, TierKind::Redis).errors, 0);

    // The same through get_many (one pipeline for all keys), with good keys among them.
    plant(&mut direct, 1, &real);
    let mut keys: Vec<String> = KINDS.iter().map(|k| format!("{k}/1")).collect();
    keys.extend(KINDS.iter().map(|k| format!("{k}/2")));
    keys.push("source".into());
    cache
        .insert_with("source", &"a real value".to_string(), &below_memory)
        .unwrap();
    let got: Vec<Option<String>> = no_disk.get_many(&keys[..8]).unwrap();
    assert_eq!(got, [None, None, None, None, None, None, None, None]);
    assert_eq!(tier(&no_disk, TierKind::Redis).errors, 0);
    let got: Vec<Option<String>> = cache.get_many(&keys).unwrap();
    let mut want: Vec<Option<String>> = KINDS.iter().map(|k| Some(format!("disk {k}"))).collect();
    want.extend([None, None, None, None, Some("a real value".to_string())]);
    assert_eq!(got, want);
    let redis = tier(&cache, TierKind::Redis);
    assert_eq!(
        redis.errors, 0,
        "get_many: foreign values are misses: {redis:?}"
    );
    assert_eq!(
        redis.hits, 1,
        "the good key in the batch is still a Redis hit"
    );

    // Foreign values do not trip the circuit breaker: Redis keeps answering.
    cache.insert("after", &1u8).unwrap();
    assert!(get_raw(&mut direct, "fv:v:after").starts_with(b"sRV1"));
}

#[test]
fn garbage_on_the_invalidation_channel_is_ignored() {
    if !redis_available("garbage_on_the_invalidation_channel_is_ignored") {
        return;
    }
    let server = RedisServer::start(&[]);
    let mut direct = server.connection();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open_redis_tiered(&server, "fv:", Some(a_dir.path()));
    for i in 0..10u32 {
        a.insert(format!("k/{i}"), &i).unwrap();
    }
    // b opens after a's inserts, so no message about them is in flight to drop b's copies.
    let b = open_redis_tiered(&server, "fv:", Some(b_dir.path()));
    for i in 0..10u32 {
        assert_eq!(b.get::<u32>(format!("k/{i}")).unwrap(), Some(i));
    }
    let mut messages: Vec<Vec<u8>> = vec![
        vec![],
        b"x".to_vec(),
        b"12345678".to_vec(),          // a sender id and nothing else
        b"12345678z".to_vec(),         // unknown kind
        b"12345678t\x01\x02".to_vec(), // tag message cut short
        b"12345678t\x00\x00\x00\x00\x00\x00\x00\x01\xff\xfe".to_vec(), // tag not UTF-8
        b"12345678t\x00\x00\x00\x00\x00\x00\x00\x01".to_vec(), // empty tag name
        b"12345678g".to_vec(),         // a "gap" is never sent over the wire
        b"12345678gextra".to_vec(),
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for len in [1, 7, 9, 64, 1000, 70_000] {
        let mut bytes = vec![0u8; len];
        rng.fill(&mut bytes[..]);
        // Not one of the kinds that name keys (`k`, `p`) or tags (`t`).
        if len > 8 && matches!(bytes[8], b'k' | b'p' | b't' | b'g') {
            bytes[8] = b'z';
        }
        messages.push(bytes);
    }
    for message in &messages {
        let _: () = redis::cmd("PUBLISH")
            .arg("fv:invalidate")
            .arg(message)
            .query(&mut direct)
            .unwrap();
    }
    // A real message after the garbage is still applied: the subscriber survived.
    a.insert("k/0", &100u32).unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    while b.get::<u32>("k/0").unwrap() != Some(100) {
        assert!(
            Instant::now() < deadline,
            "b did not hear a's overwrite after the garbage"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // b's other memory copies are untouched: served from memory, no errors.
    let memory_hits = tier(&b, TierKind::Memory).hits;
    for i in 1..10u32 {
        assert_eq!(b.get::<u32>(format!("k/{i}")).unwrap(), Some(i));
    }
    assert_eq!(
        tier(&b, TierKind::Memory).hits,
        memory_hits + 9,
        "garbage cleared b's memory"
    );
    assert_eq!(b.stats().errors, 0);
    assert_eq!(a.stats().errors, 0);
}
