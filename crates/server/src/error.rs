//! The crate's one error type.

use std::path::PathBuf;

use capstan_metrics::MetricsError;

/// What went wrong setting up or running a server, and where.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("registering the server's metrics: {0}")]
    Metrics(#[from] MetricsError),
    #[error("accepting connections on {addr}: {source}")]
    Accept {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("serving gRPC and /metrics on {addr}: {source}")]
    Serve {
        addr: String,
        #[source]
        source: tonic::transport::Error,
    },
    /// A serving certificate, key or client CA that cannot be used (expired
    /// ones included): the message names the file.
    #[error("TLS: {0}")]
    Certificate(#[from] capstan_pki::PkiError),
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("TLS: {path}: {message}")]
    Tls { path: PathBuf, message: String },
    #[error("token file {path} line {line}: {message}")]
    TokenFile { path: PathBuf, line: usize, message: String },
    #[error("audit log {path}: {source}")]
    Audit { path: PathBuf, source: std::io::Error },
}
