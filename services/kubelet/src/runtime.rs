//! The kubelet's view of its runtime: the gRPC calls it makes, each turning a
//! status into a [`KubeletError`] naming the object, and the reads that build a
//! pod's [`PodRuntime`] from its labels — independent calls are made at once, as
//! they sit on a pod's start path. Everything is filtered by this node's
//! label too, so kubelets sharing one engine never touch each other's containers.

use std::collections::BTreeMap;

use capstan_cri::labels;
use capstan_cri::RuntimeClients;
use capstan_proto::runtime::v1::*;

use futures::future::try_join_all;

use crate::model::{ContainerRecord, PodRuntime, RunState, SandboxRecord, Touched};
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

    /// This node's sandboxes and containers (of one pod, when `pod_uid` is set),
    /// as listed: two calls, made at once.
    pub async fn list(&self, pod_uid: Option<&str>) -> Result<(Vec<PodSandbox>, Vec<Container>), KubeletError> {
        tokio::try_join!(self.sandboxes(pod_uid), self.containers(pod_uid))
    }

    /// The id of attempt `attempt` of pod `uid`'s sandbox if the runtime lists it
    /// yet (it may still be starting).
    pub async fn find_sandbox(&self, uid: &str, attempt: u32) -> Result<Option<String>, KubeletError> {
        let mut selector = self.selector(Some(uid));
        selector.insert(labels::POD_ATTEMPT.to_string(), attempt.to_string());
        let filter = PodSandboxFilter { label_selector: selector, ..Default::default() };
        let reply = self.clients.runtime.clone().list_pod_sandbox(ListPodSandboxRequest { filter: Some(filter) }).await;
        let items = reply.map_err(KubeletError::runtime("ListPodSandbox", uid))?.into_inner().items;
        Ok(items.into_iter().find(|s| self.ours(&s.labels)).map(|s| s.id))
    }

    /// The record of sandbox `id`; `None` when the runtime no longer has it.
    pub async fn sandbox_record(&self, id: &str) -> Result<Option<SandboxRecord>, KubeletError> {
        let request = PodSandboxStatusRequest { pod_sandbox_id: id.to_string() };
        match self.clients.runtime.clone().pod_sandbox_status(request).await {
            Ok(reply) => Ok(Some(sandbox_record(id, reply.into_inner().status.unwrap_or_default()))),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(KubeletError::runtime("PodSandboxStatus", id)(status)),
        }
    }

    /// The record of container `id`; `None` when the runtime no longer has it.
    pub async fn container_record(&self, id: &str) -> Result<Option<ContainerRecord>, KubeletError> {
        let request = ContainerStatusRequest { container_id: id.to_string() };
        match self.clients.runtime.clone().container_status(request).await {
            Ok(reply) => Ok(Some(container_record(id, reply.into_inner().status.unwrap_or_default()))),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(KubeletError::runtime("ContainerStatus", id)(status)),
        }
    }

    /// Everything the runtime has for the pod with `uid`, read afresh: the two
    /// lists, then every status, all at once.
    pub async fn snapshot(&self, uid: &str) -> Result<PodRuntime, KubeletError> {
        let (sandboxes, containers) = self.list(Some(uid)).await?;
        let touched: Vec<Touched> = sandboxes
            .into_iter()
            .map(|s| Touched::Sandbox(s.id))
            .chain(containers.into_iter().map(|c| Touched::Container(c.id)))
            .collect();
        self.refresh(PodRuntime::default(), &touched).await
    }

    /// `snapshot` with the records of `touched` read again (statuses, at once);
    /// what the runtime no longer has is dropped.
    pub async fn refresh(&self, mut snapshot: PodRuntime, touched: &[Touched]) -> Result<PodRuntime, KubeletError> {
        let sandboxes = touched.iter().filter_map(|t| match t {
            Touched::Sandbox(id) => Some(async move { Ok::<_, KubeletError>((id, self.sandbox_record(id).await?)) }),
            Touched::Container(_) => None,
        });
        let containers = touched.iter().filter_map(|t| match t {
            Touched::Container(id) => {
                Some(async move { Ok::<_, KubeletError>((id, self.container_record(id).await?)) })
            }
            Touched::Sandbox(_) => None,
        });
        let (sandboxes, containers) = tokio::try_join!(try_join_all(sandboxes), try_join_all(containers))?;
        for (id, record) in sandboxes {
            snapshot.put_sandbox(id, record);
        }
        for (id, record) in containers {
            snapshot.put_container(id, record);
        }
        Ok(snapshot.sorted())
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

fn sandbox_record(id: &str, status: PodSandboxStatus) -> SandboxRecord {
    SandboxRecord {
        id: id.to_string(),
        attempt: status.metadata.map_or(0, |m| m.attempt),
        ready: status.state == PodSandboxState::SandboxReady as i32,
        ip: status.network.map(|n| n.ip).unwrap_or_default(),
        created_at: status.created_at,
    }
}

/// A container's record from its status alone (its labels name the sandbox), so a
/// refresh needs no list call.
fn container_record(id: &str, status: ContainerStatus) -> ContainerRecord {
    let meta = status.metadata.clone().unwrap_or_else(|| labels::container_metadata(&status.labels));
    let state = match ContainerState::try_from(status.state) {
        Ok(ContainerState::ContainerRunning) => RunState::Running,
        Ok(ContainerState::ContainerExited) => RunState::Exited,
        Ok(ContainerState::ContainerCreated) => RunState::Created,
        _ => RunState::Unknown,
    };
    ContainerRecord {
        id: id.to_string(),
        sandbox_id: status.labels.get(labels::SANDBOX_ID).cloned().unwrap_or_default(),
        name: meta.name,
        attempt: meta.attempt,
        state,
        exit_code: status.exit_code,
        reason: status.reason,
        message: status.message,
        created_at: status.created_at,
        started_at: status.started_at,
        finished_at: status.finished_at,
        image: status.image.map(|i| i.image).unwrap_or_default(),
        image_ref: status.image_ref,
    }
}
