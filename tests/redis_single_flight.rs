//! Single-flight across processes through the Redis tier's loader leases: four processes
//! (two threads each) asking for the same 200 cold keys run 200 loaders in total, and every
//! caller gets the value; a lease holder killed mid-load (SIGKILL) is taken over by another
//! process once its lease expires, and every waiting caller gets the value. The children are
//! this test binary run again with `STRATACACHE_LEASE_ROLE` set.
#![cfg(feature = "redis")]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::Commands;
use stratacache::{Cache, DiskStore, RedisConfig};

mod common;
use common::redis_server::{RedisServer, redis_available};

const KEYS: usize = 200;
const PROCESSES: usize = 4;
const THREADS: usize = 2;
const PREFIX: &str = "sf:";

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"))
}

/// The cache every child opens: memory, its own disk, the shared Redis; leases of 1 s.
fn open_cache(url: &str, dir: &Path) -> Cache {
    Cache::builder()
        .memory(8 << 20)
        .disk(DiskStore::builder(dir).capacity_bytes(64 << 20))
        .redis_config(
            RedisConfig::new(url)
                .key_prefix(PREFIX)
                .loader_lease(Some(Duration::from_secs(1))),
        )
        .open()
        .expect("open cache")
}

fn spawn_child(role: &str, url: &str, extra: &[(&str, &str)]) -> Child {
    let dir = tempfile::tempdir().unwrap().keep();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child_entry",
        "--exact",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env("STRATACACHE_LEASE_ROLE", role)
    .env("STRATACACHE_LEASE_URL", url)
    .env("STRATACACHE_LEASE_DIR", &dir)
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn child")
}

/// Runs as a child when `STRATACACHE_LEASE_ROLE` is set; otherwise does nothing.
#[test]
fn child_entry() {
    let Ok(role) = std::env::var("STRATACACHE_LEASE_ROLE") else {
        return;
    };
    let url = env("STRATACACHE_LEASE_URL");
    let dir = std::path::PathBuf::from(env("STRATACACHE_LEASE_DIR"));
    let cache = open_cache(&url, &dir);
    let client = redis::Client::open(url.as_str()).unwrap();
    match role.as_str() {
        "many" => many_keys(&cache, &client),
        "holder" => {
            let _: String = cache
                .get_with("slow", || {
                    std::fs::write(env("STRATACACHE_LEASE_LOADING"), b"1").unwrap();
                    std::thread::sleep(Duration::from_secs(120));
                    "from-holder".to_string()
                })
                .unwrap();
            unreachable!("the holder is killed while it loads");
        }
        "waiter" => {
            let value: String = cache
                .get_with("slow", || {
                    let mut conn = client.get_connection().unwrap();
                    let _: u64 = conn.incr("sf-test:slow-loads", 1).unwrap();
                    std::thread::sleep(Duration::from_millis(100));
                    "from-waiter".to_string()
                })
                .unwrap();
            println!("VALUE {value}");
        }
        other => panic!("unknown role {other}"),
    }
}

/// Waits for the start signal, then asks for keys 0..KEYS from THREADS threads; prints
/// one line per call: `GOT key returned_at_us`.
fn many_keys(cache: &Cache, client: &redis::Client) {
    let mut conn = client.get_connection().unwrap();
    while !conn.exists::<_, bool>("sf-test:go").unwrap() {
        std::thread::sleep(Duration::from_millis(2));
    }
    let lines = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                let mut conn = client.get_connection().unwrap();
                for k in 0..KEYS {
                    let key = format!("doc/{k}");
                    let value: String = cache
                        .get_with(&key, || {
                            let _: u64 = conn.incr("sf-test:loads", 1).unwrap();
                            std::thread::sleep(Duration::from_millis(20));
                            let _: () = conn
                                .set(format!("sf-test:loaded-at:{k}"), now_us())
                                .unwrap();
                            format!("value of {key}")
                        })
                        .unwrap();
                    assert_eq!(value, format!("value of {key}"));
                    lines.lock().unwrap().push(format!("GOT {k} {}", now_us()));
                }
            });
        }
    });
    for line in lines.into_inner().unwrap() {
        println!("{line}");
    }
}

fn output_of(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "child failed: {:?}", out.status);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn four_processes_run_one_loader_per_key() {
    if std::env::var("STRATACACHE_LEASE_ROLE").is_ok() || !redis_available("lease test") {
        return;
    }
    let server = RedisServer::start(&[]);
    let url = server.url();
    let children: Vec<Child> = (0..PROCESSES)
        .map(|_| spawn_child("many", &url, &[]))
        .collect();
    // Every child is up (its cache open) well before this; then all start at once.
    std::thread::sleep(Duration::from_millis(500));
    let mut conn = server.connection();
    let _: () = conn.set("sf-test:go", 1).unwrap();
    let outputs: Vec<String> = children.into_iter().map(output_of).collect();

    let loads: u64 = conn.get("sf-test:loads").unwrap();
    assert_eq!(
        loads, KEYS as u64,
        "loader runs across {PROCESSES} processes"
    );
    // Each call's wait past the end of its key's load: what a waiter pays beyond the
    // loader's time (the loader's own caller counts too; it pays the store).
    let mut waits = Vec::new();
    for output in &outputs {
        // (The test harness may print its "test child_entry ... " on the first line.)
        let got: Vec<&str> = output
            .lines()
            .filter_map(|l| l.split_once("GOT "))
            .map(|(_, rest)| rest)
            .collect();
        assert_eq!(got.len(), KEYS * THREADS, "every call got its value");
        for line in got {
            let mut parts = line.split(' ');
            let k: usize = parts.next().unwrap().parse().unwrap();
            let at: u64 = parts.next().unwrap().parse().unwrap();
            let loaded_at: u64 = conn.get(format!("sf-test:loaded-at:{k}")).unwrap();
            waits.push(at.saturating_sub(loaded_at));
        }
    }
    waits.sort_unstable();
    let pct = |p: f64| waits[((waits.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
    println!(
        "{} calls: beyond the loader's time, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        waits.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    // No lease is left behind.
    let leases: Vec<String> = conn.keys(format!("{PREFIX}l:*")).unwrap();
    assert!(leases.is_empty(), "leases left: {leases:?}");
}

#[test]
fn a_killed_lease_holder_is_taken_over() {
    if std::env::var("STRATACACHE_LEASE_ROLE").is_ok() || !redis_available("lease test") {
        return;
    }
    let server = RedisServer::start(&[]);
    let url = server.url();
    let flag_dir = tempfile::tempdir().unwrap();
    let loading = flag_dir.path().join("loading");
    let loading_env = loading.to_str().unwrap();
    let mut holder = spawn_child(
        "holder",
        &url,
        &[("STRATACACHE_LEASE_LOADING", loading_env)],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !loading.exists() {
        assert!(
            Instant::now() < deadline,
            "the holder never started loading"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let waiters: Vec<Child> = (0..2).map(|_| spawn_child("waiter", &url, &[])).collect();
    // The holder renews its 1 s lease: the waiters keep waiting, loading nothing.
    std::thread::sleep(Duration::from_millis(2500));
    let mut conn = server.connection();
    let loads: Option<u64> = conn.get("sf-test:slow-loads").unwrap();
    assert_eq!(loads, None, "a waiter loaded while the holder was alive");
    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();
    let killed_at = Instant::now();
    for waiter in waiters {
        let out = output_of(waiter);
        assert!(out.contains("VALUE from-waiter"), "waiter output: {out}");
    }
    println!(
        "both waiters had the value {:?} after the holder was killed",
        killed_at.elapsed()
    );
    let loads: u64 = conn.get("sf-test:slow-loads").unwrap();
    assert_eq!(loads, 1, "one waiter took the lease over and loaded");
}
