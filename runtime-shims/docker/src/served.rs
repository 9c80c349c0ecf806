//! The Docker shim served in-process on a unix socket: what `capstan up`,
//! the benchmarks and every Docker-backed test start, so none of them wires
//! the engine, the socket and the server task by hand.

use std::path::Path;

use capstan_shim_common::ServedRuntime;

use crate::{DockerConfig, DockerRuntime, ShimError};

/// A running shim: its engine connection, its socket and the serving task.
pub struct ServedShim(ServedRuntime<DockerRuntime>);

impl ServedShim {
    /// Connects to the engine (building the pause image if it lacks it),
    /// binds `socket` (replacing a stale one) and serves until [`stop`].
    ///
    /// [`stop`]: ServedShim::stop
    pub async fn start(config: DockerConfig, socket: &Path) -> Result<ServedShim, ShimError> {
        let runtime = DockerRuntime::connect(config).await?;
        Ok(ServedShim(ServedRuntime::start(runtime, socket).await?))
    }

    /// `unix:///…`, for `capstan_cri::connect` and the kubelet's `--runtime-endpoint`.
    pub fn endpoint(&self) -> String {
        self.0.endpoint()
    }

    pub fn socket(&self) -> &Path {
        self.0.socket()
    }

    /// The engine connection, for callers that ask the runtime directly.
    pub fn runtime(&self) -> &DockerRuntime {
        self.0.runtime()
    }

    /// Stops serving and waits for open connections to drain (drop every
    /// client first).
    pub async fn stop(self) {
        self.0.stop().await
    }
}
