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
    /// The `requirepass` of the master and the replica, when started with one.
    password: Option<String>,
}

/// `redis-cli -p PORT ARGS...` on loopback; its trimmed output (empty on failure).
fn cli(port: u16, args: &[&str]) -> String {
    cli_auth(port, None, args)
}

/// `redis-cli -p PORT [-a PASSWORD] ARGS...` on loopback; its trimmed output (empty on
/// failure). redis-cli exits 0 on an error reply: that reply is the output.
fn cli_auth(port: u16, password: Option<&str>, args: &[&str]) -> String {
    let auth: Vec<&str> = match password {
        Some(password) => vec!["--no-auth-warning", "-a", password],
        None => Vec::new(),
    };
    Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(&auth)
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
        Self::start_with_password(None)
    }

    /// [`Self::start`], with `requirepass` (and `masterauth`) on the master and the replica
    /// when `password` is given; the sentinels get `sentinel auth-pass` (the sentinels
    /// themselves take no password). Ready in about 2 s: the master does not wait the
    /// default 5 s for more replicas before a diskless sync, and the sentinels start once
    /// the replica is in sync, so the master's first `INFO` (sentinels repeat it only every
    /// 10 s) already lists the replica.
    pub fn start_with_password(password: Option<&str>) -> Self {
        let no_delay = ["--repl-diskless-sync-delay", "0"];
        let master = RedisServer::start(&no_delay);
        let master_port = master.port;
        let replica = RedisServer::start(&[
            no_delay[0],
            no_delay[1],
            "--replicaof",
            "127.0.0.1",
            &master_port.to_string(),
        ]);
        if let Some(password) = password {
            // Set after the start (RedisServer's readiness PING carries no password);
            // masterauth first, so the replica's next link to the master authenticates.
            for port in [replica.port, master_port] {
                for setting in ["masterauth", "requirepass"] {
                    let reply = cli(port, &["CONFIG", "SET", setting, password]);
                    assert_eq!(reply, "OK", "CONFIG SET {setting} on port {port}: {reply}");
                }
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cli_auth(replica.port, password, &["INFO", "replication"])
            .contains("master_link_status:up")
        {
            assert!(
                Instant::now() < deadline,
                "the replica on port {} did not sync with the master on port {master_port} \
                 in 10 s",
                replica.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
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
                     sentinel parallel-syncs {MASTER_NAME} 1\n{}",
                    sentinel_dir.display(),
                    password
                        .map(|p| format!("sentinel auth-pass {MASTER_NAME} {p}\n"))
                        .unwrap_or_default()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(sentinel_dir.join("sentinel.log")).expect("log");
            let child = Command::new("redis-sentinel")
                .arg(&conf)
                .stdout(log)
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
            password: password.map(str::to_string),
        };
        group.wait_ready();
        group
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let replica_up = self
                .cli(self.replica.port, &["INFO", "replication"])
                .contains("master_link_status:up");
            let seen: Vec<(u16, Option<String>, Option<String>)> = self
                .sentinels
                .iter()
                .map(|(_, port)| {
                    let reply = cli(*port, &["SENTINEL", "master", MASTER_NAME]);
                    let others = field(&reply, "num-other-sentinels");
                    (*port, others, field(&reply, "num-slaves"))
                })
                .collect();
            let sentinels_ready = seen.iter().all(|(_, others, slaves)| {
                others.as_deref() == Some("2") && slaves.as_deref() == Some("1")
            });
            if replica_up && sentinels_ready {
                return;
            }
            if Instant::now() >= deadline {
                let logs: String = (0..self.sentinels.len())
                    .map(|i| {
                        let log = self._dir.path().join(format!("sentinel-{i}/sentinel.log"));
                        format!(
                            "--- sentinel {i}:\n{}\n",
                            std::fs::read_to_string(log).unwrap_or_default()
                        )
                    })
                    .collect();
                panic!(
                    "the Sentinel group was not ready in 30 s (replica in sync: {replica_up}; \
                     per sentinel (port, num-other-sentinels, num-slaves), 2 and 1 wanted: \
                     {seen:?})\n{logs}"
                );
            }
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

    /// The password of the master and the replica, when started with one.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// `redis://[:PASSWORD@]127.0.0.1:PORT` of the first master.
    pub fn master_url(&self) -> String {
        self.url(self.master_port)
    }

    /// `redis://[:PASSWORD@]127.0.0.1:PORT` of the replica.
    pub fn replica_url(&self) -> String {
        self.url(self.replica.port)
    }

    fn url(&self, port: u16) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{port}"),
            None => format!("redis://127.0.0.1:{port}"),
        }
    }

    /// Runs `redis-cli` against `port` (with the password, unless `port` is a sentinel's);
    /// its trimmed output.
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        let sentinel = self.sentinels.iter().any(|(_, p)| *p == port);
        let password = if sentinel {
            None
        } else {
            self.password.as_deref()
        };
        cli_auth(port, password, args)
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
        let promoted = self.cli(self.replica.port, &["ROLE"]).lines().next() == Some("master");
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
