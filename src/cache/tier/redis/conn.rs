//! Pooled connections to a standalone Redis (or the master Sentinel names) or a Redis
//! Cluster, with timeouts on connecting and on every command.

use std::time::{Duration, Instant};

use redis::{ConnectionLike, ErrorKind, RedisError, RedisResult, ServerErrorKind, Value};

use crate::cache::tier::redis::config::RedisConfig;
use crate::cache::tier::redis::target::{Target, refusal, tls_url, user_of};
use crate::cache::tier::redis::tls::install_crypto_provider;
use crate::error::{Error, Result};

/// Makes standalone connections with the configured timeouts.
pub struct SingleManager {
    target: Target,
    /// The user connections log in as (for messages).
    user: String,
    connect_timeout: Duration,
    command_timeout: Duration,
}

use r2d2::ManageConnection;

impl ManageConnection for SingleManager {
    type Connection = SingleConn;
    type Error = RedisError;

    fn connect(&self) -> RedisResult<SingleConn> {
        let conn = self.target.connect(self.connect_timeout, &self.user)?;
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
        let result = self.conn.req_packed_command(cmd);
        if result.as_ref().is_err_and(is_read_only) {
            self.poisoned = true;
        }
        result
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
        if result.as_ref().is_err()
            || result.as_ref().is_ok_and(|replies| {
                replies.iter().any(|v| {
                    matches!(v, Value::ServerError(e) if e.kind() == Some(ServerErrorKind::ReadOnly))
                })
            })
        {
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

impl ManageConnection for ClusterManager {
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

/// A Cluster client with the config's timeouts, credentials and TLS.
fn cluster_client(config: &RedisConfig) -> Result<redis::cluster::ClusterClient> {
    let urls: Vec<String> = config.urls.iter().map(|u| tls_url(u, config)).collect();
    let mut builder = redis::cluster::ClusterClient::builder(urls)
        .connection_timeout(config.connect_timeout)
        .response_timeout(config.command_timeout);
    if let Some(user) = &config.user {
        builder = builder.username(user);
    }
    if let Some(password) = &config.password {
        builder = builder.password(password);
    }
    if let Some(tls) = &config.tls {
        install_crypto_provider();
        builder = builder.tls(if tls.insecure {
            redis::TlsMode::Insecure
        } else {
            redis::TlsMode::Secure
        });
        if let Some(certs) = tls.certificates()? {
            builder = builder.certs(certs);
        }
    }
    builder
        .build()
        .map_err(|e| Error::Config(format!("Redis Cluster: {e}")))
}

/// `PING`, checking that the connection may run commands (a server that wants a password
/// answers `NOAUTH`, reported as a refused login of `user` at `address`).
fn ping(conn: &mut dyn ConnectionLike, user: &str, address: &str) -> RedisResult<()> {
    redis::cmd("PING").query::<()>(conn).map_err(|e| {
        if e.code() == Some("NOAUTH") {
            RedisError::from((
                ErrorKind::AuthenticationFailed,
                "login required",
                format!(
                    "user {user:?} could not log in at {address}: the server wants a password and none was given"
                ),
            ))
        } else {
            e
        }
    })
}

/// True for `READONLY`: the server we write to was a master and is a replica now (a
/// failover happened); the connection must go, so that the next one asks where the master
/// is.
pub fn is_read_only(e: &RedisError) -> bool {
    e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly)
}

impl Pool {
    /// Builds the pool and makes one connection to check that Redis accepts this
    /// configuration: a refused login or TLS certificate is an error naming the user or
    /// the certificate problem and the address, since every call would fail the same way.
    /// Redis being down or slow is not an error: the cache opens without it.
    pub fn open(config: &RedisConfig) -> Result<Self> {
        let (pool, probe, address) = if config.cluster {
            let manager = ClusterManager {
                client: cluster_client(config)?,
            };
            let address = "the cluster's nodes".to_string();
            let probe = manager
                .connect()
                .and_then(|mut c| ping(&mut c, &user_of(config), &address));
            let pool = Pool::Cluster(pool_builder(config).build_unchecked(manager));
            (pool, probe, address)
        } else {
            let manager = SingleManager {
                target: Target::new(config)?,
                user: user_of(config),
                connect_timeout: config.connect_timeout,
                command_timeout: config.command_timeout,
            };
            let address = manager.target.describe();
            let probe = manager
                .connect()
                .and_then(|mut c| ping(&mut c, &manager.user, &address));
            let pool = Pool::Single(pool_builder(config).build_unchecked(manager));
            (pool, probe, address)
        };
        if let Err(e) = probe {
            if let Some(reason) = refusal(&e) {
                return Err(Error::RedisRefused { address, reason });
            }
            log::warn!(
                "stratacache: Redis at {address} is not answering at open ({e}); opening without it"
            );
        }
        Ok(pool)
    }

    /// With Sentinel and [`RedisConfig::read_from_replicas`]: a pool of connections to the
    /// master's replicas, for reads. Not probed: reads fall back to the master when no
    /// replica answers.
    pub fn replicas(config: &RedisConfig) -> Result<Option<Self>> {
        if !config.replica_reads || config.sentinel_master.is_none() {
            return Ok(None);
        }
        let manager = SingleManager {
            target: Target::replicas(config)?,
            user: user_of(config),
            connect_timeout: config.connect_timeout,
            command_timeout: config.command_timeout,
        };
        Ok(Some(Pool::Single(
            pool_builder(config).build_unchecked(manager),
        )))
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
