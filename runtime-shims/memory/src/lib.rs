//! Capstan's in-memory container runtime: the runtime interface with no processes,
//! for the kubelet's tests and for hollow nodes at scale (`--runtime-endpoint
//! memory://`).
//!
//! Sandboxes get an IP from the node's pod subnet; containers are state machines
//! (created → running → exited) whose behaviour is read from their command line —
//! `sh -c 'exit 3'` exits 3 right after start, `sleep 5` runs five seconds, a
//! `trap '' TERM` makes stop wait out its timeout and kill (137) — see [`script`].
//! Everything is measured on tokio's clock, so tests can pause and advance time.
//! Like the real shims, each call sees only its caller's node's sandboxes and
//! containers (`--node-name` pins the runtime to one node).
//! Tests script the rest through hooks on [`MemoryRuntime`] (`set_exit`, `oom_kill`,
//! `write_log`, `preload_image`).
//!
//! # Layout
//! - [`runtime`]: the handle, its config and the test hooks; [`state`]: the records.
//! - `sandbox`, `container`, `logs`, `process` (exec, stats), [`images`]: the
//!   operations, as plain methods; `service`: the
//!   [`ContainerRuntime`](capstan_shim_common::ContainerRuntime) impl that
//!   `capstan_shim_common::RuntimeServer` serves.
//! - [`script`], [`shell`], [`exec`]: reading command lines, answering exec.
//! - [`ipam`]: pod IPs; [`clock`]: wall-clock times on tokio's clock.

pub mod clock;
mod container;
mod error;
pub mod exec;
pub mod images;
pub mod ipam;
mod logs;
mod process;
pub mod runtime;
mod sandbox;
pub mod script;
mod service;
pub mod shell;
mod state;

use std::future::Future;
use std::path::Path;

pub use error::MemoryError;
pub use runtime::{MemoryConfig, MemoryRuntime};

/// Serves a new in-memory runtime on the unix socket at `path` until `shutdown`.
pub async fn run(
    config: MemoryConfig,
    path: &Path,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), MemoryError> {
    let runtime = MemoryRuntime::new(config)?;
    capstan_shim_common::serve_unix(path, runtime, shutdown).await?;
    Ok(())
}
