//! The proxy's one error type.

use std::net::SocketAddr;

/// What went wrong in the proxy, naming the address or input involved.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("unknown load-balancing algorithm {0:?}: use round-robin or random")]
    UnknownAlgorithm(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot reach the API server at {url}: {source}")]
    Client { url: String, source: capstan_client::ClientError },
    #[error("metrics: {0}")]
    Metrics(#[from] capstan_metrics::MetricsError),
    #[error("the proxy's admin or metrics port: {0}")]
    Server(#[from] capstan_server::ServerError),
    #[error(
        "cannot create the cluster IP interface {name}: the proxy needs CAP_NET_ADMIN (run it as root or grant \
         the capability), or pass --no-cluster-ip to serve only node ports"
    )]
    NeedsNetAdmin { name: String },
    #[error("cannot {operation} the cluster IP interface {name}: {source}")]
    Interface { name: String, operation: &'static str, source: rtnetlink::Error },
    #[error(
        "the interface {name} exists and is a {kind} interface, not a dummy or bridge the proxy made; \
         choose another --cluster-ip-interface"
    )]
    ForeignInterface { name: String, kind: String },
    #[error(
        "the cluster IP interface {name} belongs to another running proxy (it holds {lock}); \
         give this one its own --cluster-ip-interface and service range"
    )]
    InterfaceInUse { name: String, lock: String },
    #[error("cannot lock the cluster IP interface {name} ({lock}): {source}")]
    InterfaceLock { name: String, lock: String, source: std::io::Error },
    #[error("no ready backend for {service}")]
    NoBackend { service: String },
    #[error("every backend of {service} refused or failed: {source}")]
    AllBackendsFailed { service: String, source: std::io::Error },
}
