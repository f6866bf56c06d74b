//! `serve`'s Redis tier options (`--redis`, `--redis-sentinel`, TLS and ACL settings), and
//! the [`RedisConfig`](stratacache::RedisConfig) they make. Secrets come from a file or the
//! environment and are never printed.

use std::path::PathBuf;

use clap::Args;

#[cfg(feature = "redis")]
use crate::exit::Fatal;

/// The Redis tier under the server's memory and disk tiers (off unless `--redis` or
/// `--redis-sentinel` is given).
#[derive(Debug, Args)]
#[command(next_help_heading = "Redis tier (build with --features redis)")]
pub struct RedisArgs {
    /// Share values through Redis: redis://HOST:PORT[/DB], rediss:// for TLS. Repeat with
    /// --redis-cluster for a Cluster's seed nodes.
    #[arg(long = "redis", value_name = "URL", conflicts_with = "redis_sentinels")]
    pub urls: Vec<String>,
    /// The --redis URLs are seed nodes of a Redis Cluster.
    #[arg(long = "redis-cluster", requires = "urls")]
    pub cluster: bool,
    /// A sentinel to ask where the master is: redis://HOST:26379 (repeatable; needs
    /// --redis-master).
    #[arg(long = "redis-sentinel", value_name = "URL", requires = "master")]
    pub redis_sentinels: Vec<String>,
    /// The name the sentinels monitor the master by.
    #[arg(
        long = "redis-master",
        value_name = "NAME",
        requires = "redis_sentinels"
    )]
    pub master: Option<String>,
    /// With --redis-sentinel: read from a replica of the master (values another host just
    /// changed may be stale for the replication lag; see docs/cache.md).
    #[arg(long = "redis-read-from-replicas", requires = "redis_sentinels")]
    pub read_from_replicas: bool,
    /// Log in to Redis as this ACL user (with the password from --redis-password-file or
    /// STRATACACHE_REDIS_PASSWORD).
    #[arg(long = "redis-user", value_name = "USER")]
    pub redis_user: Option<String>,
    /// Read the Redis password from this file (first line).
    #[arg(
        long = "redis-password-file",
        value_name = "FILE",
        conflicts_with = "redis_password_env"
    )]
    pub redis_password_file: Option<PathBuf>,
    /// The Redis password; prefer --redis-password-file on shared machines.
    #[arg(
        long = "redis-password-from-env",
        env = "STRATACACHE_REDIS_PASSWORD",
        hide = true
    )]
    pub redis_password_env: Option<String>,
    /// Trust only this CA (PEM) for the Redis server's certificate (turns TLS on).
    #[arg(long = "redis-tls-ca", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for servers that require one (with --redis-tls-key).
    #[arg(long = "redis-tls-cert", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long = "redis-tls-key", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Accept any certificate from Redis (tests only: anyone on the path can read and
    /// change the traffic).
    #[arg(long = "redis-tls-insecure")]
    pub tls_insecure: bool,
    /// Prefix of the keys this cache keeps in Redis.
    #[arg(
        long = "redis-prefix",
        value_name = "PREFIX",
        default_value = "stratacache:"
    )]
    pub redis_prefix: String,
}

impl RedisArgs {
    /// True when a Redis tier was asked for.
    pub fn wanted(&self) -> bool {
        !self.urls.is_empty() || !self.redis_sentinels.is_empty()
    }

    /// The password from the file or the environment, if any.
    #[cfg(feature = "redis")]
    fn password(&self) -> Result<Option<String>, Fatal> {
        crate::secrets::read_secret(
            self.redis_password_file.as_deref(),
            self.redis_password_env.as_ref(),
            "STRATACACHE_REDIS_PASSWORD",
            "the Redis password",
        )
    }

    /// The Redis tier's configuration, or `None` without `--redis`/`--redis-sentinel`.
    #[cfg(feature = "redis")]
    pub fn config(&self) -> Result<Option<stratacache::RedisConfig>, Fatal> {
        use stratacache::{RedisConfig, RedisTls};
        if !self.wanted() {
            return Ok(None);
        }
        let mut config = if let Some(master) = &self.master {
            RedisConfig::sentinel(self.redis_sentinels.iter().cloned(), master.clone())
        } else if self.cluster {
            RedisConfig::cluster(self.urls.iter().cloned())
        } else if let [url] = self.urls.as_slice() {
            RedisConfig::new(url.clone())
        } else {
            return Err(Fatal::msg(
                "--redis was given more than once: add --redis-cluster for a Cluster's seed nodes",
            ));
        };
        config = config
            .key_prefix(self.redis_prefix.clone())
            .read_from_replicas(self.read_from_replicas);
        match (&self.redis_user, self.password()?) {
            (Some(user), Some(password)) => config = config.credentials(user.clone(), password),
            (None, Some(password)) => config = config.password(password),
            (Some(user), None) => {
                return Err(Fatal::msg(format!(
                    "--redis-user {user} needs a password: --redis-password-file FILE or STRATACACHE_REDIS_PASSWORD"
                )));
            }
            (None, None) => {}
        }
        if self.tls_ca.is_some() || self.tls_cert.is_some() || self.tls_insecure {
            let mut tls = RedisTls::new();
            if let Some(ca) = &self.tls_ca {
                tls = tls.ca_file(ca.clone());
            }
            if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
                tls = tls.client_cert(cert.clone(), key.clone());
            }
            if self.tls_insecure {
                tls = tls.danger_accept_invalid_certs();
            }
            config = config.tls(tls);
        }
        Ok(Some(config))
    }
}
