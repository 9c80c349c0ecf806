//! What the cases share: configs for pods and containers, starting them, and
//! bounded waits (poll until a condition holds, fail after [`WAIT`] naming what was
//! awaited and what was last seen — never a sleep standing in for a condition).

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use capstan_cri::labels;
use capstan_proto::runtime::v1::*;
use futures::StreamExt;

use crate::Runtime;

/// The longest any wait in the suite lasts before the case fails.
pub const WAIT: Duration = Duration::from_secs(60);

/// The namespace every conformance pod lives in.
pub const NAMESPACE: &str = "conformance";

/// A sandbox the case ran.
#[derive(Clone, Debug)]
pub struct Pod {
    pub id: String,
    pub config: PodSandboxConfig,
}

/// A pod's config: labelled `app=<name>`, hostname `<name>`, one annotation.
pub fn pod_config(name: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: format!("{name}-uid"),
            namespace: NAMESPACE.into(),
            attempt: 0,
        }),
        hostname: name.into(),
        labels: [("app".to_string(), name.to_string())].into(),
        annotations: [("conformance/pod".to_string(), name.to_string())].into(),
        log_directory: format!("/var/log/pods/{NAMESPACE}_{name}"),
        ..Default::default()
    }
}

/// A container's config running `argv` as its command, labelled `container=<name>`.
pub fn container_config(name: &str, image: &str, argv: &[&str]) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata { name: name.into(), attempt: 0 }),
        image: Some(ImageSpec { image: image.into() }),
        command: argv.iter().map(|s| s.to_string()).collect(),
        labels: [("container".to_string(), name.to_string())].into(),
        annotations: [("conformance/container".to_string(), name.to_string())].into(),
        log_path: format!("{name}/0.log"),
        ..Default::default()
    }
}

impl Runtime {
    /// Runs a sandbox for `pod_config(name)`.
    pub async fn run_pod(&self, name: &str) -> Pod {
        let config = pod_config(name);
        let request = RunPodSandboxRequest { config: Some(config.clone()) };
        let id = self
            .clients
            .runtime
            .clone()
            .run_pod_sandbox(request)
            .await
            .expect("RunPodSandbox")
            .into_inner()
            .pod_sandbox_id;
        Pod { id, config }
    }

    /// Pulls the test image (present locally on every runtime; IfNotPresent semantics).
    pub async fn pull_test_image(&self) {
        let request =
            PullImageRequest { image: Some(ImageSpec { image: self.images.test.clone() }), ..Default::default() };
        self.clients.images.clone().pull_image(request).await.expect("pulling the test image");
    }

    /// Creates a container from `config` in `pod`.
    pub async fn create(&self, pod: &Pod, config: ContainerConfig) -> Result<String, tonic::Status> {
        let request = CreateContainerRequest {
            pod_sandbox_id: pod.id.clone(),
            config: Some(config),
            sandbox_config: Some(pod.config.clone()),
        };
        Ok(self.clients.runtime.clone().create_container(request).await?.into_inner().container_id)
    }

    /// Creates and starts a test-image container running `argv` in `pod`.
    pub async fn start(&self, pod: &Pod, name: &str, argv: &[&str]) -> String {
        self.start_config(pod, container_config(name, &self.images.test, argv)).await
    }

    /// Creates and starts a container from `config` in `pod`.
    pub async fn start_config(&self, pod: &Pod, config: ContainerConfig) -> String {
        self.pull_test_image().await;
        let id = self.create(pod, config).await.expect("CreateContainer");
        let request = StartContainerRequest { container_id: id.clone() };
        self.clients.runtime.clone().start_container(request).await.expect("StartContainer");
        id
    }

    pub async fn status(&self, id: &str) -> ContainerStatus {
        let request = ContainerStatusRequest { container_id: id.to_string() };
        let response = self.clients.runtime.clone().container_status(request).await.expect("ContainerStatus");
        response.into_inner().status.expect("ContainerStatus carries a status")
    }

    pub async fn sandbox_status(&self, id: &str) -> PodSandboxStatus {
        let request = PodSandboxStatusRequest { pod_sandbox_id: id.to_string() };
        let response = self.clients.runtime.clone().pod_sandbox_status(request).await.expect("PodSandboxStatus");
        response.into_inner().status.expect("PodSandboxStatus carries a status")
    }

    /// Waits until container `id` is in `state`.
    pub async fn wait_for_state(&self, id: &str, state: ContainerState) -> ContainerStatus {
        eventually(&format!("container {id} to be {state:?}"), || async move {
            let status = self.status(id).await;
            if status.state == state as i32 {
                Ok(status)
            } else {
                Err(status)
            }
        })
        .await
    }

    pub async fn exec(&self, id: &str, argv: &[&str]) -> ExecSyncResponse {
        let request = ExecSyncRequest {
            container_id: id.to_string(),
            cmd: argv.iter().map(|s| s.to_string()).collect(),
            timeout: 30,
        };
        self.clients.runtime.clone().exec_sync(request).await.expect("ExecSync").into_inner()
    }

    /// The container's whole log so far (stdout and stderr interleaved), not following.
    pub async fn logs(&self, id: &str) -> String {
        let request = ContainerLogsRequest { container_id: id.to_string(), tail_lines: -1, ..Default::default() };
        let mut stream =
            self.clients.runtime.clone().container_logs(request).await.expect("ContainerLogs").into_inner();
        let mut text = Vec::new();
        while let Some(chunk) = stream.next().await {
            text.extend(chunk.expect("a log chunk").data);
        }
        String::from_utf8_lossy(&text).into_owned()
    }
}

/// Polls `probe` until it returns `Ok`, at most [`WAIT`]; panics with the last `Err`
/// (the workspace's one polling wait, bounded by the suite's [`WAIT`]).
pub async fn eventually<T, E, F, Fut>(what: &str, probe: F) -> T
where
    E: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    capstan_test_support::eventually(what, WAIT, probe).await
}

/// Whether `labels` carry `key` = `value`.
pub fn has_label(labels: &std::collections::BTreeMap<String, String>, key: &str, value: &str) -> bool {
    labels.get(key).map(String::as_str) == Some(value)
}

/// The label keys a runtime must set on a container of `pod` named `name`.
pub fn expected_container_labels(pod: &Pod, name: &str) -> Vec<(&'static str, String)> {
    let meta = pod.config.metadata.clone().unwrap_or_default();
    vec![
        (labels::KIND, labels::KIND_CONTAINER.to_string()),
        (labels::SANDBOX_ID, pod.id.clone()),
        (labels::POD_UID, meta.uid),
        (labels::POD_NAME, meta.name),
        (labels::POD_NAMESPACE, meta.namespace),
        (labels::CONTAINER_NAME, name.to_string()),
        ("container", name.to_string()),
    ]
}
