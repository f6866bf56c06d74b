//! Throwaway `redis-server` processes for tests: each on a free loopback port with its own
//! directory, stopped by pid when dropped. Never any address off loopback.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
    extra: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
}

/// True when `redis-server` can be run. When it cannot, prints a loud SKIP, or panics
/// when `STRATACACHE_REQUIRE_REDIS=1` (CI).
pub fn redis_available(test: &str) -> bool {
    tool_available("redis-server", "redis-server", test)
}

/// True when `tool --version` runs. When it does not, prints a loud SKIP naming the Debian
/// `package` that has it, or panics when `STRATACACHE_REQUIRE_REDIS=1` (CI).
pub fn tool_available(tool: &str, package: &str, test: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("STRATACACHE_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
            panic!("{test}: {tool} is not installed, and STRATACACHE_REQUIRE_REDIS=1");
        }
        eprintln!(
            "\n*** SKIP {test}: {tool} not found (install it, e.g. apt-get install -y {package}) ***\n"
        );
    }
    found
}

/// Waits up to 10 s until `ready()`; false as soon as `child` exits, or at the deadline.
pub fn wait_until_ready(child: &mut Option<Child>, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        let exited = child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_some());
        if exited {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl RedisServer {
    /// Starts a server with persistence off, plus `extra` arguments, on a free port (another
    /// one if that port is taken by the time the server binds it).
    pub fn start(extra: &[&str]) -> Self {
        for _ in 0..5 {
            if let Some(server) = Self::try_start_on(free_port(), extra) {
                return server;
            }
        }
        panic!("redis-server did not start on any of 5 free ports")
    }

    /// Starts a server on `port` with persistence off, plus `extra` arguments; panics with
    /// the server's log when it does not answer.
    pub fn start_on(port: u16, extra: &[&str]) -> Self {
        let mut server = Self::new(port, extra);
        if !server.spawn_and_wait() {
            panic!(
                "redis-server on port {port} did not answer PING; its log:\n{}",
                server.log()
            );
        }
        server
    }

    /// Starts a server on `port`, or `None` (after printing its log) when it exits or does
    /// not answer within 10 s, e.g. because the port was taken meanwhile.
    pub fn try_start_on(port: u16, extra: &[&str]) -> Option<Self> {
        let mut server = Self::new(port, extra);
        if server.spawn_and_wait() {
            return Some(server);
        }
        eprintln!(
            "redis-server on port {port} did not start; trying another port. Its log:\n{}",
            server.log()
        );
        None
    }

    fn new(port: u16, extra: &[&str]) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        Self {
            child: None,
            port,
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            _tmp: Some(tmp),
        }
    }

    /// The server's log (its standard output).
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    fn spawn(&mut self) {
        assert!(
            self.spawn_and_wait(),
            "redis-server on port {} did not answer PING; its log:\n{}",
            self.port,
            self.log()
        );
    }

    /// Starts the process and waits for `PING`; false (the process killed) if it exits or
    /// does not answer within 10 s.
    fn spawn_and_wait(&mut self) -> bool {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("redis.log"))
            .expect("redis log file");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let port = self.port;
        if wait_until_ready(&mut self.child, || ping(port)) {
            return true;
        }
        self.kill();
        false
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A direct client connection (for planting values and checking).
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .expect("connect to the test redis")
    }

    /// Kills the server (SIGKILL by pid) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A paused server would not die of SIGKILL any slower, but resume it anyway so
            // nothing is left stopped.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP): connections are accepted by the kernel but nothing
    /// answers, as with a hung or overloaded Redis.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("server running").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Starts the server again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// The server's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// True when a server on `port` answers `PING`.
fn ping(port: u16) -> bool {
    let url = format!("redis://127.0.0.1:{port}");
    redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
        .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
        .is_ok()
}

/// A free port P on 127.0.0.1 whose cluster bus port P + 10000 is free too.
pub fn free_cluster_port(taken: &[u16]) -> u16 {
    for _ in 0..1000 {
        let port = free_port();
        if port > 55_000 || taken.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port pair for a cluster node");
}

/// The arguments that make a `redis-server` a node of a test cluster.
pub const CLUSTER_NODE_ARGS: [&str; 6] = [
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    "nodes.conf",
    "--cluster-node-timeout",
    "2000",
];

/// Three nodes, each started by `start(port)` on a free port pair (another pair when a
/// start fails because the port was taken meanwhile; 10 tries).
pub fn start_three_nodes<N>(mut start: impl FnMut(u16) -> Option<N>) -> Vec<N> {
    let mut tried = Vec::new();
    let mut nodes = Vec::new();
    while nodes.len() < 3 {
        let port = free_cluster_port(&tried);
        tried.push(port);
        nodes.extend(start(port));
        assert!(tried.len() < 10, "no cluster node started on 10 port pairs");
    }
    nodes
}

/// Joins the nodes on `ports` with `redis-cli <cli_args> --cluster create` (three primaries,
/// no replicas), then waits (20 s at most) until `cluster_info(i)` of every node `i` says
/// `cluster_state:ok`.
pub fn join_cluster(
    ports: &[u16],
    cli_args: &[&std::ffi::OsStr],
    mut cluster_info: impl FnMut(usize) -> String,
) {
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let out = Command::new("redis-cli")
        .args(cli_args)
        .args(["--cluster", "create"])
        .args(&addrs)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdin(Stdio::null())
        .output()
        .expect("run redis-cli --cluster create");
    assert!(
        out.status.success(),
        "redis-cli {cli_args:?} --cluster create failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    for (i, port) in ports.iter().enumerate() {
        loop {
            let info = cluster_info(i);
            if info.contains("cluster_state:ok") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "cluster node {port} not ok: {info}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A 3-node Redis Cluster (three primaries, no replicas) on loopback; every node is killed
/// when this is dropped.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three `redis-server --cluster-enabled yes`, joins them with
    /// `redis-cli --cluster create`, and waits until every node says `cluster_state:ok`.
    pub fn start() -> Self {
        let nodes = start_three_nodes(|port| RedisServer::try_start_on(port, &CLUSTER_NODE_ARGS));
        let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
        join_cluster(&ports, &[], |i| {
            redis::cmd("CLUSTER")
                .arg("INFO")
                .query(&mut nodes[i].connection())
                .unwrap_or_default()
        });
        Self { nodes }
    }

    /// `redis://127.0.0.1:PORT` of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// A cluster client connection (routes each key to its node).
    pub fn connection(&self) -> redis::cluster::ClusterConnection {
        redis::cluster::ClusterClient::new(self.urls())
            .and_then(|c| c.get_connection())
            .expect("connect to the test cluster")
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }
}
