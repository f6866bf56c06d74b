//! Redis going away mid-run: gets keep answering from the other tiers (or miss) without an
//! error and within bounded time, the circuit breaker makes them fast, inserts still land
//! on disk, and once Redis is back the tier is used again.
#![cfg(feature = "redis")]

use std::time::{Duration, Instant};

use stratacache::{BreakerState, Cache, InsertOptions, Placement, RedisConfig, TierKind};

mod common;
use common::redis_server::{RedisServer, redis_available};
use common::store::redis_tiered;

fn tier(cache: &Cache, kind: TierKind) -> stratacache::TierStats {
    cache.stats().tier(kind).cloned().expect("tier configured")
}

fn exists(direct: &mut redis::Connection, key: &str) -> bool {
    redis::cmd("EXISTS").arg(key).query::<u64>(direct).unwrap() == 1
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[test]
fn gets_survive_a_killed_redis_and_the_tier_comes_back() {
    if !redis_available("gets_survive_a_killed_redis_and_the_tier_comes_back") {
        return;
    }
    let mut server = RedisServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    // Default timeouts (250 ms); a short breaker backoff keeps the test short.
    let config = RedisConfig::new(server.url())
        .key_prefix("out:")
        .circuit_breaker(3, Duration::from_millis(100), Duration::from_secs(1));
    let cache = redis_tiered(config, Some(dir.path())).open().unwrap();
    let below_memory = InsertOptions::new().placement(Placement::SkipMemory);
    for i in 0..100u32 {
        cache.insert(format!("mem/{i}"), &i).unwrap();
        cache
            .insert_with(format!("disk/{i}"), &i, &below_memory)
            .unwrap();
    }
    assert_eq!(cache.get::<u32>("disk/0").unwrap(), Some(0));
    assert_eq!(tier(&cache, TierKind::Redis).hits, 1);

    server.kill();
    let mut times = Vec::new();
    for i in 1..100u32 {
        for (key, want) in [
            (format!("mem/{i}"), Some(i)),
            (format!("disk/{i}"), Some(i)), // memory misses, Redis fails, disk answers
            (format!("absent/{i}"), None),  // every tier is asked
        ] {
            let started = Instant::now();
            let got = cache.get::<u32>(&key);
            let took = started.elapsed();
            assert_eq!(got.unwrap(), want, "{key}");
            assert!(
                took < Duration::from_millis(1500),
                "get {key} took {took:?}"
            );
            times.push(took);
        }
        let started = Instant::now();
        cache.insert(format!("during/{i}"), &i).unwrap();
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1500), "insert took {took:?}");
    }
    let slow = times
        .iter()
        .filter(|t| **t > Duration::from_millis(50))
        .count();
    let m = median(times[30..].to_vec());
    assert!(
        m < Duration::from_millis(5),
        "median get with the breaker open: {m:?}"
    );
    assert!(
        slow < 20,
        "{slow} slow gets: the breaker does not hold calls back"
    );
    let redis = tier(&cache, TierKind::Redis);
    assert!(redis.errors > 0, "Redis failures are counted: {redis:?}");
    assert_eq!(cache.get::<u32>("during/7").unwrap(), Some(7));
    assert!(cache.stats().errors >= redis.errors);

    // Inserts during the outage landed on disk.
    let store = cache.disk_store().unwrap();
    assert!((1..100).all(|i| store.contains_key(format!("during/{i}")).unwrap()));

    // Redis comes back on the same port: within the breaker's backoff the tier is used.
    server.restart();
    used_again(&server, &cache, "out:");
}

/// Waits (up to 5 s) for the Redis tier under `cache` to be used again.
fn used_again(server: &RedisServer, cache: &Cache, prefix: &str) {
    let mut direct = server.connection();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut n = 0;
    loop {
        n += 1;
        let key = format!("back/{n}");
        cache.insert(&key, &n).unwrap();
        if exists(&mut direct, &format!("{prefix}v:{key}")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the Redis tier is not used again after a restart"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Reads reach Redis again: a value only Redis and disk have is a Redis hit.
    let hits = tier(cache, TierKind::Redis).hits;
    cache
        .insert_with(
            "back/only-below",
            &5u8,
            &InsertOptions::new().placement(Placement::SkipMemory),
        )
        .unwrap();
    assert!(exists(&mut direct, &format!("{prefix}v:back/only-below")));
    assert_eq!(cache.get::<u8>("back/only-below").unwrap(), Some(5));
    assert_eq!(tier(cache, TierKind::Redis).hits, hits + 1);
}

#[test]
fn gets_stay_bounded_while_redis_hangs() {
    if !redis_available("gets_stay_bounded_while_redis_hangs") {
        return;
    }
    let server = RedisServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = RedisConfig::new(server.url())
        .key_prefix("hang:")
        .circuit_breaker(3, Duration::from_millis(100), Duration::from_secs(1));
    let cache = redis_tiered(config, Some(dir.path())).open().unwrap();
    let below_memory = InsertOptions::new().placement(Placement::SkipMemory);
    let keys: Vec<String> = (0..50).map(|i| format!("disk/{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        cache.insert_with(key, &(i as u32), &below_memory).unwrap();
    }
    server.pause();
    let want: Vec<Option<u32>> = (0..50).map(Some).collect();
    let mut times = Vec::new();
    let until = Instant::now() + Duration::from_millis(1500);
    let mut round = 0;
    while Instant::now() < until {
        round += 1;
        let started = Instant::now();
        let got: Vec<Option<u32>> = cache.get_many(&keys).unwrap();
        let took = started.elapsed();
        assert_eq!(got, want);
        assert!(took < Duration::from_millis(1500), "get_many took {took:?}");
        let started = Instant::now();
        assert_eq!(cache.get::<u32>(format!("absent/{round}")).unwrap(), None);
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1500), "get took {took:?}");
        times.push(took);
        let started = Instant::now();
        cache.insert(format!("during/{round}"), &1u8).unwrap();
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1500), "insert took {took:?}");
    }
    assert!(median(times) < Duration::from_millis(5));
    assert!(tier(&cache, TierKind::Redis).errors > 0);
    server.resume();
    used_again(&server, &cache, "hang:");
}

/// While Redis is down, a write the tier could not make is counted as what it was: a
/// failed call (`errors`) until the breaker opens, then a call not made (`skipped`). Never
/// as an insert or a promotion, and a read the breaker held back is not a Redis miss.
#[test]
fn writes_redis_did_not_take_are_not_counted_as_inserts() -> stratacache::Result<()> {
    if !redis_available("writes_redis_did_not_take_are_not_counted_as_inserts") {
        return Ok(());
    }
    let mut server = RedisServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    // Two failures open the breaker, and it stays open for the rest of the test.
    let config = RedisConfig::new(server.url())
        .key_prefix("skip:")
        .circuit_breaker(2, Duration::from_secs(60), Duration::from_secs(60));
    let cache = redis_tiered(config, Some(dir.path())).open()?;
    for i in 0..5u32 {
        cache.insert(format!("up/{i}"), &i)?;
    }
    let below_memory = InsertOptions::new().placement(Placement::SkipMemory);
    cache.insert_with("up/below", &7u32, &below_memory)?;
    let before = cache.stats();
    let redis_before = before.tier(TierKind::Redis).cloned().unwrap();
    assert_eq!(redis_before.inserts, 6);
    assert_eq!((redis_before.errors, redis_before.skipped), (0, 0));

    server.kill();
    // Two inserts reach a dead Redis and fail (errors); the breaker opens on the second.
    cache.insert("down/0", &0u32)?;
    cache.insert("down/1", &1u32)?;
    let redis = tier(&cache, TierKind::Redis);
    assert_eq!((redis.inserts, redis.errors, redis.skipped), (6, 2, 0));
    // Writes the open breaker holds back: 8 inserts, one insert_many (one call).
    for i in 2..10u32 {
        cache.insert(format!("down/{i}"), &i)?;
    }
    cache.insert_many(&[("batch/0", 0u32), ("batch/1", 1), ("batch/2", 2)])?;
    // A read of a value only the disk has: the Redis get and the promotion into Redis are
    // both held back; the promotion into memory happens.
    assert_eq!(cache.get::<u32>("up/below")?, Some(7));

    let after = cache.stats();
    let redis = after.tier(TierKind::Redis).unwrap();
    assert_eq!(
        redis.inserts, 6,
        "no insert counted for Redis while it was down"
    );
    assert_eq!(
        redis.promotions, 0,
        "the promotion into Redis did not happen"
    );
    assert_eq!(redis.errors, 2, "the two calls that failed");
    assert_eq!(
        redis.skipped,
        8 + 1 + 2,
        "inserts, insert_many, get and promotion"
    );
    assert_eq!(
        redis.misses, redis_before.misses,
        "a skipped read is no Redis miss"
    );
    assert_eq!(after.errors, 2, "skipped calls are not errors");
    let (disk, memory) = (
        after.tier(TierKind::Disk).unwrap(),
        after.tier(TierKind::Memory).unwrap(),
    );
    let disk_before = before.tier(TierKind::Disk).unwrap();
    assert_eq!(disk.inserts - disk_before.inserts, 10 + 3);
    assert_eq!(memory.promotions, 1);
    assert_eq!(
        after.inserts - before.inserts,
        10 + 3,
        "the cache took every write"
    );
    let metrics = cache.prometheus();
    assert!(
        metrics.contains("cache_skipped_total{tier=\"redis\"} 11"),
        "{metrics}"
    );
    assert!(metrics.contains("cache_inserts_total{tier=\"redis\"} 6"));
    Ok(())
}

/// `Cache::redis_health` follows the breaker through an outage and back, keeps the last
/// failure, and counts foreign values; a cache without Redis has no Redis health.
#[test]
fn redis_health_follows_the_breaker() -> stratacache::Result<()> {
    if !redis_available("redis_health_follows_the_breaker") {
        return Ok(());
    }
    let mut server = RedisServer::start(&[]);
    let backoff = Duration::from_millis(300);
    let config = RedisConfig::new(server.url())
        .key_prefix("health:")
        .circuit_breaker(2, backoff, backoff);
    let cache = redis_tiered(config, None).open()?;
    let health = cache.redis_health().expect("the cache has a Redis tier");
    assert!(health.is_available(), "{health:?}");
    assert_eq!(health.breaker, BreakerState::Closed);
    assert_eq!((health.retry_in_ms, health.last_failure), (None, None));
    assert_eq!(health.foreign_values, 0);

    // Something another client left under the prefix reads as a miss, and is counted.
    let _: () = redis::cmd("SET")
        .arg("health:v:junk")
        .arg("not a frame")
        .query(&mut server.connection())
        .unwrap();
    assert_eq!(cache.get::<u32>("junk")?, None);
    assert_eq!(cache.redis_health().unwrap().foreign_values, 1);

    server.kill();
    cache.insert("a", &1u32)?;
    cache.insert("b", &2u32)?;
    let down = cache.redis_health().unwrap();
    assert!(!down.is_available(), "{down:?}");
    assert_eq!(down.breaker, BreakerState::Open);
    assert!(down.retry_in_ms.is_some_and(|ms| ms <= 300), "{down:?}");
    let failure = down.last_failure.clone().expect("the failure is kept");
    assert!(failure.starts_with("insert: "), "{failure}");
    let json = serde_json::to_value(&down).unwrap();
    assert_eq!(json["breaker"], "open", "{json}");

    // Back on the same port: after the backoff one call probes, and the breaker closes.
    server.restart();
    std::thread::sleep(backoff + Duration::from_millis(50));
    cache.insert("c", &3u32)?;
    let up = cache.redis_health().unwrap();
    assert!(up.is_available(), "{up:?}");
    assert_eq!(up.retry_in_ms, None);
    assert_eq!(up.last_failure.as_deref(), Some(failure.as_str()));
    assert_eq!(
        tier(&cache, TierKind::Redis).inserts,
        1,
        "only c reached Redis"
    );

    let memory_only = Cache::builder().memory(1 << 20).open()?;
    assert!(memory_only.redis_health().is_none());
    Ok(())
}
