//! A throwaway TLS `redis-server` on loopback with certificates made by `openssl` for the
//! test: a CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and a
//! second CA that signed none of them (to be refused). Stopped by pid when dropped.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use super::redis_server::{
    CLUSTER_NODE_ARGS, free_port, join_cluster, start_three_nodes, wait_until_ready,
};

/// PEM files made for one test.
pub struct TlsCerts {
    _dir: tempfile::TempDir,
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA that signed nothing used here.
    pub other_ca: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (apt-get install -y openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TlsCerts {
    /// Makes the CAs and the certificates (RSA 2048, valid two days).
    pub fn make() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        for ca in ["ca", "other-ca"] {
            openssl(
                d,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN=stratacache test {ca}"),
                    "-keyout",
                    &format!("{ca}.key"),
                    "-out",
                    &format!("{ca}.pem"),
                ],
            );
        }
        // The server certificate is a client certificate too: cluster nodes present it to
        // each other on the cluster bus (`tls-cluster yes`).
        for (name, usage) in [
            ("server", "serverAuth,clientAuth"),
            ("client", "clientAuth"),
        ] {
            openssl(
                d,
                &[
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-subj",
                    "/CN=localhost",
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                ],
            );
            std::fs::write(
                d.join(format!("{name}.ext")),
                format!("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\n"),
            )
            .unwrap();
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-days",
                    "2",
                    "-out",
                    &format!("{name}.pem"),
                    "-extfile",
                    &format!("{name}.ext"),
                ],
            );
        }
        Self {
            ca: d.join("ca.pem"),
            server_cert: d.join("server.pem"),
            server_key: d.join("server.key"),
            client_cert: d.join("client.pem"),
            client_key: d.join("client.key"),
            other_ca: d.join("other-ca.pem"),
            _dir: dir,
        }
    }
}

/// A running `redis-server` that speaks only TLS (and, with [`Self::start_both`], plain TCP
/// on a second port too).
pub struct TlsRedisServer {
    child: Option<Child>,
    /// The TLS port.
    pub port: u16,
    /// The plain port, when started with one.
    pub plain_port: Option<u16>,
    pub certs: Arc<TlsCerts>,
    _dir: tempfile::TempDir,
}

impl TlsRedisServer {
    /// A TLS-only server; with `require_client_cert` it refuses clients without a
    /// certificate signed by the CA.
    pub fn start(require_client_cert: bool, extra: &[&str]) -> Self {
        Self::spawn(require_client_cert, false, extra)
    }

    /// A server with a TLS port and a plain port (the same data through both).
    pub fn start_both(extra: &[&str]) -> Self {
        Self::spawn(false, true, extra)
    }

    /// Starts the server on free ports, on others if those were taken by the time it
    /// bound them (5 tries).
    fn spawn(require_client_cert: bool, plain: bool, extra: &[&str]) -> Self {
        let certs = Arc::new(TlsCerts::make());
        for _ in 0..5 {
            let started = Self::try_start(
                certs.clone(),
                free_port(),
                plain.then(free_port),
                require_client_cert,
                extra,
            );
            if let Some(server) = started {
                return server;
            }
        }
        panic!("the TLS redis-server did not start on any of 5 free ports")
    }

    /// Starts a server with `certs` on TLS port `port` (and plain `plain_port`), or `None`
    /// when it exits or does not answer within 10 s (a port taken meanwhile).
    pub fn try_start(
        certs: Arc<TlsCerts>,
        port: u16,
        plain_port: Option<u16>,
        require_client_cert: bool,
        extra: &[&str],
    ) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let child = Command::new("redis-server")
            .args(["--port", &plain_port.unwrap_or(0).to_string()])
            .args(["--tls-port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--tls-cert-file")
            .arg(&certs.server_cert)
            .arg("--tls-key-file")
            .arg(&certs.server_key)
            .arg("--tls-ca-cert-file")
            .arg(&certs.ca)
            .args([
                "--tls-auth-clients",
                if require_client_cert { "yes" } else { "no" },
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let mut server = Self {
            child: Some(child),
            port,
            plain_port,
            certs,
            _dir: dir,
        };
        if server.wait_ready() {
            return Some(server);
        }
        eprintln!("the TLS redis-server on port {port} did not start; trying another port");
        None
    }

    /// Waits up to 10 s for `PING` over TLS; false if the server exited or never answered.
    fn wait_ready(&mut self) -> bool {
        let mut child = self.child.take();
        let ready = wait_until_ready(&mut child, || {
            self.try_cli(&["PING"]).as_deref() == Some("PONG")
        });
        self.child = child;
        ready
    }

    /// `rediss://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    fn try_cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["--tls", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("--cacert")
            .arg(&self.certs.ca)
            .arg("--cert")
            .arg(&self.certs.client_cert)
            .arg("--key")
            .arg(&self.certs.client_key)
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Runs `redis-cli` over TLS (with the client certificate); its trimmed output.
    pub fn cli(&self, args: &[&str]) -> String {
        self.try_cli(args)
            .unwrap_or_else(|| panic!("redis-cli --tls {args:?} failed"))
    }

    /// Kills the server (SIGKILL by pid) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TlsRedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A 3-node Redis Cluster that speaks only TLS, between nodes too (`tls-cluster yes`);
/// every node is killed when this is dropped.
pub struct TlsRedisCluster {
    pub nodes: Vec<TlsRedisServer>,
    pub certs: Arc<TlsCerts>,
}

impl TlsRedisCluster {
    /// Starts three TLS nodes, joins them with `redis-cli --tls --cluster create`, and
    /// waits until every node says `cluster_state:ok`.
    pub fn start() -> Self {
        let certs = Arc::new(TlsCerts::make());
        let mut args = CLUSTER_NODE_ARGS.to_vec();
        args.extend(["--tls-cluster", "yes"]);
        let nodes = start_three_nodes(|port| {
            TlsRedisServer::try_start(certs.clone(), port, None, false, &args)
        });
        let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
        let tls = [
            OsStr::new("--tls"),
            OsStr::new("--cacert"),
            certs.ca.as_os_str(),
        ];
        join_cluster(&ports, &tls, |i| nodes[i].cli(&["CLUSTER", "INFO"]));
        Self { nodes, certs }
    }

    /// `rediss://127.0.0.1:PORT` of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(TlsRedisServer::url).collect()
    }
}
