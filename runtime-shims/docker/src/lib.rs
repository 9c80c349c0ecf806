//! Capstan's Docker runtime shim: the runtime interface over Docker Engine, through
//! bollard with the engine's API version negotiated (Debian's engine speaks 1.41).
//!
//! A pod sandbox is a pause container on the shim's bridge network (`capstan`); app
//! containers join its network and IPC namespaces, so the pod IP is the sandbox's.
//! The shim is stateless: every container carries labels naming its node, pod and
//! container, and each call finds — and touches — only its caller's node's, by
//! label (the kubelet names its node on every call; `--node-name` pins the shim to
//! one node, see `capstan_shim_common::node`). It builds its pause image itself if
//! the engine lacks it.
//!
//! # Layout
//! - [`runtime`]: the handle, config, engine connection and pod network; `pause`: the
//!   pause image; `lookup`: finding this node's objects.
//! - `sandbox`, `container`, `logs`, `exec`, `stats`, `images`: the operations, as
//!   plain methods; `service`: the [`ContainerRuntime`](capstan_shim_common::ContainerRuntime)
//!   impl that `capstan_shim_common::RuntimeServer` serves.
//! - `convert`, `names`, `time`: engine answers to interface messages, naming and
//!   labelling, timestamps. [`ShimError`]: the one error, mapped onto gRPC once.

mod container;
mod convert;
mod error;
mod exec;
mod images;
mod logs;
mod lookup;
mod names;
pub mod pause;
pub mod runtime;
mod sandbox;
mod served;
mod service;
mod stats;
mod time;

use std::future::Future;
use std::path::Path;

pub use error::{Op, ShimError};
pub use runtime::{DockerConfig, DockerRuntime};
pub use served::ServedShim;

/// Connects to the engine and serves the shim on the unix socket at `path` until
/// `shutdown`.
pub async fn run(
    config: DockerConfig,
    path: &Path,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ShimError> {
    let runtime = DockerRuntime::connect(config).await?;
    capstan_shim_common::serve_unix(path, runtime, shutdown).await?;
    Ok(())
}
