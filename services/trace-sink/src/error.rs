//! The one error type of the sink.

use std::net::SocketAddr;

/// Why the sink could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The sink has no authentication, and nothing listens off loopback without it.
    #[error(
        "refusing to listen on {0}: the trace sink has no authentication, so it listens \
         on loopback only; use 127.0.0.1:PORT or [::1]:PORT"
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
    /// `--max-traces` of 0 would keep nothing.
    #[error("--max-traces must be at least 1")]
    NoRoom,
}
