//! The one contract every shim implements: [`ContainerRuntime`], the runtime
//! interface as plain async methods.
//!
//! The gRPC services of `runtime.proto` are served once, by [`crate::RuntimeServer`],
//! for any implementation of this trait; a shim therefore never writes a tonic
//! handler, and its methods take IDs and messages rather than `tonic::Request`s, so
//! tests can call them directly. Each shim keeps its own error type, wrapping the shared
//! [`RuntimeError`](crate::RuntimeError); the adapter answers it through
//! [`RuntimeFailure`]. A runtime handle answers for one node at a time:
//! [`ContainerRuntime::for_node`] is how the adapter scopes each call to its caller's
//! node (see [`crate::node`]).

use std::pin::Pin;

use capstan_proto::runtime::v1::{
    AuthConfig, Container, ContainerFilter, ContainerLogsRequest, ContainerState, ContainerStats, ContainerStatus,
    CreateContainerRequest, ExecInput, ExecOutput, ExecSyncRequest, ExecSyncResponse, Image, LogChunk, PodSandbox,
    PodSandboxConfig, PodSandboxFilter, PodSandboxMetadata, PodSandboxStatus, VersionResponse,
};
use futures::Stream;
use tonic::Status;

use crate::{RuntimeError, RuntimeFailure, ShimNode};

/// A container state as the shared failures name it ("container … is exited").
pub fn state_name(state: ContainerState) -> &'static str {
    match state {
        ContainerState::ContainerCreated => "created",
        ContainerState::ContainerRunning => "running",
        ContainerState::ContainerExited => "exited",
        ContainerState::ContainerUnknown => "unknown",
    }
}

/// A RunPodSandbox request's config and its metadata, both of which every runtime
/// needs; a missing one is the caller's mistake.
pub fn sandbox_config(
    config: Option<PodSandboxConfig>,
) -> Result<(PodSandboxConfig, PodSandboxMetadata), RuntimeError> {
    let missing = |field| RuntimeError::MissingField { request: "RunPodSandbox", field };
    let config = config.ok_or(missing("config"))?;
    let meta = config.metadata.clone().ok_or(missing("config.metadata"))?;
    Ok((config, meta))
}

/// The chunks of a ContainerLogs answer.
pub type LogStream = Pin<Box<dyn Stream<Item = Result<LogChunk, Status>> + Send>>;
/// What an Exec client sends: `start` first, then stdin, close and resize messages.
pub type ExecInputStream = Pin<Box<dyn Stream<Item = Result<ExecInput, Status>> + Send>>;
/// What an Exec answers: output chunks, then the exit code last.
pub type ExecOutputStream = Pin<Box<dyn Stream<Item = Result<ExecOutput, Status>> + Send>>;

/// A container runtime as the kubelet sees it (see `runtime.proto` for the meaning
/// of each call). Stop and remove calls are idempotent: the kubelet retries them.
#[tonic::async_trait]
pub trait ContainerRuntime: Send + Sync + 'static {
    /// The shim's error; its [`RuntimeFailure::code`] decides each failure's gRPC code.
    type Error: RuntimeFailure;

    /// The component serving this runtime (`capstan-docker-shim`): the
    /// `service.name` of its server's spans.
    const COMPONENT: &'static str = "capstan-runtime-shim";

    /// The node this runtime answers for when a caller names none, and whether it
    /// refuses callers of other nodes.
    fn node(&self) -> &ShimNode;

    /// A handle on the same runtime answering for `node`: what it creates is
    /// labelled with `node`, and it sees only what is. Called once per gRPC call.
    fn for_node(&self, node: &str) -> Self
    where
        Self: Sized;

    /// The registry holding the shim's own metrics (its engine calls), which its
    /// server's `GET /metrics` serves with the request metrics added; `None`: the
    /// shim has none, and the server makes a registry of its own.
    fn registry(&self) -> Option<capstan_metrics::Registry> {
        None
    }

    async fn version(&self) -> Result<VersionResponse, Self::Error>;

    async fn run_pod_sandbox(&self, config: Option<PodSandboxConfig>) -> Result<String, Self::Error>;
    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), Self::Error>;
    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), Self::Error>;
    async fn pod_sandbox_status(&self, id: &str) -> Result<PodSandboxStatus, Self::Error>;
    async fn list_pod_sandboxes(&self, filter: Option<PodSandboxFilter>) -> Result<Vec<PodSandbox>, Self::Error>;

    async fn create_container(&self, request: CreateContainerRequest) -> Result<String, Self::Error>;
    async fn start_container(&self, id: &str) -> Result<(), Self::Error>;
    /// SIGTERM, then SIGKILL after `timeout_seconds` (0 kills at once).
    async fn stop_container(&self, id: &str, timeout_seconds: i64) -> Result<(), Self::Error>;
    async fn remove_container(&self, id: &str) -> Result<(), Self::Error>;
    async fn container_status(&self, id: &str) -> Result<ContainerStatus, Self::Error>;
    async fn list_containers(&self, filter: Option<ContainerFilter>) -> Result<Vec<Container>, Self::Error>;

    async fn container_logs(&self, request: ContainerLogsRequest) -> Result<LogStream, Self::Error>;
    async fn exec_sync(&self, request: ExecSyncRequest) -> Result<ExecSyncResponse, Self::Error>;
    async fn exec(&self, input: ExecInputStream) -> Result<ExecOutputStream, Self::Error>;

    async fn container_stats(&self, id: &str) -> Result<ContainerStats, Self::Error>;
    /// Stats of the running containers `filter` selects. The provided method asks
    /// [`Self::container_stats`] of each, skipping any removed meanwhile.
    async fn list_container_stats(&self, filter: Option<ContainerFilter>) -> Result<Vec<ContainerStats>, Self::Error> {
        let running = self
            .list_containers(filter)
            .await?
            .into_iter()
            .filter(|c| c.state == ContainerState::ContainerRunning as i32);
        let mut stats = Vec::new();
        for container in running {
            match self.container_stats(&container.id).await {
                Ok(sample) => stats.push(sample),
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(error),
            }
        }
        Ok(stats)
    }

    /// Every image, or only the one `filter` names (a reference or an ID).
    async fn list_images(&self, filter: Option<&str>) -> Result<Vec<Image>, Self::Error>;
    /// The image `image` names (a reference or an ID), `None` when absent.
    async fn image_status(&self, image: &str) -> Result<Option<Image>, Self::Error>;
    /// Makes `image` present (a present one is not pulled again); returns its ID.
    async fn pull_image(&self, image: &str, auth: Option<AuthConfig>) -> Result<String, Self::Error>;
    /// Removes `image`; an absent image is no error.
    async fn remove_image(&self, image: &str) -> Result<(), Self::Error>;
}
