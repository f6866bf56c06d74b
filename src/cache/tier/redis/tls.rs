//! [`RedisTls`]: the TLS settings of the Redis tier (which CA to trust, which client
//! certificate to show), read from PEM files when the tier opens.

use std::path::{Path, PathBuf};

use redis::{ClientTlsConfig, TlsCertificates};

use crate::error::{Error, Result};

/// TLS for the Redis tier (feature `redis`; rustls underneath). Verification is on: the
/// server's certificate must chain to the CA file (or, without one, to the system's
/// trusted roots) and name the host in the URL.
///
/// ```
/// let tls = stratacache::RedisTls::new()
///     .ca_file("/etc/redis/ca.pem")
///     .client_cert("/etc/redis/client.pem", "/etc/redis/client.key");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedisTls {
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) client_cert: Option<(PathBuf, PathBuf)>,
    pub(crate) insecure: bool,
}

impl RedisTls {
    /// TLS trusting the system's root certificates, without a client certificate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trust only the CA certificates in this PEM file (a private CA, as managed Redis
    /// services and self-run deployments use).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Show this client certificate (PEM chain) and key (PEM: PKCS#8, PKCS#1 or SEC1) to
    /// servers that require one (`tls-auth-clients yes`).
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some((cert.into(), key.into()));
        self
    }

    /// **For tests only**: accept any server certificate, signed by anyone, for any host.
    /// Traffic is encrypted but anyone on the path can read and change it.
    pub fn danger_accept_invalid_certs(mut self) -> Self {
        self.insecure = true;
        self
    }

    /// The certificates the `redis` crate wants, read from the files; an error names the
    /// file that could not be read. `None` when neither a CA nor a client certificate is
    /// set (system roots).
    pub(crate) fn certificates(&self) -> Result<Option<TlsCertificates>> {
        if self.ca_file.is_none() && self.client_cert.is_none() {
            return Ok(None);
        }
        let root_cert = self.ca_file.as_deref().map(read_pem).transpose()?;
        let client_tls = match &self.client_cert {
            Some((cert, key)) => Some(ClientTlsConfig {
                client_cert: read_pem(cert)?,
                client_key: read_pem(key)?,
            }),
            None => None,
        };
        Ok(Some(TlsCertificates {
            client_tls,
            root_cert,
        }))
    }
}

/// A PEM file's bytes; an error names it and says what it was for.
fn read_pem(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        op: "read the Redis TLS file",
        path: path.to_path_buf(),
        source,
    })?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(Error::Config(format!(
            "Redis TLS file {} is not PEM (no -----BEGIN line)",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Makes sure rustls has its crypto provider (ring) before the first TLS connection; a
/// provider another part of the program installed first is kept.
///
/// rustls 0.23.48 deprecates ring's provider because it has no post-quantum key exchange;
/// we keep ring because aws-lc-rs needs cmake and minutes of C build on every fresh
/// machine, and the Redis servers we meet (OpenSSL 3.0 builds) do not offer post-quantum
/// groups anyway. A program that wants aws-lc-rs installs it before opening the cache.
#[allow(deprecated)]
pub(crate) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
