//! `stratacache serve` as a real child process: started on a store directory, ready once it
//! answers `PING` on its socket, stopped by pid (SIGTERM, or SIGKILL for crash tests).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running server.
pub struct Served {
    child: Option<Child>,
    dir: PathBuf,
}

/// The binary's `serve` on `dir`, with extra arguments after `serve`.
pub fn command(dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stratacache"));
    cmd.env_remove("STRATACACHE_DIR")
        .env_remove("STRATACACHE_PASSWORD")
        .env_remove("STRATACACHE_REDIS_PASSWORD")
        .arg("--dir")
        .arg(dir)
        .arg("serve")
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

impl Served {
    /// Starts a server on the store in `dir` (created when missing) and waits until it
    /// answers `PING`.
    pub fn start(dir: &Path, extra: &[&str]) -> Self {
        Self::spawn(command(dir, extra), dir)
    }

    /// Starts `cmd` (from [`command`]) and waits until it answers `PING`.
    pub fn spawn(mut cmd: Command, dir: &Path) -> Self {
        let child = cmd.spawn().expect("start stratacache serve");
        let mut served = Self {
            child: Some(child),
            dir: dir.to_path_buf(),
        };
        served.wait_ready();
        served
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.ping() {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                let mut err = String::new();
                if let Some(mut stderr) = self.child.as_mut().and_then(|c| c.stderr.take()) {
                    let _ = stderr.read_to_string(&mut err);
                }
                panic!("stratacache serve exited with {status} before it was ready: {err}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("stratacache serve did not answer PING within 20 s");
    }

    /// True when the server answers `PING` (with a password set, its answer is NOAUTH).
    pub fn ping(&self) -> bool {
        let Ok(mut s) = UnixStream::connect(self.socket()) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut reply = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok()
            && s.read_exact(&mut reply).is_ok()
            && (&reply == b"+PONG\r\n" || &reply == b"-NOAUTH")
    }

    /// The unix socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("stratacache.sock")
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// A `redis` crate connection over the unix socket.
    pub fn connection(&self) -> redis::Connection {
        let url = format!("redis+unix://{}", self.socket().display());
        redis::Client::open(url)
            .and_then(|c| c.get_connection())
            .expect("connect to stratacache serve")
    }

    /// A raw socket to the server.
    pub fn raw(&self) -> UnixStream {
        let s = UnixStream::connect(self.socket()).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) and waits for the exit (up to 30 s).
    pub fn signal_and_wait(&mut self, signal: i32) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        unsafe {
            libc::kill(child.id() as i32, signal);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = stderr.read_to_string(&mut err);
                }
                return (status, err);
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within 30 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the server to exit on its own (after `SHUTDOWN`).
    pub fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within 30 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `RssAnon` of the server in bytes (anonymous memory, not the page cache).
    pub fn rss_anon(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("RssAnon:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// True when `redis-cli` and `redis-benchmark` can be run; otherwise a loud SKIP (or a
/// panic with `STRATACACHE_REQUIRE_REDIS=1`).
pub fn redis_tools(test: &str) -> bool {
    let found = ["redis-cli", "redis-benchmark"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !found {
        if std::env::var("STRATACACHE_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
            panic!(
                "{test}: redis-cli or redis-benchmark is missing, and STRATACACHE_REQUIRE_REDIS=1"
            );
        }
        eprintln!(
            "\n*** SKIP {test}: redis-cli/redis-benchmark not found (apt-get install -y redis-server) ***\n"
        );
    }
    found
}
