//! The node half of `capstan up`: the runtime (the Docker shim in-process on its
//! own unix socket, or the in-memory runtime) and a kubelet pointed at it.
//!
//! Docker being unreachable is an error that says so and names the way out
//! (`--runtime memory`); `up` never falls back to a runtime the user did not ask
//! for, since pods would then silently run nowhere.

use crate::cli::UpRuntime;
use crate::errors::CliError;
use capstan_docker_shim::{DockerConfig, ServedShim, ShimError};
use capstan_kubelet::Kubelet;
use capstan_proto::runtime::v1::image_service_server::ImageService;
use capstan_proto::runtime::v1::{ImageSpec, ImageStatusRequest};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The image the examples and tests run; `scripts/images.sh` builds it.
pub const TEST_IMAGE: &str = "capstan/test:1";

/// How the node is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    pub name: String,
    pub runtime: UpRuntime,
    /// where the Docker shim serves (with `--runtime docker`)
    pub shim_socket: PathBuf,
    /// the engine, `$DOCKER_HOST` or the default socket
    pub docker_host: String,
    /// a static busybox the shim builds its pause image from
    pub busybox: PathBuf,
    /// where the kubelet's service listens
    pub kubelet_listen: SocketAddr,
}

/// A served Docker shim.
struct Shim {
    served: ServedShim,
}

/// The running node.
pub struct Node {
    shim: Option<Shim>,
    pub kubelet: Kubelet,
    /// what the user should read about the node, one line each
    pub notes: Vec<String>,
}

impl Node {
    /// Starts the runtime, then the kubelet against the API server at `server`.
    pub async fn start(config: &NodeConfig, server: &str) -> Result<Node, CliError> {
        let (shim, endpoint) = match config.runtime {
            UpRuntime::Docker => {
                let shim = Shim::start(config).await?;
                let endpoint = shim.served.endpoint();
                (Some(shim), endpoint)
            }
            UpRuntime::Memory => (None, "memory://".to_string()),
        };
        let mut kubelet = capstan_kubelet::Config::new(server, config.name.clone(), endpoint.clone());
        kubelet.listen = config.kubelet_listen;
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
            Some(_) => vec![format!("Docker shim serving on {endpoint} (pods are Docker containers)")],
            None => vec!["In-memory runtime: pods run no real processes".to_string()],
        };
        notes.push(format!("Kubelet of node {} listening on {}", config.name, kubelet.addr()));
        if let Some(shim) = &shim {
            if !shim.has_image(TEST_IMAGE).await {
                notes.push(format!("Image {TEST_IMAGE} is missing: build it with scripts/images.sh"));
            }
        }
        notes.push(format!(
            "No scheduler yet: a pod runs when its manifest sets spec.nodeName: {} (e.g. `capstan apply -f pod.yaml`)",
            config.name
        ));
        Ok(Node { shim, kubelet, notes })
    }

    /// Stops the kubelet, then the shim (containers keep running; a later `up`
    /// adopts them).
    pub async fn stop(self) {
        self.kubelet.stop().await;
        if let Some(shim) = self.shim {
            shim.stop().await;
        }
    }
}

impl Shim {
    /// Connects to Docker (building the pause image if needed) and serves the shim.
    async fn start(config: &NodeConfig) -> Result<Shim, CliError> {
        let docker = DockerConfig {
            docker_host: config.docker_host.clone(),
            node_name: config.name.clone(),
            busybox: config.busybox.clone(),
            ..DockerConfig::default()
        };
        match ServedShim::start(docker, &config.shim_socket).await {
            Ok(served) => Ok(Shim { served }),
            Err(ShimError::Serve(e)) => {
                Err(CliError::Shim { path: config.shim_socket.display().to_string(), message: e.to_string() })
            }
            Err(source) => Err(CliError::DockerUnreachable { host: config.docker_host.clone(), source }),
        }
    }

    /// Whether the engine has `image`.
    async fn has_image(&self, image: &str) -> bool {
        let request = ImageStatusRequest { image: Some(ImageSpec { image: image.to_string() }) };
        let reply = ImageService::image_status(self.served.runtime(), tonic::Request::new(request)).await;
        reply.is_ok_and(|r| r.into_inner().image.is_some())
    }

    async fn stop(self) {
        self.served.stop().await;
    }
}

/// The Docker shim's socket for a data directory.
pub fn shim_socket(data_dir: &Path) -> PathBuf {
    data_dir.join("docker-shim.sock")
}
