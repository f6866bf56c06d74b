//! Settings of the Redis tier.

use std::time::Duration;

use crate::cache::tier::redis::breaker::BreakerConfig;

/// How to reach Redis and how to behave when it is slow or down.
///
/// ```
/// # use std::time::Duration;
/// let config = stratacache::RedisConfig::new("redis://127.0.0.1:6379")
///     .key_prefix("ocr:")
///     .command_timeout(Duration::from_millis(100))
///     .ttl_cap(Duration::from_secs(24 * 3600));
/// ```
#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub(crate) urls: Vec<String>,
    pub(crate) cluster: bool,
    pub(crate) key_prefix: String,
    pub(crate) pool_size: u32,
    pub(crate) connect_timeout: Duration,
    pub(crate) command_timeout: Duration,
    pub(crate) ttl_cap: Option<Duration>,
    pub(crate) compression_threshold: usize,
    pub(crate) breaker: BreakerConfig,
    pub(crate) invalidation: bool,
}

impl RedisConfig {
    /// A standalone server at `url` (`redis://host:port[/db]`), with defaults: key prefix
    /// `stratacache:`, pool of 8 connections, 250 ms connect and 250 ms command timeouts, no
    /// TTL cap, lz4 from 1 KiB, invalidation messages on.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            urls: vec![url.into()],
            cluster: false,
            key_prefix: "stratacache:".into(),
            pool_size: 8,
            connect_timeout: Duration::from_millis(250),
            command_timeout: Duration::from_millis(250),
            ttl_cap: None,
            compression_threshold: 1024,
            breaker: BreakerConfig::default(),
            invalidation: true,
        }
    }

    /// A Redis Cluster reached through any of `urls` (seed nodes).
    pub fn cluster<S: Into<String>>(urls: impl IntoIterator<Item = S>) -> Self {
        let mut config = Self::new(String::new());
        config.urls = urls.into_iter().map(Into::into).collect();
        config.cluster = true;
        config
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
