//! Who may talk to a server: the unix socket is owner-only; TCP only when asked; off
//! loopback only with a password; `AUTH` (both forms) and `HELLO ... AUTH` check it.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;

use common::serve::{Served, command};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Sends `request` over TCP and reads `len` bytes of reply.
fn tcp_exchange(port: u16, request: &[u8], len: usize) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(request).expect("send");
    let mut reply = vec![0u8; len];
    s.read_exact(&mut reply).expect("reply");
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn the_socket_is_owner_only_and_tcp_is_off_unless_asked() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let served = Served::start(&tmp.path().join("store"), &[]);
    let mode = std::fs::metadata(served.socket())?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let port = free_port();
    let tmp2 = tempfile::tempdir()?;
    let listen = format!("127.0.0.1:{port}");
    let _tcp = Served::start(&tmp2.path().join("store"), &["--listen", &listen]);
    assert_eq!(tcp_exchange(port, b"PING\r\n", 7), "+PONG\r\n");
    Ok(())
}

#[test]
fn off_loopback_needs_a_password() -> TestResult {
    let tmp = tempfile::tempdir()?;
    // Refused before anything is bound: no address off loopback is ever listened on.
    let out = command(&tmp.path().join("store"), &["--listen", "0.0.0.0:1"]).output()?;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a loopback address, without a password"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    Ok(())
}

#[test]
fn a_password_is_asked_for_and_checked() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("password");
    std::fs::write(&file, "s3cret\n")?;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let _served = Served::spawn(
        {
            let mut cmd = command(
                &tmp.path().join("store"),
                &[
                    "--listen",
                    &listen,
                    "--password-file",
                    file.to_str().expect("utf-8"),
                ],
            );
            cmd.stderr(std::process::Stdio::null());
            cmd
        },
        &tmp.path().join("store"),
    );
    let noauth = "-NOAUTH Authentication required.\r\n";
    assert_eq!(tcp_exchange(port, b"GET k\r\n", noauth.len()), noauth);
    let wrong = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    assert_eq!(tcp_exchange(port, b"AUTH nope\r\n", wrong.len()), wrong);
    assert_eq!(
        tcp_exchange(port, b"AUTH default nope\r\n", wrong.len()),
        wrong
    );
    assert_eq!(
        tcp_exchange(port, b"AUTH s3cret\r\nGET k\r\n", 10),
        "+OK\r\n$-1\r\n"
    );
    assert_eq!(
        tcp_exchange(port, b"AUTH default s3cret\r\nPING\r\n", 12),
        "+OK\r\n+PONG\r\n"
    );
    let hello = tcp_exchange(port, b"HELLO 3 AUTH default s3cret\r\n", 4);
    assert_eq!(hello, "%7\r\n");
    // The redis crate's own AUTH, from the URL.
    let mut c =
        redis::Client::open(format!("redis://:s3cret@127.0.0.1:{port}/"))?.get_connection()?;
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c)?;
    Ok(())
}

#[test]
fn the_password_may_come_from_the_environment() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("store");
    let mut cmd = command(&dir, &[]);
    cmd.env("STRATACACHE_PASSWORD", "from-env");
    let served = Served::spawn(cmd, &dir);
    let mut s = served.raw();
    s.write_all(b"GET k\r\nAUTH from-env\r\nGET k\r\n")?;
    let expected = "-NOAUTH Authentication required.\r\n+OK\r\n$-1\r\n";
    let mut reply = vec![0u8; expected.len()];
    s.read_exact(&mut reply)?;
    assert_eq!(String::from_utf8_lossy(&reply), expected);
    Ok(())
}

#[test]
fn the_cli_authenticates_with_the_environment_password() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("store");
    let mut cmd = command(&dir, &[]);
    cmd.env("STRATACACHE_PASSWORD", "pw");
    let _served = Served::spawn(cmd, &dir);
    let without = common::cli::sc(&dir).args(["ls"]).output()?;
    assert_eq!(without.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&without.stderr)
            .contains("wants a password; set STRATACACHE_PASSWORD")
    );
    common::cli::sc(&dir)
        .env("STRATACACHE_PASSWORD", "pw")
        .args(["put", "k"])
        .write_stdin("v")
        .assert()
        .success();
    let got = common::cli::sc(&dir)
        .env("STRATACACHE_PASSWORD", "pw")
        .args(["get", "k"])
        .output()?;
    assert_eq!(got.stdout, b"v");
    Ok(())
}
