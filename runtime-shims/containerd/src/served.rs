//! The containerd shim served in-process on a unix socket, for `capstan up`, the
//! benchmark and the tests.

use std::path::Path;

use capstan_shim_common::ServedRuntime;

use crate::{ContainerdConfig, ContainerdError, ContainerdRuntime};

/// A running shim: its containerd connection, its socket and the serving task.
pub struct ServedShim(ServedRuntime<ContainerdRuntime>);

impl ServedShim {
    /// Connects to containerd (adopting this node's running tasks), binds `socket`
    /// (replacing a stale one) and serves until [`stop`](ServedShim::stop).
    pub async fn start(config: ContainerdConfig, socket: &Path) -> Result<ServedShim, ContainerdError> {
        let runtime = ContainerdRuntime::connect(config).await?;
        Ok(ServedShim(ServedRuntime::start(runtime, socket).await?))
    }

    /// `unix:///…`, for `capstan_cri::connect` and the kubelet's `--runtime-endpoint`.
    pub fn endpoint(&self) -> String {
        self.0.endpoint()
    }

    pub fn socket(&self) -> &Path {
        self.0.socket()
    }

    /// The runtime, for callers that ask it directly (importing images).
    pub fn runtime(&self) -> &ContainerdRuntime {
        self.0.runtime()
    }

    /// Stops serving and waits for open connections to drain (drop every client first).
    pub async fn stop(self) {
        self.0.stop().await
    }
}
