//! Table-driven tests of [`crate::status`]: phase, conditions and readiness.

use std::collections::BTreeMap;

use capstan_proto::core::v1::{Container, Pod, PodSpec};
use capstan_proto::meta::v1::Time;

use crate::decide::{Plan, Waiting};
use crate::model::{ContainerRecord, PodRuntime, RunState, SandboxRecord};
use crate::status::{pod_status, ProbeView, StatusInputs};

fn pod(policy: &str, init: &[&str], apps: &[&str]) -> Pod {
    let container =
        |name: &&str| Container { name: name.to_string(), image: "capstan/test:1".into(), ..Default::default() };
    Pod {
        spec: Some(PodSpec {
            restart_policy: policy.into(),
            init_containers: init.iter().map(container).collect(),
            containers: apps.iter().map(container).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn record(name: &str, attempt: u32, state: RunState, exit_code: i32) -> ContainerRecord {
    ContainerRecord {
        id: format!("{name}-{attempt}"),
        sandbox_id: "sb".into(),
        name: name.into(),
        attempt,
        state,
        exit_code,
        started_at: 1_000_000_000,
        finished_at: if state == RunState::Exited { 2_000_000_000 } else { 0 },
        ..Default::default()
    }
}

use RunState::{Exited, Running};

#[test]
fn phases_and_conditions() {
    // (what, pod, records, crash-looping containers, probes not ready, phase, [Initialized, ContainersReady, Ready])
    type Row = (
        &'static str,
        Pod,
        Vec<ContainerRecord>,
        &'static [&'static str],
        &'static [&'static str],
        &'static str,
        [bool; 3],
    );
    let rows: Vec<Row> = vec![
        ("nothing started", pod("Always", &[], &["app"]), vec![], &[], &[], "Pending", [true, false, false]),
        (
            "init running",
            pod("Always", &["i"], &["app"]),
            vec![record("i", 0, Running, 0)],
            &[],
            &[],
            "Pending",
            [false, false, false],
        ),
        (
            "init failed under Never",
            pod("Never", &["i"], &["app"]),
            vec![record("i", 0, Exited, 1)],
            &[],
            &[],
            "Failed",
            [false, false, false],
        ),
        (
            "running and ready",
            pod("Always", &["i"], &["app"]),
            vec![record("i", 0, Exited, 0), record("app", 0, Running, 0)],
            &[],
            &[],
            "Running",
            [true, true, true],
        ),
        (
            "running, readiness failing",
            pod("Always", &[], &["app"]),
            vec![record("app", 0, Running, 0)],
            &[],
            &["app-0"],
            "Running",
            [true, false, false],
        ),
        (
            "one of two running",
            pod("Always", &[], &["a", "b"]),
            vec![record("a", 0, Running, 0)],
            &[],
            &[],
            "Pending",
            [true, false, false],
        ),
        (
            "crash-looping under Always",
            pod("Always", &[], &["app"]),
            vec![record("app", 2, Exited, 1)],
            &["app"],
            &[],
            "Running",
            [true, false, false],
        ),
        (
            "exited 0 under OnFailure",
            pod("OnFailure", &[], &["app"]),
            vec![record("app", 0, Exited, 0)],
            &[],
            &[],
            "Succeeded",
            [true, false, false],
        ),
        (
            "exited 1 under OnFailure",
            pod("OnFailure", &[], &["app"]),
            vec![record("app", 0, Exited, 1)],
            &[],
            &[],
            "Running",
            [true, false, false],
        ),
        (
            "exited 1 under Never",
            pod("Never", &[], &["app"]),
            vec![record("app", 0, Exited, 1)],
            &[],
            &[],
            "Failed",
            [true, false, false],
        ),
        (
            "mixed under Never",
            pod("Never", &[], &["a", "b"]),
            vec![record("a", 0, Exited, 0), record("b", 0, Exited, 2)],
            &[],
            &[],
            "Failed",
            [true, false, false],
        ),
        (
            "all succeeded under Never",
            pod("Never", &[], &["a", "b"]),
            vec![record("a", 0, Exited, 0), record("b", 0, Exited, 0)],
            &[],
            &[],
            "Succeeded",
            [true, false, false],
        ),
    ];
    for (what, pod, containers, crashing, not_ready, want_phase, want) in rows {
        let runtime = PodRuntime {
            sandboxes: vec![SandboxRecord {
                id: "sb".into(),
                ready: true,
                ip: "10.88.0.9".into(),
                ..Default::default()
            }],
            containers,
        };
        let waiting: BTreeMap<String, Waiting> = crashing
            .iter()
            .map(|n| (n.to_string(), Waiting { reason: "CrashLoopBackOff".into(), message: String::new() }))
            .collect();
        let plan = Plan { waiting, ..Default::default() };
        let probes: BTreeMap<String, ProbeView> =
            not_ready.iter().map(|id| (id.to_string(), ProbeView { started: true, ready: false })).collect();
        let inputs = StatusInputs {
            pod: &pod,
            runtime: &runtime,
            plan: &plan,
            probes: &probes,
            runtime_name: "docker",
            host_ip: "192.0.2.1",
            kill_notes: &BTreeMap::new(),
            now: Time { seconds: 100, nanos: 0 },
        };
        let status = pod_status(&inputs);
        assert_eq!(status.phase, want_phase, "{what}");
        let get = |kind: &str| status.conditions.iter().find(|c| c.r#type == kind).map(|c| c.status == "True");
        assert_eq!(get("PodScheduled"), Some(true), "{what}");
        assert_eq!([get("Initialized"), get("ContainersReady"), get("Ready")], want.map(Some), "{what}");
        assert_eq!((status.pod_ip.as_str(), status.host_ip.as_str()), ("10.88.0.9", "192.0.2.1"), "{what}");
    }
}

#[test]
fn container_statuses_carry_ids_restarts_and_the_last_state() {
    let pod = pod("Always", &[], &["app"]);
    let runtime = PodRuntime {
        sandboxes: vec![SandboxRecord { id: "sb".into(), ready: true, ..Default::default() }],
        containers: vec![record("app", 1, Exited, 137), record("app", 2, Running, 0)],
    };
    let plan = Plan::default();
    let probes = BTreeMap::new();
    let inputs = StatusInputs {
        pod: &pod,
        runtime: &runtime,
        plan: &plan,
        probes: &probes,
        runtime_name: "docker",
        host_ip: "",
        kill_notes: &BTreeMap::new(),
        now: Time { seconds: 5, nanos: 0 },
    };
    let status = pod_status(&inputs);
    let app = &status.container_statuses[0];
    assert_eq!(app.container_id, "docker://app-2");
    assert_eq!(app.restart_count, 2);
    assert!(app.ready);
    let last = app.last_state.as_ref().and_then(|s| s.terminated.as_ref()).expect("last state");
    assert_eq!((last.exit_code, last.reason.as_str(), last.container_id.as_str()), (137, "Error", "docker://app-1"));
    assert_eq!(
        app.state.as_ref().and_then(|s| s.running.as_ref()).and_then(|r| r.started_at),
        Some(Time { seconds: 1, nanos: 0 })
    );

    // a condition keeps its transition time while its status holds
    let mut again = pod.clone();
    again.status = Some(status.clone());
    let later = StatusInputs { pod: &again, now: Time { seconds: 50, nanos: 0 }, ..inputs };
    assert_eq!(pod_status(&later), status);
}

#[test]
fn a_kill_note_becomes_the_terminated_message_and_outlives_the_kubelet() {
    let pod = pod("Always", &[], &["app"]);
    let runtime = PodRuntime {
        sandboxes: vec![SandboxRecord { id: "sb".into(), ready: true, ..Default::default() }],
        containers: vec![record("app", 0, Exited, 137), record("app", 1, Running, 0)],
    };
    let (plan, probes) = (Plan::default(), BTreeMap::new());
    let note = "Container app failed liveness probe, will be restarted";
    let notes = BTreeMap::from([("app-0".to_string(), note.to_string())]);
    let inputs = StatusInputs {
        pod: &pod,
        runtime: &runtime,
        plan: &plan,
        probes: &probes,
        runtime_name: "docker",
        host_ip: "",
        kill_notes: &notes,
        now: Time { seconds: 5, nanos: 0 },
    };
    let status = pod_status(&inputs);
    let message = |status: &capstan_proto::core::v1::PodStatus| {
        let last = status.container_statuses[0].last_state.clone().and_then(|s| s.terminated).expect("last state");
        (last.reason, last.message)
    };
    assert_eq!(message(&status), ("Error".to_string(), note.to_string()));

    // a restarted kubelet has no notes, but the pod's status still says why
    let mut written = pod.clone();
    written.status = Some(status.clone());
    let restarted =
        StatusInputs { pod: &written, kill_notes: &BTreeMap::new(), now: Time { seconds: 6, nanos: 0 }, ..inputs };
    assert_eq!(message(&pod_status(&restarted)), ("Error".to_string(), note.to_string()));

    // a container that exited by itself has no message
    let fresh = StatusInputs { kill_notes: &BTreeMap::new(), now: Time { seconds: 7, nanos: 0 }, ..inputs };
    assert_eq!(message(&pod_status(&fresh)), ("Error".to_string(), String::new()));
}
