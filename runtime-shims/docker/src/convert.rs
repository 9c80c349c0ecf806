//! Docker's view of a container (inspect and list answers) as the runtime
//! interface's statuses and list items.
//!
//! Pure functions of what the engine returned, so the mapping rules — states,
//! reasons, times, labels back into metadata and annotations — are tested without an
//! engine.

use std::collections::HashMap;

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary, ContainerSummaryStateEnum,
};
use capstan_proto::runtime::v1::*;
use capstan_shim_common::labels;

use crate::time::epoch_nanos;

type Labels = std::collections::BTreeMap<String, String>;

fn split(docker_labels: Option<HashMap<String, String>>) -> (Labels, Labels) {
    labels::decode(docker_labels.unwrap_or_default())
}

/// The interface's state for Docker's container status.
pub fn state_of(status: Option<ContainerStateStatusEnum>) -> ContainerState {
    match status {
        Some(ContainerStateStatusEnum::CREATED) => ContainerState::ContainerCreated,
        Some(
            ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::PAUSED | ContainerStateStatusEnum::RESTARTING,
        ) => ContainerState::ContainerRunning,
        Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD) => ContainerState::ContainerExited,
        _ => ContainerState::ContainerUnknown,
    }
}

fn summary_state(state: Option<ContainerSummaryStateEnum>) -> ContainerState {
    match state {
        Some(ContainerSummaryStateEnum::CREATED) => ContainerState::ContainerCreated,
        Some(
            ContainerSummaryStateEnum::RUNNING
            | ContainerSummaryStateEnum::PAUSED
            | ContainerSummaryStateEnum::RESTARTING,
        ) => ContainerState::ContainerRunning,
        Some(ContainerSummaryStateEnum::EXITED | ContainerSummaryStateEnum::DEAD) => ContainerState::ContainerExited,
        _ => ContainerState::ContainerUnknown,
    }
}

/// A container's status from `docker inspect`.
pub fn container_status(inspect: ContainerInspectResponse) -> ContainerStatus {
    let config = inspect.config.unwrap_or_default();
    let docker_state = inspect.state.unwrap_or_default();
    let (labels, annotations) = split(config.labels);
    let state = state_of(docker_state.status);
    let exit_code = docker_state.exit_code.unwrap_or_default() as i32;
    let reason = match state {
        ContainerState::ContainerExited if docker_state.oom_killed == Some(true) => "OOMKilled",
        ContainerState::ContainerExited if exit_code == 0 => "Completed",
        ContainerState::ContainerExited => "Error",
        _ => "",
    };
    let started_at = epoch_nanos(docker_state.started_at.as_deref().unwrap_or_default());
    let mounts = inspect.mounts.unwrap_or_default().into_iter().map(|m| Mount {
        container_path: m.destination.unwrap_or_default(),
        host_path: m.source.unwrap_or_default(),
        readonly: m.rw == Some(false),
    });
    ContainerStatus {
        id: inspect.id.unwrap_or_default(),
        metadata: Some(labels::container_metadata(&labels)),
        state: state as i32,
        created_at: epoch_nanos(inspect.created.as_deref().unwrap_or_default()),
        started_at,
        // Docker records a fast process's exit before its start; never report that
        finished_at: match epoch_nanos(docker_state.finished_at.as_deref().unwrap_or_default()) {
            0 => 0,
            finished => finished.max(started_at),
        },
        exit_code,
        image: Some(ImageSpec { image: config.image.unwrap_or_default() }),
        image_ref: inspect.image.unwrap_or_default(),
        reason: reason.to_string(),
        message: docker_state.error.unwrap_or_default(),
        log_path: labels.get(labels::LOG_PATH).cloned().unwrap_or_default(),
        mounts: mounts.collect(),
        labels,
        annotations,
    }
}

/// A container list item from `docker ps`.
pub fn container_item(summary: ContainerSummary) -> Container {
    let (labels, annotations) = split(summary.labels);
    Container {
        id: summary.id.unwrap_or_default(),
        pod_sandbox_id: labels.get(labels::SANDBOX_ID).cloned().unwrap_or_default(),
        metadata: Some(labels::container_metadata(&labels)),
        image: Some(ImageSpec { image: summary.image.unwrap_or_default() }),
        image_ref: summary.image_id.unwrap_or_default(),
        state: summary_state(summary.state) as i32,
        created_at: summary.created.unwrap_or_default().saturating_mul(1_000_000_000),
        labels,
        annotations,
    }
}

/// A sandbox's status from `docker inspect` of its pause container; the pod IP is
/// its address on `network`.
pub fn sandbox_status(inspect: ContainerInspectResponse, network: &str) -> PodSandboxStatus {
    let (labels, annotations) = split(inspect.config.and_then(|c| c.labels));
    let running = inspect.state.and_then(|s| s.running) == Some(true);
    let ip = inspect
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|mut networks| networks.remove(network))
        .and_then(|endpoint| endpoint.ip_address)
        .filter(|_| running)
        .unwrap_or_default();
    PodSandboxStatus {
        id: inspect.id.unwrap_or_default(),
        metadata: Some(labels::sandbox_metadata(&labels)),
        state: sandbox_state(running) as i32,
        created_at: epoch_nanos(inspect.created.as_deref().unwrap_or_default()),
        network: Some(PodSandboxNetworkStatus { ip }),
        labels,
        annotations,
    }
}

/// A sandbox list item from `docker ps`.
pub fn sandbox_item(summary: ContainerSummary) -> PodSandbox {
    let (labels, annotations) = split(summary.labels);
    let running = summary.state == Some(ContainerSummaryStateEnum::RUNNING);
    PodSandbox {
        id: summary.id.unwrap_or_default(),
        metadata: Some(labels::sandbox_metadata(&labels)),
        state: sandbox_state(running) as i32,
        created_at: summary.created.unwrap_or_default().saturating_mul(1_000_000_000),
        labels,
        annotations,
    }
}

fn sandbox_state(running: bool) -> PodSandboxState {
    if running {
        PodSandboxState::SandboxReady
    } else {
        PodSandboxState::SandboxNotready
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig, ContainerState as DockerState};

    fn exited(code: i64, oom: bool) -> ContainerInspectResponse {
        let state = DockerState {
            status: Some(ContainerStateStatusEnum::EXITED),
            exit_code: Some(code),
            oom_killed: Some(oom),
            started_at: Some("2024-01-01T00:00:00Z".into()),
            finished_at: Some("2024-01-01T00:00:01Z".into()),
            ..Default::default()
        };
        let labels = HashMap::from([
            (labels::CONTAINER_NAME.to_string(), "app".to_string()),
            (format!("{}note", labels::ANNOTATION_PREFIX), "kept".to_string()),
            ("from-the-image".to_string(), "dropped".to_string()),
        ]);
        let config =
            ContainerConfig { labels: Some(labels), image: Some("capstan/test:1".into()), ..Default::default() };
        ContainerInspectResponse { state: Some(state), config: Some(config), ..Default::default() }
    }

    #[test]
    fn exit_reasons() {
        assert_eq!(container_status(exited(0, false)).reason, "Completed");
        assert_eq!(container_status(exited(3, false)).reason, "Error");
        let oom = container_status(exited(137, true));
        assert_eq!((oom.reason.as_str(), oom.exit_code), ("OOMKilled", 137));
    }

    #[test]
    fn times_metadata_and_annotations_come_back() {
        let status = container_status(exited(0, false));
        assert_eq!(status.finished_at - status.started_at, 1_000_000_000);
        assert_eq!(status.metadata.map(|m| m.name), Some("app".to_string()));
        assert_eq!(status.annotations.get("note").map(String::as_str), Some("kept"));
        assert!(!status.labels.keys().any(|k| k.starts_with(labels::ANNOTATION_PREFIX)));
        assert!(!status.labels.contains_key("from-the-image"), "image labels are not the kubelet's");
    }

    #[test]
    fn states() {
        assert_eq!(state_of(Some(ContainerStateStatusEnum::CREATED)), ContainerState::ContainerCreated);
        assert_eq!(state_of(Some(ContainerStateStatusEnum::PAUSED)), ContainerState::ContainerRunning);
        assert_eq!(state_of(Some(ContainerStateStatusEnum::DEAD)), ContainerState::ContainerExited);
        assert_eq!(state_of(Some(ContainerStateStatusEnum::REMOVING)), ContainerState::ContainerUnknown);
        assert_eq!(state_of(None), ContainerState::ContainerUnknown);
    }
}
