//! A server's life: SIGTERM, SIGINT and `SHUTDOWN` drain and exit 0; `kill -9` loses nothing
//! that `SAVE` (or, with `--durability always`, any reply) acknowledged, and the restarted
//! server replaces the stale socket; the CLI works through a running server with the same
//! output and exit codes as without one.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::cli::sc;
use common::serve::Served;
use redis::Commands;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn store_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    (tmp, dir)
}

/// Reads every key `key-0..n` from the store in `dir` without a server.
fn read_back(dir: &Path, n: usize) -> Vec<Option<Vec<u8>>> {
    let store = stratacache::DiskStore::builder(dir).open().expect("reopen");
    let values = (0..n)
        .map(|i| {
            store
                .get(format!("key-{i}"))
                .expect("get")
                .map(|v| v.to_vec())
        })
        .collect();
    store.close().expect("close");
    values
}

#[test]
fn sigterm_answers_what_was_sent_then_exits_cleanly() -> TestResult {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let (_tmp, dir) = store_dir();
        let mut served = Served::start(&dir, &[]);
        let mut s = served.raw();
        let n = 2000;
        let mut pipeline = Vec::new();
        for i in 0..n {
            pipeline.extend_from_slice(format!("SET key-{i} value-{i}\r\n").as_bytes());
        }
        s.write_all(&pipeline)?;
        let (status, stderr) = served.signal_and_wait(signal);
        assert!(status.success(), "exit {status}: {stderr}");
        assert!(stderr.contains("server stopped"), "{stderr}");
        assert!(
            !dir.join("stratacache.sock").exists(),
            "the socket is removed"
        );
        // Every SET that was answered is on disk (the server flushed before exiting).
        let mut answered = 0;
        for line in BufReader::new(s).lines() {
            match line {
                Ok(l) if l == "+OK" => answered += 1,
                _ => break,
            }
        }
        let values = read_back(&dir, n);
        for (i, value) in values.iter().enumerate().take(answered) {
            assert_eq!(
                value.as_deref(),
                Some(format!("value-{i}").as_bytes()),
                "key-{i}"
            );
        }
    }
    Ok(())
}

#[test]
fn shutdown_command_stops_the_server() -> TestResult {
    let (_tmp, dir) = store_dir();
    let mut served = Served::start(&dir, &[]);
    let mut c = served.connection();
    let _: () = c.set("k", "v")?;
    let _ = redis::cmd("SHUTDOWN").query::<()>(&mut c);
    assert!(served.wait_exit().success());
    assert!(!dir.join("stratacache.sock").exists());
    assert_eq!(read_back_key(&dir, "k"), Some(b"v".to_vec()));
    Ok(())
}

fn read_back_key(dir: &Path, key: &str) -> Option<Vec<u8>> {
    let store = stratacache::DiskStore::builder(dir).open().expect("reopen");
    let value = store.get(key).expect("get").map(|v| v.to_vec());
    store.close().expect("close");
    value
}

/// Writes `key-i = value-i` in order until stopped; returns how many were acknowledged.
fn write_until(served: &Served, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    let mut c = served.connection();
    std::thread::spawn(move || {
        let mut acked = 0;
        while !stop.load(Ordering::Relaxed) {
            match c.set::<_, _, ()>(format!("key-{acked}"), format!("value-{acked}")) {
                Ok(()) => acked += 1,
                Err(_) => break,
            }
        }
        acked
    })
}

#[test]
fn kill_9_keeps_what_save_acknowledged() -> TestResult {
    let (_tmp, dir) = store_dir();
    let mut served = Served::start(&dir, &[]);
    let mut c = served.connection();
    for i in 0..500 {
        let _: () = c.set(format!("key-{i}"), format!("value-{i}"))?;
    }
    let _: () = redis::cmd("SAVE").query(&mut c)?;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = write_until(&served, stop.clone());
    std::thread::sleep(std::time::Duration::from_millis(150));
    served.signal_and_wait(libc::SIGKILL);
    stop.store(true, Ordering::Relaxed);
    let acked = writer.join().expect("writer");
    assert!(
        dir.join("stratacache.sock").exists(),
        "a killed server leaves its socket"
    );
    // The restarted server replaces the stale socket; saved keys are there, later ones are
    // their value or absent.
    let served = Served::start(&dir, &[]);
    let mut c = served.connection();
    for i in 0..acked.max(500) {
        let got: Option<String> = c.get(format!("key-{i}"))?;
        if i < 500 {
            assert_eq!(got, Some(format!("value-{i}")), "saved key-{i}");
        } else if let Some(v) = got {
            assert_eq!(v, format!("value-{i}"));
        }
    }
    Ok(())
}

#[test]
fn kill_9_with_durability_always_keeps_every_acknowledged_write() -> TestResult {
    let (_tmp, dir) = store_dir();
    let mut served = Served::start(&dir, &["--durability", "always"]);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4).map(|_| write_until(&served, stop.clone())).collect();
    std::thread::sleep(std::time::Duration::from_millis(400));
    served.signal_and_wait(libc::SIGKILL);
    stop.store(true, Ordering::Relaxed);
    let acked = writers
        .into_iter()
        .map(|w| w.join().expect("writer"))
        .max()
        .unwrap_or(0);
    assert!(acked > 10, "only {acked} writes acknowledged in 400 ms");
    // The writers overwrite the same keys: the longest run tells which keys exist.
    let values = read_back(&dir, acked);
    for (i, value) in values.iter().enumerate() {
        assert_eq!(
            value.as_deref(),
            Some(format!("value-{i}").as_bytes()),
            "key-{i} was acknowledged"
        );
    }
    Ok(())
}

/// Runs one CLI command on `dir`; (exit code, stdout, stderr).
fn cli(dir: &Path, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let out = sc(dir)
        .args(args)
        .write_stdin(stdin.to_vec())
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_works_through_a_running_server_as_without_one() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let source = tmp.path().join("files");
    std::fs::create_dir_all(source.join("sub"))?;
    std::fs::write(source.join("a.txt"), "alpha")?;
    std::fs::write(source.join("sub/b.txt"), "beta")?;
    let source = source.to_str().expect("utf-8").to_string();
    let script: Vec<(Vec<String>, &[u8])> = vec![
        (vec!["put".into(), "one".into()], b"first value"),
        (
            vec!["put".into(), "two".into(), "--ttl".into(), "1h".into()],
            b"second",
        ),
        (
            vec![
                "import".into(),
                source.clone(),
                "--prefix".into(),
                "imp/".into(),
            ],
            b"",
        ),
        (vec!["get".into(), "one".into()], b""),
        (vec!["get".into(), "missing".into()], b""),
        (vec!["ls".into()], b""),
        (vec!["ls".into(), "--prefix".into(), "imp/".into()], b""),
        (vec!["rm".into(), "one".into(), "nothere".into()], b""),
        (
            vec![
                "put".into(),
                "tagged".into(),
                "--tag".into(),
                "doc:1".into(),
            ],
            b"t",
        ),
        (vec!["put".into(), "tmp/1".into()], b"x"),
        (vec!["put".into(), "tmp/2".into()], b"x"),
        (vec!["ttl".into(), "one".into()], b""),
        (vec!["ttl".into(), "missing".into()], b""),
        (vec!["expire".into(), "one".into(), "2h".into()], b""),
        (vec!["expire".into(), "missing".into(), "2h".into()], b""),
        (vec!["persist".into(), "one".into()], b""),
        (vec!["ttl".into(), "one".into()], b""),
        (vec!["get".into(), "tagged".into()], b""),
        (vec!["invalidate-tag".into(), "doc:1".into()], b""),
        (vec!["get".into(), "tagged".into()], b""),
        (vec!["rm".into(), "--prefix".into(), "tmp/".into()], b""),
        (vec!["verify".into()], b""),
        (vec!["sweep".into()], b""),
        (vec!["get".into(), "one".into()], b""),
    ];
    let run = |dir: &Path| -> Vec<(i32, String, String)> {
        script
            .iter()
            .map(|(args, stdin)| {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let (code, out, err) = cli(dir, &args, stdin);
                // The import summary has timings; keep its first words.
                let err = err.split(" in ").next().unwrap_or("").to_string();
                (code, out, err)
            })
            .collect()
    };
    let alone = tmp.path().join("alone");
    let without = run(&alone);
    let served_dir = tmp.path().join("served");
    let served = Served::start(&served_dir, &[]);
    let with = run(&served_dir);
    for (i, (a, b)) in without.iter().zip(&with).enumerate() {
        assert_eq!(a, b, "command {:?} differs", script[i].0);
    }
    // Exports write the same files.
    for dir in [&alone, &served_dir] {
        let out = dir.with_extension("export");
        let (code, _, _) = cli(dir, &["export", out.to_str().expect("utf-8")], b"");
        assert_eq!(code, 0);
        assert_eq!(std::fs::read(out.join("imp/sub/b.txt"))?, b"beta");
    }
    // stats --json has the same fields either way.
    let fields = |dir: &Path| -> Vec<String> {
        let (_, out, _) = cli(dir, &["stats", "--json"], b"");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        v.as_object().expect("object").keys().cloned().collect()
    };
    assert_eq!(fields(&alone), fields(&served_dir));
    drop(served);
    Ok(())
}
