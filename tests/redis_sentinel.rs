//! The Redis tier behind Sentinel: a master, a replica and three sentinels on loopback. The
//! master is killed mid-run: every get answers within its timeout (from another tier, or
//! from Redis once the replica is promoted), never with wrong bytes; writes reach the new
//! master soon after the failover; the invalidation subscription moves there too.
#![cfg(feature = "redis")]

use std::time::{Duration, Instant};

use stratacache::{Cache, RedisConfig};

mod common;
use common::redis_sentinel::{SentinelGroup, sentinel_available};
use common::redis_server::redis_available;

/// Breaker backoff range of the caches (the failover window is bounded by it).
const BREAKER_MAX: Duration = Duration::from_millis(500);

fn config(group: &SentinelGroup) -> RedisConfig {
    RedisConfig::sentinel(group.sentinel_urls(), group.master_name())
        .key_prefix("sen:")
        .connect_timeout(Duration::from_millis(300))
        .command_timeout(Duration::from_millis(300))
        .circuit_breaker(2, Duration::from_millis(100), BREAKER_MAX)
}

fn value(key: &str, round: u32) -> Vec<u8> {
    format!("{key} written in round {round}").into_bytes()
}

fn exists(group: &SentinelGroup, port: u16, key: &str) -> bool {
    group.cli(port, &["EXISTS", &format!("sen:v:{key}")]) == "1"
}

#[test]
fn gets_answer_and_writes_follow_a_sentinel_failover() {
    if !redis_available("gets_answer_and_writes_follow_a_sentinel_failover")
        || !sentinel_available("gets_answer_and_writes_follow_a_sentinel_failover")
    {
        return;
    }
    let mut group = SentinelGroup::start();
    let dir = tempfile::tempdir().unwrap();
    // `a` has a disk tier (it answers every key it wrote, Redis or not); `b` has only a
    // small memory tier over Redis, like a second host.
    let a = Cache::builder()
        .memory(1 << 20)
        .disk(stratacache::DiskStore::builder(dir.path()))
        .redis_config(config(&group))
        .open()
        .unwrap();
    let b = Cache::builder()
        .memory(1 << 20)
        .redis_config(config(&group))
        .open()
        .unwrap();
    let keys: Vec<String> = (0..200).map(|i| format!("page/{i}")).collect();
    for key in &keys {
        a.insert_bytes(key, &value(key, 0)).unwrap();
    }
    // b holds page/0 in memory: the invalidation after the failover must reach it.
    assert_eq!(
        b.get_bytes("page/0").unwrap().unwrap().to_vec(),
        value("page/0", 0)
    );
    let old_master = group.master_port();
    assert!(exists(&group, old_master, "page/199"));
    // Everything is on the replica before the master dies (the failover loses nothing
    // the test later expects to read from Redis).
    assert_eq!(group.cli(old_master, &["WAIT", "1", "2000"]), "1");

    group.kill_master();
    let killed = Instant::now();
    let mut slowest_get = Duration::ZERO;
    let mut b_misses = 0u32;
    let mut new_master = None;
    let mut round = 1u32;
    while new_master.is_none() {
        for key in keys.iter().step_by(20) {
            for (cache, name) in [(&a, "a"), (&b, "b")] {
                let started = Instant::now();
                let got = cache.get_bytes(key).unwrap();
                slowest_get = slowest_get.max(started.elapsed());
                match got {
                    Some(got) => assert_eq!(got.to_vec(), value(key, 0), "{key} from {name}"),
                    // a's disk tier holds every key it wrote.
                    None if name == "a" => panic!("{key} missing from a"),
                    None => b_misses += 1,
                }
            }
        }
        a.insert_bytes(format!("during/{round}"), b"written while failing over")
            .unwrap();
        round += 1;
        new_master = group.poll_failover();
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "no failover in 60 s"
        );
    }
    let new_master = new_master.unwrap();
    let promoted = Instant::now();
    assert_ne!(new_master, old_master);
    eprintln!(
        "failover: replica on port {new_master} promoted {:?} after the kill",
        killed.elapsed()
    );

    // Writes reach the new master within the breaker's backoff and a second (the test
    // allows more for a loaded machine; the time is printed for the docs).
    let landed = loop {
        let key = format!("after/{round}");
        a.insert_bytes(&key, &value(&key, round)).unwrap();
        if exists(&group, new_master, &key) {
            break promoted.elapsed();
        }
        round += 1;
        assert!(
            promoted.elapsed() < BREAKER_MAX + Duration::from_secs(5),
            "no write reached the new master"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    eprintln!(
        "writes reach the new master {landed:?} after it was promoted; slowest get during the failover {slowest_get:?}; b missed {b_misses} reads"
    );
    assert!(
        slowest_get < Duration::from_secs(2),
        "a get took {slowest_get:?}"
    );

    // The replica had every value: b reads them from the new master (and never wrong bytes).
    let deadline = Instant::now() + Duration::from_secs(10);
    for key in keys.iter().skip(1).step_by(7) {
        loop {
            match b.get_bytes(key).unwrap() {
                Some(got) => {
                    assert_eq!(got.to_vec(), value(key, 0), "{key}");
                    break;
                }
                None => assert!(
                    Instant::now() < deadline,
                    "{key} not read from the new master"
                ),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    // The subscription moved to the new master: a's overwrite of page/0 reaches b.
    a.insert_bytes("page/0", &value("page/0", 99)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = b.get_bytes("page/0").unwrap().map(|v| v.to_vec());
        if got == Some(value("page/0", 99)) {
            break;
        }
        assert!(
            got.is_none() || got == Some(value("page/0", 0)),
            "wrong bytes: {got:?}"
        );
        assert!(Instant::now() < deadline, "b still reads the old page/0");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `keyspace_hits` in a server's `INFO stats`.
fn keyspace_hits(group: &SentinelGroup, port: u16) -> u64 {
    group
        .cli(port, &["INFO", "stats"])
        .lines()
        .find_map(|l| l.strip_prefix("keyspace_hits:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("keyspace_hits in INFO stats")
}

#[test]
fn reads_go_to_a_replica_when_asked_and_to_the_master_when_it_is_gone() {
    let test = "reads_go_to_a_replica_when_asked_and_to_the_master_when_it_is_gone";
    if !redis_available(test) || !sentinel_available(test) {
        return;
    }
    let mut group = SentinelGroup::start();
    let writer = Cache::builder()
        .redis_config(config(&group))
        .open()
        .unwrap();
    let keys: Vec<String> = (0..40).map(|i| format!("scan/{i}")).collect();
    for key in &keys {
        writer.insert_bytes(key, &value(key, 0)).unwrap();
    }
    assert_eq!(group.cli(group.master_port(), &["WAIT", "1", "2000"]), "1");
    let reader = Cache::builder()
        .memory(1 << 20)
        .redis_config(config(&group).read_from_replicas(true))
        .open()
        .unwrap();
    let (master, replica) = (group.master_port(), group.replica_port());
    let (master_before, replica_before) = (
        keyspace_hits(&group, master),
        keyspace_hits(&group, replica),
    );
    for key in &keys[..20] {
        let got = reader
            .get_bytes(key)
            .unwrap()
            .expect("read from the replica");
        assert_eq!(got.to_vec(), value(key, 0));
    }
    assert_eq!(keyspace_hits(&group, replica) - replica_before, 20);
    assert_eq!(keyspace_hits(&group, master) - master_before, 0);

    // No replica any more: reads go to the master, none fails or misses.
    group.kill_replica();
    for key in &keys[20..] {
        let got = reader
            .get_bytes(key)
            .unwrap()
            .expect("read from the master");
        assert_eq!(got.to_vec(), value(key, 0));
    }
    assert_eq!(keyspace_hits(&group, master) - master_before, 20);
}

#[test]
fn serve_finds_the_master_through_sentinel() {
    let test = "serve_finds_the_master_through_sentinel";
    if !redis_available(test) || !sentinel_available(test) {
        return;
    }
    let group = SentinelGroup::start();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut args = vec![
        "--redis-master",
        group.master_name(),
        "--redis-prefix",
        "srv:",
    ];
    let urls = group.sentinel_urls();
    for url in &urls {
        args.extend(["--redis-sentinel", url.as_str()]);
    }
    let mut served = common::serve::Served::start(&store, &args);
    let mut conn = served.connection();
    redis::cmd("SET")
        .arg("page:1")
        .arg("through sentinel")
        .query::<()>(&mut conn)
        .unwrap();
    // The server's values live under its own prefix on the master the sentinels named.
    assert_eq!(
        group.cli(group.master_port(), &["EXISTS", "srv:v:page:1"]),
        "1"
    );
    let (status, stderr) = served.signal_and_wait(libc::SIGTERM);
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("master \"mymaster\" via sentinels"),
        "{stderr}"
    );
}

#[test]
fn a_password_protected_master_is_found_and_logged_in_to() {
    let test = "a_password_protected_master_is_found_and_logged_in_to";
    if !redis_available(test) || !sentinel_available(test) {
        return;
    }
    let group = SentinelGroup::start_with_password(Some("sentinel-pw-1"));
    let cache = Cache::builder()
        .redis_config(config(&group).password("sentinel-pw-1"))
        .open()
        .unwrap();
    cache.insert_bytes("doc/1", b"behind a password").unwrap();
    assert_eq!(
        group.cli(group.master_port(), &["EXISTS", "sen:v:doc/1"]),
        "1"
    );
    // Without the password, or with a wrong one: refused at open, naming the user and the
    // master, never the password.
    for config in [config(&group), config(&group).password("wrong-pw-2")] {
        let message = match Cache::builder().redis_config(config).open() {
            Err(e) => e.to_string(),
            Ok(_) => panic!("opened without the right password"),
        };
        eprintln!("{message}");
        assert!(message.contains("\"default\""), "{message}");
        assert!(message.contains("mymaster"), "{message}");
        assert!(!message.contains("pw-"), "{message}");
    }
}
