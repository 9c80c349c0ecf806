//! The crate's one error type.

use capstan_metrics::MetricsError;

/// What went wrong setting up or running a server, and where.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("registering the request metrics: {0}")]
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
}
