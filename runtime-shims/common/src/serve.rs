//! Serving a runtime on a unix socket: how every shim (and a test or `capstan up`
//! starting one in-process, [`ServedRuntime`]) exposes its two gRPC services to the
//! kubelet.
//!
//! Binding is separate from serving so that a caller can bind, learn about a failure
//! (the directory cannot be created, another shim is live on the socket) before it
//! spawns anything, and connect a client the moment `bind` returns.

use std::future::Future;
use std::path::{Path, PathBuf};

use capstan_server::{LongRunning, RequestMetrics, Server, ServerConfig};
use tokio::net::{UnixListener, UnixStream};
use tokio_stream::wrappers::UnixListenerStream;

use crate::{ContainerRuntime, PathIoError, RuntimeServer, ShimCommonError};

/// The runtime calls exempt from the server's request timeout and
/// concurrency limit: each is bounded by its own arguments (a pull by the
/// image's size, a stop by its grace period, an exec by its timeout) and the
/// kubelet sets its own deadline, as it does with a CRI runtime.
pub const LONG_RUNNING: [&str; 5] = [
    "/capstan.runtime.v1.ImageService/PullImage",
    "/capstan.runtime.v1.RuntimeService/StopContainer",
    "/capstan.runtime.v1.RuntimeService/StopPodSandbox",
    "/capstan.runtime.v1.RuntimeService/RemovePodSandbox",
    "/capstan.runtime.v1.RuntimeService/ExecSync",
];

/// `runtime`'s two services on the one server stack (with `grpc.health.v1`
/// and `GET /metrics`, rendering the runtime's own registry when it has one):
/// what every shim serves, whatever it listens on. Fails when the runtime's
/// registry already holds request metrics (one runtime served twice).
pub fn runtime_server<R: ContainerRuntime>(runtime: R) -> Result<Server, ShimCommonError> {
    let config = ServerConfig {
        long_running: LongRunning::new(LONG_RUNNING),
        component: Some(R::COMPONENT),
        ..ServerConfig::default()
    };
    let server = match runtime.registry() {
        Some(registry) => {
            let metrics = RequestMetrics::register(&registry)?;
            Server::with_request_metrics(config, registry, metrics)
        }
        None => Server::with_new_registry(config),
    };
    let (runtime_service, image_service) = RuntimeServer::new(runtime).services();
    Ok(server.add_service(runtime_service).add_service(image_service))
}

/// A bound, not yet serving, unix socket.
#[derive(Debug)]
pub struct UnixServer {
    path: PathBuf,
    listener: UnixListener,
}

impl UnixServer {
    /// Creates the socket's parent directory, removes a stale socket file (one that
    /// nothing answers on) and binds. Refuses a socket another server is live on.
    ///
    /// Whoever reaches a runtime's socket can run any container as root, so, as
    /// Kubernetes' runtimes do, the socket is `0660` and the directories created
    /// for it `0700`. A directory that already exists keeps its mode: `--listen
    /// unix:///tmp/shim.sock` must not close `/tmp` to everyone else.
    pub async fn bind(path: impl AsRef<Path>) -> Result<UnixServer, ShimCommonError> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let path = path.as_ref().to_path_buf();
        let io = |what, source| ShimCommonError::from(PathIoError { what, path: path.display().to_string(), source });
        if let Some(parent) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|e| io("creating the directory of", e))?;
        }
        if path.exists() {
            if UnixStream::connect(&path).await.is_ok() {
                return Err(ShimCommonError::SocketInUse { path: path.display().to_string() });
            }
            tracing::info!(path = %path.display(), "removing a stale runtime socket");
            std::fs::remove_file(&path).map_err(|e| io("removing the stale socket", e))?;
        }
        let listener = UnixListener::bind(&path).map_err(|e| io("binding", e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660))
            .map_err(|e| io("restricting the socket", e))?;
        Ok(UnixServer { path, listener })
    }

    /// Where the socket is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves both services of `runtime`, health and `GET /metrics` (`curl
    /// --unix-socket PATH http://shim/metrics`) until `shutdown` completes, then drains
    /// in-flight calls and removes the socket file.
    pub async fn serve<R, F>(self, runtime: R, shutdown: F) -> Result<(), ShimCommonError>
    where
        R: ContainerRuntime,
        F: Future<Output = ()> + Send,
    {
        let UnixServer { path, listener } = self;
        tracing::info!(path = %path.display(), "serving the runtime");
        let result = runtime_server(runtime)?.serve_incoming(UnixListenerStream::new(listener), shutdown).await;
        if let Err(error) = std::fs::remove_file(&path) {
            tracing::warn!(path = %path.display(), %error, "could not remove the runtime socket");
        }
        result.map_err(|source| ShimCommonError::Serve { path: path.display().to_string(), source })
    }
}

/// Binds `path` (see [`UnixServer::bind`]) and serves the runtime until `shutdown`.
pub async fn serve_unix<R, F>(path: impl AsRef<Path>, runtime: R, shutdown: F) -> Result<(), ShimCommonError>
where
    R: ContainerRuntime,
    F: Future<Output = ()> + Send,
{
    UnixServer::bind(path).await?.serve(runtime, shutdown).await
}

/// A runtime served in-process on a unix socket until [`stop`](ServedRuntime::stop):
/// what `capstan up`, the benchmarks and the shims' tests start, so none of them
/// wires the socket and the server task by hand.
pub struct ServedRuntime<R> {
    runtime: R,
    socket: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl<R: ContainerRuntime + Clone> ServedRuntime<R> {
    /// Binds `socket` (replacing a stale one) and serves `runtime` on it.
    pub async fn start(runtime: R, socket: &Path) -> Result<ServedRuntime<R>, ShimCommonError> {
        let server = UnixServer::bind(socket).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (served, path) = (runtime.clone(), socket.to_path_buf());
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = server.serve(served, shutdown).await {
                tracing::error!(%error, path = %path.display(), "the runtime server stopped");
            }
        });
        Ok(ServedRuntime { runtime, socket: socket.to_path_buf(), stop: Some(stop), task })
    }

    /// `unix:///…`, for `capstan_cri::connect` and the kubelet's `--runtime-endpoint`.
    pub fn endpoint(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The runtime, for callers that ask it directly.
    pub fn runtime(&self) -> &R {
        &self.runtime
    }

    /// Stops serving and waits for open connections to drain (drop every client
    /// first).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bind_creates_the_directory_and_replaces_a_stale_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("run/capstan/shim.sock");
        let first = UnixServer::bind(&path).await.expect("first bind");
        drop(first); // the file stays behind, as after a crash
        assert!(path.exists());
        let second = UnixServer::bind(&path).await.expect("a stale socket is replaced");
        assert_eq!(second.path(), path);
    }

    #[tokio::test]
    async fn the_socket_is_for_its_owner_and_group_only_and_new_directories_for_the_owner() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        let dir = tempfile::tempdir().expect("tempdir");
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).expect("an existing directory");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let path = shared.join("capstan/shim.sock");
        let _server = UnixServer::bind(&path).await.expect("bind");
        assert_eq!(mode(&path), 0o660, "the socket");
        assert_eq!(mode(&shared.join("capstan")), 0o700, "a directory created for the socket");
        assert_eq!(mode(&shared), 0o755, "a directory that was there keeps its mode");
    }

    #[tokio::test]
    async fn bind_refuses_a_live_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("shim.sock");
        let _live = UnixServer::bind(&path).await.expect("first bind");
        let error = UnixServer::bind(&path).await.expect_err("in use");
        assert!(matches!(error, ShimCommonError::SocketInUse { .. }), "{error}");
    }
}
