//! A throwaway Sentinel deployment on loopback: a master, one replica and three
//! `redis-sentinel` processes watching it as `mymaster` (down after 1 s, quorum 2), each with
//! its own directory and config file. Every process is killed by pid when dropped.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::redis_server::{RedisServer, free_port, tool_available};

/// The master's name the sentinels know.
pub const MASTER_NAME: &str = "mymaster";

/// True when `redis-sentinel` can be run; a loud SKIP otherwise, a panic when
/// `STRATACACHE_REQUIRE_REDIS=1`.
pub fn sentinel_available(test: &str) -> bool {
    tool_available("redis-sentinel", "redis-sentinel", test)
}

/// A master, a replica and three sentinels.
pub struct SentinelGroup {
    master: Option<RedisServer>,
    replica: RedisServer,
    sentinels: Vec<(Child, u16)>,
    _dir: tempfile::TempDir,
    master_port: u16,
}

/// `redis-cli -p PORT ARGS...` on loopback; its trimmed output (empty on failure).
fn cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The value of `field` in a `SENTINEL master` reply printed by redis-cli (one item per
/// line, name then value).
fn field(reply: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = reply.lines().collect();
    lines
        .iter()
        .position(|l| *l == name)
        .and_then(|i| lines.get(i + 1))
        .map(|v| v.to_string())
}

impl SentinelGroup {
    /// Starts everything and waits (30 s at most) until the replica is in sync and every
    /// sentinel sees the replica and the two other sentinels.
    pub fn start() -> Self {
        let master = RedisServer::start(&[]);
        let master_port = master.port;
        let replica = RedisServer::start(&["--replicaof", "127.0.0.1", &master_port.to_string()]);
        let dir = tempfile::tempdir().expect("temp dir");
        let mut sentinels = Vec::new();
        for i in 0..3 {
            let port = free_port();
            let sentinel_dir = dir.path().join(format!("sentinel-{i}"));
            std::fs::create_dir(&sentinel_dir).unwrap();
            let conf: PathBuf = sentinel_dir.join("sentinel.conf");
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {}\n\
                     sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
                     sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                     sentinel failover-timeout {MASTER_NAME} 5000\n\
                     sentinel parallel-syncs {MASTER_NAME} 1\n",
                    sentinel_dir.display()
                ),
            )
            .unwrap();
            let child = Command::new("redis-sentinel")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start redis-sentinel");
            sentinels.push((child, port));
        }
        let group = Self {
            master: Some(master),
            replica,
            sentinels,
            _dir: dir,
            master_port,
        };
        group.wait_ready();
        group
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let replica_up =
                cli(self.replica.port, &["INFO", "replication"]).contains("master_link_status:up");
            let sentinels_ready = self.sentinels.iter().all(|(_, port)| {
                let reply = cli(*port, &["SENTINEL", "master", MASTER_NAME]);
                field(&reply, "num-other-sentinels").as_deref() == Some("2")
                    && field(&reply, "num-slaves").as_deref() == Some("1")
            });
            if replica_up && sentinels_ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the Sentinel group was not ready in 30 s (replica in sync: {replica_up})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `mymaster`.
    pub fn master_name(&self) -> &str {
        MASTER_NAME
    }

    /// `redis://127.0.0.1:PORT` of each sentinel.
    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|(_, port)| format!("redis://127.0.0.1:{port}"))
            .collect()
    }

    /// The port of the first master.
    pub fn master_port(&self) -> u16 {
        self.master_port
    }

    /// The port of the replica (the master after a failover).
    pub fn replica_port(&self) -> u16 {
        self.replica.port
    }

    /// Runs `redis-cli` against `port`; its trimmed output.
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        cli(port, args)
    }

    /// Kills the master (SIGKILL).
    pub fn kill_master(&mut self) {
        if let Some(mut master) = self.master.take() {
            master.kill();
        }
    }

    /// Kills the replica (SIGKILL).
    pub fn kill_replica(&mut self) {
        self.replica.kill();
    }

    /// The new master's port once a sentinel names the replica and the replica says it is
    /// a master; `None` before.
    pub fn poll_failover(&self) -> Option<u16> {
        let replica = self.replica.port.to_string();
        let named = self.sentinels.iter().any(|(_, port)| {
            cli(*port, &["SENTINEL", "get-master-addr-by-name", MASTER_NAME])
                .lines()
                .nth(1)
                == Some(replica.as_str())
        });
        let promoted = cli(self.replica.port, &["ROLE"]).lines().next() == Some("master");
        (named && promoted).then_some(self.replica.port)
    }

    /// Waits (up to `timeout`) for [`Self::poll_failover`].
    pub fn wait_for_failover(&self, timeout: Duration) -> u16 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(port) = self.poll_failover() {
                return port;
            }
            assert!(Instant::now() < deadline, "no failover within {timeout:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SentinelGroup {
    fn drop(&mut self) {
        for (child, _) in &mut self.sentinels {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
