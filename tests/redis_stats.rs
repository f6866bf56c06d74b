//! What the stats say about the Redis tier: its size and entry count are unknown (Redis is
//! shared with other caches and applications), and every form of the stats says so instead
//! of reporting 0: `None` in `TierStats`, `null` in JSON, no series in Prometheus. The
//! memory and disk tiers keep reporting numbers.
#![cfg(feature = "redis")]

use stratacache::{CacheStats, RedisConfig, TierKind};

mod common;
use common::redis_server::{RedisServer, redis_available};
use common::store::redis_tiered;

#[test]
fn redis_size_and_entries_are_unknown_not_zero() -> stratacache::Result<()> {
    if !redis_available("redis_size_and_entries_are_unknown_not_zero") {
        return Ok(());
    }
    let server = RedisServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cache = redis_tiered(
        RedisConfig::new(server.url()).key_prefix("stats:"),
        Some(dir.path()),
    )
    .open()?;
    for i in 0..10u32 {
        cache.insert(format!("k/{i}"), &i)?;
    }
    // Another application's keys in the same Redis: nothing to count as ours.
    let _: () = redis::cmd("SET")
        .arg("someone-else")
        .arg("x")
        .query(&mut server.connection())
        .unwrap();

    let stats = cache.stats();
    let redis = stats.tier(TierKind::Redis).unwrap();
    assert_eq!((redis.entries, redis.size_bytes), (None, None), "{redis:?}");
    assert_eq!(redis.inserts, 10);
    for kind in [TierKind::Memory, TierKind::Disk] {
        let t = stats.tier(kind).unwrap();
        assert_eq!(t.entries, Some(10), "{kind}");
        assert!(t.size_bytes.is_some_and(|b| b > 0), "{kind}: {t:?}");
    }

    // JSON: numbers for memory and disk, null for Redis; and it reads back.
    let json = serde_json::to_value(&stats).unwrap();
    for t in json["tiers"].as_array().unwrap() {
        let known = t["tier"] != "redis";
        assert_eq!(t["entries"].is_u64(), known, "{t}");
        assert_eq!(t["size_bytes"].is_u64(), known, "{t}");
        assert_eq!(t["entries"].is_null(), !known, "{t}");
        assert_eq!(t["size_bytes"].is_null(), !known, "{t}");
    }
    let back: CacheStats = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back.tiers, stats.tiers);
    // JSON without the fields (an older writer, or one that leaves them out) reads as
    // unknown.
    let mut trimmed = json;
    for t in trimmed["tiers"].as_array_mut().unwrap() {
        let t = t.as_object_mut().unwrap();
        t.remove("entries");
        t.remove("size_bytes");
        t.remove("skipped");
    }
    let back: CacheStats = serde_json::from_value(trimmed).unwrap();
    assert!(back.tiers.iter().all(|t| t.entries.is_none()));

    // Prometheus: no series for what Redis cannot tell; the other tiers' series stay.
    let metrics = cache.prometheus();
    let lines: Vec<&str> = metrics.lines().collect();
    for family in ["cache_size_bytes", "cache_entries"] {
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with(&format!("{family}{{tier=\"redis\"}}"))),
            "{family} of Redis:\n{metrics}"
        );
        for tier in ["memory", "disk"] {
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with(&format!("{family}{{tier=\"{tier}\"}} "))),
                "{family} of {tier}:\n{metrics}"
            );
        }
    }
    assert!(lines.contains(&"cache_entries{tier=\"memory\"} 10"));
    assert!(lines.contains(&"cache_inserts_total{tier=\"redis\"} 10"));
    Ok(())
}
