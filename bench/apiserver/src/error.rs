//! Why a benchmark run could not produce its figures.
//!
//! A benchmark that hits an error stops and says which step failed: a figure measured
//! over failing requests would be meaningless, so no error is counted and skipped.

use capstan_apiserver::ApiServerError;
use capstan_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),

    #[error("the API server failed: {0}")]
    Server(#[from] ApiServerError),

    #[error("connecting to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: tonic::transport::Error,
    },

    #[error("{what}: {status}")]
    Rpc { what: String, status: tonic::Status },

    #[error("the pod template: {0}")]
    Template(String),

    #[error("etcd: {0}")]
    Etcd(String),

    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },

    #[error("watch fan-out: {0}")]
    Fanout(String),

    #[error("the REST face: {0}")]
    Http(String),

    #[error("a benchmark task failed: {0}")]
    Task(String),

    #[error("the PKI: {0}")]
    Pki(#[from] capstan_pki::PkiError),
}

impl BenchError {
    /// Wraps a gRPC status with the request that got it.
    pub fn rpc(what: impl Into<String>, status: tonic::Status) -> Self {
        BenchError::Rpc { what: what.into(), status }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        BenchError::Io { what: what.into(), source }
    }
}
