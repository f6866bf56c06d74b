//! Settings of the Redis tier: where Redis is (one server, a Cluster, or a master found
//! through Sentinel), who we are to it (ACL user and password, TLS), and how to behave when
//! it is slow or down.

use std::fmt;
use std::time::Duration;

use crate::cache::tier::redis::breaker::BreakerConfig;
use crate::cache::tier::redis::tls::RedisTls;

/// Default time to live of a loader's lease ([`RedisConfig::loader_lease`]).
const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(5);

/// How to reach Redis and how to behave when it is slow or down.
///
/// ```
/// # use std::time::Duration;
/// let config = stratacache::RedisConfig::new("redis://127.0.0.1:6379")
///     .key_prefix("ocr:")
///     .command_timeout(Duration::from_millis(100))
///     .ttl_cap(Duration::from_secs(24 * 3600));
/// ```
///
/// Managed and replicated deployments: TLS with an ACL user, or a master found through
/// Sentinel.
///
/// ```
/// # use stratacache::{RedisConfig, RedisTls};
/// let managed = RedisConfig::new("rediss://cache.example.net:6380")
///     .credentials("ocr-worker", std::env::var("REDIS_PASSWORD").unwrap_or_default())
///     .tls(RedisTls::new().ca_file("/etc/ssl/redis-ca.pem"));
/// let replicated = RedisConfig::sentinel(
///     ["redis://10.0.0.1:26379", "redis://10.0.0.2:26379", "redis://10.0.0.3:26379"],
///     "mymaster",
/// );
/// ```
///
/// `Debug` never prints a password (from the URL or [`credentials`](Self::credentials)).
#[derive(Clone)]
pub struct RedisConfig {
    /// The server's URL, a Cluster's seed nodes, or the sentinels' URLs.
    pub(crate) urls: Vec<String>,
    pub(crate) cluster: bool,
    /// With Sentinel: the name of the master the sentinels watch.
    pub(crate) sentinel_master: Option<String>,
    /// The ACL user (`None`: the URL's, else `default`).
    pub(crate) user: Option<String>,
    /// The password (`None`: the URL's, if any).
    pub(crate) password: Option<String>,
    pub(crate) tls: Option<RedisTls>,
    /// With Sentinel: reads go to a replica.
    pub(crate) replica_reads: bool,
    pub(crate) key_prefix: String,
    pub(crate) pool_size: u32,
    pub(crate) connect_timeout: Duration,
    pub(crate) command_timeout: Duration,
    pub(crate) ttl_cap: Option<Duration>,
    pub(crate) compression_threshold: usize,
    pub(crate) breaker: BreakerConfig,
    pub(crate) invalidation: bool,
    /// Time to live of a loader's lease (`None`: no leases, single-flight per process).
    pub(crate) lease_ttl: Option<Duration>,
}

impl RedisConfig {
    /// A standalone server at `url` (`redis://host:port[/db]`), with defaults: key prefix
    /// `stratacache:`, pool of 8 connections, 250 ms connect and 250 ms command timeouts, no
    /// TTL cap, lz4 from 1 KiB, invalidation messages on, loader leases of 5 s.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            urls: vec![url.into()],
            cluster: false,
            sentinel_master: None,
            user: None,
            password: None,
            tls: None,
            replica_reads: false,
            key_prefix: "stratacache:".into(),
            pool_size: 8,
            connect_timeout: Duration::from_millis(250),
            command_timeout: Duration::from_millis(250),
            ttl_cap: None,
            compression_threshold: 1024,
            breaker: BreakerConfig::default(),
            invalidation: true,
            lease_ttl: Some(DEFAULT_LEASE_TTL),
        }
    }

    /// A Redis Cluster reached through any of `urls` (seed nodes).
    pub fn cluster<S: Into<String>>(urls: impl IntoIterator<Item = S>) -> Self {
        let mut config = Self::new(String::new());
        config.urls = urls.into_iter().map(Into::into).collect();
        config.cluster = true;
        config
    }

    /// A master found through Sentinel: `sentinels` are the sentinels' URLs
    /// (`redis://host:26379`, `rediss://` for TLS; a password in a sentinel's URL is the
    /// sentinels' own), `master_name` the name they monitor it by. Every new connection asks
    /// the sentinels where the master is, so after a failover the tier writes to the new
    /// master as soon as its circuit breaker lets a call through; the invalidation
    /// subscription moves with it. [`credentials`](Self::credentials) and
    /// [`tls`](Self::tls) apply to the master.
    pub fn sentinel<S: Into<String>>(
        sentinels: impl IntoIterator<Item = S>,
        master_name: impl Into<String>,
    ) -> Self {
        let mut config = Self::new(String::new());
        config.urls = sentinels.into_iter().map(Into::into).collect();
        config.sentinel_master = Some(master_name.into());
        config
    }

    /// Log in as ACL user `user` with `password` (overrides credentials in the URL). An
    /// `AUTH` failure is reported naming the user and the address, never the password.
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self.password = Some(password.into());
        self
    }

    /// Log in as the `default` user with `password` (Redis's `requirepass`).
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// TLS settings: trusted CA, client certificate. Connections use TLS when this is set
    /// or the URL is `rediss://`; the server's certificate is always verified against the
    /// host in the URL unless [`RedisTls::danger_accept_invalid_certs`] is set.
    pub fn tls(mut self, tls: RedisTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// With [`sentinel`](Self::sentinel): send reads (`get`, `get_many`) to a replica of the
    /// master, chosen at random among those the sentinels list, to take load off the master
    /// (default off). A read falls back to the master when no replica answers. **Staleness:**
    /// replication is asynchronous, so right after any cache writes a key a replica may still
    /// return the previous value (or none), for as long as the replica lags (usually
    /// milliseconds, seconds under load). A cache that reads such a value keeps it in its
    /// memory tier until it expires, is evicted, or the next change to that key is announced,
    /// so leave this off for keys that are overwritten with different values; it suits
    /// write-once values such as OCR results keyed by content.
    pub fn read_from_replicas(mut self, enabled: bool) -> Self {
        self.replica_reads = enabled;
        self
    }

    /// Prefix of every key this cache stores (several caches can share one Redis).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Connections in the pool (the most concurrent Redis calls).
    pub fn pool_size(mut self, connections: u32) -> Self {
        self.pool_size = connections.max(1);
        self
    }

    /// Longest wait for a connection to be made.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest wait for a reply to a command.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// Longest TTL given to a value in Redis (values without a TTL get this one), so a
    /// shared Redis does not keep values forever.
    pub fn ttl_cap(mut self, cap: Duration) -> Self {
        self.ttl_cap = Some(cap);
        self
    }

    /// Values at least this long are lz4-compressed when that saves space.
    pub fn compression_threshold(mut self, bytes: usize) -> Self {
        self.compression_threshold = bytes;
        self
    }

    /// Consecutive failures before the circuit breaker opens, and its backoff range.
    pub fn circuit_breaker(
        mut self,
        failure_threshold: u32,
        base_backoff: Duration,
        max_backoff: Duration,
    ) -> Self {
        self.breaker = BreakerConfig {
            failure_threshold: failure_threshold.max(1),
            base_backoff,
            max_backoff: max_backoff.max(base_backoff),
        };
        self
    }

    /// Publish and receive invalidation messages (default on).
    pub fn invalidation(mut self, enabled: bool) -> Self {
        self.invalidation = enabled;
        self
    }

    /// Single-flight across processes: `get_with` on a key missing everywhere takes a lease
    /// on it in Redis (`SET NX PX ttl`), renewed every third of `ttl` while the loader runs;
    /// caches in other processes asking for that key wait for the value instead of loading
    /// it too. A holder that dies stops renewing, its lease expires within `ttl`, and a
    /// waiter takes over. `None` turns leases off (single-flight within each process
    /// only). Default: 5 s.
    pub fn loader_lease(mut self, ttl: Option<Duration>) -> Self {
        self.lease_ttl = ttl.map(|t| t.max(Duration::from_millis(30)));
        self
    }

    /// The Redis key of a loader's lease on a cache key: `<prefix>l:<key>`.
    pub(crate) fn lease_key(&self, key: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.key_prefix.len() + 2 + key.len());
        k.extend_from_slice(self.key_prefix.as_bytes());
        k.extend_from_slice(b"l:");
        k.extend_from_slice(key);
        k
    }

    /// The pub/sub channel of this key prefix.
    pub(crate) fn channel(&self) -> String {
        format!("{}invalidate", self.key_prefix)
    }

    /// The Redis key of a cache key: `<prefix>v:<key>`.
    pub(crate) fn value_key(&self, key: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.key_prefix.len() + 2 + key.len());
        k.extend_from_slice(self.key_prefix.as_bytes());
        k.extend_from_slice(b"v:");
        k.extend_from_slice(key);
        k
    }

    /// The Redis hash of every tag generation under this prefix: `<prefix>tags`, field
    /// the tag, value its generation in decimal.
    pub(crate) fn tags_key(&self) -> String {
        format!("{}tags", self.key_prefix)
    }

    /// A SCAN pattern matching the value keys that start with `prefix` (glob characters
    /// in either prefix are escaped).
    pub(crate) fn value_pattern(&self, prefix: &[u8]) -> Vec<u8> {
        let mut pattern = Vec::new();
        for &b in self.key_prefix.as_bytes().iter().chain(b"v:").chain(prefix) {
            if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
                pattern.push(b'\\');
            }
            pattern.push(b);
        }
        pattern.push(b'*');
        pattern
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let urls: Vec<String> = self.urls.iter().map(|u| redact_url(u)).collect();
        f.debug_struct("RedisConfig")
            .field("urls", &urls)
            .field("cluster", &self.cluster)
            .field("sentinel_master", &self.sentinel_master)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .field("replica_reads", &self.replica_reads)
            .field("key_prefix", &self.key_prefix)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("ttl_cap", &self.ttl_cap)
            .field("compression_threshold", &self.compression_threshold)
            .field("breaker", &self.breaker)
            .field("invalidation", &self.invalidation)
            .field("lease_ttl", &self.lease_ttl)
            .finish()
    }
}

/// Where the tier connects, for logs and banners: `redis://host:port`, `cluster
/// redis://a, redis://b`, `master "name" via sentinels redis://s1, ...`, with TLS and the
/// user when set. Passwords are never printed.
impl fmt::Display for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let urls: Vec<String> = self.urls.iter().map(|u| redact_url(u)).collect();
        match (&self.sentinel_master, self.cluster) {
            (Some(master), _) => write!(f, "master {master:?} via sentinels {}", urls.join(", "))?,
            (None, true) => write!(f, "cluster {}", urls.join(", "))?,
            (None, false) => write!(f, "{}", urls.join(", "))?,
        }
        if let Some(user) = &self.user {
            write!(f, " as user {user:?}")?;
        }
        if self.replica_reads && self.sentinel_master.is_some() {
            write!(f, ", reading from replicas")?;
        }
        if let Some(tls) = &self.tls {
            match (&tls.ca_file, tls.insecure) {
                (_, true) => write!(f, " (TLS, certificates NOT verified)")?,
                (Some(ca), false) => write!(f, " (TLS, CA {})", ca.display())?,
                (None, false) => write!(f, " (TLS)")?,
            }
        }
        Ok(())
    }
}

/// `url` with the password of its user part (`scheme://user:password@host`) replaced by
/// `<redacted>`, for logs and `Debug`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    let userinfo = &rest[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}{}:<redacted>{}",
            &url[..scheme_end],
            &userinfo[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            redact_url("redis://alice:s3cret@127.0.0.1:6379/0"),
            "redis://alice:<redacted>@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("rediss://:p%40ss@host:6380"),
            "rediss://:<redacted>@host:6380"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(redact_url("redis://bob@host/1"), "redis://bob@host/1");
        let config = RedisConfig::new("redis://alice:s3cret@127.0.0.1:6379")
            .credentials("bob", "hunter2")
            .tls(RedisTls::new().ca_file("/ca.pem"));
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("s3cret") && !printed.contains("hunter2"),
            "{printed}"
        );
        assert!(
            printed.contains("bob") && printed.contains("/ca.pem"),
            "{printed}"
        );
        let shown = config.to_string();
        assert_eq!(
            shown,
            "redis://alice:<redacted>@127.0.0.1:6379 as user \"bob\" (TLS, CA /ca.pem)"
        );
        let sentinel = RedisConfig::sentinel(["redis://:pw@127.0.0.1:26379"], "mymaster");
        assert_eq!(
            sentinel.to_string(),
            "master \"mymaster\" via sentinels redis://:<redacted>@127.0.0.1:26379"
        );
    }
}
