//! How a server is set up.

use std::net::SocketAddr;
use std::time::Duration;

/// The Redis version the server answers as (the commands and replies it follows).
pub const REDIS_VERSION: &str = "7.0.0";

/// When a write is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// At once; the store's checkpoint (about every second) makes it durable, as Redis's
    /// `appendfsync everysec`. `SAVE` waits for everything before it.
    #[default]
    Checkpoint,
    /// Only once it is durable (group commit across clients), as `appendfsync always`.
    Always,
}

/// The settings of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// TCP addresses to listen on, besides the unix socket (none by default).
    pub listen: Vec<SocketAddr>,
    /// The password of the `default` user; `None`: no `AUTH` needed. Required to listen
    /// off loopback.
    pub password: Option<String>,
    /// Most clients connected at once; the next one is told so and closed.
    pub max_clients: usize,
    /// When writes are answered.
    pub durability: Durability,
    /// A client whose replies cannot be sent for this long (it stopped reading them) is
    /// disconnected. Until then at most [`ServerConfig::reply_buffer`] bytes wait for it.
    pub reply_timeout: Duration,
    /// Worker threads serving clients (`None`: [`default_threads`](super::default_threads)).
    /// A long command (`KEYS`, `SAVE`, `SC.VERIFY`...) hands its worker's other clients to
    /// another thread while it runs.
    pub threads: Option<usize>,
    /// Bytes of replies a connection gathers before sending them (a pipeline's replies go
    /// out in batches of about this size, so a client that does not read cannot make the
    /// server hold more).
    pub reply_buffer: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            password: None,
            max_clients: 1024,
            durability: Durability::Checkpoint,
            reply_timeout: Duration::from_secs(30),
            threads: None,
            reply_buffer: 256 << 10,
        }
    }
}
