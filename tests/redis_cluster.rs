//! The Redis tier on a real 3-node Redis Cluster: keys spread over every node's slots
//! round-trip, get_many crosses slots, remove and remove_prefix reach every node, and tag
//! generations reach caches opened later.
#![cfg(feature = "redis")]

use stratacache::{Cache, RedisConfig, TierKind};

mod common;
use common::redis_server::{RedisCluster, redis_available};
use common::store::redis_tiered;

fn tier(cache: &Cache, kind: TierKind) -> stratacache::TierStats {
    cache.stats().tier(kind).cloned().expect("tier configured")
}

/// Value keys under `prefix` on each node.
fn keys_per_node(cluster: &RedisCluster, pattern: &str) -> Vec<usize> {
    cluster
        .nodes
        .iter()
        .map(|node| {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(pattern)
                .query(&mut node.connection())
                .unwrap();
            keys.len()
        })
        .collect()
}

#[test]
fn cluster_round_trip_get_many_and_removes_across_slots() {
    if !redis_available("cluster_round_trip_get_many_and_removes_across_slots") {
        return;
    }
    let cluster = RedisCluster::start();
    let config = || RedisConfig::cluster(cluster.urls()).key_prefix("cl:");
    let dir = tempfile::tempdir().unwrap();
    let writer = redis_tiered(config(), Some(dir.path())).open().unwrap();
    // The reader has only memory and Redis: everything it reads comes from the cluster.
    let reader = redis_tiered(config(), None).open().unwrap();

    for i in 0..500u32 {
        writer
            .insert(format!("doc/{i}"), &format!("value {i}"))
            .unwrap();
    }
    let per_node = keys_per_node(&cluster, "cl:v:doc/*");
    assert_eq!(per_node.iter().sum::<usize>(), 500, "{per_node:?}");
    assert!(
        per_node.iter().all(|&n| n > 50),
        "keys on every node: {per_node:?}"
    );

    for i in (0..500u32).step_by(5) {
        assert_eq!(
            reader.get::<String>(format!("doc/{i}")).unwrap(),
            Some(format!("value {i}")),
            "doc/{i}"
        );
    }
    assert_eq!(tier(&reader, TierKind::Redis).hits, 100);

    // get_many across slots (and nodes), with absent keys among them.
    let keys: Vec<String> = (0..520u32).map(|i| format!("doc/{i}")).collect();
    let got: Vec<Option<String>> = reader.get_many(&keys).unwrap();
    for (i, value) in got.iter().enumerate() {
        let want = (i < 500).then(|| format!("value {i}"));
        assert_eq!(value, &want, "doc/{i}");
    }
    assert_eq!(tier(&reader, TierKind::Redis).errors, 0);

    // insert_many across slots.
    let items: Vec<(String, u32)> = (0..100).map(|i| (format!("many/{i}"), i)).collect();
    writer.insert_many(&items).unwrap();
    let many_keys: Vec<&String> = items.iter().map(|(k, _)| k).collect();
    let got: Vec<Option<u32>> = reader.get_many(&many_keys).unwrap();
    assert_eq!(got, (0..100).map(Some).collect::<Vec<_>>());

    // remove across slots: gone from the cluster and from the reader's memory.
    for i in 0..50u32 {
        assert!(writer.remove(format!("doc/{i}")).unwrap(), "doc/{i}");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while (0..50u32).any(|i| reader.get::<String>(format!("doc/{i}")).unwrap().is_some()) {
        assert!(
            std::time::Instant::now() < deadline,
            "reader still serves removed keys"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(
        keys_per_node(&cluster, "cl:v:doc/*").iter().sum::<usize>(),
        450
    );

    // remove_prefix scans every primary.
    writer.insert("keep/1", &1u32).unwrap();
    assert_eq!(writer.remove_prefix("doc/").unwrap(), 450);
    assert_eq!(keys_per_node(&cluster, "cl:v:doc/*"), vec![0, 0, 0]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while (50..500u32).any(|i| reader.get::<String>(format!("doc/{i}")).unwrap().is_some()) {
        assert!(
            std::time::Instant::now() < deadline,
            "reader still serves the prefix"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(writer.get::<String>("doc/77").unwrap(), None);
    assert_eq!(reader.get::<u32>("keep/1").unwrap(), Some(1));
    assert_eq!(reader.get::<u32>("many/42").unwrap(), Some(42));

    // Tag invalidation through the cluster.
    writer
        .insert_with_tags("tagged", &"t".to_string(), &["group"])
        .unwrap();
    assert_eq!(
        reader.get::<String>("tagged").unwrap().as_deref(),
        Some("t")
    );
    writer.invalidate_tag("group").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while reader.get::<String>("tagged").unwrap().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "reader still serves the tag"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // A cache opened now learns the generation (the tags hash lives on one node): what it
    // writes with the tag is current for the writer, not stamped with a generation the
    // writer already retired.
    let late = redis_tiered(config(), None).open().unwrap();
    late.insert_with_tags("tagged/late", &"l".to_string(), &["group"])
        .unwrap();
    assert_eq!(
        writer.get::<String>("tagged/late").unwrap().as_deref(),
        Some("l")
    );

    assert_eq!(tier(&writer, TierKind::Redis).errors, 0);
    assert_eq!(tier(&reader, TierKind::Redis).errors, 0);
    assert_eq!(tier(&late, TierKind::Redis).errors, 0);
}
