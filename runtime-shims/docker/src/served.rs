//! The Docker shim served in-process on a unix socket: what `capstan up`,
//! the benchmarks and every Docker-backed test start, so none of them wires
//! the engine, the socket and the server task by hand.

use std::path::{Path, PathBuf};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{DockerConfig, DockerRuntime, ShimError};

/// A running shim: its engine connection, its socket and the serving task.
pub struct ServedShim {
    runtime: DockerRuntime,
    socket: PathBuf,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl ServedShim {
    /// Connects to the engine (building the pause image if it lacks it),
    /// binds `socket` (replacing a stale one) and serves until [`stop`].
    ///
    /// [`stop`]: ServedShim::stop
    pub async fn start(config: DockerConfig, socket: &Path) -> Result<ServedShim, ShimError> {
        let runtime = DockerRuntime::connect(config).await?;
        let server = capstan_shim_common::UnixServer::bind(socket).await?;
        let stop = CancellationToken::new();
        let (served, token, path) = (runtime.clone(), stop.clone(), socket.to_path_buf());
        let task = tokio::spawn(async move {
            if let Err(error) = server.serve(served.clone(), served, token.cancelled_owned()).await {
                tracing::error!(%error, path = %path.display(), "the Docker shim stopped");
            }
        });
        Ok(ServedShim { runtime, socket: socket.to_path_buf(), stop, task })
    }

    /// `unix:///…`, for `capstan_cri::connect` and the kubelet's `--runtime-endpoint`.
    pub fn endpoint(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The engine connection, for callers that ask the runtime directly.
    pub fn runtime(&self) -> &DockerRuntime {
        &self.runtime
    }

    /// Stops serving and waits for open connections to drain (drop every
    /// client first).
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}
