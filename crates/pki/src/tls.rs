//! The rustls client configuration a resolved kubeconfig context stands for:
//! the cluster's CA as the only trust root (the system's roots when the
//! kubeconfig names no CA, as kubectl does), the client certificate when the
//! user has one, and HTTP/2 offered by ALPN, which gRPC needs.
//!
//! `insecure-skip-tls-verify` is honoured as kubectl honours it: the server's
//! certificate is not checked, but the handshake's signatures still are, so
//! the connection is encrypted to whoever answered.

use crate::cert;
use crate::error::PkiError;
use crate::kubeconfig::Credentials;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// The one crypto provider: ring, as everywhere in the workspace.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS client configuration for `credentials`, offering `h2`.
pub fn client_config(credentials: &Credentials) -> Result<Arc<ClientConfig>, PkiError> {
    let source = &credentials.source;
    let tls = |message: String| PkiError::Tls { path: source.clone(), message };
    let subject = |what: &str| format!("kubeconfig {}: {what}", source.display());
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(e.to_string()))?;
    let builder = if credentials.insecure_skip_tls_verify {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(SkipServerVerification(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        match &credentials.ca_pem {
            Some(pem) => {
                let certs = cert::parse_pem_certs(pem, &subject("certificate-authority"))?;
                for ca in certs {
                    let info = cert::inspect(&ca, &subject("certificate-authority"))?;
                    cert::check_validity(&info, &subject("certificate-authority"), cert::unix_now())?;
                    roots.add(ca).map_err(|e| tls(format!("certificate-authority: {e}")))?;
                }
            }
            None => {
                // no CA in the kubeconfig: trust the system's, as kubectl does
                let native = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(native.certs);
            }
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match (&credentials.client_cert_pem, &credentials.client_key_pem) {
        (Some(cert_pem), Some(key_pem)) => {
            let chain = cert::parse_pem_certs(cert_pem, &subject("client-certificate"))?;
            let key = cert::parse_pem_key(key_pem, &subject("client-key"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| tls(format!("the client certificate and key do not go together: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// The name the server's certificate must carry: `tls-server-name`, else the
/// URL's host (an IP address is checked against the certificate's IP SANs).
pub fn server_name(credentials: &Credentials, host: &str) -> Result<ServerName<'static>, PkiError> {
    let name = credentials.tls_server_name.as_deref().unwrap_or(host);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(name.to_string()).map_err(|e| PkiError::Tls {
        path: credentials.source.clone(),
        message: format!("{name:?} is not a server name: {e}"),
    })
}

/// `insecure-skip-tls-verify`: any server certificate, genuine signatures.
#[derive(Debug)]
struct SkipServerVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for SkipServerVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
