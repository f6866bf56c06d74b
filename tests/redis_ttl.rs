//! The Redis tier and TTLs: values round-trip, `PX` carries the remaining TTL, promotion
//! (from Redis into memory, from disk into Redis) keeps it, Redis expires values in real
//! time, and `RedisConfig::ttl_cap` bounds what Redis is given.
#![cfg(feature = "redis")]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stratacache::{Cache, InsertOptions, ManualClock, Placement, RedisConfig, TierKind};

mod common;
use common::redis_server::{RedisServer, redis_available};
use common::store::redis_tiered;

const START_MS: u64 = 1_700_000_000_000;

/// A cache over Redis as `config` says, with a disk tier in `dir` when given, its time
/// from `clock` when given (the system clock otherwise).
fn cache(config: RedisConfig, dir: Option<&Path>, clock: Option<Arc<ManualClock>>) -> Cache {
    let mut builder = redis_tiered(config, dir);
    if let Some(clock) = clock {
        builder = builder.clock(clock);
    }
    builder.open().unwrap()
}

fn tier(cache: &Cache, kind: TierKind) -> stratacache::TierStats {
    cache.stats().tier(kind).cloned().expect("tier configured")
}

fn pttl(conn: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(conn).unwrap()
}

fn ttl_of(cache: &Cache, key: &str) -> Duration {
    cache
        .ttl(key)
        .unwrap()
        .expect("present")
        .expect("has a TTL")
}

#[test]
fn round_trip_keeps_the_remaining_ttl_through_promotion() {
    if !redis_available("round_trip_keeps_the_remaining_ttl_through_promotion") {
        return;
    }
    let server = RedisServer::start(&[]);
    let mut direct = server.connection();
    let clock = ManualClock::new(START_MS);
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = RedisConfig::new(server.url()).key_prefix("ttl:");
    let a = cache(config.clone(), Some(a_dir.path()), Some(clock.clone()));
    let b = cache(config, Some(b_dir.path()), Some(clock.clone()));

    a.insert_with_ttl("doc/1", &"hello".to_string(), Duration::from_secs(60))
        .unwrap();
    let px = pttl(&mut direct, "ttl:v:doc/1");
    assert!((59_000..=60_000).contains(&px), "PTTL {px}");

    // b has nothing locally: Redis answers, and the copy in b's memory keeps the TTL.
    assert_eq!(b.get::<String>("doc/1").unwrap().as_deref(), Some("hello"));
    assert_eq!(tier(&b, TierKind::Redis).hits, 1);
    assert_eq!(tier(&b, TierKind::Memory).promotions, 1);
    assert_eq!(b.get::<String>("doc/1").unwrap().as_deref(), Some("hello"));
    assert_eq!(tier(&b, TierKind::Memory).hits, 1);
    let ttl = ttl_of(&b, "doc/1");
    assert!(
        ttl > Duration::from_secs(58) && ttl <= Duration::from_secs(60),
        "{ttl:?}"
    );
    clock.advance(Duration::from_secs(20));
    let ttl = ttl_of(&b, "doc/1");
    assert!(
        ttl > Duration::from_secs(38) && ttl <= Duration::from_secs(40),
        "{ttl:?}"
    );
    // On b's clock the memory copy expires with the value.
    clock.advance(Duration::from_secs(41));
    let mem_before = tier(&b, TierKind::Memory).hits;
    let _ = b.get::<String>("doc/1").unwrap();
    assert_eq!(
        tier(&b, TierKind::Memory).hits,
        mem_before,
        "expired memory copy served"
    );

    // A disk hit is promoted into Redis (and memory) with what is left of its TTL.
    a.insert_with(
        "doc/2",
        &7u64,
        &InsertOptions::new()
            .ttl(Duration::from_secs(100))
            .placement(Placement::SkipMemory),
    )
    .unwrap();
    let _: () = redis::cmd("DEL")
        .arg("ttl:v:doc/2")
        .query(&mut direct)
        .unwrap();
    clock.advance(Duration::from_secs(40));
    assert_eq!(a.get::<u64>("doc/2").unwrap(), Some(7));
    assert_eq!(tier(&a, TierKind::Disk).hits, 1);
    assert!(tier(&a, TierKind::Redis).promotions >= 1);
    let px = pttl(&mut direct, "ttl:v:doc/2");
    assert!((59_000..=60_000).contains(&px), "promoted PTTL {px}");
    let ttl = ttl_of(&a, "doc/2");
    assert!(
        ttl > Duration::from_secs(59) && ttl <= Duration::from_secs(60),
        "{ttl:?}"
    );
    assert_eq!(a.get::<u64>("doc/2").unwrap(), Some(7));
    assert_eq!(tier(&a, TierKind::Memory).hits, 1);

    // A value without a TTL has none in Redis either (no cap configured).
    a.insert("doc/3", &1u8).unwrap();
    assert_eq!(pttl(&mut direct, "ttl:v:doc/3"), -1);
    assert_eq!(b.get::<u8>("doc/3").unwrap(), Some(1));
    assert_eq!(b.ttl("doc/3").unwrap(), Some(None));
}

#[test]
fn redis_expires_values_in_real_time() {
    if !redis_available("redis_expires_values_in_real_time") {
        return;
    }
    let server = RedisServer::start(&[]);
    let mut direct = server.connection();
    let config = RedisConfig::new(server.url()).key_prefix("px:");
    // No disk tier: once Redis drops the value, nothing else has it.
    let a = cache(config.clone(), None, None);
    let b = cache(config, None, None);
    a.insert_with_ttl("short", &"brief".to_string(), Duration::from_millis(300))
        .unwrap();
    let px = pttl(&mut direct, "px:v:short");
    assert!((1..=300).contains(&px), "PTTL {px}");
    assert_eq!(b.get::<String>("short").unwrap().as_deref(), Some("brief"));
    let ttl = ttl_of(&b, "short");
    assert!(ttl <= Duration::from_millis(300), "{ttl:?}");

    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let exists: u64 = redis::cmd("EXISTS")
            .arg("px:v:short")
            .query(&mut direct)
            .unwrap();
        if exists == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Redis kept the value past its PX"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        b.get::<String>("short").unwrap(),
        None,
        "b's memory copy outlived the TTL"
    );
    assert_eq!(a.get::<String>("short").unwrap(), None);
    // A value inserted already expired is not left in Redis.
    a.insert_with_ttl("gone", &1u8, Duration::ZERO).unwrap();
    let exists: u64 = redis::cmd("EXISTS")
        .arg("px:v:gone")
        .query(&mut direct)
        .unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn ttl_cap_bounds_the_ttl_redis_is_given() {
    if !redis_available("ttl_cap_bounds_the_ttl_redis_is_given") {
        return;
    }
    let server = RedisServer::start(&[]);
    let mut direct = server.connection();
    let clock = ManualClock::new(START_MS);
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = RedisConfig::new(server.url())
        .key_prefix("cap:")
        .ttl_cap(Duration::from_secs(10));
    let a = cache(config.clone(), Some(a_dir.path()), Some(clock.clone()));
    let b = cache(config, Some(b_dir.path()), Some(clock.clone()));

    a.insert("forever", &1u32).unwrap();
    a.insert_with_ttl("hour", &2u32, Duration::from_secs(3600))
        .unwrap();
    a.insert_with_ttl("five", &3u32, Duration::from_secs(5))
        .unwrap();
    for (key, low, high) in [
        ("cap:v:forever", 9_000, 10_000),
        ("cap:v:hour", 9_000, 10_000),
        ("cap:v:five", 4_000, 5_000),
    ] {
        let px = pttl(&mut direct, key);
        assert!((low..=high).contains(&px), "{key}: PTTL {px}");
    }
    // The local tiers keep the real TTL...
    assert_eq!(a.ttl("forever").unwrap(), Some(None));
    assert_eq!(ttl_of(&a, "hour"), Duration::from_secs(3600));
    // ...while a copy read from Redis lives no longer than Redis keeps it.
    assert_eq!(b.get::<u32>("forever").unwrap(), Some(1));
    assert_eq!(b.get::<u32>("hour").unwrap(), Some(2));
    assert_eq!(tier(&b, TierKind::Redis).hits, 2);
    for key in ["forever", "hour"] {
        let ttl = ttl_of(&b, key);
        assert!(ttl <= Duration::from_secs(10), "{key}: {ttl:?}");
    }
    // A promotion into Redis is capped too.
    let c_dir = tempfile::tempdir().unwrap();
    drop(b);
    let c = cache(
        RedisConfig::new(server.url())
            .key_prefix("cap:")
            .ttl_cap(Duration::from_secs(10)),
        Some(c_dir.path()),
        Some(clock.clone()),
    );
    c.insert_with(
        "hour2",
        &4u32,
        &InsertOptions::new()
            .ttl(Duration::from_secs(3600))
            .placement(Placement::SkipMemory),
    )
    .unwrap();
    let _: () = redis::cmd("DEL")
        .arg("cap:v:hour2")
        .query(&mut direct)
        .unwrap();
    assert_eq!(c.get::<u32>("hour2").unwrap(), Some(4));
    let px = pttl(&mut direct, "cap:v:hour2");
    assert!((9_000..=10_000).contains(&px), "promoted PTTL {px}");
}

#[test]
fn expiry_changes_reach_the_redis_tier_and_other_caches() {
    if !redis_available("expiry_changes_reach_the_redis_tier_and_other_caches") {
        return;
    }
    let server = RedisServer::start(&[]);
    let mut direct = server.connection();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = RedisConfig::new(server.url()).key_prefix("exp:");
    let a = cache(config.clone(), Some(a_dir.path()), None);
    let b = cache(config, Some(b_dir.path()), None);
    a.insert("doc", &"text".to_string()).unwrap();
    assert_eq!(pttl(&mut direct, "exp:v:doc"), -1, "no TTL in Redis yet");
    assert_eq!(b.get::<String>("doc").unwrap().as_deref(), Some("text"));

    // A new expiry is set in every tier: Redis's PTTL, a's disk, and b sees it too.
    assert!(a.expire("doc", Duration::from_secs(600)).unwrap());
    let px = pttl(&mut direct, "exp:v:doc");
    assert!((590_000..=600_000).contains(&px), "PTTL {px}");
    let on_disk = a
        .disk_store()
        .unwrap()
        .ttl("doc")
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(on_disk > Duration::from_secs(590));
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        // b's memory copy was dropped by the invalidation; it reads Redis's new expiry.
        match b.ttl("doc").unwrap() {
            Some(Some(left)) if left > Duration::from_secs(590) => break,
            other => assert!(Instant::now() < deadline, "b still sees {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }

    // PERSIST removes it everywhere.
    assert!(a.persist("doc").unwrap());
    assert_eq!(pttl(&mut direct, "exp:v:doc"), -1);
    assert_eq!(a.disk_store().unwrap().ttl("doc").unwrap(), Some(None));
    assert_eq!(ttl_of_opt(&a, "doc"), Some(None));
}

fn ttl_of_opt(cache: &Cache, key: &str) -> Option<Option<Duration>> {
    cache.ttl(key).unwrap()
}
