//! What every Capstan runtime shim shares, so the Docker, containerd and in-memory
//! shims differ only where their backends do.
//!
//! The kubelet never links this crate: it speaks `runtime.proto` through
//! `capstan-cri`, which also holds the vocabulary both sides agree on (labels,
//! endpoints, the caller's node metadata) and is re-exported here so a shim names
//! one crate.
//!
//! # Layout
//! - [`runtime`]: [`ContainerRuntime`], the runtime interface as plain async methods,
//!   which every shim implements; [`grpc`]: [`RuntimeServer`], the one gRPC face that
//!   serves both services for any of them.
//! - [`failure`]: [`RuntimeError`], the failures every shim shares, and
//!   [`RuntimeFailure`], the one way any shim's error becomes a gRPC status.
//! - [`node`]: which node a call is for — the caller's, sent in
//!   [`NODE_NAME_METADATA`]; a shim's `--node-name` ([`ShimNode`]) is a default, or a pin.
//! - [`labels`], [`parse_endpoint`], [`NODE_NAME_METADATA`]: re-exported from `capstan-cri`.
//! - [`calls`]: [`EngineCalls`], the span and the latency histogram of every call a
//!   shim makes to its engine (Docker, containerd), one name for every shim.
//! - [`registry`]: naming registries as pull credentials are keyed.
//! - [`resolv`]: a pod's resolv.conf from the kubelet's `dns_config`.
//! - [`serve`]: serving a runtime (both gRPC services) on a unix socket, removing a
//!   stale socket first and the socket file on shutdown; [`in_process`]: serving one
//!   inside the caller's process, for tests and `capstan up`'s in-memory node.

pub mod calls;
pub mod failure;
pub mod grpc;
pub mod in_process;
pub mod node;
pub mod registry;
pub mod resolv;
pub mod runtime;
pub mod serve;

pub use calls::{CallResult, CallTarget, EngineCalls, PodRef};
pub use capstan_cri::{labels, parse_endpoint, RuntimeEndpoint, NODE_NAME_METADATA};
pub use failure::{status, RuntimeError, RuntimeFailure};
pub use grpc::RuntimeServer;
pub use in_process::connect_in_process;
pub use node::ShimNode;
pub use resolv::resolv_conf;
pub use runtime::{sandbox_config, state_name, ContainerRuntime, ExecInputStream, ExecOutputStream, LogStream};
pub use serve::{serve_unix, ServedRuntime, UnixServer};

/// An I/O failure on a path, saying what was being done ("binding /run/…: …");
/// the shims' own errors carry it too.
#[derive(Debug, thiserror::Error)]
#[error("{what} {path}: {source}")]
pub struct PathIoError {
    pub what: &'static str,
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// Why a runtime endpoint could not be parsed or served.
#[derive(Debug, thiserror::Error)]
pub enum ShimCommonError {
    #[error("another runtime is already serving on {path}")]
    SocketInUse { path: String },

    #[error(transparent)]
    Io(#[from] PathIoError),

    #[error("connecting to the in-process runtime: {source}")]
    InProcess {
        #[source]
        source: tonic::transport::Error,
    },

    #[error("registering the runtime server's metrics: {0}")]
    Metrics(#[from] capstan_metrics::MetricsError),

    #[error("serving the runtime on {path}: {source}")]
    Serve {
        path: String,
        #[source]
        source: tonic::transport::Error,
    },
}
