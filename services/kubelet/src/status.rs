//! A pod's status as Kubernetes reports it, computed from the spec, the runtime's
//! records, the last plan and the probes: container states, phase, conditions, IPs.
//!
//! Pure, so the phase and condition rules are tested table-driven (`status_tests`);
//! the worker writes the result only when it differs from what the API server has.

use std::collections::BTreeMap;

use capstan_proto::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
    Pod, PodCondition, PodIp, PodStatus,
};
use capstan_proto::meta::v1::Time;

use crate::decide::{restart_policy, Plan};
use crate::model::{ContainerRecord, PodRuntime, RunState};

/// What the probes say of one running container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeView {
    pub started: bool,
    pub ready: bool,
}

/// What [`pod_status`] looks at.
pub struct StatusInputs<'a> {
    pub pod: &'a Pod,
    pub runtime: &'a PodRuntime,
    pub plan: &'a Plan,
    /// by container id; a running container without an entry has no probes
    pub probes: &'a BTreeMap<String, ProbeView>,
    /// `docker`, `memory`, …: the prefix of container IDs
    pub runtime_name: &'a str,
    pub host_ip: &'a str,
    /// container id → why the kubelet killed it (the terminated state's message)
    pub kill_notes: &'a BTreeMap<String, String>,
    pub now: Time,
}

/// The pod's status; see the module docs.
pub fn pod_status(inputs: &StatusInputs<'_>) -> PodStatus {
    let empty = Default::default();
    let spec = inputs.pod.spec.as_ref().unwrap_or(&empty);
    let old = inputs.pod.status.clone().unwrap_or_default();
    let init_statuses: Vec<ContainerStatus> =
        spec.init_containers.iter().map(|c| container_status(inputs, c, "PodInitializing")).collect();
    let initialized = spec
        .init_containers
        .iter()
        .all(|c| inputs.runtime.latest(&c.name).is_some_and(|r| r.state == RunState::Exited && r.exit_code == 0));
    let waiting_reason = if initialized { "ContainerCreating" } else { "PodInitializing" };
    let statuses: Vec<ContainerStatus> =
        spec.containers.iter().map(|c| container_status(inputs, c, waiting_reason)).collect();
    let phase = phase(restart_policy(spec), &old.phase, &init_statuses, initialized, &statuses);
    let containers_ready = !statuses.is_empty() && statuses.iter().all(|s| s.ready);
    let done = phase == "Succeeded" || phase == "Failed";
    let not_ready = if done { "PodCompleted" } else { "ContainersNotReady" };
    let conditions = vec![
        condition(&old, "PodScheduled", true, "", inputs.now),
        condition(&old, "Initialized", initialized, "ContainersNotInitialized", inputs.now),
        condition(&old, "ContainersReady", containers_ready && !done, not_ready, inputs.now),
        condition(&old, "Ready", containers_ready && !done, not_ready, inputs.now),
    ];
    let ip = inputs.runtime.sandbox().map(|s| s.ip.clone()).filter(|ip| !ip.is_empty()).unwrap_or(old.pod_ip);
    PodStatus {
        phase: phase.to_string(),
        conditions,
        host_ip: inputs.host_ip.to_string(),
        pod_ips: if ip.is_empty() { vec![] } else { vec![PodIp { ip: ip.clone() }] },
        pod_ip: ip,
        start_time: old.start_time.or(Some(inputs.now)),
        init_container_statuses: init_statuses,
        container_statuses: statuses,
        ..old
    }
}

/// Kubernetes' phase rules: pending until every init container succeeded and
/// every app container ran; then running while anything runs or will restart;
/// succeeded or failed once the restart policy lets nothing run again.
pub fn phase(
    policy: &str,
    old: &str,
    init: &[ContainerStatus],
    initialized: bool,
    apps: &[ContainerStatus],
) -> &'static str {
    match old {
        "Succeeded" => return "Succeeded",
        "Failed" => return "Failed",
        _ => {}
    }
    let failed_init = init.iter().any(|s| terminated(s).is_some_and(|t| t.exit_code != 0));
    if !initialized {
        return if failed_init && policy == "Never" { "Failed" } else { "Pending" };
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for status in apps {
        let state = status.state.as_ref();
        if state.is_some_and(|s| s.running.is_some()) {
            running += 1;
        } else if let Some(t) = terminated(status) {
            stopped += 1;
            succeeded += usize::from(t.exit_code == 0);
        } else if status.last_state.as_ref().is_some_and(|s| s.terminated.is_some()) {
            stopped += 1; // crash-looping: it ran before
        } else {
            waiting += 1;
        }
    }
    match () {
        _ if waiting > 0 => "Pending",
        _ if running > 0 => "Running",
        _ if stopped == 0 => "Pending",
        _ if policy == "Always" => "Running",
        _ if stopped == succeeded && running == 0 && stopped == apps.len() => "Succeeded",
        _ if policy == "Never" => "Failed",
        _ => "Running",
    }
}

fn terminated(status: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    status.state.as_ref().and_then(|s| s.terminated.as_ref())
}

fn container_status(inputs: &StatusInputs<'_>, container: &Container, not_created: &str) -> ContainerStatus {
    let latest = inputs.runtime.latest(&container.name);
    let id = |r: &ContainerRecord| format!("{}://{}", inputs.runtime_name, r.id);
    let waiting = inputs.plan.waiting.get(&container.name);
    let terminated = |r: &ContainerRecord| terminated_state(r, &id(r), &kill_note(inputs, r, &id(r)));
    let (state, last) = match (waiting, latest) {
        (Some(w), latest) => (waiting_state(&w.reason, &w.message), latest.map(terminated)),
        (None, Some(r)) => {
            let state = match r.state {
                RunState::Exited => terminated(r),
                _ => record_state(r),
            };
            (state, inputs.runtime.previous(&container.name).map(terminated))
        }
        (None, None) => (waiting_state(not_created, ""), None),
    };
    let probes = latest
        .filter(|r| r.state == RunState::Running)
        .map(|r| inputs.probes.get(&r.id).copied().unwrap_or(ProbeView { started: true, ready: true }));
    ContainerStatus {
        name: container.name.clone(),
        state: Some(state),
        last_state: last.filter(|s| s.terminated.is_some()),
        ready: probes.is_some_and(|p| p.started && p.ready),
        restart_count: latest.map_or(0, |r| i32::try_from(r.attempt).unwrap_or(i32::MAX)),
        image: container.image.clone(),
        image_id: latest.map(|r| r.image_ref.clone()).unwrap_or_default(),
        container_id: latest.map(id).unwrap_or_default(),
        started: Some(probes.is_some_and(|p| p.started)),
    }
}

/// The state of a container that has not exited.
fn record_state(record: &ContainerRecord) -> ContainerState {
    match record.state {
        RunState::Running => ContainerState {
            running: Some(ContainerStateRunning { started_at: Some(time(record.started_at)) }),
            ..Default::default()
        },
        _ => waiting_state("ContainerCreating", ""),
    }
}

/// Why the kubelet killed container `record`, if it did: noted by this kubelet,
/// or carried in the pod's status already (so it survives a kubelet restart).
fn kill_note(inputs: &StatusInputs<'_>, record: &ContainerRecord, id: &str) -> String {
    if let Some(note) = inputs.kill_notes.get(&record.id) {
        return note.clone();
    }
    let old = inputs.pod.status.as_ref();
    let statuses = old.into_iter().flat_map(|s| s.container_statuses.iter().chain(&s.init_container_statuses));
    let states = statuses.flat_map(|s| s.state.iter().chain(&s.last_state));
    states
        .filter_map(|s| s.terminated.as_ref())
        .find(|t| t.container_id == id && !t.message.is_empty())
        .map(|t| t.message.clone())
        .unwrap_or_default()
}

/// The terminated state of an exited container; the runtime's message wins over
/// the kubelet's note.
fn terminated_state(record: &ContainerRecord, id: &str, note: &str) -> ContainerState {
    if record.state != RunState::Exited {
        return ContainerState::default();
    }
    let reason = match record.reason.as_str() {
        "" if record.exit_code == 0 => "Completed",
        "" => "Error",
        reason => reason,
    };
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: record.exit_code,
            signal: 0,
            reason: reason.to_string(),
            message: if record.message.is_empty() { note.to_string() } else { record.message.clone() },
            started_at: Some(time(record.started_at)),
            finished_at: Some(time(record.finished_at)),
            container_id: id.to_string(),
        }),
        ..Default::default()
    }
}

fn waiting_state(reason: &str, message: &str) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting { reason: reason.to_string(), message: message.to_string() }),
        ..Default::default()
    }
}

/// Nanoseconds since the epoch as an API time (whole seconds, as Kubernetes prints).
pub fn time(nanos: i64) -> Time {
    Time { seconds: nanos.div_euclid(1_000_000_000), nanos: 0 }
}

/// A condition keeping its lastTransitionTime while its status is unchanged.
fn condition(old: &PodStatus, kind: &str, ok: bool, reason_if_not: &str, now: Time) -> PodCondition {
    let status = if ok { "True" } else { "False" };
    let previous = old.conditions.iter().find(|c| c.r#type == kind && c.status == status);
    PodCondition {
        r#type: kind.to_string(),
        status: status.to_string(),
        last_probe_time: None,
        last_transition_time: previous.and_then(|c| c.last_transition_time).or(Some(now)),
        reason: if ok { String::new() } else { reason_if_not.to_string() },
        message: String::new(),
    }
}
