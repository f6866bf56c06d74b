//! A throwaway TLS `redis-server` on loopback with certificates made by `openssl` for the
//! test: a CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and a
//! second CA that signed none of them (to be refused). Stopped by pid when dropped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::redis_server::{free_port, wait_until_ready};

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
    /// A placeholder with no files (what a failed start leaves behind).
    fn make_empty() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let none = dir.path().join("none");
        Self {
            ca: none.clone(),
            server_cert: none.clone(),
            server_key: none.clone(),
            client_cert: none.clone(),
            client_key: none.clone(),
            other_ca: none,
            _dir: dir,
        }
    }

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
        for (name, usage) in [("server", "serverAuth"), ("client", "clientAuth")] {
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
    pub certs: TlsCerts,
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
        let mut certs = TlsCerts::make();
        for _ in 0..5 {
            match Self::try_spawn(certs, require_client_cert, plain, extra) {
                Ok(server) => return server,
                Err(back) => certs = *back,
            }
        }
        panic!("the TLS redis-server did not start on any of 5 free ports")
    }

    fn try_spawn(
        certs: TlsCerts,
        require_client_cert: bool,
        plain: bool,
        extra: &[&str],
    ) -> Result<Self, Box<TlsCerts>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let plain_port = plain.then(free_port);
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
            return Ok(server);
        }
        eprintln!("the TLS redis-server on port {port} did not start; trying another port");
        server.kill();
        // Hand the certificates back for the next try (Drop only kills the process).
        let certs = std::mem::replace(&mut server.certs, TlsCerts::make_empty());
        Err(Box::new(certs))
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
