//! What every Capstan runtime shim shares with the kubelet, below both of them.
//!
//! The kubelet's client crate (`capstan-cri`) connects to a runtime by endpoint and
//! can start the in-memory runtime in-process, so it depends on the memory shim; the
//! shims in turn need the runtime contract, the label vocabulary and a way to serve on a
//! unix socket. Those live here so neither side depends on the other, and `capstan-cri` re-exports
//! them: the kubelet never needs to name this crate.
//!
//! # Layout
//! - [`runtime`]: [`ContainerRuntime`], the runtime interface as plain async methods,
//!   which every shim implements; [`grpc`]: [`RuntimeServer`], the one gRPC face that
//!   serves both services for any of them.
//! - [`labels`]: the `io.capstan.*` label keys every shim sets and the kubelet reads,
//!   and the one place that turns a sandbox or container config into its label set.
//! - [`endpoint`]: parsing `unix://` and `memory://` endpoints.
//! - [`registry`]: naming registries as pull credentials are keyed.
//! - [`serve`]: serving a runtime (both gRPC services) on a unix socket, removing a
//!   stale socket first and the socket file on shutdown.

pub mod endpoint;
pub mod grpc;
pub mod labels;
pub mod registry;
pub mod runtime;
pub mod serve;

pub use endpoint::{node_name_or_hostname, parse_endpoint, RuntimeEndpoint};
pub use grpc::RuntimeServer;
pub use runtime::{ContainerRuntime, ExecInputStream, ExecOutputStream, LogStream, RuntimeError};
pub use serve::{serve_unix, ServedRuntime, UnixServer};

/// Why a runtime endpoint could not be parsed or served.
#[derive(Debug, thiserror::Error)]
pub enum ShimCommonError {
    #[error("runtime endpoint {endpoint:?} is not supported: expected unix:///path/to.sock or memory://")]
    BadEndpoint { endpoint: String },

    #[error("another runtime is already serving on {path}")]
    SocketInUse { path: String },

    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("serving the runtime on {path}: {source}")]
    Serve {
        path: String,
        #[source]
        source: tonic::transport::Error,
    },
}
