//! The kubelet's side of Capstan's runtime interface: gRPC clients for whatever
//! runtime a node's `--runtime-endpoint` names.
//!
//! Start with [`connect`]: `unix:///run/capstan/docker-shim.sock` reaches a shim
//! process over its unix socket; `memory://` starts the in-memory runtime in-process
//! and talks to it through the same gRPC clients over an in-memory pipe, so the
//! kubelet has one code path for every runtime. [`labels`] holds the label keys every
//! shim sets and the kubelet reads; [`serve_unix`] is how a shim serves.
//!
//! # Layout
//! - [`connect`](mod@connect): endpoints to [`RuntimeClients`], including in-process servers.
//! - [`CriError`]: why connecting failed.
//! - re-exported from `capstan-shim-common` (which sits below both the kubelet and
//!   the shims): [`labels`], [`serve_unix`], [`UnixServer`], [`parse_endpoint`],
//!   [`ContainerRuntime`] and its gRPC face [`RuntimeServer`].

pub mod connect;
mod error;

pub use capstan_memory_shim::MemoryConfig;
pub use capstan_shim_common::{
    labels, parse_endpoint, serve_unix, ContainerRuntime, RuntimeEndpoint, RuntimeServer, UnixServer,
};
pub use connect::{connect, connect_in_process, connect_unix, connect_with, RuntimeChannel, RuntimeClients};
pub use error::CriError;
