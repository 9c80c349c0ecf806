//! The containerd shim as a [`ContainerRuntime`]: each call forwards to the plain method
//! that does the work; `capstan_shim_common::RuntimeServer` is its gRPC face.

use capstan_proto::runtime::v1::*;
use capstan_shim_common::{ContainerRuntime, ExecInputStream, ExecOutputStream, LogStream, ShimNode};

use crate::{ContainerdError, ContainerdRuntime};

#[tonic::async_trait]
impl ContainerRuntime for ContainerdRuntime {
    type Error = ContainerdError;
    const COMPONENT: &'static str = "capstan-containerd-shim";

    fn node(&self) -> &ShimNode {
        &self.inner.node
    }

    fn for_node(&self, node: &str) -> ContainerdRuntime {
        ContainerdRuntime { inner: self.inner.clone(), node: node.into() }
    }

    fn registry(&self) -> Option<capstan_metrics::Registry> {
        Some(self.inner.registry.clone())
    }

    async fn version(&self) -> Result<VersionResponse, ContainerdError> {
        Ok(VersionResponse {
            runtime_name: "containerd".to_string(),
            runtime_version: self.inner.version.clone(),
            runtime_api_version: "v1".to_string(),
        })
    }

    async fn run_pod_sandbox(&self, config: Option<PodSandboxConfig>) -> Result<String, ContainerdError> {
        self.run_sandbox(config).await
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), ContainerdError> {
        self.stop_sandbox(id).await
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), ContainerdError> {
        self.remove_sandbox(id).await
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<PodSandboxStatus, ContainerdError> {
        self.sandbox_status(id).await
    }

    async fn list_pod_sandboxes(&self, filter: Option<PodSandboxFilter>) -> Result<Vec<PodSandbox>, ContainerdError> {
        self.list_sandboxes(filter).await
    }

    async fn create_container(&self, request: CreateContainerRequest) -> Result<String, ContainerdError> {
        ContainerdRuntime::create_container(self, request).await
    }

    async fn start_container(&self, id: &str) -> Result<(), ContainerdError> {
        ContainerdRuntime::start_container(self, id).await
    }

    async fn stop_container(&self, id: &str, timeout_seconds: i64) -> Result<(), ContainerdError> {
        ContainerdRuntime::stop_container(self, id, timeout_seconds).await
    }

    async fn remove_container(&self, id: &str) -> Result<(), ContainerdError> {
        ContainerdRuntime::remove_container(self, id).await
    }

    async fn container_status(&self, id: &str) -> Result<ContainerStatus, ContainerdError> {
        ContainerdRuntime::container_status(self, id).await
    }

    async fn list_containers(&self, filter: Option<ContainerFilter>) -> Result<Vec<Container>, ContainerdError> {
        ContainerdRuntime::list_containers(self, filter).await
    }

    async fn container_logs(&self, request: ContainerLogsRequest) -> Result<LogStream, ContainerdError> {
        self.logs(request).await
    }

    async fn exec_sync(&self, request: ExecSyncRequest) -> Result<ExecSyncResponse, ContainerdError> {
        ContainerdRuntime::exec_sync(self, request).await
    }

    async fn exec(&self, input: ExecInputStream) -> Result<ExecOutputStream, ContainerdError> {
        self.exec_stream(input).await
    }

    async fn container_stats(&self, id: &str) -> Result<ContainerStats, ContainerdError> {
        self.stats(id).await
    }

    async fn list_images(&self, filter: Option<&str>) -> Result<Vec<Image>, ContainerdError> {
        ContainerdRuntime::list_images(self, filter).await
    }

    async fn image_status(&self, image: &str) -> Result<Option<Image>, ContainerdError> {
        ContainerdRuntime::image_status(self, image).await
    }

    async fn pull_image(&self, image: &str, auth: Option<AuthConfig>) -> Result<String, ContainerdError> {
        self.pull(image, auth).await
    }

    async fn remove_image(&self, image: &str) -> Result<(), ContainerdError> {
        ContainerdRuntime::remove_image(self, image).await
    }
}
