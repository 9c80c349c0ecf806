//! Carrying out a [`Plan`]: running sandboxes, pulling and starting containers,
//! killing the ones the plan names. A failure to start a container becomes that
//! container's waiting reason (`ErrImagePull`, `ErrImageNeverPull`,
//! `CreateContainerError`) rather than aborting the sync.

use capstan_proto::core::v1::Pod;
use capstan_proto::runtime::v1::{CreateContainerRequest, RunPodSandboxRequest, StartContainerRequest};
use tokio::time::Instant;

use crate::backoff::CrashBackoff;
use crate::decide::{Action, Plan, Start, Waiting};
use crate::images::ensure_image;
use crate::model::PodRuntime;
use crate::podconfig::{container_config, sandbox_config};
use crate::runtime::Runtime;
use crate::KubeletError;

/// Grace a container killed by the plan gets, in seconds.
const KILL_GRACE_SECONDS: i64 = 2;

/// Carries out `plan` for `pod`; failures to start containers land in
/// `plan.waiting`.
pub async fn execute(
    runtime: &Runtime,
    pod: &Pod,
    snapshot: &PodRuntime,
    plan: &mut Plan,
    backoff: &mut CrashBackoff,
    host_ip: &str,
) -> Result<(), KubeletError> {
    let actions = std::mem::take(&mut plan.actions);
    for action in &actions {
        match action {
            Action::RunSandbox { attempt } => {
                let request = RunPodSandboxRequest { config: Some(sandbox_config(pod, *attempt)) };
                let reply = runtime.clients.runtime.clone().run_pod_sandbox(request).await;
                reply.map_err(KubeletError::runtime("RunPodSandbox", pod_name(pod)))?;
            }
            Action::StopSandbox { id } => runtime.stop_sandbox(id).await?,
            Action::KillContainer { id, name, reason } => {
                tracing::info!(pod = %pod_name(pod), container = %name, %reason, "killing container");
                runtime.stop_container(id, KILL_GRACE_SECONDS).await?;
            }
            Action::StartContainer { name, init, attempt, start } => {
                match *start {
                    Start::Restart => backoff.record_restart(name, Instant::now()),
                    Start::Reset => backoff.reset(name),
                    Start::First => {}
                }
                if let Err(error) = start_container(runtime, pod, snapshot, name, *init, *attempt, host_ip).await {
                    tracing::warn!(pod = %pod_name(pod), container = %name, %error, "could not start container");
                    let reason = match &error {
                        KubeletError::ImageNeverPull { .. } => "ErrImageNeverPull",
                        KubeletError::ImagePull { .. } => "ErrImagePull",
                        _ => "CreateContainerError",
                    };
                    plan.waiting.insert(name.clone(), Waiting { reason: reason.into(), message: error.to_string() });
                }
            }
        }
    }
    plan.actions = actions;
    Ok(())
}

async fn start_container(
    runtime: &Runtime,
    pod: &Pod,
    snapshot: &PodRuntime,
    name: &str,
    init: bool,
    attempt: u32,
    host_ip: &str,
) -> Result<(), KubeletError> {
    let spec = pod.spec.clone().unwrap_or_default();
    let list = if init { &spec.init_containers } else { &spec.containers };
    let container = list
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| KubeletError::NoSuchContainer { pod: pod_name(pod), container: name.to_string() })?;
    let sandbox = snapshot.sandbox().ok_or_else(|| KubeletError::NoSuchPod { pod: pod_name(pod) })?;
    let sandbox_config = sandbox_config(pod, sandbox.attempt);
    ensure_image(runtime, &container.image, &container.image_pull_policy, &sandbox_config).await?;
    let request = CreateContainerRequest {
        pod_sandbox_id: sandbox.id.clone(),
        config: Some(container_config(pod, container, attempt, &sandbox.ip, host_ip)),
        sandbox_config: Some(sandbox_config),
    };
    let reply = runtime.clients.runtime.clone().create_container(request).await;
    let id = reply
        .map_err(KubeletError::runtime("CreateContainer", format!("{}/{name}", pod_name(pod))))?
        .into_inner()
        .container_id;
    let request = StartContainerRequest { container_id: id.clone() };
    runtime
        .clients
        .runtime
        .clone()
        .start_container(request)
        .await
        .map_err(KubeletError::runtime("StartContainer", &id))?;
    tracing::info!(pod = %pod_name(pod), container = %name, attempt, %id, "started container");
    Ok(())
}

/// `namespace/name` of a pod, for messages.
pub fn pod_name(pod: &Pod) -> String {
    let meta = pod.metadata.clone().unwrap_or_default();
    format!("{}/{}", meta.namespace, meta.name)
}
