//! The Docker shim's gRPC face: each RuntimeService call unpacks its request,
//! calls the plain method that does the work, and converts errors through the one
//! `From<ShimError> for Status`.

use capstan_proto::runtime::v1::runtime_service_server::RuntimeService;
use capstan_proto::runtime::v1::*;
use tonic::{Request, Response, Status, Streaming};

use crate::exec::ExecStream;
use crate::logs::LogStream;
use crate::DockerRuntime;

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl RuntimeService for DockerRuntime {
    async fn version(&self, _: Request<VersionRequest>) -> Reply<VersionResponse> {
        Ok(Response::new(VersionResponse {
            runtime_name: "docker".to_string(),
            runtime_version: self.inner.engine_version.clone(),
            runtime_api_version: "v1".to_string(),
        }))
    }

    async fn run_pod_sandbox(&self, request: Request<RunPodSandboxRequest>) -> Reply<RunPodSandboxResponse> {
        let pod_sandbox_id = self.run_sandbox(request.into_inner().config).await?;
        Ok(Response::new(RunPodSandboxResponse { pod_sandbox_id }))
    }

    async fn stop_pod_sandbox(&self, request: Request<StopPodSandboxRequest>) -> Reply<StopPodSandboxResponse> {
        self.stop_sandbox(&request.into_inner().pod_sandbox_id).await?;
        Ok(Response::new(StopPodSandboxResponse {}))
    }

    async fn remove_pod_sandbox(&self, request: Request<RemovePodSandboxRequest>) -> Reply<RemovePodSandboxResponse> {
        self.remove_sandbox(&request.into_inner().pod_sandbox_id).await?;
        Ok(Response::new(RemovePodSandboxResponse {}))
    }

    async fn pod_sandbox_status(&self, request: Request<PodSandboxStatusRequest>) -> Reply<PodSandboxStatusResponse> {
        let status = self.sandbox_status(&request.into_inner().pod_sandbox_id).await?;
        Ok(Response::new(PodSandboxStatusResponse { status: Some(status) }))
    }

    async fn list_pod_sandbox(&self, request: Request<ListPodSandboxRequest>) -> Reply<ListPodSandboxResponse> {
        let items = self.list_sandboxes(request.into_inner().filter).await?;
        Ok(Response::new(ListPodSandboxResponse { items }))
    }

    async fn create_container(&self, request: Request<CreateContainerRequest>) -> Reply<CreateContainerResponse> {
        let container_id = DockerRuntime::create_container(self, request.into_inner()).await?;
        Ok(Response::new(CreateContainerResponse { container_id }))
    }

    async fn start_container(&self, request: Request<StartContainerRequest>) -> Reply<StartContainerResponse> {
        DockerRuntime::start_container(self, &request.into_inner().container_id).await?;
        Ok(Response::new(StartContainerResponse {}))
    }

    async fn stop_container(&self, request: Request<StopContainerRequest>) -> Reply<StopContainerResponse> {
        let request = request.into_inner();
        DockerRuntime::stop_container(self, &request.container_id, request.timeout).await?;
        Ok(Response::new(StopContainerResponse {}))
    }

    async fn remove_container(&self, request: Request<RemoveContainerRequest>) -> Reply<RemoveContainerResponse> {
        DockerRuntime::remove_container(self, &request.into_inner().container_id).await?;
        Ok(Response::new(RemoveContainerResponse {}))
    }

    async fn container_status(&self, request: Request<ContainerStatusRequest>) -> Reply<ContainerStatusResponse> {
        let status = DockerRuntime::container_status(self, &request.into_inner().container_id).await?;
        Ok(Response::new(ContainerStatusResponse { status: Some(status) }))
    }

    async fn list_containers(&self, request: Request<ListContainersRequest>) -> Reply<ListContainersResponse> {
        let containers = DockerRuntime::list_containers(self, request.into_inner().filter).await?;
        Ok(Response::new(ListContainersResponse { containers }))
    }

    type ContainerLogsStream = LogStream;

    async fn container_logs(&self, request: Request<ContainerLogsRequest>) -> Reply<LogStream> {
        Ok(Response::new(self.logs(request.into_inner()).await?))
    }

    async fn exec_sync(&self, request: Request<ExecSyncRequest>) -> Reply<ExecSyncResponse> {
        Ok(Response::new(DockerRuntime::exec_sync(self, request.into_inner()).await?))
    }

    type ExecStream = ExecStream;

    async fn exec(&self, request: Request<Streaming<ExecInput>>) -> Reply<ExecStream> {
        Ok(Response::new(self.exec_stream(request.into_inner()).await?))
    }

    async fn container_stats(&self, request: Request<ContainerStatsRequest>) -> Reply<ContainerStatsResponse> {
        let stats = self.stats(&request.into_inner().container_id).await?;
        Ok(Response::new(ContainerStatsResponse { stats: Some(stats) }))
    }

    async fn list_container_stats(
        &self,
        request: Request<ListContainerStatsRequest>,
    ) -> Reply<ListContainerStatsResponse> {
        let stats = self.list_stats(request.into_inner().filter).await?;
        Ok(Response::new(ListContainerStatsResponse { stats }))
    }
}
