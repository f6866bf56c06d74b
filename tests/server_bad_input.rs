//! One client's bad input or bad manners never costs the server or other clients anything:
//! each case gets an error reply or a closed connection for that client only, memory stays
//! bounded, and the store's faults (full disk, corruption, expiry) are error replies or
//! misses.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::serve::Served;
use redis::Commands;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn server(extra: &[&str]) -> (tempfile::TempDir, Served) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = Served::start(&tmp.path().join("store"), extra);
    (tmp, served)
}

/// Everything the server sends until it closes the connection (or 10 s pass).
fn until_closed(s: &mut UnixStream) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    all
}

/// Another client is served promptly (the bad one does not hold it up).
fn others_are_served(served: &Served) {
    let started = Instant::now();
    let mut c = served.connection();
    let _: () = c.set("canary", "alive").expect("set");
    assert_eq!(c.get::<_, String>("canary").expect("get"), "alive");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "another client waited {:?}",
        started.elapsed()
    );
}

fn assert_reply(got: &[u8], expected: &str) {
    let got = String::from_utf8_lossy(got);
    assert!(
        got.starts_with(expected),
        "expected {expected:?}, got {got:?}"
    );
}

#[test]
fn protocol_garbage_gets_an_error_and_a_closed_connection() -> TestResult {
    let (_tmp, served) = server(&[]);
    let cases: [(&[u8], &str); 5] = [
        (
            b"*1\r\n$1000000000000000\r\n",
            "-ERR Protocol error: invalid bulk length",
        ),
        (
            b"*99999999999\r\n",
            "-ERR Protocol error: invalid multibulk length",
        ),
        (
            b"*1\r\n*1\r\n*1\r\n*1\r\n",
            "-ERR Protocol error: expected '$', got '*'",
        ),
        (
            b"*2\r\n$3\r\nGET\r\n$1\r\nkk\r\n",
            "-ERR Protocol error: bulk string not followed by CRLF",
        ),
        (b"*x\r\n", "-ERR Protocol error: invalid multibulk length"),
    ];
    for (bytes, expected) in cases {
        let mut s = served.raw();
        s.write_all(bytes)?;
        assert_reply(&until_closed(&mut s), expected);
        others_are_served(&served);
    }
    // Random bytes: an error reply or a close, never a dead server.
    let (mut rng, _) = common::rng::seeded_rng("server_garbage");
    for _ in 0..20 {
        let mut s = served.raw();
        let junk: Vec<u8> = (0..4096)
            .map(|_| rand::Rng::random::<u8>(&mut rng))
            .collect();
        let _ = s.write_all(&junk);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let _ = until_closed(&mut s);
    }
    others_are_served(&served);
    Ok(())
}

#[test]
fn hostile_sizes_do_not_grow_the_server() -> TestResult {
    let (_tmp, served) = server(&["--memory", "8MiB"]);
    let before = served.rss_anon();
    // An array bomb of a million nested headers.
    let mut s = served.raw();
    let _ = s.write_all(&b"*1\r\n".repeat(1 << 20));
    assert_reply(
        &until_closed(&mut s),
        "-ERR Protocol error: expected '$', got '*'",
    );
    // A 10 MiB inline command.
    let mut s = served.raw();
    let _ = s.write_all(&vec![b'a'; 10 << 20]);
    assert_reply(
        &until_closed(&mut s),
        "-ERR Protocol error: too big inline request",
    );
    // A legal but huge bulk length, with few bytes sent: nothing is allocated for it.
    let mut half = served.raw();
    half.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000000\r\nabc")?;
    std::thread::sleep(Duration::from_millis(100));
    others_are_served(&served);
    let grown = served.rss_anon().saturating_sub(before);
    assert!(grown < 32 << 20, "the server grew by {grown} bytes");
    drop(half); // a half-sent command, then gone
    others_are_served(&served);
    Ok(())
}

#[test]
fn a_value_over_the_limit_is_refused_and_the_connection_goes_on() -> TestResult {
    let (_tmp, served) = server(&[]);
    let tmp = tempfile::tempdir()?;
    let small = Served::start(&tmp.path().join("small"), &[]);
    drop(small);
    let limited_dir = tmp.path().join("limited");
    let limited = Served::spawn(
        {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stratacache"));
            cmd.arg("--dir")
                .arg(&limited_dir)
                .args(["--max-value-size", "1MiB", "serve"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            cmd
        },
        &limited_dir,
    );
    let mut c = limited.connection();
    let err = c.set::<_, _, ()>("big", vec![7u8; 1_500_000]).unwrap_err();
    assert!(err.to_string().contains("over max_value_size"), "{err}");
    let _: () = c.set("small", "fits")?;
    assert_eq!(c.get::<_, String>("small")?, "fits");
    others_are_served(&served);
    Ok(())
}

/// Polls `INFO clients` on `c` until `n` clients are connected (earlier connections, like
/// the readiness check's, may still be on their way out).
fn wait_for_clients(c: &mut redis::Connection, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = redis::cmd("INFO").arg("clients").query(c).expect("info");
        if info.contains(&format!("connected_clients:{n}\r\n")) {
            return;
        }
        assert!(Instant::now() < deadline, "never {n} clients: {info}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn max_clients_turns_the_next_one_away() -> TestResult {
    let (_tmp, served) = server(&["--max-clients", "2"]);
    let mut first = served.connection();
    wait_for_clients(&mut first, 1);
    let mut second = served.raw();
    second.write_all(b"PING\r\n")?;
    let mut pong = [0u8; 7];
    second.read_exact(&mut pong)?;
    assert_eq!(&pong, b"+PONG\r\n");
    let mut third = UnixStream::connect(served.socket())?;
    third.set_read_timeout(Some(Duration::from_secs(5)))?;
    assert_eq!(
        until_closed(&mut third),
        b"-ERR max number of clients reached\r\n"
    );
    drop(second);
    wait_for_clients(&mut first, 1);
    // A place is free again once a client leaves.
    let mut next = served.raw();
    next.write_all(b"PING\r\n")?;
    next.read_exact(&mut pong)?;
    assert_eq!(&pong, b"+PONG\r\n");
    let info: String = redis::cmd("INFO").arg("stats").query(&mut first)?;
    assert!(info.contains("rejected_connections:1"), "{info}");
    Ok(())
}

#[test]
fn a_client_that_does_not_read_is_cut_off_and_bounded() -> TestResult {
    let (_tmp, served) = server(&["--memory", "64MiB", "--reply-timeout", "1s"]);
    let mut c = served.connection();
    let _: () = c.set("big", vec![1u8; 1 << 20])?;
    let before = served.rss_anon();
    let mut greedy = served.raw();
    greedy.set_write_timeout(Some(Duration::from_secs(5)))?;
    // 300 pipelined GETs of 1 MiB (300 MiB of replies), never read.
    let request = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".repeat(300);
    let _ = greedy.write_all(&request);
    std::thread::sleep(Duration::from_millis(300));
    let grown = served.rss_anon().saturating_sub(before);
    assert!(
        grown < 64 << 20,
        "the server buffered {grown} bytes for a client that does not read"
    );
    others_are_served(&served);
    // After the reply timeout the server hangs up: reading now ends before 300 MiB.
    std::thread::sleep(Duration::from_millis(1500));
    greedy.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match greedy.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
    assert!(
        total < 300 << 20,
        "all {total} bytes arrived: the client was not cut off"
    );
    others_are_served(&served);
    Ok(())
}

#[test]
fn corruption_and_expiry_are_misses_not_failures() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("store");
    {
        let store = stratacache::DiskStore::builder(&dir).open()?;
        store.insert("good", b"fine")?;
        store.insert("bad", &common::rng::incompressible(7, 4096))?;
        store.insert_expiring_at("old", b"expired", 1)?;
        store.close()?;
    }
    // Flip a byte inside the value of "bad".
    let seg = std::fs::read_dir(dir.join("segments"))?
        .next()
        .expect("a segment")?
        .path();
    let mut bytes = std::fs::read(&seg)?;
    let value = common::rng::incompressible(7, 4096);
    let at = bytes
        .windows(64)
        .position(|w| w == &value[..64])
        .expect("the value")
        + 10;
    bytes[at] ^= 0xff;
    std::fs::write(&seg, bytes)?;
    let served = Served::start(&dir, &[]);
    let mut c = served.connection();
    assert_eq!(c.get::<_, Option<Vec<u8>>>("bad")?, None);
    assert_eq!(c.get::<_, Option<String>>("old")?, None);
    assert_eq!(c.get::<_, String>("good")?, "fine");
    let info: String = redis::cmd("INFO").arg("stratacache").query(&mut c)?;
    assert!(info.contains("disk_corruptions:1"), "{info}");
    others_are_served(&served);
    Ok(())
}

#[test]
fn a_full_disk_is_an_error_reply_and_the_server_goes_on() -> TestResult {
    let test = "a_full_disk_is_an_error_reply_and_the_server_goes_on";
    let Some(fs) = common::mount::Tmpfs::mount(test, 24) else {
        return Ok(());
    };
    let dir = fs.path().join("store");
    // The capacity is larger than the file system, so only the disk can say no.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stratacache"));
    cmd.arg("--dir")
        .arg(&dir)
        .args(["--capacity", "1GiB", "serve", "--memory", "1MiB"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let served = Served::spawn(cmd, &dir);
    let mut c = served.connection();
    let _: () = c.set("first", "kept")?;
    // 40 MiB cannot fit in 24 MiB whatever is evicted: that write fails, nothing else.
    let too_big = common::rng::incompressible(3, 40 << 20);
    let err = c.set::<_, _, ()>("huge", too_big).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("no space") || text.contains("does not fit"),
        "{text}"
    );
    assert_eq!(c.get::<_, String>("first")?, "kept");
    let _: () = c.set("after", "still writes")?;
    assert_eq!(c.get::<_, String>("after")?, "still writes");
    others_are_served(&served);
    Ok(())
}
