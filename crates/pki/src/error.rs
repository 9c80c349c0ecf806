//! The crate's one error type. Every variant names the file (or the kubeconfig
//! entry) it is about, because the person reading it has to go and fix that file.

use std::path::PathBuf;

/// What went wrong making, reading or using certificates and kubeconfigs.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A certificate whose validity ended; `subject` names where it was read.
    #[error("{subject}: the certificate expired at {not_after} (it is {now} now); issue a new one")]
    Expired { subject: String, not_after: String, now: String },
    #[error("{subject}: the certificate is not valid before {not_before} (it is {now} now); check the clocks")]
    NotYetValid { subject: String, not_before: String, now: String },
    #[error("{subject}: not a PEM certificate: {message}")]
    BadCertificate { subject: String, message: String },
    #[error("{subject}: not a PEM private key: {message}")]
    BadKey { subject: String, message: String },
    #[error("issuing the certificate for {what}: {message}")]
    Issue { what: String, message: String },
    /// The directory holds a CA certificate but not its key, or the reverse.
    #[error("{dir}: {message}")]
    IncompleteCa { dir: PathBuf, message: String },
    #[error("invalid {what} {value:?}: {message}")]
    InvalidInput { what: &'static str, value: String, message: String },
    /// A kubeconfig that cannot be read, decoded or resolved.
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig { path: PathBuf, message: String },
    /// A resolved kubeconfig's credentials that rustls refuses.
    #[error("kubeconfig {path}: TLS: {message}")]
    Tls { path: PathBuf, message: String },
}

impl PkiError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PkiError {
        let path = path.into();
        move |source| PkiError::Io { path, source }
    }

    pub(crate) fn kubeconfig(path: impl Into<PathBuf>, message: impl Into<String>) -> PkiError {
        PkiError::Kubeconfig { path: path.into(), message: message.into() }
    }
}
