//! The node half of `capstan up`: the runtime (the Docker or containerd shim
//! in-process on its own unix socket, or the in-memory runtime) and a kubelet
//! pointed at it. The kubelet reports the runtime in the node's
//! `capstan.io/runtime` label and `status.nodeInfo.containerRuntimeVersion`.
//!
//! An unreachable engine is an error that says so and names the way out
//! (`--runtime memory`); `up` never falls back to a runtime the user did not ask
//! for, since pods would then silently run nowhere.

use crate::cli::UpRuntime;
use crate::errors::CliError;
use capstan_containerd_shim::{ContainerdConfig, ContainerdError, NetworkConfig};
use capstan_docker_shim::{DockerConfig, ServedShim, ShimError};
use capstan_kubelet::Kubelet;
use capstan_shim_common::ContainerRuntime;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// The image the examples and tests run; `scripts/images.sh` builds it.
pub const TEST_IMAGE: &str = "capstan/test:1";

/// How the node is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    pub name: String,
    pub runtime: UpRuntime,
    /// where the shim serves (with `--runtime docker` or `containerd`)
    pub shim_socket: PathBuf,
    /// the engine, `$DOCKER_HOST` or the default socket
    pub docker_host: String,
    /// containerd's socket, `$CAPSTAN_CONTAINERD_ADDRESS` or the default
    pub containerd_address: String,
    /// the containerd shim's per-pod files and FIFOs
    pub containerd_state: PathBuf,
    /// a static busybox the shim builds its pause image from
    pub busybox: PathBuf,
    /// where the kubelet's service listens
    pub kubelet_listen: SocketAddr,
    /// the resolvers pods of `dnsPolicy: ClusterFirst` get (`--cluster-dns`;
    /// empty: the node's own, as without cluster DNS)
    pub cluster_dns: Vec<IpAddr>,
    /// `--cluster-domain`
    pub cluster_domain: String,
}

/// A served shim.
enum Shim {
    Docker(ServedShim),
    Containerd(capstan_containerd_shim::ServedShim),
}

/// The running node.
pub struct Node {
    shim: Option<Shim>,
    pub kubelet: Kubelet,
    /// what the user should read about the node, one line each
    pub notes: Vec<String>,
}

impl Node {
    /// Starts the runtime, then the kubelet against the API server at
    /// `server`, as `system:node:NAME` with `credentials`, serving its own
    /// port over TLS with `serving` (`None`: plaintext, on loopback only).
    pub async fn start(
        config: &NodeConfig,
        server: &str,
        credentials: &capstan_client::Credentials,
        serving: Option<capstan_server::TlsFiles>,
    ) -> Result<Node, CliError> {
        let (shim, endpoint) = match config.runtime {
            UpRuntime::Docker | UpRuntime::Containerd => {
                let shim = Shim::start(config).await?;
                let endpoint = shim.endpoint();
                (Some(shim), endpoint)
            }
            UpRuntime::Memory => (None, "memory://".to_string()),
        };
        let mut kubelet = capstan_kubelet::Config::new(server, config.name.clone(), endpoint.clone());
        kubelet.credentials = credentials.clone();
        kubelet.listen = config.kubelet_listen;
        kubelet.tls = serving;
        kubelet.dns.cluster_dns = config.cluster_dns.clone();
        kubelet.dns.cluster_domain = config.cluster_domain.clone();
        let kubelet = match Kubelet::start(kubelet).await {
            Ok(kubelet) => kubelet,
            Err(error) => {
                if let Some(shim) = shim {
                    shim.stop().await;
                }
                return Err(CliError::Kubelet(error));
            }
        };
        let mut notes = match &shim {
            Some(Shim::Docker(_)) => vec![format!("Docker shim serving on {endpoint} (pods are Docker containers)")],
            Some(Shim::Containerd(_)) => {
                vec![format!("containerd shim serving on {endpoint} (pods are containerd tasks, namespace capstan)")]
            }
            None => vec!["In-memory runtime: pods run no real processes".to_string()],
        };
        notes.push(format!("Kubelet of node {} listening on {}", config.name, kubelet.addr()));
        if let Some(shim) = &shim {
            if !shim.has_image(TEST_IMAGE).await {
                notes.push(format!("Image {TEST_IMAGE} is missing on node {}: {}", config.name, shim.image_hint()));
            }
        }
        Ok(Node { shim, kubelet, notes })
    }

    /// Stops the kubelet, then the shim (containers keep running; a later `up`
    /// adopts them).
    pub async fn stop(self) {
        if let Err(error) = self.kubelet.stop().await {
            tracing::warn!(%error, "stopping the kubelet");
        }
        if let Some(shim) = self.shim {
            shim.stop().await;
        }
    }
}

impl Shim {
    /// Connects to the engine (the Docker shim builds its pause image if needed)
    /// and serves the shim.
    async fn start(config: &NodeConfig) -> Result<Shim, CliError> {
        let socket_error = |message: String| CliError::Shim { path: config.shim_socket.display().to_string(), message };
        if config.runtime == UpRuntime::Containerd {
            let containerd = ContainerdConfig {
                address: config.containerd_address.clone(),
                node_name: Some(config.name.clone()),
                state_dir: config.containerd_state.clone(),
                network: NetworkConfig::default(),
                ..ContainerdConfig::default()
            };
            return match capstan_containerd_shim::ServedShim::start(containerd, &config.shim_socket).await {
                Ok(served) => Ok(Shim::Containerd(served)),
                Err(ContainerdError::Serve(e)) => Err(socket_error(e.to_string())),
                Err(source) => {
                    Err(CliError::ContainerdUnreachable { address: config.containerd_address.clone(), source })
                }
            };
        }
        let docker = DockerConfig {
            docker_host: config.docker_host.clone(),
            node_name: Some(config.name.clone()),
            busybox: config.busybox.clone(),
            ..DockerConfig::default()
        };
        match ServedShim::start(docker, &config.shim_socket).await {
            Ok(served) => Ok(Shim::Docker(served)),
            Err(ShimError::Serve(e)) => Err(socket_error(e.to_string())),
            Err(source) => Err(CliError::DockerUnreachable { host: config.docker_host.clone(), source }),
        }
    }

    fn endpoint(&self) -> String {
        match self {
            Shim::Docker(served) => served.endpoint(),
            Shim::Containerd(served) => served.endpoint(),
        }
    }

    /// Whether the engine has `image`.
    async fn has_image(&self, image: &str) -> bool {
        match self {
            Shim::Docker(served) => served.runtime().image_status(image).await.is_ok_and(|i| i.is_some()),
            Shim::Containerd(served) => served.runtime().image_status(image).await.is_ok_and(|i| i.is_some()),
        }
    }

    /// How to provide a missing image on this runtime.
    fn image_hint(&self) -> &'static str {
        match self {
            Shim::Docker(_) => "build it with scripts/images.sh",
            Shim::Containerd(_) => {
                "build it with scripts/images.sh --save DIR, then `capstan image load DIR/capstan-images.tar --node NODE`"
            }
        }
    }

    async fn stop(self) {
        match self {
            Shim::Docker(served) => served.stop().await,
            Shim::Containerd(served) => served.stop().await,
        }
    }
}

/// The socket of node `node`'s shim for `runtime` in a data directory (the first
/// node's keeps the plain name).
pub fn shim_socket(data_dir: &Path, runtime: UpRuntime, node: Option<&str>) -> PathBuf {
    let kind = match runtime {
        UpRuntime::Containerd => "containerd",
        UpRuntime::Docker | UpRuntime::Memory => "docker",
    };
    match node {
        None => data_dir.join(format!("{kind}-shim.sock")),
        Some(node) => data_dir.join(format!("{kind}-shim-{node}.sock")),
    }
}
