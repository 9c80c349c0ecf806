//! Reading certificates back: PEM to DER, what a certificate says (subject,
//! groups, SANs, validity) and whether it may be used now.
//!
//! Every certificate this crate loads passes [`check_validity`], so an expired
//! certificate is refused where it is read, with a message that names the file
//! and the moment it expired, rather than failing later as an opaque handshake
//! error on the other side of a connection.

use crate::error::PkiError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::IpAddr;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// What a certificate says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// the subject's CN: Kubernetes' user name
    pub common_name: String,
    /// the subject's O values: Kubernetes' groups
    pub organizations: Vec<String>,
    pub issuer_common_name: String,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
    /// validity bounds, in seconds since the Unix epoch
    pub not_before: i64,
    pub not_after: i64,
    pub is_ca: bool,
}

/// Seconds since the Unix epoch now.
pub fn unix_now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

/// A Unix time as RFC 3339 (UTC), for messages.
pub fn rfc3339(unix: i64) -> String {
    match chrono::DateTime::from_timestamp(unix, 0) {
        Some(at) => at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        None => format!("{unix} s after the Unix epoch"),
    }
}

/// The certificates of a PEM text, in order; `subject` names the source in errors.
pub fn parse_pem_certs(pem: &[u8], subject: &str) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let bad = |message: String| PkiError::BadCertificate { subject: subject.to_string(), message };
    let certs = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no CERTIFICATE block".to_string()));
    }
    Ok(certs)
}

/// The private key of a PEM text (PKCS#8, SEC1 or PKCS#1).
pub fn parse_pem_key(pem: &[u8], subject: &str) -> Result<PrivateKeyDer<'static>, PkiError> {
    PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| PkiError::BadKey { subject: subject.to_string(), message: e.to_string() })
}

/// Decodes one DER certificate.
pub fn inspect(der: &[u8], subject: &str) -> Result<CertInfo, PkiError> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| PkiError::BadCertificate { subject: subject.to_string(), message: e.to_string() })?;
    let text = |attr: Option<&x509_parser::x509::AttributeTypeAndValue<'_>>| {
        attr.and_then(|a| a.as_str().ok()).unwrap_or_default().to_string()
    };
    let mut info = CertInfo {
        common_name: text(cert.subject().iter_common_name().next()),
        organizations: cert.subject().iter_organization().map(|o| text(Some(o))).collect(),
        issuer_common_name: text(cert.issuer().iter_common_name().next()),
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        is_ca: cert.is_ca(),
    };
    if let Ok(Some(sans)) = cert.subject_alternative_name() {
        for name in &sans.value.general_names {
            match name {
                GeneralName::DNSName(dns) => info.dns_names.push(dns.to_string()),
                GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        info.ip_addresses.push(ip);
                    }
                }
                _ => {}
            }
        }
    }
    Ok(info)
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Refuses a certificate outside its validity at `now` (Unix seconds).
pub fn check_validity(info: &CertInfo, subject: &str, now: i64) -> Result<(), PkiError> {
    if now > info.not_after {
        return Err(PkiError::Expired {
            subject: subject.to_string(),
            not_after: rfc3339(info.not_after),
            now: rfc3339(now),
        });
    }
    if now < info.not_before {
        return Err(PkiError::NotYetValid {
            subject: subject.to_string(),
            not_before: rfc3339(info.not_before),
            now: rfc3339(now),
        });
    }
    Ok(())
}

/// Whether `der` was signed by the key of the CA certificate `ca_der`.
pub fn signed_by(der: &[u8], ca_der: &[u8]) -> bool {
    let (Ok((_, cert)), Ok((_, ca))) = (X509Certificate::from_der(der), X509Certificate::from_der(ca_der)) else {
        return false;
    };
    cert.verify_signature(Some(ca.public_key())).is_ok()
}

/// A certificate file, read and checked: the first certificate of the PEM
/// file at `path` must be valid now.
#[derive(Debug, Clone)]
pub struct LoadedCert {
    pub pem: String,
    pub der: CertificateDer<'static>,
    pub info: CertInfo,
}

/// Reads the certificate at `path`, refusing it when it has expired (or is not
/// valid yet) at `now`.
pub fn load_certificate(path: &Path, now: i64) -> Result<LoadedCert, PkiError> {
    let pem = std::fs::read_to_string(path).map_err(PkiError::io(path))?;
    let subject = path.display().to_string();
    let der = parse_pem_certs(pem.as_bytes(), &subject)?.remove(0);
    let info = inspect(&der, &subject)?;
    check_validity(&info, &subject, now)?;
    Ok(LoadedCert { pem, der, info })
}
