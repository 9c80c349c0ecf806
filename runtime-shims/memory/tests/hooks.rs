//! The in-memory runtime's own promises, beyond the conformance suite: scripted
//! behaviour on tokio's (paused) clock and the test hooks the kubelet's tests use.
//! These call the runtime directly, without gRPC, so time can be paused.

use std::time::Duration;

use capstan_memory_shim::{MemoryConfig, MemoryRuntime};
use capstan_proto::runtime::v1::*;
use capstan_shim_common::ContainerRuntime;
use futures::StreamExt;

async fn runtime_with_pod() -> (MemoryRuntime, String) {
    let runtime = MemoryRuntime::new(MemoryConfig::default()).expect("runtime");
    let metadata = PodSandboxMetadata { name: "p".into(), uid: "u".into(), namespace: "n".into(), attempt: 0 };
    let config = PodSandboxConfig { metadata: Some(metadata), ..Default::default() };
    let sandbox = runtime.run_pod_sandbox(Some(config)).await.expect("sandbox");
    ContainerRuntime::pull_image(&runtime, "capstan/test:1", None).await.expect("pull");
    (runtime, sandbox)
}

async fn start(runtime: &MemoryRuntime, sandbox: &str, argv: &[&str]) -> String {
    let config = ContainerConfig {
        metadata: Some(ContainerMetadata { name: argv.join("-").replace(' ', "_"), attempt: 0 }),
        image: Some(ImageSpec { image: "capstan/test:1".into() }),
        command: argv.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let request = CreateContainerRequest { pod_sandbox_id: sandbox.into(), config: Some(config), sandbox_config: None };
    let id = ContainerRuntime::create_container(runtime, request).await.expect("create");
    ContainerRuntime::start_container(runtime, &id).await.expect("start");
    id
}

async fn status(runtime: &MemoryRuntime, id: &str) -> ContainerStatus {
    ContainerRuntime::container_status(runtime, id).await.expect("status")
}

#[tokio::test(start_paused = true)]
async fn sleep_exits_when_tokio_time_passes() {
    let (runtime, sandbox) = runtime_with_pod().await;
    let id = start(&runtime, &sandbox, &["sleep", "30"]).await;
    tokio::time::advance(Duration::from_secs(29)).await;
    assert_eq!(status(&runtime, &id).await.state, ContainerState::ContainerRunning as i32);
    tokio::time::advance(Duration::from_secs(1)).await;
    let done = status(&runtime, &id).await;
    assert_eq!(
        (done.state, done.exit_code, done.reason.as_str()),
        (ContainerState::ContainerExited as i32, 0, "Completed")
    );
    assert_eq!(done.finished_at - done.started_at, 30_000_000_000, "times follow tokio's clock");
}

#[tokio::test(start_paused = true)]
async fn stop_of_a_term_ignoring_container_waits_out_the_timeout_on_tokio_time() {
    let (runtime, sandbox) = runtime_with_pod().await;
    let id = start(&runtime, &sandbox, &["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]).await;
    let before = tokio::time::Instant::now();
    ContainerRuntime::stop_container(&runtime, &id, 30).await.expect("stop");
    assert_eq!(before.elapsed(), Duration::from_secs(30));
    assert_eq!(status(&runtime, &id).await.exit_code, 137);
}

#[tokio::test]
async fn hooks_set_exit_codes_and_oom_kills() {
    let (runtime, sandbox) = runtime_with_pod().await;
    let a = start(&runtime, &sandbox, &["sleep", "3600"]).await;
    let b = start(&runtime, &sandbox, &["httpd", "-f", "-p", "80"]).await;
    runtime.set_exit(&a, 2).await.expect("set_exit");
    runtime.oom_kill(&b).await.expect("oom_kill");
    let (a, b) = (status(&runtime, &a).await, status(&runtime, &b).await);
    assert_eq!((a.exit_code, a.reason.as_str()), (2, "Error"));
    assert_eq!((b.exit_code, b.reason.as_str()), (137, "OOMKilled"));
    assert!(runtime.set_exit("nope", 1).await.is_err(), "an unknown container is an error");
}

#[tokio::test(start_paused = true)]
async fn followers_see_hook_lines_and_the_end() {
    let (runtime, sandbox) = runtime_with_pod().await;
    let id = start(&runtime, &sandbox, &["sh", "-c", "echo first; sleep 10"]).await;
    let request = ContainerLogsRequest { container_id: id.clone(), follow: true, tail_lines: -1, ..Default::default() };
    let mut logs = runtime.container_logs(request).await.expect("logs");
    let first = logs.next().await.and_then(Result::ok).map(|c| c.data);
    assert_eq!(first.as_deref(), Some(&b"first\n"[..]));
    runtime.write_log(&id, "from a hook", true).await.expect("write_log");
    let hooked = logs.next().await.and_then(Result::ok).expect("the hook's line");
    assert_eq!((hooked.stream.as_str(), hooked.data.as_slice()), ("stderr", &b"from a hook\n"[..]));
    assert!(logs.next().await.is_none(), "the stream ends when the container exits (after 10s of tokio time)");
    assert_eq!(status(&runtime, &id).await.state, ContainerState::ContainerExited as i32);
}

#[tokio::test]
async fn image_status_reports_only_pulled_or_preloaded_images() {
    let runtime = MemoryRuntime::new(MemoryConfig::default()).expect("runtime");
    assert!(runtime.image_status("capstan/pause:1").await.expect("status").is_some());
    assert!(runtime.image_status("nginx:1").await.expect("status").is_none());
    runtime.preload_image("nginx:1").await;
    assert!(runtime.image_status("nginx:1").await.expect("status").is_some());
}
