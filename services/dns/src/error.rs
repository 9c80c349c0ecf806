//! The DNS server's one error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// What went wrong, naming the address, file or input involved.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("cannot listen on {addr} ({transport}): {source}")]
    Bind { addr: SocketAddr, transport: &'static str, source: std::io::Error },
    #[error("cannot reach the API server at {url}: {source}")]
    Client { url: String, source: capstan_client::ClientError },
    #[error("--cluster-domain {domain:?} is not a DNS name: {detail}")]
    ClusterDomain { domain: String, detail: String },
    #[error("reading the upstream resolvers from {path}: {detail}")]
    ResolvConf { path: PathBuf, detail: String },
    #[error("metrics: {0}")]
    Metrics(#[from] capstan_metrics::MetricsError),
    #[error("the health and metrics port: {0}")]
    Server(#[from] capstan_server::ServerError),
    #[error("serving DNS: {0}")]
    Serve(String),
}
