//! Benchmarks of the Redis tier (feature `redis`) against baselines in the same run, with a
//! `redis-server` the bench starts on a free loopback port (and kills at the end).
//!
//! Pairs (candidate vs baseline), 4 KiB incompressible values, 1 thread:
//!
//! 1. `redis_hit`: `Cache::get_bytes` on a cache whose only tier is Redis (pooled
//!    connection, GET + PTTL pipelined, frame CRC check) vs a raw `GET` of the same value
//!    size with the same crate on one connection. Target: >= 0.85x the rate (time <= 1.18).
//! 2. `get_many_100`: `Cache::get_many_bytes` of 100 keys vs 100 single `get_bytes`.
//!    Target: >= 10x the rate (time <= 0.1).
//!    `get_many_100_256b`: the same with 256-byte values (round trips dominate).
//!    `raw_mget_100`: the floor for the same 100 values with the raw crate: one `MGET` vs
//!    100 `GET`s (for information).
//! 3. `breaker_open`: disk hits (memory miss, `Promotion::Never`) through a cache whose
//!    Redis is dead and whose circuit breaker is open vs the same cache shape with no Redis
//!    configured. Target: time <= 1.5.
//!
//! 4. `redis_hit_tls`: the same `get_bytes` hit over TLS (rustls, kept pooled connections)
//!    vs over plain TCP, one `redis-server` listening on both ports, same values. Target:
//!    >= 0.8x the rate (time <= 1.25).
//!
//! 5. `order_redis_vs_disk` (for information): a memory miss with the default order
//!    memory -> redis -> disk (served by Redis) vs `tier_order([Memory, Disk, Redis])` (served
//!    by disk), same values in both.
//!
//! Interleaved rounds (candidate, baseline, candidate, ...), median of 21 rounds
//! (`STRATACACHE_BENCH_ROUNDS`), printed as a table; criterion measures each side as well.
//! Smoke mode (`cargo test --benches --all-features`) runs each op once. Without
//! `redis-server` installed the bench prints a loud SKIP (and fails under
//! `STRATACACHE_REQUIRE_REDIS=1`).

#[path = "../tests/common/redis_server.rs"]
mod redis_server;

#[path = "../tests/common/redis_tls.rs"]
mod redis_tls;

#[path = "common/pairs.rs"]
mod pairs;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use pairs::{Pair, quick, run_pairs};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use redis_server::{RedisServer, redis_available};
use redis_tls::TlsRedisServer;
use stratacache::{
    Cache, DiskStore, InsertOptions, Placement, Promotion, RedisConfig, RedisTls, TierKind,
};

const VALUE_SIZE: usize = 4096;

fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("doc/{i:06}")).collect()
}

fn value(seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; VALUE_SIZE];
    StdRng::seed_from_u64(seed).fill_bytes(&mut v);
    v
}

fn bench_redis(c: &mut Criterion) {
    if !redis_available("benches/redis.rs") {
        return;
    }
    let n_keys = if quick() { 200 } else { 2000 };
    let keys = keys(n_keys);
    let server = RedisServer::start(&[]);
    let mut dead = RedisServer::start(&[]);

    // 1 and 2: a cache whose only tier is Redis, and a raw connection.
    let redis_only = Cache::builder()
        .redis_config(RedisConfig::new(server.url()).key_prefix("bench:"))
        .open()
        .unwrap();
    let mut raw = server.connection();
    for (i, k) in keys.iter().enumerate() {
        let v = value(i as u64);
        redis_only.insert_bytes(k, &v).unwrap();
        redis::cmd("SET")
            .arg(format!("raw:{k}"))
            .arg(&v)
            .query::<()>(&mut raw)
            .unwrap();
    }
    let small_keys: Vec<String> = keys.iter().map(|k| format!("small/{k}")).collect();
    for (i, k) in small_keys.iter().enumerate() {
        redis_only.insert_bytes(k, &value(i as u64)[..256]).unwrap();
    }
    let small_batches: Vec<Vec<&str>> = small_keys
        .chunks(100)
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let raw = std::cell::RefCell::new(raw);
    let batches: Vec<Vec<&str>> = keys
        .chunks(100)
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();

    // 3: disk hits with a dead Redis (breaker open) vs no Redis.
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let disk_cache = |dir: &tempfile::TempDir, redis: Option<String>| {
        let mut b = Cache::builder()
            .memory(1 << 20)
            .promotion(Promotion::Never)
            .disk(DiskStore::builder(dir.path()).capacity_bytes(1 << 30));
        if let Some(url) = redis {
            b = b.redis_config(
                RedisConfig::new(url)
                    .key_prefix("dead:")
                    .invalidation(false)
                    .circuit_breaker(3, Duration::from_secs(1), Duration::from_secs(30)),
            );
        }
        b.open().unwrap()
    };
    let with_dead = disk_cache(&dir_a, Some(dead.url()));
    let without = disk_cache(&dir_b, None);
    let skip = InsertOptions::new().placement(Placement::SkipMemory);
    for (i, k) in keys.iter().enumerate() {
        let v = value(i as u64);
        with_dead.insert_bytes_with(k, &v, &skip).unwrap();
        without.insert_bytes_with(k, &v, &skip).unwrap();
    }
    // Tier order: memory -> redis -> disk (default) vs memory -> disk -> redis.
    let (dir_c, dir_d) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ordered = |dir: &tempfile::TempDir, order: Option<[TierKind; 3]>, prefix: &str| {
        let mut b = Cache::builder()
            .memory(1 << 20)
            .promotion(Promotion::Never)
            .redis_config(RedisConfig::new(server.url()).key_prefix(prefix))
            .disk(DiskStore::builder(dir.path()).capacity_bytes(1 << 30));
        if let Some(order) = order {
            b = b.tier_order(order);
        }
        b.open().unwrap()
    };
    let redis_first = ordered(&dir_c, None, "o1:");
    let disk_first = ordered(
        &dir_d,
        Some([TierKind::Memory, TierKind::Disk, TierKind::Redis]),
        "o2:",
    );
    for (i, k) in keys.iter().enumerate() {
        let v = value(i as u64);
        redis_first.insert_bytes_with(k, &v, &skip).unwrap();
        disk_first.insert_bytes_with(k, &v, &skip).unwrap();
    }
    dead.kill();
    for k in keys.iter().take(5) {
        // These pay the timeouts and open the breaker.
        assert!(with_dead.get_bytes(k).unwrap().is_some());
    }

    // 4: one server on a TLS port and a plain port; a cache on each, same prefix.
    let tls_server = TlsRedisServer::start_both(&[]);
    let over = |url: String, tls: bool| {
        let mut config = RedisConfig::new(url).key_prefix("tls:");
        if tls {
            config = config.tls(RedisTls::new().ca_file(&tls_server.certs.ca));
        }
        Cache::builder().redis_config(config).open().unwrap()
    };
    let over_tls = over(tls_server.url(), true);
    let plain_port = tls_server.plain_port.expect("a plain port");
    let over_plain = over(format!("redis://127.0.0.1:{plain_port}"), false);
    for (i, k) in keys.iter().enumerate() {
        over_plain.insert_bytes(k, &value(i as u64)).unwrap();
    }

    let key = |i: u64| keys[(i as usize * 7919) % keys.len()].as_str();
    let pairs = vec![
        Pair {
            group: "redis_hit",
            target: "<= 1.18 (>= 0.85x rate)",
            ops_per_round: 2000,
            cache: Box::new(|i| {
                let v = redis_only.get_bytes(key(i)).unwrap().unwrap();
                black_box(v[0]);
            }),
            baseline: Box::new(|i| {
                let v: Vec<u8> = redis::cmd("GET")
                    .arg(format!("raw:{}", key(i)))
                    .query(&mut *raw.borrow_mut())
                    .unwrap();
                black_box(v[0]);
            }),
        },
        Pair {
            group: "get_many_100",
            target: "<= 0.1 (>= 10x rate)",
            ops_per_round: 20,
            cache: Box::new(|i| {
                let batch = &batches[i as usize % batches.len()];
                let got = redis_only.get_many_bytes(batch).unwrap();
                black_box(got.len());
            }),
            baseline: Box::new(|i| {
                let batch = &batches[i as usize % batches.len()];
                for k in batch {
                    black_box(redis_only.get_bytes(k).unwrap().unwrap().len());
                }
            }),
        },
        Pair {
            group: "get_many_100_256b",
            target: "<= 0.1 (>= 10x rate)",
            ops_per_round: 20,
            cache: Box::new(|i| {
                let batch = &small_batches[i as usize % small_batches.len()];
                let got = redis_only.get_many_bytes(batch).unwrap();
                black_box(got.len());
            }),
            baseline: Box::new(|i| {
                let batch = &small_batches[i as usize % small_batches.len()];
                for k in batch {
                    black_box(redis_only.get_bytes(k).unwrap().unwrap().len());
                }
            }),
        },
        Pair {
            group: "raw_mget_100",
            target: "floor: raw MGET vs 100 raw GETs",
            ops_per_round: 20,
            cache: Box::new(|i| {
                let batch = &batches[i as usize % batches.len()];
                let raw_keys: Vec<String> = batch.iter().map(|k| format!("raw:{k}")).collect();
                let got: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                    .arg(&raw_keys)
                    .query(&mut *raw.borrow_mut())
                    .unwrap();
                black_box(got.len());
            }),
            baseline: Box::new(|i| {
                let batch = &batches[i as usize % batches.len()];
                for k in batch {
                    let v: Vec<u8> = redis::cmd("GET")
                        .arg(format!("raw:{k}"))
                        .query(&mut *raw.borrow_mut())
                        .unwrap();
                    black_box(v.len());
                }
            }),
        },
        Pair {
            group: "redis_hit_tls",
            target: "<= 1.25 (>= 0.8x rate)",
            ops_per_round: 2000,
            cache: Box::new(|i| {
                let v = over_tls.get_bytes(key(i)).unwrap().unwrap();
                black_box(v[0]);
            }),
            baseline: Box::new(|i| {
                let v = over_plain.get_bytes(key(i)).unwrap().unwrap();
                black_box(v[0]);
            }),
        },
        Pair {
            group: "order_redis_vs_disk",
            target: "memory miss served by Redis (default order) vs by disk (disk above Redis)",
            ops_per_round: 2000,
            cache: Box::new(|i| {
                let v = redis_first.get_bytes(key(i)).unwrap().unwrap();
                black_box(v[0]);
            }),
            baseline: Box::new(|i| {
                let v = disk_first.get_bytes(key(i)).unwrap().unwrap();
                black_box(v[0]);
            }),
        },
        Pair {
            group: "breaker_open",
            target: "<= 1.5",
            ops_per_round: 20_000,
            cache: Box::new(|i| {
                let v = with_dead.get_bytes(key(i)).unwrap().unwrap();
                black_box(v[VALUE_SIZE / 2]);
            }),
            baseline: Box::new(|i| {
                let v = without.get_bytes(key(i)).unwrap().unwrap();
                black_box(v[VALUE_SIZE / 2]);
            }),
        },
    ];
    run_pairs(c, &pairs);
}

criterion_group!(benches, bench_redis);
criterion_main!(benches);
