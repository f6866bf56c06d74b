//! A `redis-server` run by the harness on loopback, with the AOF in a directory of ours.
//! Killed by its pid when dropped; never any address but 127.0.0.1.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::engines::Res;

pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

fn free_port() -> Res<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl RedisServer {
    /// Starts a server whose data lives in `dir` and waits until it answers.
    pub fn start(dir: &Path) -> Res<Self> {
        std::fs::create_dir_all(dir)?;
        let mut server = Self {
            port: free_port()?,
            dir: dir.to_path_buf(),
            child: None,
        };
        server.spawn()?;
        Ok(server)
    }

    /// Spawns the server on the same port and directory (after a shutdown or a kill) and
    /// returns how long it took until it served a read (AOF loaded).
    pub fn spawn(&mut self) -> Res<Duration> {
        let started = Instant::now();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "yes"])
            .args(["--appendfsync", "everysec"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                format!("cannot run redis-server (apt-get install -y redis-server): {e}")
            })?;
        self.child = Some(child);
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?;
        let deadline = started + Duration::from_secs(300);
        loop {
            if let Ok(mut con) = client.get_connection_with_timeout(Duration::from_secs(1)) {
                // GET fails with LOADING until the AOF is loaded.
                let r: redis::RedisResult<Option<Vec<u8>>> =
                    redis::cmd("GET").arg("compare-probe").query(&mut con);
                if r.is_ok() {
                    return Ok(started.elapsed());
                }
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!("redis-server exited: {status}").into());
            }
            if Instant::now() > deadline {
                return Err("redis-server did not answer within 300 s".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Clean shutdown: SHUTDOWN syncs the AOF, then the process exits.
    pub fn shutdown(&mut self) -> Res<()> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?;
        let mut con = client.get_connection_with_timeout(Duration::from_secs(5))?;
        let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query(&mut con);
        if let Some(mut child) = self.child.take() {
            child.wait()?;
        }
        Ok(())
    }

    /// SIGKILL, as a crash.
    pub fn kill9(&mut self) -> Res<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?; // SIGKILL
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.kill9();
    }
}
