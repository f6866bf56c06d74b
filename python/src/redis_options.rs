//! `Cache(..., redis=...)`: the keyword arguments that add a Redis tier in local mode, turned
//! into a [`RedisConfig`]. The password comes from `redis_password` or the environment
//! (`STRATACACHE_REDIS_PASSWORD`) and is never part of a message.

use std::path::PathBuf;

use pyo3::prelude::*;
use stratacache::{RedisConfig, RedisTls};

use crate::args;
use crate::errors::{Kind, raise, type_error};

/// What the `redis*` keyword arguments said.
pub struct RedisOptions<'py> {
    /// A URL, or a list of URLs (a Cluster's seeds, or the sentinels with `master`).
    pub redis: Option<&'py Bound<'py, PyAny>>,
    /// With sentinels: the master's name.
    pub master: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub prefix: String,
    /// With sentinels: read from replicas.
    pub read_from_replicas: bool,
}

fn invalid(message: impl Into<String>) -> PyErr {
    raise(Kind::InvalidArgument, message)
}

impl RedisOptions<'_> {
    /// The Redis tier's configuration, or `None` without `redis=`.
    pub fn config(self) -> PyResult<Option<RedisConfig>> {
        let Some(redis) = self.redis else {
            if self.master.is_some() || self.user.is_some() || self.ca.is_some() {
                return Err(invalid(
                    "the redis_* options need redis= (a URL or a list of URLs)",
                ));
            }
            return Ok(None);
        };
        let urls: Vec<String> = if let Ok(url) = redis.extract::<String>() {
            vec![url]
        } else {
            redis.extract::<Vec<String>>().map_err(|_| {
                type_error(format!(
                    "redis= takes a URL (str) or a list of URLs, not {}",
                    args::type_name(redis)
                ))
            })?
        };
        if urls.is_empty() {
            return Err(invalid("redis= is an empty list"));
        }
        let mut config = match (&self.master, urls.len()) {
            (Some(master), _) => RedisConfig::sentinel(urls, master.clone()),
            (None, 1) => RedisConfig::new(urls[0].clone()),
            (None, _) => RedisConfig::cluster(urls),
        };
        if self.read_from_replicas && self.master.is_none() {
            return Err(invalid(
                "redis_read_from_replicas needs Sentinel (redis_master= and the sentinels' URLs)",
            ));
        }
        config = config
            .key_prefix(self.prefix)
            .read_from_replicas(self.read_from_replicas);
        let password = self
            .password
            .or_else(|| std::env::var("STRATACACHE_REDIS_PASSWORD").ok())
            .filter(|p| !p.is_empty());
        config = match (self.user, password) {
            (Some(user), Some(password)) => config.credentials(user, password),
            (None, Some(password)) => config.password(password),
            (Some(user), None) => {
                return Err(invalid(format!(
                    "redis_user={user:?} needs a password: redis_password= or STRATACACHE_REDIS_PASSWORD"
                )));
            }
            (None, None) => config,
        };
        if self.ca.is_some() || self.cert.is_some() {
            let mut tls = RedisTls::new();
            if let Some(ca) = self.ca {
                tls = tls.ca_file(ca);
            }
            match (self.cert, self.key) {
                (Some(cert), Some(key)) => tls = tls.client_cert(cert, key),
                (None, None) => {}
                _ => return Err(invalid("redis_cert and redis_key go together")),
            }
            config = config.tls(tls);
        } else if self.key.is_some() {
            return Err(invalid("redis_key needs redis_cert"));
        }
        Ok(Some(config))
    }
}
