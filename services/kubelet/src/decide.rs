//! The heart of the pod worker: given a pod's spec, what the runtime has for it,
//! the back-off state and the probes' verdicts, what to start, kill or wait for.
//!
//! A pure function of plain values, so every rule (sandbox first, init containers
//! one at a time, restart policies, crash-loop back-off, liveness kills) is tested
//! table-driven in `decide_tests` without a runtime. The worker carries out the
//! [`Plan`] and calls it again on the next event.

use std::collections::BTreeMap;

use capstan_proto::core::v1::{Container, PodSpec};
use tokio::time::Instant;

use crate::backoff::CrashBackoff;
use crate::model::{ContainerRecord, PodRuntime, RunState, Unhealthy};

/// What [`decide`] looks at.
pub struct Inputs<'a> {
    pub spec: &'a PodSpec,
    pub runtime: &'a PodRuntime,
    pub backoff: &'a CrashBackoff,
    /// running containers whose liveness or startup probe failed, by id
    pub unhealthy: &'a BTreeMap<String, Unhealthy>,
    pub now: Instant,
}

/// Why a container is (re)started, which decides what happens to its back-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// its first run
    First,
    /// a restart: the back-off grows
    Restart,
    /// a restart after a long run: the back-off starts over
    Reset,
}

/// One step for the worker to carry out, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    RunSandbox { attempt: u32 },
    StopSandbox { id: String },
    KillContainer(Kill),
    StartContainer { name: String, init: bool, attempt: u32, start: Start },
}

/// A container the kubelet kills, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kill {
    pub id: String,
    pub name: String,
    /// CamelCase, for logs: `Unhealthy`, `SandboxChanged`, `Unknown`
    pub reason: String,
    /// Kubernetes' words, for the `Killing` Event and the terminated state
    pub message: String,
    /// the failed probe's output, for the `Unhealthy` Event
    pub probe_output: Option<String>,
}

/// Why a container is not running, for its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub reason: String,
    pub message: String,
}

/// The outcome of [`decide`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub actions: Vec<Action>,
    /// containers held back, by name
    pub waiting: BTreeMap<String, Waiting>,
    /// decide again at this time even if nothing else happens
    pub requeue_at: Option<Instant>,
    /// the pod ran to completion: nothing will be started again
    pub finished: bool,
}

/// The restart policy, defaulted as the API server does.
pub fn restart_policy(spec: &PodSpec) -> &str {
    if spec.restart_policy.is_empty() {
        "Always"
    } else {
        &spec.restart_policy
    }
}

/// Whether a container that exited with `exit_code` runs again under `policy`.
pub fn should_restart(policy: &str, exit_code: i32) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => exit_code != 0,
        _ => true,
    }
}

/// Whether the pod has run to completion and must not be restarted.
pub fn is_finished(spec: &PodSpec, runtime: &PodRuntime) -> bool {
    let policy = restart_policy(spec);
    if policy == "Always" {
        return false;
    }
    let exited = |c: &Container| runtime.latest(&c.name).filter(|r| r.state == RunState::Exited);
    if policy == "Never" && spec.init_containers.iter().any(|c| exited(c).is_some_and(|r| r.exit_code != 0)) {
        return true;
    }
    !spec.containers.is_empty()
        && spec.containers.iter().all(|c| exited(c).is_some_and(|r| !should_restart(policy, r.exit_code)))
}

/// What to do next for the pod; see the module docs.
pub fn decide(inputs: &Inputs<'_>) -> Plan {
    let mut plan = Plan::default();
    let runtime = inputs.runtime;
    let sandbox = runtime.sandbox();
    if is_finished(inputs.spec, runtime) {
        plan.finished = true;
        if let Some(sandbox) = sandbox.filter(|s| s.ready) {
            plan.actions.push(Action::StopSandbox { id: sandbox.id.clone() });
        }
        return plan;
    }
    if !sandbox.is_some_and(|s| s.ready) {
        for live in runtime.live() {
            let message = format!("Pod sandbox changed, container {} will be killed and re-created", live.name);
            plan.actions.push(kill(live, "SandboxChanged", message, None));
        }
        plan.actions.push(Action::RunSandbox { attempt: sandbox.map_or(0, |s| s.attempt + 1) });
        plan.requeue_at = Some(inputs.now);
        return plan;
    }
    for container in &inputs.spec.init_containers {
        match runtime.latest(&container.name) {
            Some(done) if done.state == RunState::Exited && done.exit_code == 0 => continue,
            latest => {
                step(inputs, &mut plan, container, latest, true);
                return plan;
            }
        }
    }
    for container in &inputs.spec.containers {
        step(inputs, &mut plan, container, runtime.latest(&container.name), false);
    }
    plan
}

/// The next step for one container, given its newest attempt.
fn step(inputs: &Inputs<'_>, plan: &mut Plan, container: &Container, latest: Option<&ContainerRecord>, init: bool) {
    let policy = restart_policy(inputs.spec);
    let name = &container.name;
    let Some(latest) = latest else {
        plan.actions.push(Action::StartContainer { name: name.clone(), init, attempt: 0, start: Start::First });
        return;
    };
    let needs_restart = match latest.state {
        RunState::Exited => should_restart(policy, latest.exit_code),
        RunState::Running => match inputs.unhealthy.get(&latest.id) {
            Some(unhealthy) => {
                let restart = policy != "Never";
                let then = if restart { ", will be restarted" } else { "" };
                let message = format!("Container {name} failed {} probe{then}", unhealthy.probe);
                plan.actions.push(kill(latest, "Unhealthy", message, Some(unhealthy.output.clone())));
                restart
            }
            None => false,
        },
        RunState::Created | RunState::Unknown => {
            let message = format!("Container {name} is in an unknown state, will be restarted");
            plan.actions.push(kill(latest, "Unknown", message, None));
            true
        }
    };
    if !needs_restart {
        return;
    }
    let attempt = inputs.runtime.next_attempt(name);
    if latest.state == RunState::Exited && latest.ran_for() >= inputs.backoff.reset_after() {
        plan.actions.push(Action::StartContainer { name: name.clone(), init, attempt, start: Start::Reset });
        return;
    }
    match inputs.backoff.blocked_until(name, inputs.now) {
        Some(until) => {
            let delay = inputs.backoff.current_delay(name);
            let message = format!("back-off {}s restarting failed container={name}", delay.as_secs());
            plan.waiting.insert(name.clone(), Waiting { reason: "CrashLoopBackOff".into(), message });
            plan.requeue_at = Some(plan.requeue_at.map_or(until, |at| at.min(until)));
        }
        None => plan.actions.push(Action::StartContainer { name: name.clone(), init, attempt, start: Start::Restart }),
    }
}

fn kill(container: &ContainerRecord, reason: &str, message: String, probe_output: Option<String>) -> Action {
    Action::KillContainer(Kill {
        id: container.id.clone(),
        name: container.name.clone(),
        reason: reason.to_string(),
        message,
        probe_output,
    })
}
