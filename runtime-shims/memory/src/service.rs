//! The in-memory runtime as a [`ContainerRuntime`]: each call forwards to the plain
//! method that does the work; `capstan_shim_common::RuntimeServer` is its gRPC face.

use capstan_proto::runtime::v1::*;
use capstan_shim_common::{ContainerRuntime, ExecInputStream, ExecOutputStream, LogStream, ShimNode};

use crate::{MemoryError, MemoryRuntime};

#[tonic::async_trait]
impl ContainerRuntime for MemoryRuntime {
    type Error = MemoryError;
    const COMPONENT: &'static str = "capstan-memory-shim";

    fn node(&self) -> &ShimNode {
        &self.inner.node
    }

    fn for_node(&self, node: &str) -> MemoryRuntime {
        MemoryRuntime { inner: self.inner.clone(), node: node.into() }
    }

    async fn version(&self) -> Result<VersionResponse, MemoryError> {
        Ok(VersionResponse {
            runtime_name: "memory".to_string(),
            runtime_version: env!("CARGO_PKG_VERSION").to_string(),
            runtime_api_version: "v1".to_string(),
        })
    }

    async fn run_pod_sandbox(&self, config: Option<PodSandboxConfig>) -> Result<String, MemoryError> {
        self.run_sandbox(config).await
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), MemoryError> {
        self.stop_sandbox(id).await
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), MemoryError> {
        self.remove_sandbox(id).await
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<PodSandboxStatus, MemoryError> {
        self.sandbox_status(id).await
    }

    async fn list_pod_sandboxes(&self, filter: Option<PodSandboxFilter>) -> Result<Vec<PodSandbox>, MemoryError> {
        Ok(self.list_sandboxes(filter).await)
    }

    async fn create_container(&self, request: CreateContainerRequest) -> Result<String, MemoryError> {
        MemoryRuntime::create_container(self, request).await
    }

    async fn start_container(&self, id: &str) -> Result<(), MemoryError> {
        MemoryRuntime::start_container(self, id).await
    }

    async fn stop_container(&self, id: &str, timeout_seconds: i64) -> Result<(), MemoryError> {
        MemoryRuntime::stop_container(self, id, timeout_seconds).await
    }

    async fn remove_container(&self, id: &str) -> Result<(), MemoryError> {
        MemoryRuntime::remove_container(self, id).await;
        Ok(())
    }

    async fn container_status(&self, id: &str) -> Result<ContainerStatus, MemoryError> {
        MemoryRuntime::container_status(self, id).await
    }

    async fn list_containers(&self, filter: Option<ContainerFilter>) -> Result<Vec<Container>, MemoryError> {
        Ok(MemoryRuntime::list_containers(self, filter).await)
    }

    async fn container_logs(&self, request: ContainerLogsRequest) -> Result<LogStream, MemoryError> {
        self.logs(request).await
    }

    async fn exec_sync(&self, request: ExecSyncRequest) -> Result<ExecSyncResponse, MemoryError> {
        MemoryRuntime::exec_sync(self, request).await
    }

    async fn exec(&self, input: ExecInputStream) -> Result<ExecOutputStream, MemoryError> {
        self.exec_stream(input).await
    }

    async fn container_stats(&self, id: &str) -> Result<ContainerStats, MemoryError> {
        self.stats(id).await
    }

    async fn list_container_stats(&self, filter: Option<ContainerFilter>) -> Result<Vec<ContainerStats>, MemoryError> {
        Ok(self.list_stats(filter).await)
    }

    async fn list_images(&self, filter: Option<&str>) -> Result<Vec<Image>, MemoryError> {
        Ok(self.lock().await.images.list(filter))
    }

    async fn image_status(&self, image: &str) -> Result<Option<Image>, MemoryError> {
        Ok(self.lock().await.images.get(image).cloned())
    }

    /// Any name "pulls" at once.
    async fn pull_image(&self, image: &str, _auth: Option<AuthConfig>) -> Result<String, MemoryError> {
        Ok(self.lock().await.images.add(image).id)
    }

    async fn remove_image(&self, image: &str) -> Result<(), MemoryError> {
        self.lock().await.images.remove(image);
        Ok(())
    }
}
