//! A container's state as the runtime interface reports it, read from what
//! containerd holds: the record (labels, spec, creation time) and its task, if it
//! has one. Pure functions over those two, tested without containerd.
//!
//! A container without a task was never started (created) or lost its task when
//! containerd restarted (exited, code 255); a stopped task keeps its exit code and
//! time until the container is removed; the start time is a label on the record.

use capstan_proto::runtime::v1::{Container, ContainerState, ContainerStatus, ImageSpec, Mount};
use capstan_shim_common::labels;
use containerd_client::services::v1::Container as Record;
use containerd_client::types::v1::{Process, Status as TaskStatus};
use oci_spec::runtime::Spec;

use crate::lookup::{decoded, label, nanos, IMAGE, IMAGE_ID, STARTED_AT};

/// What the shim reads of a container: its record and its task, if it has one.
pub(crate) struct Observed {
    pub record: Record,
    pub task: Option<Process>,
}

impl Observed {
    pub fn state(&self) -> ContainerState {
        match self.task.as_ref().map(|t| t.status()) {
            None if label(&self.record, STARTED_AT).is_empty() => ContainerState::ContainerCreated,
            None => ContainerState::ContainerExited,
            Some(TaskStatus::Created) => ContainerState::ContainerCreated,
            Some(TaskStatus::Running | TaskStatus::Paused | TaskStatus::Pausing) => ContainerState::ContainerRunning,
            Some(TaskStatus::Stopped) => ContainerState::ContainerExited,
            Some(TaskStatus::Unknown) => ContainerState::ContainerUnknown,
        }
    }

    pub fn state_name(&self) -> &'static str {
        capstan_shim_common::state_name(self.state())
    }
}

/// The binds of a spec that the kubelet asked for (not the pod's own files).
fn user_mounts(spec: Option<&Spec>) -> Vec<Mount> {
    let pod_files = ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];
    spec.and_then(|spec| spec.mounts().as_ref())
        .into_iter()
        .flatten()
        .filter(|m| m.typ().as_deref() == Some("bind"))
        .filter(|m| !pod_files.iter().any(|file| m.destination() == std::path::Path::new(file)))
        .map(|m| Mount {
            container_path: m.destination().display().to_string(),
            host_path: m.source().as_ref().map(|s| s.display().to_string()).unwrap_or_default(),
            readonly: m.options().as_ref().is_some_and(|o| o.iter().any(|o| o == "ro")),
        })
        .collect()
}

fn exit_of(observed: &Observed) -> (i32, i64) {
    match &observed.task {
        Some(task) if task.status() == TaskStatus::Stopped => (task.exit_status as i32, nanos(task.exited_at.as_ref())),
        // started, but its task is gone (containerd restarted): nothing to report
        None if !label(&observed.record, STARTED_AT).is_empty() => (255, 0),
        _ => (0, 0),
    }
}

pub(crate) fn status_of(observed: &Observed) -> ContainerStatus {
    let record = &observed.record;
    let (labels, annotations) = decoded(record);
    let state = observed.state();
    let (exit_code, finished_at) = if state == ContainerState::ContainerExited { exit_of(observed) } else { (0, 0) };
    let reason = match (state, exit_code) {
        (ContainerState::ContainerExited, 0) => "Completed",
        (ContainerState::ContainerExited, _) => "Error",
        _ => "",
    };
    ContainerStatus {
        id: record.id.clone(),
        metadata: Some(labels::container_metadata(&crate::lookup::sorted(&record.labels))),
        state: state as i32,
        created_at: nanos(record.created_at.as_ref()),
        started_at: label(record, STARTED_AT).parse().unwrap_or_default(),
        finished_at,
        exit_code,
        image: Some(ImageSpec { image: label(record, IMAGE).to_string() }),
        image_ref: label(record, IMAGE_ID).to_string(),
        reason: reason.to_string(),
        message: String::new(),
        labels,
        annotations,
        mounts: user_mounts(crate::spec::stored_spec(record.spec.as_ref()).as_ref()),
        log_path: label(record, labels::LOG_PATH).to_string(),
    }
}

pub(crate) fn item_of(observed: &Observed) -> Container {
    let record = &observed.record;
    let (labels, annotations) = decoded(record);
    Container {
        id: record.id.clone(),
        pod_sandbox_id: label(record, labels::SANDBOX_ID).to_string(),
        metadata: Some(labels::container_metadata(&crate::lookup::sorted(&record.labels))),
        image: Some(ImageSpec { image: label(record, IMAGE).to_string() }),
        image_ref: label(record, IMAGE_ID).to_string(),
        state: observed.state() as i32,
        created_at: nanos(record.created_at.as_ref()),
        labels,
        annotations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(task: Option<Process>, started: bool) -> Observed {
        let mut record = Record { id: "c".into(), ..Default::default() };
        if started {
            record.labels.insert(STARTED_AT.into(), "5".into());
        }
        Observed { record, task }
    }

    fn task(status: TaskStatus, exit_status: u32) -> Process {
        Process {
            status: status as i32,
            exit_status,
            exited_at: Some(prost_types::Timestamp { seconds: 1, nanos: 2 }),
            ..Default::default()
        }
    }

    #[test]
    fn states_follow_the_task() {
        assert_eq!(observed(None, false).state(), ContainerState::ContainerCreated);
        assert_eq!(observed(Some(task(TaskStatus::Running, 0)), true).state(), ContainerState::ContainerRunning);
        assert_eq!(observed(Some(task(TaskStatus::Stopped, 0)), true).state(), ContainerState::ContainerExited);
        assert_eq!(observed(None, true).state(), ContainerState::ContainerExited, "started, task gone");
    }

    #[test]
    fn exits_carry_code_time_and_reason() {
        let failed = status_of(&observed(Some(task(TaskStatus::Stopped, 3)), true));
        assert_eq!((failed.exit_code, failed.finished_at, failed.reason.as_str()), (3, 1_000_000_002, "Error"));
        assert_eq!(failed.started_at, 5);
        let done = status_of(&observed(Some(task(TaskStatus::Stopped, 0)), true));
        assert_eq!(done.reason, "Completed");
        let running = status_of(&observed(Some(task(TaskStatus::Running, 0)), true));
        assert_eq!((running.exit_code, running.finished_at, running.reason.as_str()), (0, 0, ""));
    }
}
