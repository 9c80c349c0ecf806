//! The node under test, all in this process: an API server on an embedded store
//! in a temp dir, the Docker shim on a temp unix socket (behind the timing layer
//! of [`crate::calls`]) for its own node, and a kubelet for that node with the
//! default timings.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use capstan_apiserver::{ApiServer, Config as ApiConfig, StoreConfig};
use capstan_client::Client;
use capstan_docker_shim::{DockerConfig, DockerRuntime};
use capstan_kubelet::Kubelet;
use tokio::net::UnixListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::calls::{CallLog, TimingLayer};
use crate::BenchError;

/// The running control plane and node.
pub struct Cluster {
    pub node: String,
    pub client: Client,
    /// the shim's engine handle (the bollard baselines share its connection)
    pub engine: DockerRuntime,
    pub calls: CallLog,
    server: ApiServer,
    kubelet: Kubelet,
    shim_stop: CancellationToken,
    shim_task: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the API server, the shim (sandboxes on `network`) and the kubelet
    /// for `node`.
    pub async fn start(node: &str, network: &str) -> Result<Cluster, BenchError> {
        let dir =
            tempfile::tempdir().map_err(|source| BenchError::Io { what: "creating a temp dir".into(), source })?;
        let config = ApiConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            storage: StoreConfig::embedded(dir.path().join("store")),
            ..Default::default()
        };
        let server = ApiServer::start(config).await.map_err(|e| BenchError::ApiServer(e.to_string()))?;
        let client = Client::connect(&server.url()).map_err(BenchError::api("connect"))?;

        let docker =
            DockerConfig { node_name: Some(node.to_string()), network: network.to_string(), ..DockerConfig::default() };
        let engine = DockerRuntime::connect(docker).await.map_err(|e| BenchError::Shim(e.to_string()))?;
        let socket = dir.path().join("docker-shim.sock");
        let calls = CallLog::default();
        let shim_stop = CancellationToken::new();
        let shim_task = serve_shim(&socket, engine.clone(), calls.clone(), shim_stop.clone())?;

        let mut config = capstan_kubelet::Config::new(server.url(), node, format!("unix://{}", socket.display()));
        config.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        config.node_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let kubelet = match Kubelet::start(config).await {
            Ok(kubelet) => kubelet,
            Err(error) => {
                shim_stop.cancel();
                let _ = shim_task.await;
                return Err(BenchError::Kubelet(error.to_string()));
            }
        };
        Ok(Cluster { node: node.to_string(), client, engine, calls, server, kubelet, shim_stop, shim_task, _dir: dir })
    }

    /// Stops the kubelet, the shim and the API server (containers are not
    /// touched: delete the pods first).
    pub async fn stop(self) {
        if let Err(error) = self.kubelet.stop().await {
            tracing::warn!(%error, "stopping the kubelet");
        }
        self.shim_stop.cancel();
        let _ = self.shim_task.await;
        if let Err(error) = self.server.stop().await {
            tracing::warn!(%error, "stopping the API server");
        }
    }
}

/// Binds `socket` and serves the shim on the one server stack, its two
/// services behind the timing layer.
fn serve_shim(
    socket: &std::path::Path,
    engine: DockerRuntime,
    calls: CallLog,
    stop: CancellationToken,
) -> Result<JoinHandle<()>, BenchError> {
    let listener = UnixListener::bind(socket)
        .map_err(|source| BenchError::Io { what: format!("binding {}", socket.display()), source })?;
    let server = capstan_shim_common::serve::runtime_server(engine)
        .map_err(|error| BenchError::Shim(error.to_string()))?
        .layer_services(TimingLayer(calls));
    let path: PathBuf = socket.to_path_buf();
    Ok(tokio::spawn(async move {
        if let Err(error) = server.serve(listener, stop.cancelled_owned()).await {
            tracing::error!(%error, path = %path.display(), "the Docker shim stopped");
        }
    }))
}
