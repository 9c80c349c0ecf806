//! The gRPC face of every shim: [`RuntimeServer`] serves `RuntimeService` and
//! `ImageService` for any [`ContainerRuntime`], so each call is unpacked, checked
//! and answered in exactly one place — including which node it is for: every call is
//! made on a handle for the node its caller names in [`NODE_NAME_METADATA`], or
//! refused if the shim serves another (see [`crate::node`]).

use std::sync::Arc;

use capstan_proto::runtime::v1::image_service_server::{ImageService, ImageServiceServer};
use capstan_proto::runtime::v1::runtime_service_server::{RuntimeService, RuntimeServiceServer};
use capstan_proto::runtime::v1::*;
use tonic::{Request, Response, Status, Streaming};

use crate::runtime::{ContainerRuntime, ExecOutputStream, LogStream};
use crate::NODE_NAME_METADATA;
use crate::{RuntimeError, RuntimeFailure};

type Reply<T> = Result<Response<T>, Status>;

/// Both runtime services over one runtime; cheap to clone.
pub struct RuntimeServer<R> {
    runtime: Arc<R>,
}

impl<R> Clone for RuntimeServer<R> {
    fn clone(&self) -> Self {
        RuntimeServer { runtime: Arc::clone(&self.runtime) }
    }
}

impl<R: ContainerRuntime> RuntimeServer<R> {
    pub fn new(runtime: R) -> RuntimeServer<R> {
        RuntimeServer { runtime: Arc::new(runtime) }
    }

    /// The runtime behind the services.
    pub fn runtime(&self) -> &R {
        &self.runtime
    }

    /// The two tonic services, ready for `Server::add_service`.
    pub fn services(self) -> (RuntimeServiceServer<Self>, ImageServiceServer<Self>) {
        (RuntimeServiceServer::new(self.clone()), ImageServiceServer::new(self))
    }

    /// The runtime, answering for the node `request`'s caller names.
    fn runtime_for<T>(&self, request: &Request<T>) -> Result<R, Status> {
        let caller = match request.metadata().get(NODE_NAME_METADATA) {
            Some(value) => Some(value.to_str().map_err(|_| RuntimeError::BadNodeMetadata { key: NODE_NAME_METADATA })?),
            None => None,
        };
        let node = self.runtime.node().serve(caller)?;
        Ok(self.runtime.for_node(node))
    }
}

fn answer<T, E: RuntimeFailure>(result: Result<T, E>) -> Reply<T> {
    result.map(Response::new).map_err(|error| crate::status(&error))
}

/// The image a request names; an empty or missing one is the caller's mistake.
fn image_name(spec: Option<ImageSpec>, request: &str) -> Result<String, Status> {
    spec.map(|s| s.image)
        .filter(|image| !image.is_empty())
        .ok_or_else(|| Status::invalid_argument(format!("{request}: image.image is required")))
}

#[tonic::async_trait]
impl<R: ContainerRuntime> RuntimeService for RuntimeServer<R> {
    async fn version(&self, request: Request<VersionRequest>) -> Reply<VersionResponse> {
        let runtime = self.runtime_for(&request)?;
        answer(runtime.version().await)
    }

    async fn run_pod_sandbox(&self, request: Request<RunPodSandboxRequest>) -> Reply<RunPodSandboxResponse> {
        let runtime = self.runtime_for(&request)?;
        let id = runtime.run_pod_sandbox(request.into_inner().config).await;
        answer(id.map(|pod_sandbox_id| RunPodSandboxResponse { pod_sandbox_id }))
    }

    async fn stop_pod_sandbox(&self, request: Request<StopPodSandboxRequest>) -> Reply<StopPodSandboxResponse> {
        let runtime = self.runtime_for(&request)?;
        let stopped = runtime.stop_pod_sandbox(&request.into_inner().pod_sandbox_id).await;
        answer(stopped.map(|()| StopPodSandboxResponse {}))
    }

    async fn remove_pod_sandbox(&self, request: Request<RemovePodSandboxRequest>) -> Reply<RemovePodSandboxResponse> {
        let runtime = self.runtime_for(&request)?;
        let removed = runtime.remove_pod_sandbox(&request.into_inner().pod_sandbox_id).await;
        answer(removed.map(|()| RemovePodSandboxResponse {}))
    }

    async fn pod_sandbox_status(&self, request: Request<PodSandboxStatusRequest>) -> Reply<PodSandboxStatusResponse> {
        let runtime = self.runtime_for(&request)?;
        let status = runtime.pod_sandbox_status(&request.into_inner().pod_sandbox_id).await;
        answer(status.map(|status| PodSandboxStatusResponse { status: Some(status) }))
    }

    async fn list_pod_sandbox(&self, request: Request<ListPodSandboxRequest>) -> Reply<ListPodSandboxResponse> {
        let runtime = self.runtime_for(&request)?;
        let items = runtime.list_pod_sandboxes(request.into_inner().filter).await;
        answer(items.map(|items| ListPodSandboxResponse { items }))
    }

    async fn create_container(&self, request: Request<CreateContainerRequest>) -> Reply<CreateContainerResponse> {
        let runtime = self.runtime_for(&request)?;
        let id = runtime.create_container(request.into_inner()).await;
        answer(id.map(|container_id| CreateContainerResponse { container_id }))
    }

    async fn start_container(&self, request: Request<StartContainerRequest>) -> Reply<StartContainerResponse> {
        let runtime = self.runtime_for(&request)?;
        let started = runtime.start_container(&request.into_inner().container_id).await;
        answer(started.map(|()| StartContainerResponse {}))
    }

    async fn stop_container(&self, request: Request<StopContainerRequest>) -> Reply<StopContainerResponse> {
        let runtime = self.runtime_for(&request)?;
        let request = request.into_inner();
        let stopped = runtime.stop_container(&request.container_id, request.timeout).await;
        answer(stopped.map(|()| StopContainerResponse {}))
    }

    async fn remove_container(&self, request: Request<RemoveContainerRequest>) -> Reply<RemoveContainerResponse> {
        let runtime = self.runtime_for(&request)?;
        let removed = runtime.remove_container(&request.into_inner().container_id).await;
        answer(removed.map(|()| RemoveContainerResponse {}))
    }

    async fn container_status(&self, request: Request<ContainerStatusRequest>) -> Reply<ContainerStatusResponse> {
        let runtime = self.runtime_for(&request)?;
        let status = runtime.container_status(&request.into_inner().container_id).await;
        answer(status.map(|status| ContainerStatusResponse { status: Some(status) }))
    }

    async fn list_containers(&self, request: Request<ListContainersRequest>) -> Reply<ListContainersResponse> {
        let runtime = self.runtime_for(&request)?;
        let containers = runtime.list_containers(request.into_inner().filter).await;
        answer(containers.map(|containers| ListContainersResponse { containers }))
    }

    type ContainerLogsStream = LogStream;

    async fn container_logs(&self, request: Request<ContainerLogsRequest>) -> Reply<LogStream> {
        let runtime = self.runtime_for(&request)?;
        answer(runtime.container_logs(request.into_inner()).await)
    }

    async fn exec_sync(&self, request: Request<ExecSyncRequest>) -> Reply<ExecSyncResponse> {
        let runtime = self.runtime_for(&request)?;
        answer(runtime.exec_sync(request.into_inner()).await)
    }

    type ExecStream = ExecOutputStream;

    async fn exec(&self, request: Request<Streaming<ExecInput>>) -> Reply<ExecOutputStream> {
        let runtime = self.runtime_for(&request)?;
        answer(runtime.exec(Box::pin(request.into_inner())).await)
    }

    async fn container_stats(&self, request: Request<ContainerStatsRequest>) -> Reply<ContainerStatsResponse> {
        let runtime = self.runtime_for(&request)?;
        let stats = runtime.container_stats(&request.into_inner().container_id).await;
        answer(stats.map(|stats| ContainerStatsResponse { stats: Some(stats) }))
    }

    async fn list_container_stats(
        &self,
        request: Request<ListContainerStatsRequest>,
    ) -> Reply<ListContainerStatsResponse> {
        let runtime = self.runtime_for(&request)?;
        let stats = runtime.list_container_stats(request.into_inner().filter).await;
        answer(stats.map(|stats| ListContainerStatsResponse { stats }))
    }
}

#[tonic::async_trait]
impl<R: ContainerRuntime> ImageService for RuntimeServer<R> {
    async fn list_images(&self, request: Request<ListImagesRequest>) -> Reply<ListImagesResponse> {
        let runtime = self.runtime_for(&request)?;
        let filter = request.into_inner().filter.map(|f| f.image).filter(|f| !f.is_empty());
        let images = runtime.list_images(filter.as_deref()).await;
        answer(images.map(|images| ListImagesResponse { images }))
    }

    async fn image_status(&self, request: Request<ImageStatusRequest>) -> Reply<ImageStatusResponse> {
        let runtime = self.runtime_for(&request)?;
        let name = image_name(request.into_inner().image, "ImageStatus")?;
        answer(runtime.image_status(&name).await.map(|image| ImageStatusResponse { image }))
    }

    async fn pull_image(&self, request: Request<PullImageRequest>) -> Reply<PullImageResponse> {
        let runtime = self.runtime_for(&request)?;
        let request = request.into_inner();
        let name = image_name(request.image, "PullImage")?;
        let image_ref = runtime.pull_image(&name, request.auth).await;
        answer(image_ref.map(|image_ref| PullImageResponse { image_ref }))
    }

    async fn remove_image(&self, request: Request<RemoveImageRequest>) -> Reply<RemoveImageResponse> {
        let runtime = self.runtime_for(&request)?;
        let name = image_name(request.into_inner().image, "RemoveImage")?;
        answer(runtime.remove_image(&name).await.map(|()| RemoveImageResponse {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_image_name_is_invalid() {
        let error = image_name(Some(ImageSpec { image: String::new() }), "PullImage").expect_err("empty");
        assert_eq!(error.code(), tonic::Code::InvalidArgument);
        assert!(error.message().contains("PullImage: image.image"), "{error}");
        assert_eq!(image_name(Some(ImageSpec { image: "a:1".into() }), "x").ok().as_deref(), Some("a:1"));
    }
}
