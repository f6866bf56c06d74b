//! Where the tier's standalone connections go: one server (its URL with the configured
//! credentials and TLS applied), or whichever server a set of sentinels names as the
//! master at the moment of connecting. Also turns login and TLS refusals into errors
//! that name the user and the address, never the password.

use std::time::Duration;

use parking_lot::Mutex;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError, RedisResult,
    TlsCertificates, TlsMode,
};

use crate::cache::tier::redis::config::{RedisConfig, redact_url};
use crate::cache::tier::redis::tls::install_crypto_provider;
use crate::error::{Error, Result};

/// A server to connect to.
pub enum Target {
    /// Always the same server.
    Fixed(redis::Client),
    /// The master the sentinels name now (asked again for every new connection).
    Sentinel {
        client: Mutex<SentinelClient>,
        /// For messages: the master's name and the sentinels' addresses.
        described: String,
    },
}

impl Target {
    /// The standalone server or Sentinel master of `config` (TLS files are read now; an
    /// unreadable one is an error naming it). Nothing is connected yet.
    pub fn new(config: &RedisConfig) -> Result<Self> {
        Self::with_role(config, SentinelServerType::Master)
    }

    /// The replicas of `config`'s Sentinel master: each new connection goes to one of them,
    /// chosen at random among those the sentinels list as up.
    pub fn replicas(config: &RedisConfig) -> Result<Self> {
        Self::with_role(config, SentinelServerType::Replica)
    }

    fn with_role(config: &RedisConfig, role: SentinelServerType) -> Result<Self> {
        let certs = match &config.tls {
            Some(tls) => {
                install_crypto_provider();
                tls.certificates()?
            }
            None => None,
        };
        let invalid =
            |url: &str, e: RedisError| Error::Config(format!("Redis URL {}: {e}", redact_url(url)));
        match &config.sentinel_master {
            None => {
                let url = config.urls.first().map(String::as_str).unwrap_or_default();
                if url.starts_with("rediss://") {
                    install_crypto_provider();
                }
                let info = connection_info(url, config).map_err(|e| invalid(url, e))?;
                let client = match certs {
                    Some(certs) => redis::Client::build_with_tls(info, certs),
                    None => redis::Client::open(info),
                };
                Ok(Target::Fixed(client.map_err(|e| invalid(url, e))?))
            }
            Some(master) => {
                let of = match role {
                    SentinelServerType::Replica => "replicas of",
                    _ => "master",
                };
                let client = sentinel_client(config, master, certs, role)?;
                let sentinels: Vec<String> = config.urls.iter().map(|u| redact_url(u)).collect();
                Ok(Target::Sentinel {
                    client: Mutex::new(client),
                    described: format!("{} {master:?} of sentinels {}", of, sentinels.join(", ")),
                })
            }
        }
    }

    /// A new connection (made within `timeout` once the address is known). Login and TLS
    /// failures name the user and the address.
    pub fn connect(&self, timeout: Duration, user: &str) -> RedisResult<redis::Connection> {
        let client = match self {
            Target::Fixed(client) => client.clone(),
            Target::Sentinel { client, described } => client.lock().get_client().map_err(|e| {
                // Not knowing the master is an outage (the breaker backs off), unless the
                // sentinels or the master refused our login or certificate (the lookup
                // checks the master's role with our credentials, and wraps its errors).
                let text = e.to_string();
                let lower = text.to_ascii_lowercase();
                let login = lower.contains("noauth")
                    || lower.contains("wrongpass")
                    || lower.contains("authentication");
                let kind = match e.kind() {
                    k @ (ErrorKind::AuthenticationFailed | ErrorKind::InvalidClientConfig) => k,
                    _ if login => ErrorKind::AuthenticationFailed,
                    _ if tls_refusal(&e).is_some() => ErrorKind::InvalidClientConfig,
                    _ => ErrorKind::Io,
                };
                let detail = if login {
                    format!("user {user:?} could not log in at the {described}: {text}")
                } else {
                    format!("{described}: {text}")
                };
                RedisError::from((kind, "no master from Sentinel", detail))
            })?,
        };
        let address = client.get_connection_info().addr().to_string();
        client
            .get_connection_with_timeout(timeout)
            .map_err(|e| explain(e, user, &address))
    }

    /// What to call this target in messages.
    pub fn describe(&self) -> String {
        match self {
            Target::Fixed(client) => client.get_connection_info().addr().to_string(),
            Target::Sentinel { described, .. } => described.clone(),
        }
    }
}

/// The user a connection logs in as, for messages.
pub fn user_of(config: &RedisConfig) -> String {
    if let Some(user) = &config.user {
        return user.clone();
    }
    if config.sentinel_master.is_some() {
        // The URLs are the sentinels': their user is not the master's.
        return "default".to_string();
    }
    config
        .urls
        .first()
        .and_then(|url| url.as_str().into_connection_info().ok())
        .and_then(|info| info.redis_settings().username().map(str::to_string))
        .unwrap_or_else(|| "default".to_string())
}

/// `url` parsed, with the configured user and password (if any) in place of the URL's,
/// and TLS when the config asks for it (`redis://` becomes `rediss://`).
fn connection_info(url: &str, config: &RedisConfig) -> RedisResult<ConnectionInfo> {
    let url = tls_url(url, config);
    let info = url.as_str().into_connection_info()?;
    Ok(with_credentials(info, config))
}

/// `url` with the scheme and fragment TLS needs under `config`.
pub fn tls_url(url: &str, config: &RedisConfig) -> String {
    let Some(tls) = &config.tls else {
        return url.to_string();
    };
    let mut url = match url.strip_prefix("redis://") {
        Some(rest) => format!("rediss://{rest}"),
        None => url.to_string(),
    };
    if tls.insecure && !url.contains('#') {
        url.push_str("#insecure");
    }
    url
}

/// `info` with the config's user and password, when set.
pub fn with_credentials(info: ConnectionInfo, config: &RedisConfig) -> ConnectionInfo {
    let mut settings = info.redis_settings().clone();
    if let Some(user) = &config.user {
        settings = settings.set_username(user);
    }
    if let Some(password) = &config.password {
        settings = settings.set_password(password);
    }
    info.set_redis_settings(settings)
}

/// A client that asks `config.urls` (sentinels) for `master`.
fn sentinel_client(
    config: &RedisConfig,
    master: &str,
    certs: Option<TlsCertificates>,
    role: SentinelServerType,
) -> Result<SentinelClient> {
    let invalid = |what: String| Error::Config(format!("Sentinel {what}"));
    let mut addrs = Vec::new();
    let mut sentinel_password = None;
    let mut sentinel_user = None;
    for url in &config.urls {
        let info = url
            .as_str()
            .into_connection_info()
            .map_err(|e| invalid(format!("URL {}: {e}", redact_url(url))))?;
        if let Some(password) = info.redis_settings().password() {
            sentinel_password = Some(password.to_string());
            sentinel_user = info.redis_settings().username().map(str::to_string);
        }
        addrs.push(info.addr().clone());
    }
    if addrs.is_empty() {
        return Err(invalid("needs at least one sentinel URL".into()));
    }
    let sentinel_tls = addrs
        .iter()
        .any(|a| matches!(a, ConnectionAddr::TcpTls { .. }));
    if sentinel_tls {
        install_crypto_provider();
    }
    let mode = |insecure: bool| {
        if insecure {
            TlsMode::Insecure
        } else {
            TlsMode::Secure
        }
    };
    let insecure = config.tls.as_ref().is_some_and(|t| t.insecure);
    let mut builder =
        SentinelClientBuilder::new(addrs, master, role).map_err(|e| invalid(format!("{e}")))?;
    if let Some(user) = &config.user {
        builder = builder.set_client_to_redis_username(user);
    }
    if let Some(password) = &config.password {
        builder = builder.set_client_to_redis_password(password);
    }
    if config.tls.is_some() {
        builder = builder.set_client_to_redis_tls_mode(mode(insecure));
        if let Some(certs) = &certs {
            builder = builder.set_client_to_redis_certificates(certs.clone());
        }
    }
    if sentinel_tls {
        builder = builder.set_client_to_sentinel_tls_mode(mode(insecure));
        if let Some(certs) = certs {
            builder = builder.set_client_to_sentinel_certificates(certs);
        }
    }
    if let Some(user) = sentinel_user {
        builder = builder.set_client_to_sentinel_username(user);
    }
    if let Some(password) = sentinel_password {
        builder = builder.set_client_to_sentinel_password(password);
    }
    builder.build().map_err(|e| invalid(format!("{e}")))
}

/// A connection failure, with the user and address named when the server refused the
/// login and with a hint when a TLS certificate was refused.
fn explain(e: RedisError, user: &str, address: &str) -> RedisError {
    if e.kind() == ErrorKind::AuthenticationFailed || e.code() == Some("WRONGPASS") {
        return RedisError::from((
            ErrorKind::AuthenticationFailed,
            "login refused",
            format!(
                "user {user:?} could not log in at {address}: {}",
                e.detail().unwrap_or("wrong user or password")
            ),
        ));
    }
    if let Some(reason) = tls_refusal(&e) {
        return RedisError::from((
            ErrorKind::InvalidClientConfig,
            "TLS refused",
            format!("TLS with {address} failed: {reason}"),
        ));
    }
    e
}

/// The TLS handshake's failure, when that is what `e` is (a certificate one side does not
/// accept); `None` for outages.
fn tls_refusal(e: &RedisError) -> Option<String> {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    let certificate = lower.contains("certificate") || lower.contains("fatal alert");
    if !certificate {
        return None;
    }
    let hint = if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        " (the server's certificate is not signed by a trusted CA: check the CA file)"
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        " (the certificate does not name the host in the URL)"
    } else if lower.contains("certificaterequired") || lower.contains("certificate required") {
        " (the server wants a client certificate; give one with its key)"
    } else {
        ""
    };
    Some(format!("{text}{hint}"))
}

/// Why Redis refused this configuration (a login or a certificate), if it did: such a
/// failure is the same on every call, unlike an outage. Cluster clients report failures of
/// their own (the node connections' errors are in the text), so the text is read too.
pub fn refusal(e: &RedisError) -> Option<String> {
    match e.kind() {
        ErrorKind::AuthenticationFailed | ErrorKind::InvalidClientConfig => Some(
            e.detail()
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string()),
        ),
        _ => {
            let text = e.to_string();
            let lower = text.to_ascii_lowercase();
            if lower.contains("wrongpass") || lower.contains("authentication failed") {
                return Some(format!("login refused: {text}"));
            }
            tls_refusal(e).map(|reason| format!("TLS failed: {reason}"))
        }
    }
}
