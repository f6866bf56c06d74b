//! `stratacache serve`: one store shared by many processes over the Redis protocol.
//!
//! The server opens the tiered [`Cache`] (memory over disk) and answers RESP2, and RESP3
//! after `HELLO 3`, on the unix socket `DIR/stratacache.sock` and on any TCP addresses it is
//! given. Clients are tasks on a multi-threaded tokio runtime (see `docs/server.md` for the
//! measurement behind that); requests of one client run in order, and a pipeline's replies
//! go out together.
//!
//! Layout: `resp/` (request parser, reply writer), `command/` (the commands), `conn.rs`
//! (one connection), `listen.rs` (sockets, accepting), `shared.rs` (what connections
//! share), `group_commit.rs` (durable writes), `info.rs` (`INFO`).

mod clients;
mod command;
mod config;
mod conn;
#[doc(hidden)]
pub mod fuzz_body;
pub mod glob;
mod group_commit;
mod info;
mod key_locks;
mod listen;
pub mod resp;
mod session;
mod shared;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub use crate::client::{SOCKET_NAME, socket_path};
pub use config::{Durability, ServerConfig};

use crate::cache::Cache;
use crate::error::{Error, Result};
use shared::Shared;

/// A running server. Stop it with [`ShutdownHandle::shutdown`] (or a client's `SHUTDOWN`),
/// then [`RunningServer::wait`] for it to drain.
pub struct RunningServer {
    shared: Arc<Shared>,
    runtime: tokio::runtime::Runtime,
    committer: std::thread::JoinHandle<()>,
    tcp: Vec<std::net::SocketAddr>,
}

/// Asks a running server to stop (from a signal handler thread, say).
#[derive(Clone)]
pub struct ShutdownHandle(Arc<Shared>);

impl ShutdownHandle {
    /// Requests the shutdown; [`RunningServer::wait`] returns once it is done.
    pub fn shutdown(&self) {
        self.0.shutdown.request();
    }
}

/// The default number of worker threads: half the cores, at least one. The clients (the
/// application's processes) run on the same machine and need the other half; measured on
/// two cores, one worker served GET 1.2-1.5x as fast as two (docs/server.md).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().div_ceil(2))
}

fn shared_threads(config: &ServerConfig) -> usize {
    config.threads.unwrap_or_else(default_threads).max(1)
}

impl RunningServer {
    /// Starts serving `cache`, whose disk tier lives in `dir` (the socket goes there).
    /// Returns once every listener is bound: clients may connect at once.
    pub fn start(
        cache: Cache,
        dir: &Path,
        config: ServerConfig,
        memory_budget: u64,
    ) -> Result<Self> {
        let Some(store) = cache.disk_store() else {
            return Err(Error::Config(
                "a server needs a cache with a disk tier".into(),
            ));
        };
        // A value somewhat over the limit still arrives whole, so that the store refuses it
        // with its own error and the connection goes on; far over, the protocol refuses it
        // before reading it.
        let max_bulk = store
            .max_value_size()
            .saturating_mul(2)
            .saturating_add(1 << 20);
        let socket = socket_path(dir);
        let mut bound = vec![listen::bind_unix(&socket)?];
        for &addr in &config.listen {
            bound.push(listen::bind_tcp(addr, config.password.is_some())?);
        }
        let tcp = bound
            .iter()
            .filter_map(|b| match b {
                listen::Bound::Tcp(_, addr) => Some(*addr),
                listen::Bound::Unix(_) => None,
            })
            .collect();
        let limits = resp::request::Limits {
            max_bulk,
            max_query: max_bulk.saturating_mul(2).max(64 << 20),
            ..Default::default()
        };
        let io = |source| Error::Io {
            op: "start the server in",
            path: dir.to_path_buf(),
            source,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(shared_threads(&config))
            .thread_name("sc-worker")
            .enable_io()
            .enable_time()
            .build()
            .map_err(io)?;
        let shared = Arc::new(Shared::new(
            cache,
            config,
            dir.to_path_buf(),
            limits,
            memory_budget,
        ));
        let committer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("sc-commit".into())
                .spawn(move || shared.commit.run(|| shared.store().flush()))
                .map_err(io)?
        };
        for listener in bound {
            let shared = shared.clone();
            runtime.spawn(async move { listen::accept_loop(shared, listener).await });
        }
        Ok(Self {
            shared,
            runtime,
            committer,
            tcp,
        })
    }

    /// A handle that stops the server.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shared.clone())
    }

    /// The TCP addresses it listens on (with the ports the system chose for port 0).
    pub fn tcp_addrs(&self) -> Vec<std::net::SocketAddr> {
        self.tcp.clone()
    }

    /// Blocks until a shutdown is requested, then stops accepting, lets every client
    /// finish what it sent (each gets its replies), removes the socket, flushes and returns
    /// the cache (close it to release the store).
    pub fn wait(self) -> Result<Cache> {
        let shared = self.shared;
        shared.shutdown.wait();
        shared.shutdown.stop_tasks();
        let _ = std::fs::remove_file(&shared.socket_path);
        let deadline = Instant::now() + shared.config.reply_timeout;
        while shared.clients.count() > 0 && Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        self.runtime
            .shutdown_timeout(std::time::Duration::from_secs(1));
        shared.commit.stop();
        let _ = self.committer.join();
        shared.save()?;
        Ok(shared.cache.clone())
    }
}
