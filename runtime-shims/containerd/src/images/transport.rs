//! How a registry is reached: over TLS (rustls, verified against the system's
//! roots plus any CA files the shim is given), or over plain HTTP, which is
//! allowed only for the loopback and the hosts named `--insecure-registry`, as
//! Docker does.
//!
//! "Insecure" allows plain HTTP; it does not switch verification off. Such a
//! host is asked for TLS first, and only one that does not speak TLS at all is
//! then spoken to in plain HTTP; a certificate that does not verify is an
//! error, whatever the host.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;

use crate::images::registry::Failure;
use crate::ContainerdError;

/// How long reaching a registry, or its TLS handshake, may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which registries the shim may pull from, and how.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Hosts (`host` or `host:port`) that may be spoken to in plain HTTP,
    /// besides the loopback.
    pub insecure: Vec<String>,
    /// PEM files of extra CA certificates to trust, besides the system's.
    pub ca_files: Vec<PathBuf>,
}

impl RegistryConfig {
    /// Whether `host:port` may be spoken to in plain HTTP.
    pub fn allows_plain_http(&self, host: &str, port: u16) -> bool {
        is_loopback(host) || self.insecure.iter().any(|h| *h == host || *h == format!("{host}:{port}"))
    }

    /// The TLS client configuration: the system's roots and the CA files (each
    /// must hold at least one certificate).
    pub fn tls(&self) -> Result<Arc<ClientConfig>, ContainerdError> {
        let bad =
            |path: &PathBuf, reason: String| ContainerdError::RegistryCa { path: path.display().to_string(), reason };
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::debug!(%error, "reading the system's CA certificates");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, "the system's CA certificates");
        for path in &self.ca_files {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(path, e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(path, e.to_string()))?;
            if certs.is_empty() {
                return Err(bad(path, "it holds no PEM certificate".to_string()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| bad(path, e.to_string()))?;
            }
        }
        if roots.is_empty() {
            tracing::warn!("no CA certificates: no registry served over TLS can be verified (pass --registry-ca)");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ContainerdError::RegistryCa { path: "(TLS versions)".into(), reason: e.to_string() })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// Whether `host` is the loopback, where Docker too speaks plain HTTP.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost" || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// How to speak to one registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Https,
    Http,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }
}

/// What a TLS handshake attempt showed.
#[derive(Debug)]
enum Handshake {
    Done,
    /// The peer does not speak TLS (it answered plain HTTP, hung up, or kept quiet).
    NotTls,
    /// It speaks TLS, but the handshake failed (an untrusted certificate, say).
    Failed(String),
}

/// Picks the scheme for `host:port`: TLS when it speaks it; plain HTTP when it
/// does not and `config` allows plain HTTP there; else a failure saying why.
pub async fn choose(
    config: &RegistryConfig,
    tls: &Arc<ClientConfig>,
    host: &str,
    port: u16,
) -> Result<Scheme, Failure> {
    let target = format!("{host}:{port}");
    match handshake(tls, host, port).await? {
        Handshake::Done => Ok(Scheme::Https),
        Handshake::NotTls if config.allows_plain_http(host, port) => Ok(Scheme::Http),
        Handshake::NotTls => Err(Failure::Tls(format!(
            "{target} does not speak TLS; to pull from it over plain HTTP, start the shim with \
             --insecure-registry {target}"
        ))),
        Handshake::Failed(reason) => Err(Failure::Tls(format!(
            "the TLS handshake with {target} failed: {reason} (a private CA is trusted with --registry-ca FILE)"
        ))),
    }
}

async fn handshake(tls: &Arc<ClientConfig>, host: &str, port: u16) -> Result<Handshake, Failure> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_string())
        .map_err(|e| Failure::Tls(format!("{host} is not a name TLS can verify: {e}")))?;
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((bare, port)))
        .await
        .map_err(|_| Failure::Unreachable(format!("{host}:{port}: no connection within {CONNECT_TIMEOUT:?}")))?
        .map_err(|e| Failure::Unreachable(format!("{host}:{port}: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(tls));
    match tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp)).await {
        Err(_) => Ok(Handshake::NotTls),
        Ok(Ok(_)) => Ok(Handshake::Done),
        Ok(Err(error)) => Ok(classify(&error)),
    }
}

/// Tells "not TLS at all" from "TLS that failed" in a handshake's error.
fn classify(error: &std::io::Error) -> Handshake {
    match error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidMessage(_)) => Handshake::NotTls,
        Some(other) => Handshake::Failed(other.to_string()),
        None if matches!(
            error.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        ) =>
        {
            Handshake::NotTls
        }
        None => Handshake::Failed(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_the_loopback_and_named_hosts() {
        let config =
            RegistryConfig { insecure: vec!["lab.example:5000".into(), "build.example".into()], ..Default::default() };
        let cases = [
            ("localhost", 5000, true),
            ("127.0.0.1", 443, true),
            ("127.3.2.1", 80, true),
            ("[::1]", 5000, true),
            ("lab.example", 5000, true),
            ("lab.example", 443, false),
            ("build.example", 8443, true),
            ("registry-1.docker.io", 443, false),
            ("localhost.example", 443, false),
        ];
        for (host, port, allowed) in cases {
            assert_eq!(config.allows_plain_http(host, port), allowed, "{host}:{port}");
        }
    }

    #[test]
    fn handshake_errors_are_told_apart() {
        let rustls_error = |e: rustls::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let not_tls = rustls_error(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType));
        assert!(matches!(classify(&not_tls), Handshake::NotTls));
        let untrusted = rustls_error(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer));
        assert!(matches!(classify(&untrusted), Handshake::Failed(m) if m.contains("UnknownIssuer")));
        let hung_up = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert!(matches!(classify(&hung_up), Handshake::NotTls));
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").expect("write");
        let config = RegistryConfig { ca_files: vec![empty], ..Default::default() };
        let error = config.tls().map(|_| ()).expect_err("no certificate");
        assert!(error.to_string().contains("empty.pem") && error.to_string().contains("no PEM certificate"), "{error}");
        let missing = RegistryConfig { ca_files: vec![dir.path().join("absent.pem")], ..Default::default() };
        assert!(missing.tls().is_err());
    }
}
