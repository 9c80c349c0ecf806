//! The Docker shim's handle: a negotiated engine connection, the node it serves and
//! the pod network it attaches sandboxes to.
//!
//! The shim keeps no state of its own — Docker is the state. Everything it created is
//! found again by labels, so a restarted shim adopts what is running.

use capstan_shim_common::RuntimeError;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bollard::errors::Error as DockerError;
use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::ListNetworksOptionsBuilder;
use bollard::Docker;

use capstan_metrics::Registry;
use capstan_shim_common::{CallResult, CallTarget, EngineCalls, ShimNode};
use std::future::Future;

use crate::error::{Context, Op};
use crate::ShimError;

/// How a Docker shim is set up.
#[derive(Clone, Debug)]
pub struct DockerConfig {
    /// The engine's endpoint, e.g. `unix:///var/run/docker.sock`.
    pub docker_host: String,
    /// The network pod sandboxes join (a bridge network created if missing);
    /// the default is the shim's own `capstan` network, as the node issue asks.
    /// Docker's default `bridge` keeps the same pod contract (pod IPs reachable
    /// from the host and from each other) and starts pods faster: on a
    /// user-defined network Docker sets up its embedded DNS resolver in every
    /// new sandbox (a re-exec of dockerd running iptables in the namespace),
    /// 60-90 ms per pod start on a 2-core machine.
    pub network: String,
    /// `--node-name`: the only node this shim serves (a caller naming another is
    /// refused). `None`: whichever node each caller names, the machine's hostname
    /// for callers that name none. A handle touches only its node's containers.
    pub node_name: Option<String>,
    /// The image of sandbox (pause) containers; built from `busybox` if missing.
    pub pause_image: String,
    /// A static busybox to build the pause image from.
    pub busybox: PathBuf,
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            docker_host: "unix:///var/run/docker.sock".to_string(),
            network: "capstan".to_string(),
            node_name: Some("docker-node".to_string()),
            pause_image: "capstan/pause:1".to_string(),
            busybox: PathBuf::from("/bin/busybox"),
        }
    }
}

/// A cheaply cloneable handle on the shim; serves both gRPC services.
#[derive(Clone)]
pub struct DockerRuntime {
    pub(crate) inner: Arc<Inner>,
    /// The node this handle answers for (see `ContainerRuntime::for_node`).
    pub(crate) node: Arc<str>,
}

pub(crate) struct Inner {
    pub docker: Docker,
    /// every Engine API call made for a runtime call: its span and latency
    pub calls: EngineCalls,
    /// the shim's metrics, served on its socket's `GET /metrics`
    pub registry: Registry,
    pub config: DockerConfig,
    pub node: ShimNode,
    pub network_id: String,
    pub engine_version: String,
}

impl DockerRuntime {
    /// Connects to the engine (negotiating its API version), makes sure the pod
    /// network and the pause image exist.
    pub async fn connect(config: DockerConfig) -> Result<DockerRuntime, ShimError> {
        let docker = Docker::connect_with_host(&config.docker_host).during(Op::Connect, &config.docker_host)?;
        let docker = docker.negotiate_version().await.during(Op::Connect, &config.docker_host)?;
        let version = docker.version().await.during(Op::Connect, &config.docker_host)?;
        let network_id = ensure_network(&docker, &config.network).await?;
        crate::pause::ensure_pause_image(&docker, &config.pause_image, &config.busybox).await?;
        let engine_version = version.version.unwrap_or_default();
        let node = ShimNode::from_flag(config.node_name.clone())?;
        tracing::info!(engine = %engine_version, api = ?docker.client_version(), network = %config.network, node = ?node, "connected to Docker");
        let handle_node = Arc::from(node.name());
        let registry = Registry::new();
        let calls = EngineCalls::register(&registry, "docker", &config.docker_host)?;
        Ok(DockerRuntime {
            inner: Arc::new(Inner { docker, calls, registry, config, node, network_id, engine_version }),
            node: handle_node,
        })
    }

    /// The engine client (tests use it to prepare images).
    pub fn docker(&self) -> &Docker {
        &self.inner.docker
    }

    /// One Engine API call, `method` being Docker's name of the operation
    /// (`ContainerCreate`, …): in a `docker.<method>` client span under the
    /// runtime call that makes it, and timed.
    pub(crate) async fn engine<T>(
        &self,
        method: &'static str,
        target: CallTarget<'_>,
        call: impl Future<Output = Result<T, DockerError>>,
    ) -> Result<T, DockerError> {
        self.inner.calls.call(method, target, engine_result, call).await
    }

    /// As [`DockerRuntime::engine`], in a span made by `self.calls().span(…)`.
    pub(crate) async fn engine_in<T>(
        &self,
        span: tracing::Span,
        method: &'static str,
        call: impl Future<Output = Result<T, DockerError>>,
    ) -> Result<T, DockerError> {
        self.inner.calls.call_in(span, method, engine_result, call).await
    }

    pub(crate) fn calls(&self) -> &EngineCalls {
        &self.inner.calls
    }

    /// The node this handle serves.
    pub fn node_name(&self) -> &str {
        &self.node
    }

    pub(crate) fn not_found_sandbox(&self, id: &str) -> ShimError {
        ShimError::Runtime(RuntimeError::SandboxNotFound { id: id.to_string(), node: self.node_name().to_string() })
    }

    pub(crate) fn not_found_container(&self, id: &str) -> ShimError {
        ShimError::Runtime(RuntimeError::ContainerNotFound { id: id.to_string(), node: self.node_name().to_string() })
    }
}

/// How a failed Engine API call counts in the call metrics.
fn engine_result(error: &DockerError) -> CallResult {
    match crate::error::http_status(error) {
        Some(404) => CallResult::NotFound,
        _ => CallResult::Error,
    }
}

/// The ID of the bridge network `name`, created if missing.
///
/// Docker 20.10 does not refuse a second network of the same name, so two shims
/// starting at once could each create one. Every shim therefore picks the oldest of
/// the same-named networks and removes the one it created if that was not it.
async fn ensure_network(docker: &Docker, name: &str) -> Result<String, ShimError> {
    let mut ours = None;
    if named_networks(docker, name).await?.is_empty() {
        let labels = HashMap::from([("io.capstan.managed".to_string(), "true".to_string())]);
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels),
            ..Default::default()
        };
        ours = docker.create_network(request).await.during(Op::EnsureNetwork, name)?.id.into();
    }
    let mut networks = named_networks(docker, name).await?;
    networks.sort();
    let (_, chosen) = networks.first().cloned().ok_or_else(|| ShimError::NetworkVanished { name: name.to_string() })?;
    if let Some(ours) = ours.filter(|ours| *ours != chosen) {
        docker.remove_network(&ours).await.during(Op::EnsureNetwork, name)?;
    }
    Ok(chosen)
}

/// (created, id) of every network named exactly `name`.
async fn named_networks(docker: &Docker, name: &str) -> Result<Vec<(i64, String)>, ShimError> {
    let filters = HashMap::from([("name".to_string(), vec![name.to_string()])]);
    let options = ListNetworksOptionsBuilder::default().filters(&filters).build();
    let networks = docker.list_networks(Some(options)).await.during(Op::EnsureNetwork, name)?;
    Ok(networks
        .into_iter()
        .filter(|n| n.name.as_deref() == Some(name))
        .filter_map(|n| Some((crate::time::epoch_nanos(n.created.as_deref().unwrap_or_default()), n.id?)))
        .collect())
}
