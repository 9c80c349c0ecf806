//! Table-driven tests of [`crate::decide`]: one row per situation a pod can be in.

use std::collections::BTreeMap;
use std::time::Duration;

use capstan_proto::core::v1::{Container, PodSpec};
use tokio::time::Instant;

use crate::backoff::CrashBackoff;
use crate::decide::{decide, Action, Inputs, Kill, Start};
use crate::model::{ContainerRecord, PodRuntime, RunState, SandboxRecord, Unhealthy};

fn spec(policy: &str, init: &[&str], apps: &[&str]) -> PodSpec {
    let container =
        |name: &&str| Container { name: name.to_string(), image: "capstan/test:1".into(), ..Default::default() };
    PodSpec {
        restart_policy: policy.into(),
        init_containers: init.iter().map(container).collect(),
        containers: apps.iter().map(container).collect(),
        ..Default::default()
    }
}

fn sandbox(ready: bool) -> SandboxRecord {
    SandboxRecord { id: "sb".into(), attempt: 0, ready, ip: "10.88.0.2".into(), created_at: 1 }
}

fn running(name: &str, attempt: u32) -> ContainerRecord {
    ContainerRecord {
        id: format!("{name}-{attempt}"),
        sandbox_id: "sb".into(),
        name: name.into(),
        attempt,
        state: RunState::Running,
        started_at: 1,
        ..Default::default()
    }
}

fn exited(name: &str, attempt: u32, code: i32) -> ContainerRecord {
    ContainerRecord { state: RunState::Exited, exit_code: code, finished_at: 2, ..running(name, attempt) }
}

fn start(name: &str, init: bool, attempt: u32, start: Start) -> Action {
    Action::StartContainer { name: name.into(), init, attempt, start }
}

struct Row {
    what: &'static str,
    spec: PodSpec,
    sandbox: Option<SandboxRecord>,
    containers: Vec<ContainerRecord>,
    unhealthy: &'static [(&'static str, &'static str)],
    /// restarts of "app" recorded just now
    restarts: u32,
    actions: Vec<Action>,
    waiting: &'static [&'static str],
    finished: bool,
}

fn row(what: &'static str, spec: PodSpec, sandbox: Option<SandboxRecord>, containers: Vec<ContainerRecord>) -> Row {
    Row { what, spec, sandbox, containers, unhealthy: &[], restarts: 0, actions: vec![], waiting: &[], finished: false }
}

#[tokio::test(start_paused = true)]
async fn decisions() {
    let kill = |id: &str, name: &str, reason: &str, message: &str, probe_output: Option<&str>| {
        Action::KillContainer(Kill {
            id: id.into(),
            name: name.into(),
            reason: reason.into(),
            message: message.into(),
            probe_output: probe_output.map(String::from),
        })
    };
    let rows = vec![
        Row {
            actions: vec![Action::RunSandbox { attempt: 0 }],
            ..row("new pod: sandbox first", spec("Always", &[], &["app"]), None, vec![])
        },
        Row {
            actions: vec![
                kill(
                    "app-0",
                    "app",
                    "SandboxChanged",
                    "Pod sandbox changed, container app will be killed and re-created",
                    None,
                ),
                Action::RunSandbox { attempt: 1 },
            ],
            ..row(
                "dead sandbox: kill and recreate",
                spec("Always", &[], &["app"]),
                Some(SandboxRecord { attempt: 0, ..sandbox(false) }),
                vec![running("app", 0)],
            )
        },
        Row {
            actions: vec![start("a", false, 0, Start::First), start("b", false, 0, Start::First)],
            ..row("app containers start together", spec("Always", &[], &["a", "b"]), Some(sandbox(true)), vec![])
        },
        Row {
            actions: vec![start("i1", true, 0, Start::First)],
            ..row("init containers first", spec("Always", &["i1", "i2"], &["app"]), Some(sandbox(true)), vec![])
        },
        row(
            "a running init container is waited for",
            spec("Always", &["i1", "i2"], &["app"]),
            Some(sandbox(true)),
            vec![running("i1", 0)],
        ),
        Row {
            actions: vec![start("i2", true, 0, Start::First)],
            ..row(
                "the next init container after success",
                spec("Always", &["i1", "i2"], &["app"]),
                Some(sandbox(true)),
                vec![exited("i1", 0, 0)],
            )
        },
        Row {
            actions: vec![start("app", false, 0, Start::First)],
            ..row(
                "apps after every init container",
                spec("Always", &["i1"], &["app"]),
                Some(sandbox(true)),
                vec![exited("i1", 0, 0)],
            )
        },
        Row {
            actions: vec![start("i1", true, 1, Start::Restart)],
            ..row(
                "a failed init container restarts under OnFailure",
                spec("OnFailure", &["i1"], &["app"]),
                Some(sandbox(true)),
                vec![exited("i1", 0, 1)],
            )
        },
        Row {
            actions: vec![Action::StopSandbox { id: "sb".into() }],
            finished: true,
            ..row(
                "a failed init container fails the pod under Never",
                spec("Never", &["i1"], &["app"]),
                Some(sandbox(true)),
                vec![exited("i1", 0, 1)],
            )
        },
        row(
            "a running container is left alone",
            spec("Always", &[], &["app"]),
            Some(sandbox(true)),
            vec![running("app", 0)],
        ),
        Row {
            actions: vec![start("app", false, 1, Start::Restart)],
            ..row(
                "Always restarts a success",
                spec("Always", &[], &["app"]),
                Some(sandbox(true)),
                vec![exited("app", 0, 0)],
            )
        },
        Row {
            actions: vec![Action::StopSandbox { id: "sb".into() }],
            finished: true,
            ..row(
                "OnFailure finishes on success",
                spec("OnFailure", &[], &["app"]),
                Some(sandbox(true)),
                vec![exited("app", 0, 0)],
            )
        },
        Row {
            actions: vec![start("app", false, 3, Start::Restart)],
            ..row(
                "OnFailure restarts a failure",
                spec("OnFailure", &[], &["app"]),
                Some(sandbox(true)),
                vec![exited("app", 2, 1)],
            )
        },
        Row {
            finished: true,
            ..row(
                "Never finishes on failure; a stopped sandbox stays stopped",
                spec("Never", &[], &["app"]),
                Some(sandbox(false)),
                vec![exited("app", 0, 1)],
            )
        },
        row(
            "Never with one container still running",
            spec("Never", &[], &["a", "b"]),
            Some(sandbox(true)),
            vec![exited("a", 0, 1), running("b", 0)],
        ),
        Row {
            restarts: 1,
            waiting: &["app"],
            ..row(
                "a second crash waits out the back-off",
                spec("Always", &[], &["app"]),
                Some(sandbox(true)),
                vec![exited("app", 1, 1)],
            )
        },
        Row {
            restarts: 1,
            actions: vec![start("app", false, 2, Start::Reset)],
            ..row(
                "a long run resets the back-off",
                spec("Always", &[], &["app"]),
                Some(sandbox(true)),
                vec![ContainerRecord { finished_at: 601_000_000_001, ..exited("app", 1, 1) }],
            )
        },
        Row {
            unhealthy: &[("app-0", "Liveness probe failed: no answer")],
            actions: vec![
                kill(
                    "app-0",
                    "app",
                    "Unhealthy",
                    "Container app failed liveness probe, will be restarted",
                    Some("Liveness probe failed: no answer"),
                ),
                start("app", false, 1, Start::Restart),
            ],
            ..row(
                "a liveness failure kills and restarts",
                spec("Always", &[], &["app"]),
                Some(sandbox(true)),
                vec![running("app", 0)],
            )
        },
        Row {
            unhealthy: &[("app-0", "Liveness probe failed: no answer")],
            actions: vec![kill(
                "app-0",
                "app",
                "Unhealthy",
                "Container app failed liveness probe",
                Some("Liveness probe failed: no answer"),
            )],
            ..row(
                "a liveness failure under Never only kills",
                spec("Never", &[], &["app"]),
                Some(sandbox(true)),
                vec![running("app", 0)],
            )
        },
    ];
    for row in rows {
        let mut backoff =
            CrashBackoff::new(Duration::from_secs(10), Duration::from_secs(300), Duration::from_secs(600));
        for _ in 0..row.restarts {
            backoff.record_restart("app", Instant::now());
        }
        let runtime = PodRuntime { sandboxes: row.sandbox.into_iter().collect(), containers: row.containers };
        let unhealthy: BTreeMap<String, Unhealthy> = row
            .unhealthy
            .iter()
            .map(|(id, output)| (id.to_string(), Unhealthy { probe: "liveness", output: output.to_string() }))
            .collect();
        let now = Instant::now();
        let plan =
            decide(&Inputs { spec: &row.spec, runtime: &runtime, backoff: &backoff, unhealthy: &unhealthy, now });
        assert_eq!(plan.actions, row.actions, "{}", row.what);
        assert_eq!(plan.waiting.keys().map(String::as_str).collect::<Vec<_>>(), row.waiting, "{}", row.what);
        assert_eq!(plan.finished, row.finished, "{}", row.what);
        for waiting in plan.waiting.values() {
            assert_eq!(waiting.reason, "CrashLoopBackOff", "{}", row.what);
            assert_eq!(plan.requeue_at, Some(now + Duration::from_secs(10)), "{}", row.what);
        }
    }
}
