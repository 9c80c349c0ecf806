//! The Docker shim as a [`ContainerRuntime`]: each call forwards to the plain method
//! that does the work; `capstan_shim_common::RuntimeServer` is its gRPC face.

use capstan_proto::runtime::v1::*;
use capstan_shim_common::{ContainerRuntime, ExecInputStream, ExecOutputStream, LogStream, ShimNode};

use crate::{DockerRuntime, ShimError};

#[tonic::async_trait]
impl ContainerRuntime for DockerRuntime {
    type Error = ShimError;
    const COMPONENT: &'static str = "capstan-docker-shim";

    fn node(&self) -> &ShimNode {
        &self.inner.node
    }

    fn for_node(&self, node: &str) -> DockerRuntime {
        DockerRuntime { inner: self.inner.clone(), node: node.into() }
    }

    fn registry(&self) -> Option<capstan_metrics::Registry> {
        Some(self.inner.registry.clone())
    }

    async fn version(&self) -> Result<VersionResponse, ShimError> {
        Ok(VersionResponse {
            runtime_name: "docker".to_string(),
            runtime_version: self.inner.engine_version.clone(),
            runtime_api_version: "v1".to_string(),
        })
    }

    async fn run_pod_sandbox(&self, config: Option<PodSandboxConfig>) -> Result<String, ShimError> {
        self.run_sandbox(config).await
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), ShimError> {
        self.stop_sandbox(id).await
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), ShimError> {
        self.remove_sandbox(id).await
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<PodSandboxStatus, ShimError> {
        self.sandbox_status(id).await
    }

    async fn list_pod_sandboxes(&self, filter: Option<PodSandboxFilter>) -> Result<Vec<PodSandbox>, ShimError> {
        self.list_sandboxes(filter).await
    }

    async fn create_container(&self, request: CreateContainerRequest) -> Result<String, ShimError> {
        DockerRuntime::create_container(self, request).await
    }

    async fn start_container(&self, id: &str) -> Result<(), ShimError> {
        DockerRuntime::start_container(self, id).await
    }

    async fn stop_container(&self, id: &str, timeout_seconds: i64) -> Result<(), ShimError> {
        DockerRuntime::stop_container(self, id, timeout_seconds).await
    }

    async fn remove_container(&self, id: &str) -> Result<(), ShimError> {
        DockerRuntime::remove_container(self, id).await
    }

    async fn container_status(&self, id: &str) -> Result<ContainerStatus, ShimError> {
        DockerRuntime::container_status(self, id).await
    }

    async fn list_containers(&self, filter: Option<ContainerFilter>) -> Result<Vec<Container>, ShimError> {
        DockerRuntime::list_containers(self, filter).await
    }

    async fn container_logs(&self, request: ContainerLogsRequest) -> Result<LogStream, ShimError> {
        self.logs(request).await
    }

    async fn exec_sync(&self, request: ExecSyncRequest) -> Result<ExecSyncResponse, ShimError> {
        DockerRuntime::exec_sync(self, request).await
    }

    async fn exec(&self, input: ExecInputStream) -> Result<ExecOutputStream, ShimError> {
        self.exec_stream(input).await
    }

    async fn container_stats(&self, id: &str) -> Result<ContainerStats, ShimError> {
        self.stats(id).await
    }

    async fn list_images(&self, filter: Option<&str>) -> Result<Vec<Image>, ShimError> {
        DockerRuntime::list_images(self, filter).await
    }

    async fn image_status(&self, image: &str) -> Result<Option<Image>, ShimError> {
        self.image(image).await
    }

    async fn pull_image(&self, image: &str, auth: Option<AuthConfig>) -> Result<String, ShimError> {
        self.pull(image, auth).await
    }

    async fn remove_image(&self, image: &str) -> Result<(), ShimError> {
        DockerRuntime::remove_image(self, image).await
    }
}
