//! Pooled connections to a standalone Redis or a Redis Cluster, with timeouts on connecting
//! and on every command.

use std::time::{Duration, Instant};

use redis::{ConnectionLike, RedisError, RedisResult, Value};

use crate::cache::tier::redis::config::RedisConfig;

/// Makes standalone connections with the configured timeouts.
pub struct SingleManager {
    client: redis::Client,
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl r2d2::ManageConnection for SingleManager {
    type Connection = SingleConn;
    type Error = RedisError;

    fn connect(&self) -> RedisResult<SingleConn> {
        let conn = self
            .client
            .get_connection_with_timeout(self.connect_timeout)?;
        conn.set_read_timeout(Some(self.command_timeout))?;
        conn.set_write_timeout(Some(self.command_timeout))?;
        Ok(SingleConn {
            conn,
            command_timeout: self.command_timeout,
            read_timeout: self.command_timeout,
            poisoned: false,
        })
    }

    fn is_valid(&self, conn: &mut SingleConn) -> RedisResult<()> {
        redis::cmd("PING").query::<()>(conn)
    }

    fn has_broken(&self, conn: &mut SingleConn) -> bool {
        conn.poisoned || !conn.conn.is_open()
    }
}

/// A standalone connection whose pipelines have one deadline (the command timeout) for all
/// their replies. `redis::Connection` waits the read timeout for each reply in turn, so a
/// pipeline of n commands to a hung server took n times the timeout (a `get_many` of 50
/// keys about 25 s).
pub struct SingleConn {
    conn: redis::Connection,
    command_timeout: Duration,
    /// The read timeout the socket has now.
    read_timeout: Duration,
    /// Replies are left unread after a failure: the connection is not reused.
    poisoned: bool,
}

impl SingleConn {
    fn set_read_timeout(&mut self, timeout: Duration) -> RedisResult<()> {
        if timeout != self.read_timeout {
            self.conn.set_read_timeout(Some(timeout))?;
            self.read_timeout = timeout;
        }
        Ok(())
    }
}

impl ConnectionLike for SingleConn {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        self.set_read_timeout(self.command_timeout)?;
        self.conn.req_packed_command(cmd)
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        let deadline = Instant::now() + self.command_timeout;
        let result = (|| {
            self.conn.send_packed_command(cmd)?;
            let mut replies = Vec::with_capacity(count);
            for i in 0..offset + count {
                let left = deadline.saturating_duration_since(Instant::now());
                self.set_read_timeout(left.max(Duration::from_millis(1)))?;
                let reply = self.conn.recv_response()?;
                // Replies before `offset` (MULTI's QUEUED) are not returned.
                if i >= offset {
                    replies.push(reply);
                }
            }
            Ok(replies)
        })();
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }

    fn check_connection(&mut self) -> bool {
        self.conn.check_connection()
    }

    fn is_open(&self) -> bool {
        !self.poisoned && self.conn.is_open()
    }
}

/// Makes cluster connections (the client carries the timeouts).
pub struct ClusterManager {
    client: redis::cluster::ClusterClient,
}

impl r2d2::ManageConnection for ClusterManager {
    type Connection = redis::cluster::ClusterConnection;
    type Error = RedisError;

    fn connect(&self) -> RedisResult<Self::Connection> {
        self.client.get_connection()
    }

    fn is_valid(&self, conn: &mut Self::Connection) -> RedisResult<()> {
        redis::cmd("PING").query::<()>(conn)
    }

    fn has_broken(&self, conn: &mut Self::Connection) -> bool {
        !conn.is_open()
    }
}

/// The connection pool of either kind of deployment.
pub enum Pool {
    /// One server.
    Single(r2d2::Pool<SingleManager>),
    /// A cluster (the client routes each key to its slot's node).
    Cluster(r2d2::Pool<ClusterManager>),
}

/// A connection taken from the pool (on the stack for one call: the size difference
/// between the variants does not matter).
#[allow(clippy::large_enum_variant)]
pub enum Conn {
    /// To one server.
    Single(r2d2::PooledConnection<SingleManager>),
    /// To a cluster.
    Cluster(r2d2::PooledConnection<ClusterManager>),
}

impl Conn {
    /// The connection for commands and single-slot pipelines.
    pub fn like(&mut self) -> &mut dyn ConnectionLike {
        match self {
            Conn::Single(c) => &mut **c,
            Conn::Cluster(c) => &mut **c,
        }
    }
}

fn pool_builder<M: r2d2::ManageConnection>(config: &RedisConfig) -> r2d2::Builder<M> {
    r2d2::Pool::builder()
        .max_size(config.pool_size)
        .min_idle(Some(0))
        // A health check per checkout would double the round trips; broken connections
        // are dropped by `has_broken` instead.
        .test_on_check_out(false)
        .connection_timeout(config.connect_timeout)
}

impl Pool {
    /// Builds the pool without connecting: the cache opens while Redis is down.
    pub fn new(config: &RedisConfig) -> RedisResult<Self> {
        if config.cluster {
            let client = redis::cluster::ClusterClient::builder(config.urls.clone())
                .connection_timeout(config.connect_timeout)
                .response_timeout(config.command_timeout)
                .build()?;
            Ok(Pool::Cluster(
                pool_builder(config).build_unchecked(ClusterManager { client }),
            ))
        } else {
            let url = config.urls.first().map(String::as_str).unwrap_or_default();
            let manager = SingleManager {
                client: redis::Client::open(url)?,
                connect_timeout: config.connect_timeout,
                command_timeout: config.command_timeout,
            };
            Ok(Pool::Single(pool_builder(config).build_unchecked(manager)))
        }
    }

    /// A connection, or an error once the connect timeout passed.
    pub fn get(&self) -> RedisResult<Conn> {
        let unavailable = |e: r2d2::Error| {
            RedisError::from((
                redis::ErrorKind::Io,
                "no Redis connection within the connect timeout",
                e.to_string(),
            ))
        };
        match self {
            Pool::Single(p) => p.get().map(Conn::Single).map_err(unavailable),
            Pool::Cluster(p) => p.get().map(Conn::Cluster).map_err(unavailable),
        }
    }
}
