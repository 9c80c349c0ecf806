//! Making certificates with rcgen: the cluster CA and the leaves it signs.
//!
//! Lifetimes follow kubeadm: ten years for the CA, one for every leaf. Leaves
//! start five minutes in the past, so a node whose clock is slightly behind
//! the machine that ran `certs init` does not refuse a certificate as "not
//! yet valid" in the first minutes.

use crate::error::PkiError;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};

/// How long the CA is valid: ten years, as kubeadm.
pub const CA_VALIDITY: Duration = Duration::days(3650);
/// How long a leaf certificate is valid: one year, as kubeadm.
pub const LEAF_VALIDITY: Duration = Duration::days(365);
/// How far back a certificate's validity starts (clock skew between machines).
const BACKDATE: Duration = Duration::minutes(5);
/// The CA's common name, before the `@SECONDS-KEY` that makes each CA's name
/// its own (k3s adds the time; two CAs made in one second differ by key): a
/// certificate from another cluster's CA is then refused as "unknown issuer"
/// rather than as a bad signature under the same name.
pub const CA_NAME: &str = "capstan-ca";

/// What a leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// a TLS server (`serverAuth`)
    Server,
    /// a TLS client (`clientAuth`): CN is the user, O the group
    Client,
}

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum San {
    Dns(String),
    Ip(IpAddr),
}

impl San {
    /// An IP address if `value` parses as one, else a DNS name.
    pub fn parse(value: &str) -> San {
        match value.parse::<IpAddr>() {
            Ok(ip) => San::Ip(ip),
            Err(_) => San::Dns(value.to_string()),
        }
    }
}

/// Who a leaf certificate names and what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub common_name: String,
    /// at most one: rcgen keeps one value per attribute type, and every
    /// identity Kubernetes' bootstrap uses has at most one group
    pub group: Option<String>,
    pub sans: Vec<San>,
    pub usage: Usage,
}

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The cluster CA, able to sign.
pub struct Ca {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

fn issue_error(what: &str) -> impl FnOnce(rcgen::Error) -> PkiError + '_ {
    move |e| PkiError::Issue { what: what.to_string(), message: e.to_string() }
}

impl Ca {
    /// A new self-signed CA valid from `now` for [`CA_VALIDITY`].
    pub fn generate(now: OffsetDateTime) -> Result<Ca, PkiError> {
        Ca::generate_valid(now - BACKDATE, now + CA_VALIDITY)
    }

    /// A new self-signed CA valid between the two instants (tests make expired ones).
    pub fn generate_valid(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Result<Ca, PkiError> {
        let key = KeyPair::generate().map_err(issue_error("the CA"))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        let key_id: String = key.public_key_raw().iter().rev().take(4).map(|b| format!("{b:02x}")).collect();
        let name = format!("{CA_NAME}@{}-{key_id}", not_before.unix_timestamp());
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params.self_signed(&key).map_err(issue_error("the CA"))?;
        Ok(Ca { cert_pem: cert.pem(), issuer: Issuer::new(params, key) })
    }

    /// The CA of an existing certificate and key (both PEM).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca, PkiError> {
        let key = KeyPair::from_pem(key_pem)
            .map_err(|e| PkiError::BadKey { subject: "the CA key".to_string(), message: e.to_string() })?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key).map_err(|e| PkiError::BadCertificate {
            subject: "the CA certificate".to_string(),
            message: e.to_string(),
        })?;
        Ok(Ca { cert_pem: cert_pem.to_string(), issuer })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// A leaf for `profile`, valid from `now` for [`LEAF_VALIDITY`], with a new key.
    pub fn issue(&self, profile: &Profile, now: OffsetDateTime) -> Result<Issued, PkiError> {
        self.issue_valid(profile, now - BACKDATE, now + LEAF_VALIDITY)
    }

    /// A leaf valid between the two instants (tests make expired ones).
    pub fn issue_valid(
        &self,
        profile: &Profile,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<Issued, PkiError> {
        let what = profile.common_name.as_str();
        let key = KeyPair::generate().map_err(issue_error(what))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, profile.common_name.as_str());
        if let Some(group) = &profile.group {
            params.distinguished_name.push(DnType::OrganizationName, group.as_str());
        }
        params.subject_alt_names = profile
            .sans
            .iter()
            .map(|san| match san {
                San::Ip(ip) => Ok(SanType::IpAddress(*ip)),
                San::Dns(name) => name.as_str().try_into().map(SanType::DnsName),
            })
            .collect::<Result<_, _>>()
            .map_err(issue_error(what))?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![match profile.usage {
            Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        params.use_authority_key_identifier_extension = true;
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params.signed_by(&key, &self.issuer).map_err(issue_error(what))?;
        Ok(Issued { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }
}
