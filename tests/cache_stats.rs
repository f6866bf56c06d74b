//! `Cache::stats()`: hit / miss / insert counts overall and per tier, evictions by reason,
//! a serde (JSON) round trip of `CacheStats`, and the Prometheus rendering.

use stratacache::{CacheStats, InsertOptions, Placement, TierKind, TierStats};

mod common;
use common::store::{no_timers, open_tiered};

fn tier(stats: &CacheStats, kind: TierKind) -> &TierStats {
    stats.tiers.iter().find(|t| t.tier == kind).unwrap()
}

#[test]
fn counts_hits_misses_inserts_per_tier() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(8 << 20, no_timers(dir.path()));
    let fresh = cache.stats();
    assert_eq!((fresh.hits, fresh.misses, fresh.inserts), (0, 0, 0));
    assert_eq!(fresh.hit_ratio, 0.0);
    assert_eq!(
        fresh.tiers.iter().map(|t| t.tier).collect::<Vec<_>>(),
        [TierKind::Memory, TierKind::Disk]
    );

    cache.insert("a", &1u32).unwrap();
    cache.insert("b", &2u32).unwrap();
    let skip = InsertOptions::new().placement(Placement::SkipMemory);
    cache.insert_with("c", &3u32, &skip).unwrap();

    assert_eq!(cache.get::<u32>("a").unwrap(), Some(1)); // memory hit
    assert_eq!(cache.get::<u32>("c").unwrap(), Some(3)); // disk hit, promoted
    assert_eq!(cache.get::<u32>("c").unwrap(), Some(3)); // memory hit
    assert_eq!(cache.get::<u32>("nope").unwrap(), None); // miss everywhere
    assert!(cache.contains_key("b").unwrap()); // not counted
    assert!(cache.remove("b").unwrap());
    assert!(!cache.remove("b").unwrap());

    let stats = cache.stats();
    assert_eq!(stats.hits, 3);
    assert_eq!(stats.misses, 1);
    assert_eq!(stats.hit_ratio, 0.75);
    assert_eq!(stats.inserts, 3);
    assert_eq!(stats.removes, 1);
    assert_eq!(stats.errors, 0);
    let memory = tier(&stats, TierKind::Memory);
    assert_eq!((memory.hits, memory.misses), (2, 2));
    assert_eq!(memory.inserts, 2, "c skipped memory");
    assert_eq!(memory.promotions, 1);
    assert_eq!(memory.entries, Some(2), "a and c");
    assert!(memory.size_bytes > Some(0));
    let disk = tier(&stats, TierKind::Disk);
    assert_eq!((disk.hits, disk.misses), (1, 1));
    assert_eq!(disk.inserts, 3);
    assert_eq!(disk.entries, Some(2));
    assert!(disk.size_bytes > Some(0));
    assert_eq!(
        stats.hits,
        stats.tiers.iter().map(|t| t.hits).sum::<u64>(),
        "every hit was answered by one tier"
    );
    let gets = &stats.operations["get"];
    assert_eq!(gets.count, 4);
    assert_eq!(gets.buckets.last().unwrap().1, 4);
    assert_eq!(stats.operations["insert"].count, 3);
    assert_eq!(stats.operations["remove"].count, 2);
    cache.close().unwrap();
}

#[test]
fn memory_evictions_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(64 << 10, no_timers(dir.path()));
    cache.insert_bytes("x", b"one").unwrap();
    cache.insert_bytes("x", b"two").unwrap(); // replaced
    assert!(cache.remove("x").unwrap()); // explicit
    let before = cache.stats();
    let e = tier(&before, TierKind::Memory).evictions;
    assert_eq!((e.size, e.explicit, e.replaced), (0, 1, 1), "{e:?}");
    for i in 0..100 {
        cache
            .insert_bytes(format!("blob/{i}"), &[i as u8; 4096])
            .unwrap();
    }
    let stats = cache.stats();
    let memory = tier(&stats, TierKind::Memory);
    assert!(
        memory.evictions.size >= 100 - 16,
        "{:?} with {:?} entries",
        memory.evictions,
        memory.entries
    );
    assert_eq!(memory.evictions.size + memory.entries.unwrap(), 100);
    assert!(memory.size_bytes.unwrap() <= 64 << 10);
    // Written through, so evicted values are still disk hits.
    for i in 0..100 {
        assert!(cache.contains_key(format!("blob/{i}")).unwrap());
    }
    cache.close().unwrap();
}

#[test]
fn stats_round_trip_through_json() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(8 << 20, no_timers(dir.path()));
    cache.insert("k", &"v").unwrap();
    cache.get::<String>("k").unwrap();
    cache.get::<String>("missing").unwrap();
    let stats = cache.stats();
    let json = serde_json::to_string_pretty(&stats).unwrap();
    let back: CacheStats = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(back, stats);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["hits"], 1);
    assert_eq!(value["misses"], 1);
    assert_eq!(value["tiers"][0]["tier"], "memory");
    assert_eq!(value["tiers"][1]["tier"], "disk");
    assert_eq!(value["tiers"][0]["evictions"]["size"], 0);
    cache.close().unwrap();
}

#[test]
fn prometheus_names_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(64 << 10, no_timers(dir.path()));
    cache.insert("a", &1u8).unwrap();
    cache.get::<u8>("a").unwrap();
    cache.get::<u8>("a").unwrap();
    cache.get::<u8>("missing").unwrap();
    for i in 0..40 {
        cache.insert_bytes(format!("blob/{i}"), &[0; 4096]).unwrap();
    }
    let stats = cache.stats();
    let text = stats.to_prometheus();
    let lines: Vec<&str> = text.lines().collect();
    for line in [
        "cache_hits_total{tier=\"memory\"} 2",
        "cache_hits_total{tier=\"disk\"} 0",
        "cache_misses_total{tier=\"all\"} 1",
        "# TYPE cache_hits_total counter",
        "# TYPE cache_size_bytes gauge",
        "# TYPE cache_operation_duration_seconds histogram",
        "cache_operation_duration_seconds_count{op=\"get\"} 3",
        "cache_operation_duration_seconds_bucket{op=\"get\",le=\"+Inf\"} 3",
        "cache_operation_duration_seconds_count{op=\"insert\"} 41",
    ] {
        assert!(lines.contains(&line), "missing {line:?} in\n{text}");
    }
    let evicted = tier(&stats, TierKind::Memory).evictions.size;
    assert!(evicted > 0);
    let size_line = format!("cache_evictions_total{{tier=\"memory\",reason=\"size\"}} {evicted}");
    assert!(lines.contains(&size_line.as_str()), "{size_line}\n{text}");
    let disk_bytes = tier(&stats, TierKind::Disk).size_bytes.unwrap();
    let disk_line = format!("cache_size_bytes{{tier=\"disk\"}} {disk_bytes}");
    assert!(lines.contains(&disk_line.as_str()), "{disk_line}\n{text}");
    assert!(text.contains("cache_misses_total{tier=\"memory\"} "));
    assert!(text.contains("cache_operation_duration_seconds_sum{op=\"get\"} "));

    // Every sample line is `name{labels} number`, and each family has HELP and TYPE.
    for line in &lines {
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("name and value");
        assert!(value.parse::<f64>().is_ok(), "{line}");
        assert!(series.starts_with("cache_"), "{line}");
        let name = series.split('{').next().unwrap();
        let family = name
            .strip_suffix("_bucket")
            .or_else(|| name.strip_suffix("_sum"))
            .or_else(|| name.strip_suffix("_count"))
            .filter(|f| *f == "cache_operation_duration_seconds")
            .unwrap_or(name);
        assert!(text.contains(&format!("# TYPE {family} ")), "{line}");
        assert!(text.contains(&format!("# HELP {family} ")), "{line}");
    }
    // Buckets are cumulative.
    let buckets: Vec<u64> = lines
        .iter()
        .filter(|l| l.starts_with("cache_operation_duration_seconds_bucket{op=\"get\""))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
        .collect();
    assert!(buckets.len() > 2);
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(cache.prometheus().lines().count(), lines.len());
    cache.close().unwrap();
}

#[test]
fn typed_get_of_another_type_is_a_miss_and_a_decode_error() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(8 << 20, no_timers(dir.path()));
    cache.insert("s", &"hi".to_string()).unwrap();
    let before = cache.stats();
    // bincode writes the string's length (2) first, which is no bool.
    assert_eq!(cache.get::<bool>("s").unwrap(), None);
    let after = cache.stats();
    assert_eq!(after.decode_errors - before.decode_errors, 1);
    assert_eq!(after.errors - before.errors, 0, "not counted as damage");
    assert_eq!(after.misses - before.misses, 1, "counted as a miss");
    assert_eq!(after.hits - before.hits, 0, "not counted as a hit");
    assert_eq!(
        after.hits,
        after.tiers.iter().map(|t| t.hits).sum::<u64>(),
        "tier hits agree"
    );
    // The value stays for readers of its own type.
    assert!(cache.disk_store().unwrap().contains_key("s").unwrap());
    assert_eq!(cache.get::<String>("s").unwrap().as_deref(), Some("hi"));
    // get_with treats it as a miss and loads.
    cache.insert("n", &"text".to_string()).unwrap();
    let loaded: bool = cache.get_with("n", || true).unwrap();
    assert!(loaded);
    assert_eq!(cache.stats().loader_calls, 1);
    assert_eq!(cache.get::<bool>("n").unwrap(), Some(true));
    cache.close().unwrap();
}
