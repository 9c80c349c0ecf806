//! The kubelet against a real API server and the in-memory runtime: node
//! registration, pods running to each restart policy's end, crash-loop back-off,
//! graceful deletion, adoption across a kubelet restart, liveness kills told like
//! Kubernetes, and a new pod reaching Running in one status write.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use capstan_client::{DeleteParams, ListParams, WatchEvent};
use capstan_cri::{labels, RuntimeClients};
use capstan_proto::coordination::v1::Lease;
use capstan_proto::core::v1::{Event, Node, Pod};
use capstan_proto::runtime::v1::{ContainerFilter, ListContainersRequest, ListPodSandboxRequest, PodSandboxFilter};
use capstan_proto::Resource;
use capstan_testkit::eventually;
use common::*;
use futures::StreamExt;

/// The container ids the runtime holds for pod `uid`.
async fn containers_of(runtime: &RuntimeClients, uid: &str) -> Vec<String> {
    let filter = ContainerFilter {
        label_selector: [(labels::POD_UID.to_string(), uid.to_string())].into(),
        ..Default::default()
    };
    let reply = runtime.runtime.clone().list_containers(ListContainersRequest { filter: Some(filter) }).await;
    reply.expect("list containers").into_inner().containers.into_iter().map(|c| c.id).collect()
}

async fn sandboxes_of(runtime: &RuntimeClients, uid: &str) -> usize {
    let filter = PodSandboxFilter {
        label_selector: [(labels::POD_UID.to_string(), uid.to_string())].into(),
        ..Default::default()
    };
    let reply = runtime.runtime.clone().list_pod_sandbox(ListPodSandboxRequest { filter: Some(filter) }).await;
    reply.expect("list sandboxes").into_inner().items.len()
}

/// Polls the runtime (bounded) until pod `uid` has nothing left in it.
async fn wait_runtime_empty(runtime: &RuntimeClients, uid: &str) {
    eventually("the runtime to be emptied of the pod", TIMEOUT, || async {
        let empty = containers_of(runtime, uid).await.is_empty() && sandboxes_of(runtime, uid).await == 0;
        empty.then_some(())
    })
    .await
}

#[tokio::test]
async fn the_node_registers_with_capacity_labels_and_a_lease() {
    let cluster = cluster().await;
    let (_memory, runtime) = memory_runtime("node-a").await;
    let kubelet = start_kubelet(&cluster, "node-a", runtime).await;
    let node = wait_for::<Node>(&cluster.client, None, "node-a", |n| n.is_some_and(|n| n.status.is_some()))
        .await
        .expect("node");
    let labels = &node.meta().labels;
    assert_eq!(labels.get("kubernetes.io/hostname").map(String::as_str), Some("node-a"));
    assert_eq!(labels.get("kubernetes.io/os").map(String::as_str), Some("linux"));
    assert_eq!(labels.get("capstan.io/runtime").map(String::as_str), Some("memory"));
    assert!(labels.contains_key("kubernetes.io/arch"));
    let status = node.status.expect("status");
    assert_eq!(status.capacity.get("pods").map(|q| q.string.as_str()), Some("110"));
    assert!(status.capacity.get("cpu").and_then(|q| q.to_milli().ok()).is_some_and(|m| m >= 1000));
    assert!(status.allocatable.contains_key("memory"));
    assert!(status.conditions.iter().any(|c| c.r#type == "Ready" && c.status == "True"));
    let info = status.node_info.expect("nodeInfo");
    assert!(info.container_runtime_version.starts_with("memory://"), "{}", info.container_runtime_version);
    assert_eq!(info.operating_system, "linux");
    let port = status.daemon_endpoints.and_then(|d| d.kubelet_endpoint).map(|e| e.port);
    assert_eq!(port, Some(i32::from(kubelet.addr().port())));
    assert!(status.addresses.iter().any(|a| a.r#type == "InternalIP" && a.address == "127.0.0.1"));
    let lease =
        wait_for::<Lease>(&cluster.client, Some("kube-node-lease"), "node-a", |l| l.is_some()).await.expect("lease");
    let spec = lease.spec.expect("lease spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("node-a"));
    assert!(spec.renew_time.is_some());
    kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn a_bound_pod_runs_with_an_ip_and_ready_conditions() {
    let cluster = cluster().await;
    let (_memory, runtime) = memory_runtime("node-a").await;
    let kubelet = start_kubelet(&cluster, "node-a", runtime).await;
    let mut web = container("web", &["httpd", "-f", "-p", "8080"]);
    web.readiness_probe = Some(capstan_proto::core::v1::Probe {
        exec: Some(capstan_proto::core::v1::ExecAction { command: vec!["true".into()] }),
        period_seconds: 1,
        ..Default::default()
    });
    create_and_bind(&cluster.client, &pod("web", "Always", vec![web]), "node-a").await;
    let running = wait_pod(&cluster.client, "web", |p| condition(p, "Ready").as_deref() == Some("True")).await;
    assert_eq!(phase(&running), "Running");
    let status = running.status.clone().expect("status");
    assert!(status.pod_ip.starts_with("10.88."), "{}", status.pod_ip);
    assert_eq!(status.pod_ips.len(), 1);
    assert_eq!(status.host_ip, "127.0.0.1");
    assert!(status.start_time.is_some());
    for kind in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
        assert_eq!(condition(&running, kind).as_deref(), Some("True"), "{kind}");
    }
    let web = container_status(&running, "web").expect("web status");
    assert!(web.ready && web.started == Some(true));
    assert!(web.container_id.starts_with("memory://"), "{}", web.container_id);
    assert!(web.state.as_ref().and_then(|s| s.running.as_ref()).is_some());
    kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn a_crashing_container_under_always_backs_off() {
    let cluster = cluster().await;
    let (_memory, runtime) = memory_runtime("node-a").await;
    let kubelet = start_kubelet(&cluster, "node-a", runtime).await;
    create_and_bind(
        &cluster.client,
        &pod("crash", "Always", vec![container("app", &["sh", "-c", "exit 1"])]),
        "node-a",
    )
    .await;
    let backed_off = AtomicBool::new(false);
    let crashed = wait_pod(&cluster.client, "crash", |p| {
        let Some(app) = container_status(p, "app") else { return false };
        let waiting = app.state.as_ref().and_then(|s| s.waiting.as_ref());
        if waiting.is_some_and(|w| w.reason == "CrashLoopBackOff") {
            backed_off.store(true, Ordering::SeqCst);
        }
        app.restart_count >= 3 && backed_off.load(Ordering::SeqCst)
    })
    .await;
    assert_eq!(phase(&crashed), "Running", "Always keeps a crash-looping pod Running");
    let app = container_status(&crashed, "app").expect("app");
    let last = app.last_state.as_ref().and_then(|s| s.terminated.as_ref()).expect("lastState.terminated");
    assert_eq!(last.exit_code, 1);
    assert_eq!(last.reason, "Error");
    assert_eq!(condition(&crashed, "Ready").as_deref(), Some("False"));
    kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn never_fails_and_on_failure_succeeds() {
    let cluster = cluster().await;
    let (_memory, runtime) = memory_runtime("node-a").await;
    let kubelet = start_kubelet(&cluster, "node-a", runtime).await;
    create_and_bind(&cluster.client, &pod("never", "Never", vec![container("app", &["sh", "-c", "exit 3"])]), "node-a")
        .await;
    create_and_bind(
        &cluster.client,
        &pod("once", "OnFailure", vec![container("app", &["sh", "-c", "exit 0"])]),
        "node-a",
    )
    .await;
    let failed = wait_pod(&cluster.client, "never", |p| phase(p) == "Failed").await;
    let app = container_status(&failed, "app").expect("app");
    let terminated = app.state.as_ref().and_then(|s| s.terminated.as_ref()).expect("terminated");
    assert_eq!((terminated.exit_code, app.restart_count), (3, 0));
    let succeeded = wait_pod(&cluster.client, "once", |p| phase(p) == "Succeeded").await;
    assert_eq!(condition(&succeeded, "Ready").as_deref(), Some("False"));
    kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn init_containers_run_first_and_delete_removes_everything() {
    let cluster = cluster().await;
    let (_memory, runtime) = memory_runtime("node-a").await;
    let kubelet = start_kubelet(&cluster, "node-a", runtime.clone()).await;
    let mut spec = pod("svc", "Always", vec![container("app", &["sleep", "infinity"])]);
    if let Some(s) = spec.spec.as_mut() {
        s.init_containers = vec![container("setup", &["sh", "-c", "echo ready"])];
    }
    let created = create_and_bind(&cluster.client, &spec, "node-a").await;
    let uid = created.meta().uid.clone();
    let running = wait_pod(&cluster.client, "svc", |p| phase(p) == "Running").await;
    let init = &running.status.as_ref().expect("status").init_container_statuses;
    assert!(init[0].state.as_ref().and_then(|s| s.terminated.as_ref()).is_some_and(|t| t.exit_code == 0));
    assert_eq!(containers_of(&runtime, &uid).await.len(), 2);

    let api = cluster.client.api::<Pod>(Some("default"));
    api.delete("svc", &DeleteParams::default().grace_period(5)).await.expect("delete");
    wait_for::<Pod>(&cluster.client, Some("default"), "svc", |p| p.is_none()).await;
    assert!(
        containers_of(&runtime, &uid).await.is_empty(),
        "the kubelet removed the containers before finishing the delete"
    );
    assert_eq!(sandboxes_of(&runtime, &uid).await, 0);
    kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn a_restarted_kubelet_adopts_running_containers_and_removes_orphans() {
    let cluster = cluster().await;
    let (_memory, runtime) = memory_runtime("node-a").await;
    let first = start_kubelet(&cluster, "node-a", runtime.clone()).await;
    let keep = create_and_bind(
        &cluster.client,
        &pod("keep", "Always", vec![container("app", &["sleep", "infinity"])]),
        "node-a",
    )
    .await;
    let gone = create_and_bind(
        &cluster.client,
        &pod("gone", "Always", vec![container("app", &["sleep", "infinity"])]),
        "node-a",
    )
    .await;
    let before = wait_pod(&cluster.client, "keep", |p| phase(p) == "Running").await;
    wait_pod(&cluster.client, "gone", |p| phase(p) == "Running").await;
    let id_before = container_status(&before, "app").expect("app").container_id.clone();
    first.stop().await.expect("the kubelet stops cleanly");

    // the pod is force-deleted while no kubelet runs: its containers are orphans
    let api = cluster.client.api::<Pod>(Some("default"));
    api.delete("gone", &DeleteParams::default().grace_period(0)).await.expect("force delete");
    assert_eq!(containers_of(&runtime, &gone.meta().uid).await.len(), 1);

    let second = start_kubelet(&cluster, "node-a", runtime.clone()).await;
    wait_runtime_empty(&runtime, &gone.meta().uid).await;
    let after = wait_pod(&cluster.client, "keep", |p| phase(p) == "Running").await;
    let app = container_status(&after, "app").expect("app");
    assert_eq!(app.container_id, id_before, "the same container, adopted");
    assert_eq!(app.restart_count, 0);
    assert_eq!(
        containers_of(&runtime, &keep.meta().uid).await,
        [id_before.trim_start_matches("memory://").to_string()]
    );
    second.stop().await.expect("the kubelet stops cleanly");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn a_failing_liveness_probe_restarts_the_container() {
    let cluster = cluster().await;
    let (_memory, runtime) = memory_runtime("node-a").await;
    let kubelet = start_kubelet(&cluster, "node-a", runtime).await;
    let mut app = container("app", &["sleep", "infinity"]);
    app.liveness_probe = Some(capstan_proto::core::v1::Probe {
        exec: Some(capstan_proto::core::v1::ExecAction { command: vec!["false".into()] }),
        period_seconds: 1,
        failure_threshold: 1,
        ..Default::default()
    });
    create_and_bind(&cluster.client, &pod("sick", "Always", vec![app]), "node-a").await;
    let restarted =
        wait_pod(&cluster.client, "sick", |p| container_status(p, "app").is_some_and(|c| c.restart_count >= 1)).await;
    let app = container_status(&restarted, "app").expect("app");
    let killed = app.last_state.as_ref().and_then(|s| s.terminated.as_ref()).expect("lastState.terminated");
    assert_eq!(killed.message, "Container app failed liveness probe, will be restarted", "{app:?}");
    // the kill is told in Events, as Kubernetes does
    let events = cluster.client.api::<Event>(Some("default"));
    let reasons = |events: &[Event]| -> Vec<(String, String)> {
        events
            .iter()
            .filter(|e| e.involved_object.as_ref().is_some_and(|o| o.name == "sick"))
            .map(|e| (e.reason.clone(), e.message.clone()))
            .collect()
    };
    let seen = capstan_test_support::eventually("the Killing and Unhealthy events", TIMEOUT, || async {
        let seen = reasons(&events.list(&ListParams::default()).await.expect("list events").0);
        let both =
            seen.iter().any(|(reason, _)| reason == "Killing") && seen.iter().any(|(reason, _)| reason == "Unhealthy");
        both.then_some(seen)
    })
    .await;
    assert!(
        seen.contains(&("Killing".into(), "Container app failed liveness probe, will be restarted".into())),
        "{seen:?}"
    );
    assert!(seen.iter().any(|(r, m)| r == "Unhealthy" && m.starts_with("Liveness probe failed")), "{seen:?}");
    kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn a_new_pod_goes_to_running_in_one_status_write() {
    let cluster = cluster().await;
    let (_memory, runtime) = memory_runtime("node-a").await;
    let kubelet = start_kubelet(&cluster, "node-a", runtime).await;
    let api = cluster.client.api::<Pod>(Some("default"));
    let params = ListParams::default().fields("metadata.name=quick");
    let mut watch = api.watch(&params, "").await.expect("watch");
    create_and_bind(&cluster.client, &pod("quick", "Always", vec![container("app", &["sleep", "infinity"])]), "node-a")
        .await;
    // sandbox, container and status in one sync: the first status the kubelet
    // writes (the API server's own default has no hostIP) is already Running
    let first = tokio::time::timeout(TIMEOUT, async {
        while let Some(Ok(event)) = watch.next().await {
            if let WatchEvent::Modified(pod) | WatchEvent::Added(pod) = event {
                if let Some(status) = pod.status.filter(|s| !s.host_ip.is_empty()) {
                    return status;
                }
            }
        }
        panic!("the watch ended");
    })
    .await
    .expect("a status within the timeout");
    assert_eq!(first.phase, "Running", "{first:#?}");
    kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn logs_since_leave_out_older_lines() {
    let cluster = cluster().await;
    let (memory, runtime) = memory_runtime("node-a").await;
    let kubelet = start_kubelet(&cluster, "node-a", runtime).await;
    create_and_bind(
        &cluster.client,
        &pod("talker", "Always", vec![container("app", &["sleep", "infinity"])]),
        "node-a",
    )
    .await;
    let running = wait_pod(&cluster.client, "talker", |p| phase(p) == "Running").await;
    let id = container_status(&running, "app").expect("app").container_id.trim_start_matches("memory://").to_string();
    // `since` counts whole seconds: "old" is written three seconds in the past
    memory.write_log_aged(&id, "old", false, Duration::from_secs(3)).await.expect("old line");
    memory.write_log(&id, "new", false).await.expect("new line");
    let logs = |since_seconds| {
        let request = capstan_kubelet::server::LogsRequest {
            namespace: "default".into(),
            pod: "talker".into(),
            container: String::new(),
            follow: false,
            tail_lines: None,
            previous: false,
            timestamps: false,
            since_seconds,
        };
        let api = kubelet.api();
        async move {
            let chunks: Vec<_> = api.logs(&request).await.expect("logs").collect().await;
            let bytes: Vec<u8> = chunks.into_iter().flat_map(|c| c.expect("chunk").data).collect();
            String::from_utf8(bytes).expect("utf-8")
        }
    };
    assert_eq!(logs(Some(1)).await, "new\n");
    assert_eq!(logs(None).await, "old\nnew\n");
    kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn a_container_created_early_but_never_started_is_replaced_and_removed() {
    use capstan_kubelet::podconfig::{container_config, sandbox_config};
    use capstan_proto::runtime::v1::{CreateContainerRequest, RunPodSandboxRequest};

    let cluster = cluster().await;
    let (_memory, runtime) = memory_runtime("node-a").await;
    let app = container("app", &["sleep", "infinity"]);
    let created = create_and_bind(&cluster.client, &pod("cut", "Always", vec![app.clone()]), "node-a").await;
    // what a kubelet that stopped right after an early create leaves behind
    let mut client = runtime.runtime.clone();
    let config = sandbox_config(&created, 0);
    let request = RunPodSandboxRequest { config: Some(config.clone()) };
    let sandbox = client.run_pod_sandbox(request).await.expect("sandbox").into_inner().pod_sandbox_id;
    let request = CreateContainerRequest {
        pod_sandbox_id: sandbox,
        config: Some(container_config(&created, &app, 0, ("", "127.0.0.1"), &[])),
        sandbox_config: Some(config),
    };
    let stale = client.create_container(request).await.expect("create").into_inner().container_id;

    let kubelet = start_kubelet(&cluster, "node-a", runtime.clone()).await;
    let running = wait_pod(&cluster.client, "cut", |p| phase(p) == "Running").await;
    let started =
        container_status(&running, "app").expect("app").container_id.trim_start_matches("memory://").to_string();
    assert_ne!(started, stale, "a new attempt runs");
    let uid = created.meta().uid.clone();
    capstan_test_support::eventually("the never-started container to be removed", TIMEOUT, || async {
        (containers_of(&runtime, &uid).await == [started.clone()]).then_some(())
    })
    .await;
    kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.assert_no_component_refused().await;
}
