//! Listening: the unix socket `DIR/stratacache.sock` (mode 0600) and optional TCP addresses;
//! one accept task each, one task per admitted client.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::conn;
use super::shared::Shared;
use crate::error::{Error, Result};

/// A bound listener (std, so that binding errors surface before the runtime starts).
pub enum Bound {
    /// The unix socket.
    Unix(std::os::unix::net::UnixListener),
    /// A TCP address.
    Tcp(std::net::TcpListener, SocketAddr),
}

/// Binds the unix socket at `path`, replacing a stale one (the caller holds the store's
/// lock, so no live server can be using it), readable and writable by the owner only.
pub fn bind_unix(path: &Path) -> Result<Bound> {
    let io = |op: &'static str| {
        let path = path.to_path_buf();
        move |source| Error::Io { op, path, source }
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_dir() || meta.file_type().is_file() => {
            return Err(Error::InvalidInput(format!(
                "{} exists and is not a socket; refusing to replace it",
                path.display()
            )));
        }
        Ok(_) => {
            log::warn!(
                "stratacache serve: replacing the stale socket {} (left by a server that did not stop cleanly)",
                path.display()
            );
            std::fs::remove_file(path).map_err(io("remove stale socket"))?;
        }
        Err(_) => {}
    }
    let listener = std::os::unix::net::UnixListener::bind(path).map_err(io("bind"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(io("chmod socket"))?;
    listener.set_nonblocking(true).map_err(io("bind"))?;
    Ok(Bound::Unix(listener))
}

/// Binds a TCP address; one off loopback needs `has_password`.
pub fn bind_tcp(addr: SocketAddr, has_password: bool) -> Result<Bound> {
    if !addr.ip().is_loopback() && !has_password {
        return Err(Error::Config(format!(
            "refusing to listen on {addr}, which is not a loopback address, without a password \
             (give --password-file FILE or set STRATACACHE_PASSWORD)"
        )));
    }
    let io = |source| Error::Io {
        op: "listen on",
        path: PathBuf::from(addr.to_string()),
        source,
    };
    let listener = std::net::TcpListener::bind(addr).map_err(io)?;
    listener.set_nonblocking(true).map_err(io)?;
    let bound = listener.local_addr().unwrap_or(addr);
    Ok(Bound::Tcp(listener, bound))
}

/// Accepts clients until shutdown (call inside the runtime).
pub async fn accept_loop(shared: Arc<Shared>, bound: Bound) {
    let mut stopping = shared.shutdown.stopping.subscribe();
    match bound {
        Bound::Unix(listener) => {
            let Ok(listener) = tokio::net::UnixListener::from_std(listener) else {
                return;
            };
            let local = shared.socket_path.display().to_string();
            loop {
                let accepted = tokio::select! {
                    biased;
                    _ = stopping.wait_for(|stop| *stop) => return,
                    accepted = listener.accept() => accepted,
                };
                match accepted {
                    Ok((stream, _)) => admit(&shared, stream, "/unix".into(), local.clone()),
                    Err(e) => pause_after(e).await,
                }
            }
        }
        Bound::Tcp(listener, local) => {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            loop {
                let accepted = tokio::select! {
                    biased;
                    _ = stopping.wait_for(|stop| *stop) => return,
                    accepted = listener.accept() => accepted,
                };
                match accepted {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        admit(&shared, stream, peer.to_string(), local.to_string());
                    }
                    Err(e) => pause_after(e).await,
                }
            }
        }
    }
}

/// A failed accept (out of file descriptors, say): log, wait a little, go on.
async fn pause_after(e: std::io::Error) {
    log::warn!("stratacache serve: accept failed: {e}");
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
}

/// Admits a client (or tells it the server is full) and serves it on its own task.
fn admit<S>(shared: &Arc<Shared>, mut stream: S, addr: String, local: String)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let id = shared.next_client.fetch_add(1, Ordering::Relaxed) + 1;
    let Some(slot) = shared
        .clients
        .admit(id, addr, local, shared.config.max_clients)
    else {
        shared.counters.rejected.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let refusal = stream.write_all(b"-ERR max number of clients reached\r\n");
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), refusal).await;
        });
        return;
    };
    shared.counters.connections.fetch_add(1, Ordering::Relaxed);
    let stopping = shared.shutdown.stopping.subscribe();
    tokio::spawn(conn::serve(shared.clone(), stream, id, slot, stopping));
}
