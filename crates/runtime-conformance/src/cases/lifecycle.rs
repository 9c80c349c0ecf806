//! Exit codes and reasons, stopping (SIGTERM, then SIGKILL after the timeout),
//! stopping a whole sandbox, and removal — which, like stop, is idempotent because
//! the kubelet retries.

use std::time::{Duration, Instant};

use capstan_proto::runtime::v1::*;
use tonic::Code;

use crate::fixtures::{container_config, eventually};
use crate::Runtime;

/// How much longer than its timeout a stop may take (a busy, shared machine).
const STOP_SLACK: Duration = Duration::from_secs(30);

pub async fn exit_codes_and_reasons(rt: Runtime) {
    let pod = rt.run_pod("exits").await;
    let failing = rt.start(&pod, "failing", &["sh", "-c", "exit 3"]).await;
    let succeeding = rt.start(&pod, "succeeding", &["true"]).await;
    let failed = rt.wait_for_state(&failing, ContainerState::ContainerExited).await;
    assert_eq!((failed.exit_code, failed.reason.as_str()), (3, "Error"), "{failed:?}");
    assert!(failed.started_at > 0 && failed.finished_at >= failed.started_at, "{failed:?}");
    let succeeded = rt.wait_for_state(&succeeding, ContainerState::ContainerExited).await;
    assert_eq!((succeeded.exit_code, succeeded.reason.as_str()), (0, "Completed"), "{succeeded:?}");
    let again =
        rt.clients.runtime.clone().start_container(StartContainerRequest { container_id: failing.clone() }).await;
    assert!(again.is_err(), "an exited container cannot be started again (the kubelet creates a new attempt)");
}

pub async fn stop_kills_a_process_ignoring_sigterm(rt: Runtime) {
    let pod = rt.run_pod("stubborn").await;
    let id = rt.start(&pod, "stubborn", &["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]).await;
    rt.wait_for_state(&id, ContainerState::ContainerRunning).await;
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let request = StopContainerRequest { container_id: id.clone(), timeout: timeout.as_secs() as i64 };
    rt.clients.runtime.clone().stop_container(request).await.expect("StopContainer");
    let took = started.elapsed();
    assert!(took + Duration::from_millis(500) >= timeout, "stop waited out the timeout before killing, took {took:?}");
    assert!(took <= timeout + STOP_SLACK, "stop took {took:?} for a {timeout:?} timeout");
    let status = rt.status(&id).await;
    assert_eq!((status.state, status.exit_code), (ContainerState::ContainerExited as i32, 137), "{status:?}");
    let request = StopContainerRequest { container_id: id.clone(), timeout: 2 };
    rt.clients.runtime.clone().stop_container(request).await.expect("stopping an exited container is a no-op");
}

pub async fn stop_lets_a_process_exit_on_sigterm(rt: Runtime) {
    let pod = rt.run_pod("graceful").await;
    let script = "trap 'exit 0' TERM; echo ready; while :; do sleep 1 & wait $!; done";
    let id = rt.start(&pod, "graceful", &["sh", "-c", script]).await;
    eventually("the container to trap TERM", || async {
        let logs = rt.logs(&id).await;
        if logs.contains("ready") {
            Ok(())
        } else {
            Err(logs)
        }
    })
    .await;
    let request = StopContainerRequest { container_id: id.clone(), timeout: 30 };
    rt.clients.runtime.clone().stop_container(request).await.expect("StopContainer");
    let status = rt.status(&id).await;
    assert_eq!(status.state, ContainerState::ContainerExited as i32, "{status:?}");
    assert_eq!((status.exit_code, status.reason.as_str()), (0, "Completed"), "exited on SIGTERM: {status:?}");
}

pub async fn stop_sandbox_stops_its_containers(rt: Runtime) {
    let pod = rt.run_pod("stopped").await;
    let id = rt.start(&pod, "sleeper", &["sleep", "3600"]).await;
    rt.wait_for_state(&id, ContainerState::ContainerRunning).await;
    let stop = StopPodSandboxRequest { pod_sandbox_id: pod.id.clone() };
    rt.clients.runtime.clone().stop_pod_sandbox(stop.clone()).await.expect("StopPodSandbox");
    rt.clients.runtime.clone().stop_pod_sandbox(stop).await.expect("StopPodSandbox is idempotent");
    let status = rt.sandbox_status(&pod.id).await;
    assert_eq!(status.state, PodSandboxState::SandboxNotready as i32, "{status:?}");
    rt.wait_for_state(&id, ContainerState::ContainerExited).await;
    let refused = rt.create(&pod, container_config("late", &rt.images.test, &["sleep", "1"])).await;
    let code = refused.as_ref().map_err(|s| s.code());
    assert_eq!(code, Err(Code::FailedPrecondition), "creating in a stopped sandbox: {refused:?}");
}

pub async fn remove_container_and_sandbox(rt: Runtime) {
    let pod = rt.run_pod("removed").await;
    let first = rt.start(&pod, "first", &["sleep", "3600"]).await;
    let second = rt.start(&pod, "second", &["sleep", "3600"]).await;
    let mut runtime = rt.clients.runtime.clone();
    let remove = RemoveContainerRequest { container_id: first.clone() };
    runtime.remove_container(remove.clone()).await.expect("removing a running container");
    runtime.remove_container(remove).await.expect("RemoveContainer is idempotent");
    let gone = runtime.container_status(ContainerStatusRequest { container_id: first.clone() }).await;
    assert_eq!(gone.map(|_| ()).map_err(|s| s.code()), Err(Code::NotFound));
    let listed = runtime.list_containers(ListContainersRequest::default()).await.expect("list").into_inner().containers;
    assert_eq!(listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [second.as_str()]);

    let remove = RemovePodSandboxRequest { pod_sandbox_id: pod.id.clone() };
    runtime.remove_pod_sandbox(remove.clone()).await.expect("removing a ready sandbox with a running container");
    runtime.remove_pod_sandbox(remove).await.expect("RemovePodSandbox is idempotent");
    let stop = StopPodSandboxRequest { pod_sandbox_id: pod.id.clone() };
    runtime.stop_pod_sandbox(stop).await.expect("stopping a removed sandbox is a no-op");
    let gone = runtime.pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: pod.id.clone() }).await;
    assert_eq!(gone.map(|_| ()).map_err(|s| s.code()), Err(Code::NotFound));
    let sandboxes = runtime.list_pod_sandbox(ListPodSandboxRequest::default()).await.expect("list").into_inner().items;
    assert!(sandboxes.is_empty(), "{sandboxes:?}");
    let containers =
        runtime.list_containers(ListContainersRequest::default()).await.expect("list").into_inner().containers;
    assert!(containers.is_empty(), "the sandbox's containers went with it: {containers:?}");
}
