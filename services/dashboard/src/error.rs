//! The one error type of the dashboard: why it could not start or serve.
//! What goes wrong inside one page (a refused list, a bad token) is not an
//! error of the dashboard's: it is shown on that page (see `face`).

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The dashboard carries bearer tokens: off loopback they must travel
    /// over TLS.
    #[error(
        "refusing to listen on {0} without TLS: the dashboard carries the users' bearer tokens, so off loopback \
         it serves only HTTPS; give --tls-cert-file and --tls-private-key-file, or listen on 127.0.0.1:PORT"
    )]
    NotLoopback(SocketAddr),
    /// A TLS flag without the other it needs.
    #[error("{0}")]
    Flags(String),
    /// The CA that the API server's certificate must chain to could not be read.
    #[error("cannot read the API server's CA {path}: {source}")]
    Ca {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The API server's address is not a usable URL.
    #[error("--server {url:?}: {source}")]
    Server {
        url: String,
        #[source]
        source: capstan_client::ClientError,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The server stack failed (its TLS files, its listener).
    #[error(transparent)]
    Stack(#[from] capstan_server::ServerError),
}
