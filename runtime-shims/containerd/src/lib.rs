//! Capstan's containerd runtime shim: the runtime interface over containerd's own
//! API (containerd-client), in the containerd namespace `capstan`.
//!
//! A pod sandbox is a named network namespace set up by the standard CNI plugins
//! (bridge with host-local IPAM, loopback, portmap for hostPorts) from a
//! configuration the shim builds itself, plus a task-less containerd container
//! carrying the pod's labels, state, IP and hostPorts. App containers are containerd containers on a snapshot of their unpacked
//! image; their runc tasks join the pod's network namespace and mount its hostname,
//! hosts and resolv.conf. Image references are normalised as Docker does. The shim
//! is stateless: everything it created carries labels naming its node, pod and
//! container, and a restarted shim finds (adopts) it by them. Each call serves the
//! node its caller names (`--node-name` pins the shim to one node, see
//! `capstan_shim_common::node`); adoption covers that node, or every node in the
//! namespace when the shim is not pinned.
//!
//! # Layout
//! - [`runtime`]: the handle and its config; `client`: containerd's clients in the
//!   namespace; `lookup`: finding this node's records and the labels on them.
//! - `sandbox` and [`network`] (netns + CNI); `container`, [`spec`] (the OCI spec) and
//!   `status` (a container's state, exit and status from its record and task);
//!   [`logs`] (FIFOs into CRI-format log files and back); `exec`; `stats` (and
//!   whether the OOM killer struck, for the `OOMKilled` reason).
//! - [`images`]: status, list, remove, unpack, archive import, pull (over TLS or,
//!   for the loopback and `--insecure-registry` hosts, plain HTTP; with the
//!   pull's credentials).
//! - [`reference`]: Docker's reference normalisation.
//! - `service`: the [`ContainerRuntime`](capstan_shim_common::ContainerRuntime) impl
//!   that `capstan_shim_common::RuntimeServer` serves; [`ServedShim`]: served in-process.
//! - [`ContainerdError`]: the one error, mapped onto gRPC once.

mod client;
mod container;
mod error;
mod exec;
pub mod images;
pub mod logs;
mod lookup;
pub mod network;
pub mod reference;
pub mod runtime;
mod sandbox;
mod served;
mod service;
pub mod spec;
mod stats;
mod status;

use std::future::Future;
use std::path::Path;

pub use error::ContainerdError;
pub(crate) use error::Context;
pub use images::transport::RegistryConfig;
pub use network::NetworkConfig;
pub use runtime::{ContainerdConfig, ContainerdRuntime};
pub use served::ServedShim;

/// Connects to containerd and serves the shim on the unix socket at `path` until
/// `shutdown`.
pub async fn run(
    config: ContainerdConfig,
    path: &Path,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ContainerdError> {
    let runtime = ContainerdRuntime::connect(config).await?;
    capstan_shim_common::serve_unix(path, runtime, shutdown).await?;
    Ok(())
}

/// Imports the image archive at `archive` (a `docker save` tarball or an OCI
/// layout) into containerd at `address`, namespace `namespace`, and unpacks it;
/// returns the images' names. What `capstan image load` and the tests use.
pub async fn import_archive(address: &str, namespace: &str, archive: &Path) -> Result<Vec<String>, ContainerdError> {
    let config = ContainerdConfig {
        address: address.to_string(),
        namespace: namespace.to_string(),
        node_name: Some("image-import".to_string()),
        ..ContainerdConfig::default()
    };
    ContainerdRuntime::connect_for_images(config).await?.import_archive(archive).await
}
