//! The kubelet's view of its runtime: the gRPC calls it makes, each turning a
//! status into a [`KubeletError`] naming the object, and the reads that build a
//! pod's [`PodRuntime`] from its labels. Everything is filtered by this node's
//! label too, so kubelets sharing one engine never touch each other's containers.

use std::collections::BTreeMap;

use capstan_cri::labels;
use capstan_cri::RuntimeClients;
use capstan_proto::runtime::v1::*;

use crate::model::{ContainerRecord, PodRuntime, RunState, SandboxRecord};
use crate::KubeletError;

/// A connected runtime, for one node.
#[derive(Clone, Debug)]
pub struct Runtime {
    pub clients: RuntimeClients,
    pub node: String,
    /// `docker`, `memory`, …, from the Version call
    pub name: String,
}

impl Runtime {
    /// Asks the runtime who it is.
    pub async fn version(clients: &RuntimeClients) -> Result<VersionResponse, KubeletError> {
        let reply = clients.runtime.clone().version(VersionRequest {}).await;
        Ok(reply.map_err(KubeletError::runtime("Version", "the runtime"))?.into_inner())
    }

    fn selector(&self, pod_uid: Option<&str>) -> BTreeMap<String, String> {
        let mut selector = BTreeMap::from([(labels::NODE_NAME.to_string(), self.node.clone())]);
        if let Some(uid) = pod_uid {
            selector.insert(labels::POD_UID.to_string(), uid.to_string());
        }
        selector
    }

    /// This node's sandboxes (of one pod, when `pod_uid` is set).
    pub async fn sandboxes(&self, pod_uid: Option<&str>) -> Result<Vec<PodSandbox>, KubeletError> {
        let filter = PodSandboxFilter { label_selector: self.selector(pod_uid), ..Default::default() };
        let reply = self.clients.runtime.clone().list_pod_sandbox(ListPodSandboxRequest { filter: Some(filter) }).await;
        let items =
            reply.map_err(KubeletError::runtime("ListPodSandbox", pod_uid.unwrap_or(&self.node)))?.into_inner().items;
        Ok(items.into_iter().filter(|s| self.ours(&s.labels)).collect())
    }

    /// This node's containers (of one pod, when `pod_uid` is set).
    pub async fn containers(&self, pod_uid: Option<&str>) -> Result<Vec<Container>, KubeletError> {
        let filter = ContainerFilter { label_selector: self.selector(pod_uid), ..Default::default() };
        let reply = self.clients.runtime.clone().list_containers(ListContainersRequest { filter: Some(filter) }).await;
        let items = reply
            .map_err(KubeletError::runtime("ListContainers", pod_uid.unwrap_or(&self.node)))?
            .into_inner()
            .containers;
        Ok(items.into_iter().filter(|c| self.ours(&c.labels)).collect())
    }

    /// The double check behind the shim's node filter.
    fn ours(&self, labels: &BTreeMap<String, String>) -> bool {
        labels.get(labels::NODE_NAME) == Some(&self.node)
    }

    /// Everything the runtime has for the pod with `uid`.
    pub async fn snapshot(&self, uid: &str) -> Result<PodRuntime, KubeletError> {
        let mut snapshot = PodRuntime::default();
        for sandbox in self.sandboxes(Some(uid)).await? {
            let request = PodSandboxStatusRequest { pod_sandbox_id: sandbox.id.clone() };
            let status = match self.clients.runtime.clone().pod_sandbox_status(request).await {
                Ok(reply) => reply.into_inner().status.unwrap_or_default(),
                Err(status) if status.code() == tonic::Code::NotFound => continue,
                Err(status) => return Err(KubeletError::runtime("PodSandboxStatus", &sandbox.id)(status)),
            };
            snapshot.sandboxes.push(SandboxRecord {
                id: sandbox.id,
                attempt: sandbox.metadata.map_or(0, |m| m.attempt),
                ready: status.state == PodSandboxState::SandboxReady as i32,
                ip: status.network.map(|n| n.ip).unwrap_or_default(),
                created_at: sandbox.created_at,
            });
        }
        for container in self.containers(Some(uid)).await? {
            let request = ContainerStatusRequest { container_id: container.id.clone() };
            let status = match self.clients.runtime.clone().container_status(request).await {
                Ok(reply) => reply.into_inner().status.unwrap_or_default(),
                Err(status) if status.code() == tonic::Code::NotFound => continue,
                Err(status) => return Err(KubeletError::runtime("ContainerStatus", &container.id)(status)),
            };
            snapshot.containers.push(record(container, status));
        }
        Ok(snapshot)
    }

    pub async fn stop_container(&self, id: &str, timeout: i64) -> Result<(), KubeletError> {
        let request = StopContainerRequest { container_id: id.to_string(), timeout };
        ignore_not_found(self.clients.runtime.clone().stop_container(request).await.map(drop), "StopContainer", id)
    }

    pub async fn remove_container(&self, id: &str) -> Result<(), KubeletError> {
        let request = RemoveContainerRequest { container_id: id.to_string() };
        ignore_not_found(self.clients.runtime.clone().remove_container(request).await.map(drop), "RemoveContainer", id)
    }

    pub async fn stop_sandbox(&self, id: &str) -> Result<(), KubeletError> {
        let request = StopPodSandboxRequest { pod_sandbox_id: id.to_string() };
        ignore_not_found(self.clients.runtime.clone().stop_pod_sandbox(request).await.map(drop), "StopPodSandbox", id)
    }

    pub async fn remove_sandbox(&self, id: &str) -> Result<(), KubeletError> {
        let request = RemovePodSandboxRequest { pod_sandbox_id: id.to_string() };
        ignore_not_found(
            self.clients.runtime.clone().remove_pod_sandbox(request).await.map(drop),
            "RemovePodSandbox",
            id,
        )
    }
}

fn ignore_not_found(result: Result<(), tonic::Status>, call: &'static str, id: &str) -> Result<(), KubeletError> {
    match result {
        Err(status) if status.code() != tonic::Code::NotFound => Err(KubeletError::runtime(call, id)(status)),
        _ => Ok(()),
    }
}

fn record(container: Container, status: ContainerStatus) -> ContainerRecord {
    let meta = container.metadata.unwrap_or_else(|| labels::container_metadata(&container.labels));
    let state = match ContainerState::try_from(status.state) {
        Ok(ContainerState::ContainerRunning) => RunState::Running,
        Ok(ContainerState::ContainerExited) => RunState::Exited,
        Ok(ContainerState::ContainerCreated) => RunState::Created,
        _ => RunState::Unknown,
    };
    ContainerRecord {
        id: container.id,
        sandbox_id: container.pod_sandbox_id,
        name: meta.name,
        attempt: meta.attempt,
        state,
        exit_code: status.exit_code,
        reason: status.reason,
        message: status.message,
        created_at: status.created_at,
        started_at: status.started_at,
        finished_at: status.finished_at,
        image: container.image.map(|i| i.image).unwrap_or_default(),
        image_ref: status.image_ref,
    }
}
