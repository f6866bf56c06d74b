//! Real clients against `stratacache serve`: `redis-cli`, `redis-benchmark`, and several
//! processes sharing one server, each checked against a model of its keys.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use common::serve::{Served, redis_tools};
use rand::{Rng, SeedableRng};
use redis::Commands;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn server(extra: &[&str]) -> (tempfile::TempDir, Served) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = Served::start(&tmp.path().join("store"), extra);
    (tmp, served)
}

fn redis_cli(served: &Served, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("-s")
        .arg(served.socket())
        .args(args)
        .output()
        .expect("run redis-cli");
    assert!(
        out.status.success(),
        "redis-cli {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redis_cli_works_against_the_server() -> TestResult {
    if !redis_tools("redis_cli_works_against_the_server") {
        return Ok(());
    }
    let (_tmp, served) = server(&[]);
    assert_eq!(redis_cli(&served, &["PING"]), "PONG\n");
    assert_eq!(
        redis_cli(&served, &["SET", "ocr:doc:1", "text", "EX", "300"]),
        "OK\n"
    );
    assert_eq!(redis_cli(&served, &["GET", "ocr:doc:1"]), "text\n");
    let ttl: i64 = redis_cli(&served, &["TTL", "ocr:doc:1"]).trim().parse()?;
    assert!((299..=300).contains(&ttl));
    for i in 0..30 {
        redis_cli(&served, &["SET", &format!("ocr:page:{i}"), "x"]);
    }
    let scanned = redis_cli(&served, &["--scan", "--pattern", "ocr:page:*"]);
    assert_eq!(scanned.lines().count(), 30);
    assert!(redis_cli(&served, &["INFO", "keyspace"]).contains("db0:keys=31"));
    assert_eq!(redis_cli(&served, &["DEL", "ocr:doc:1", "nope"]), "1\n");
    assert!(redis_cli(&served, &["LPUSH", "l", "x"]).starts_with("ERR unknown command 'LPUSH'"));
    // Commands on standard input, as a script would send them.
    let piped = Command::new("redis-cli")
        .arg("-s")
        .arg(served.socket())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    use std::io::Write;
    piped
        .stdin
        .as_ref()
        .expect("stdin")
        .write_all(b"SET piped yes\nGET piped\nDBSIZE\n")?;
    let out = piped.wait_with_output()?;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\nyes\n31\n");
    Ok(())
}

#[test]
fn redis_benchmark_runs_against_the_server() -> TestResult {
    if !redis_tools("redis_benchmark_runs_against_the_server") {
        return Ok(());
    }
    let (_tmp, served) = server(&[]);
    let out = Command::new("redis-benchmark")
        .arg("-s")
        .arg(served.socket())
        .args([
            "-t",
            "ping,set,get,mset",
            "-n",
            "3000",
            "-c",
            "20",
            "-d",
            "4096",
            "-r",
            "1000",
            "-q",
        ])
        .output()?;
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    for test in ["PING_INLINE", "PING_MBULK", "SET", "GET", "MSET (10 keys)"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{test}: ")) && l.contains("requests per second")),
            "redis-benchmark did not finish {test}: {text}"
        );
    }
    let mut c = served.connection();
    let keys: i64 = redis::cmd("DBSIZE").query(&mut c)?;
    assert!(keys > 0 && keys <= 1001, "{keys} keys");
    // Pipelined, too.
    let out = Command::new("redis-benchmark")
        .arg("-s")
        .arg(served.socket())
        .args(["-t", "get", "-n", "20000", "-c", "10", "-P", "16", "-q"])
        .output()?;
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("GET: "));
    Ok(())
}

/// Keys one worker owns.
const KEYS_PER_WORKER: u32 = 40;

/// The body of one worker process: random operations on its own keys, each result checked
/// against the model; the final state printed for the parent.
fn model_worker(socket: &str, id: u32, ops: u32) {
    let url = format!("redis+unix://{socket}");
    let mut c = redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("connect");
    let mut rng = rand::rngs::StdRng::seed_from_u64(u64::from(id) * 7919);
    // key -> (value, has expiry)
    let mut model: BTreeMap<String, (String, bool)> = BTreeMap::new();
    let key = |n: u32| format!("w{id}:k{n}");
    for op in 0..ops {
        let k = key(rng.random_range(0..KEYS_PER_WORKER));
        match rng.random_range(0..10) {
            0..=2 => {
                let v = format!("v{op}");
                if rng.random_bool(0.3) {
                    let _: () = c.set_ex(&k, &v, 1000).expect("setex");
                    model.insert(k, (v, true));
                } else {
                    let _: () = c.set(&k, &v).expect("set");
                    model.insert(k, (v, false));
                }
            }
            3..=4 => {
                let got: Option<String> = c.get(&k).expect("get");
                assert_eq!(
                    got.as_ref(),
                    model.get(&k).map(|e| &e.0),
                    "worker {id} op {op}: GET {k}"
                );
            }
            5 => {
                let n: i64 = c.del(&k).expect("del");
                assert_eq!(
                    n,
                    i64::from(model.remove(&k).is_some()),
                    "worker {id} op {op}: DEL {k}"
                );
            }
            6 => {
                let done: bool = c.expire(&k, 500).expect("expire");
                assert_eq!(
                    done,
                    model.contains_key(&k),
                    "worker {id} op {op}: EXPIRE {k}"
                );
                if let Some(e) = model.get_mut(&k) {
                    e.1 = true;
                }
            }
            7 => {
                let ttl: i64 = c.ttl(&k).expect("ttl");
                let expected = match model.get(&k) {
                    None => -2..=-2,
                    Some((_, false)) => -1..=-1,
                    Some((_, true)) => 1..=1000,
                };
                assert!(
                    expected.contains(&ttl),
                    "worker {id} op {op}: TTL {k} = {ttl}"
                );
            }
            8 => {
                // An expiry in the past removes the key.
                let done: bool = redis::cmd("PEXPIREAT")
                    .arg(&k)
                    .arg(1)
                    .query(&mut c)
                    .expect("pexpireat");
                assert_eq!(
                    done,
                    model.remove(&k).is_some(),
                    "worker {id} op {op}: PEXPIREAT {k}"
                );
            }
            _ => {
                let seen: BTreeSet<String> = c
                    .scan_match::<_, String>(format!("w{id}:*"))
                    .expect("scan")
                    .collect::<Result<_, _>>()
                    .expect("scan");
                let expected: BTreeSet<String> = model.keys().cloned().collect();
                assert_eq!(seen, expected, "worker {id} op {op}: SCAN");
            }
        }
    }
    let keys: Vec<String> = (0..KEYS_PER_WORKER).map(key).collect();
    let got: Vec<Option<String>> = c.mget(&keys).expect("mget");
    for (k, v) in keys.iter().zip(got) {
        assert_eq!(
            v.as_ref(),
            model.get(k).map(|e| &e.0),
            "worker {id}: final MGET {k}"
        );
    }
}

/// Runs as a worker process when the parent test starts this binary with
/// `SC_MODEL_WORKER` set; otherwise does nothing.
#[test]
fn model_worker_process() {
    let (Ok(id), Ok(socket)) = (
        std::env::var("SC_MODEL_WORKER"),
        std::env::var("SC_MODEL_SOCKET"),
    ) else {
        return;
    };
    model_worker(&socket, id.parse().expect("worker id"), 1500);
}

#[test]
fn processes_share_one_server_against_a_model() -> TestResult {
    let (_tmp, served) = server(&["--memory", "1MiB"]);
    let me = std::env::current_exe()?;
    // All at once: started together, then waited for.
    let running: Vec<_> = (0..4)
        .map(|id| {
            Command::new(&me)
                .args([
                    "--exact",
                    "model_worker_process",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env("SC_MODEL_WORKER", id.to_string())
                .env("SC_MODEL_SOCKET", served.socket())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    let workers: Vec<_> = running
        .into_iter()
        .map(|w| w.wait_with_output())
        .collect::<Result<_, _>>()?;
    for (id, out) in workers.iter().enumerate() {
        assert!(
            out.status.success(),
            "worker {id} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Every worker's keys are there and nothing else.
    let mut c = served.connection();
    let all: Vec<String> = c.keys("*")?;
    assert!(all.iter().all(|k| k.starts_with('w')));
    Ok(())
}
