//! The one error type of the sink.

use std::net::SocketAddr;

/// Why the sink could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Without a client CA the sink authenticates nobody, and nothing listens
    /// off loopback without authentication.
    #[error(
        "refusing to listen on {0}: without --client-ca-file (and --tls-cert-file, \
         --tls-private-key-file) the trace sink authenticates nobody, so it listens on loopback \
         only; use 127.0.0.1:PORT or [::1]:PORT, or give it TLS files and a client CA"
    )]
    NotLoopback(SocketAddr),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The server stack failed.
    #[error(transparent)]
    Server(#[from] capstan_server::ServerError),
    /// A TLS flag given without the others it needs.
    #[error("{0}")]
    Flags(String),
    /// `--max-traces` of 0 would keep nothing.
    #[error("--max-traces must be at least 1")]
    NoRoom,
}
