//! The kubelet's side of Capstan's runtime interface — gRPC clients for whatever
//! runtime a node's `--runtime-endpoint` names — and the vocabulary both sides share.
//!
//! Start with [`connect`] (or [`connect_lazy`], which waits for a shim that is not
//! serving yet): `unix:///run/capstan/docker-shim.sock` reaches a shim process over
//! its unix socket. Every call names the calling node ([`caller`]), so a shim serves
//! each kubelet as its own node. This crate links no shim: an in-process runtime
//! (`memory://`) is built by whoever starts the kubelet and handed over as a channel
//! ([`RuntimeClients::over`]). The shims depend on this crate for the vocabulary
//! ([`labels`], [`endpoint`], [`NODE_NAME_METADATA`]), never the other way round.
//!
//! # Layout
//! - [`connect`](mod@connect): endpoints to [`RuntimeClients`].
//! - [`caller`]: the caller's node name on every call.
//! - [`observe`]: a [`CallObserver`] told of every call (the kubelet's runtime metrics).
//! - [`labels`]: the `io.capstan.*` label keys every shim sets and the kubelet reads.
//! - [`endpoint`]: parsing `unix://` and `memory://` endpoints.
//! - [`CriError`]: why connecting failed.

pub mod caller;
pub mod connect;
pub mod endpoint;
mod error;
pub mod labels;
pub mod observe;

pub use caller::{CallerNode, NODE_NAME_METADATA};
pub use connect::{connect, connect_lazy, connect_unix, RuntimeChannel, RuntimeClients};
pub use endpoint::{parse_endpoint, RuntimeEndpoint};
pub use error::CriError;
pub use observe::CallObserver;
