//! The Redis tier with a real `redis-server` on loopback (feature `redis`).
#![cfg(feature = "redis")]

use std::time::Duration;

use stratacache::{Cache, TierKind};

mod common;
use common::redis_server::{RedisServer, redis_available};
use common::store::open_redis_tiered;

fn tier_hits(cache: &Cache, kind: TierKind) -> u64 {
    cache.stats().tier(kind).expect("tier configured").hits
}

#[test]
fn round_trip_through_redis_with_promotion_and_ttl() {
    if !redis_available("round_trip_through_redis_with_promotion_and_ttl") {
        return;
    }
    let server = RedisServer::start(&[]);
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open_redis_tiered(&server, "t:", Some(a_dir.path()));
    let b = open_redis_tiered(&server, "t:", Some(b_dir.path()));
    a.insert_with_ttl("doc/1", &"hello".to_string(), Duration::from_secs(60))
        .unwrap();
    // b has it in no local tier: Redis answers, then memory.
    assert_eq!(b.get::<String>("doc/1").unwrap().as_deref(), Some("hello"));
    assert_eq!(tier_hits(&b, TierKind::Redis), 1);
    assert_eq!(b.get::<String>("doc/1").unwrap().as_deref(), Some("hello"));
    assert_eq!(tier_hits(&b, TierKind::Memory), 1);
    let ttl = b.ttl("doc/1").unwrap().unwrap().unwrap();
    assert!(
        ttl <= Duration::from_secs(60) && ttl > Duration::from_secs(50),
        "{ttl:?}"
    );
    // A remove in a drops b's memory copy soon.
    assert!(a.remove("doc/1").unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    while b.get::<String>("doc/1").unwrap().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "b still serves the removed value"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // get_many in one round trip per tier.
    a.insert_many(&[("m/1", 1u32), ("m/2", 2), ("m/3", 3)])
        .unwrap();
    let got: Vec<Option<u32>> = b.get_many(&["m/1", "m/2", "nope", "m/3"]).unwrap();
    assert_eq!(got, vec![Some(1), Some(2), None, Some(3)]);
}
