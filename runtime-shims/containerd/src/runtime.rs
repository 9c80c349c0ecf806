//! The containerd shim's handle: a connection to containerd in the shim's
//! namespace, the node it serves, its pod network and where it keeps per-pod files.
//!
//! containerd is the state: every sandbox and container is a containerd container
//! labelled with its node, pod and container (and the sandbox's state and IP), so a
//! restarted shim finds everything again. The only things the shim holds in memory
//! are caches of immutable image metadata and the log copiers of running tasks,
//! which [`ContainerdRuntime::connect`] re-attaches (adoption).

use capstan_shim_common::RuntimeError;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use capstan_metrics::Registry;
use capstan_shim_common::{EngineCalls, ShimNode};

use crate::client::Client;
use crate::images::transport::RegistryConfig;
use crate::images::ImageCache;
use crate::logs::Copiers;
use crate::network::NetworkConfig;
use crate::{ContainerdError, Context};

/// How a containerd shim is set up.
#[derive(Clone, Debug)]
pub struct ContainerdConfig {
    /// containerd's socket.
    pub address: String,
    /// The containerd namespace everything lives in.
    pub namespace: String,
    /// `--node-name`: the only node this shim serves (a caller naming another is
    /// refused). `None`: whichever node each caller names, the machine's hostname
    /// for callers that name none. A handle touches only its node's containers.
    pub node_name: Option<String>,
    /// The snapshotter images are unpacked into and containers run from.
    pub snapshotter: String,
    /// Where the shim keeps per-pod files (hostname, hosts, resolv.conf) and FIFOs.
    pub state_dir: PathBuf,
    /// Where a container's log goes when the kubelet names no log path.
    pub log_dir: PathBuf,
    /// The pod network.
    pub network: NetworkConfig,
    /// How registries are reached (plain HTTP where allowed, extra CAs).
    pub registries: RegistryConfig,
}

impl Default for ContainerdConfig {
    fn default() -> Self {
        ContainerdConfig {
            address: "/run/containerd/containerd.sock".to_string(),
            namespace: "capstan".to_string(),
            node_name: Some("containerd-node".to_string()),
            snapshotter: "overlayfs".to_string(),
            state_dir: PathBuf::from("/run/capstan/containerd-shim"),
            log_dir: PathBuf::from("/var/log/capstan/containerd"),
            network: NetworkConfig::default(),
            registries: RegistryConfig::default(),
        }
    }
}

/// A cheaply cloneable handle on the shim.
#[derive(Clone)]
pub struct ContainerdRuntime {
    pub(crate) inner: Arc<Inner>,
    /// The node this handle answers for (see `ContainerRuntime::for_node`).
    pub(crate) node: Arc<str>,
}

pub(crate) struct Inner {
    pub client: Client,
    /// the shim's metrics (its containerd calls), served on its socket's `GET /metrics`
    pub registry: Registry,
    pub config: ContainerdConfig,
    pub node: ShimNode,
    pub version: String,
    pub images: ImageCache,
    pub copiers: Copiers,
    /// Built on first use (reading the system's roots costs); `connect` builds it
    /// at once, so that a bad `--registry-ca` stops the shim from starting.
    pub registry_tls: tokio::sync::OnceCell<Arc<rustls::ClientConfig>>,
}

impl ContainerdRuntime {
    /// Connects to containerd, checks the pod network's plugins and re-attaches the
    /// log copiers of this node's tasks.
    pub async fn connect(config: ContainerdConfig) -> Result<ContainerdRuntime, ContainerdError> {
        config.network.validate()?;
        let runtime = ContainerdRuntime::connect_for_images(config).await?;
        runtime.registry_tls().await?;
        runtime.adopt().await?;
        Ok(runtime)
    }

    /// Connects to containerd for image work only: no pod network, no adoption.
    pub async fn connect_for_images(config: ContainerdConfig) -> Result<ContainerdRuntime, ContainerdError> {
        let registry = Registry::new();
        let calls = EngineCalls::register(&registry, "containerd", &config.address)?;
        let client = Client::connect(&config.address, &config.namespace, calls).await?;
        let version = client
            .version()
            .version(())
            .await
            .during(|| format!("asking containerd at {} for its version", config.address))?
            .into_inner()
            .version;
        for dir in [&config.state_dir, &config.log_dir] {
            std::fs::create_dir_all(dir).map_err(crate::error::io("creating", dir))?;
        }
        let node = ShimNode::from_flag(config.node_name.clone())?;
        tracing::info!(containerd = %version, namespace = %config.namespace, node = ?node, "connected to containerd");
        Ok(ContainerdRuntime {
            node: Arc::from(node.name()),
            inner: Arc::new(Inner {
                client,
                registry,
                config,
                node,
                version,
                images: ImageCache::default(),
                copiers: Copiers::default(),
                registry_tls: tokio::sync::OnceCell::new(),
            }),
        })
    }

    /// The node this handle serves.
    pub fn node_name(&self) -> &str {
        &self.node
    }

    /// The containerd namespace.
    pub fn namespace(&self) -> &str {
        &self.inner.config.namespace
    }

    pub(crate) fn client(&self) -> &Client {
        &self.inner.client
    }

    pub(crate) fn config(&self) -> &ContainerdConfig {
        &self.inner.config
    }

    /// The TLS configuration registries are verified with.
    pub(crate) async fn registry_tls(&self) -> Result<Arc<rustls::ClientConfig>, ContainerdError> {
        let registries = &self.inner.config.registries;
        self.inner.registry_tls.get_or_try_init(|| async { registries.tls() }).await.cloned()
    }

    /// The directory of a sandbox's files.
    pub(crate) fn sandbox_dir(&self, id: &str) -> PathBuf {
        self.inner.config.state_dir.join("sandboxes").join(id)
    }

    /// The directory of a container's FIFOs.
    pub(crate) fn container_dir(&self, id: &str) -> PathBuf {
        self.inner.config.state_dir.join("containers").join(id)
    }

    /// The directory of an exec's FIFOs.
    pub(crate) fn exec_dir(&self, exec_id: &str) -> PathBuf {
        self.inner.config.state_dir.join("exec").join(exec_id)
    }

    /// The log file a container without a kubelet log path writes to.
    pub(crate) fn default_log(&self, id: &str) -> PathBuf {
        self.inner.config.log_dir.join(format!("{id}.log"))
    }

    pub(crate) fn sandbox_not_found(&self, id: &str) -> ContainerdError {
        ContainerdError::Runtime(RuntimeError::SandboxNotFound {
            id: id.to_string(),
            node: self.node_name().to_string(),
        })
    }

    pub(crate) fn container_not_found(&self, id: &str) -> ContainerdError {
        ContainerdError::Runtime(RuntimeError::ContainerNotFound {
            id: id.to_string(),
            node: self.node_name().to_string(),
        })
    }
}

/// Removes `dir` and everything in it; one that is gone already is fine.
pub(crate) fn remove_dir(dir: &Path) -> Result<(), ContainerdError> {
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(crate::error::io("removing", dir)(error)),
        _ => Ok(()),
    }
}
