//! Pooled connections to a standalone Redis or a Redis Cluster, with timeouts on connecting
//! and on every command.

use std::time::Duration;

use redis::{ConnectionLike, RedisError, RedisResult};

use crate::cache::redis::config::RedisConfig;

/// Makes standalone connections with the configured timeouts.
pub struct SingleManager {
    client: redis::Client,
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl r2d2::ManageConnection for SingleManager {
    type Connection = redis::Connection;
    type Error = RedisError;

    fn connect(&self) -> RedisResult<redis::Connection> {
        let conn = self.client.get_connection_with_timeout(self.connect_timeout)?;
        conn.set_read_timeout(Some(self.command_timeout))?;
        conn.set_write_timeout(Some(self.command_timeout))?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut redis::Connection) -> RedisResult<()> {
        redis::cmd("PING").query::<()>(conn)
    }

    fn has_broken(&self, conn: &mut redis::Connection) -> bool {
        !conn.is_open()
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

/// A connection taken from the pool.
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
