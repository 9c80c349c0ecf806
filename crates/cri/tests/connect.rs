//! Connecting the kubelet's clients: in-process memory, unix sockets (including a
//! shim that restarts), and the errors a wrong endpoint gives.

use capstan_cri::{connect, connect_with, labels, CriError, MemoryConfig, UnixServer};
use capstan_memory_shim::MemoryRuntime;
use capstan_proto::runtime::v1::*;
use tokio::sync::oneshot;

fn pod() -> RunPodSandboxRequest {
    let metadata = PodSandboxMetadata { name: "p".into(), uid: "u".into(), namespace: "n".into(), attempt: 0 };
    RunPodSandboxRequest { config: Some(PodSandboxConfig { metadata: Some(metadata), ..Default::default() }) }
}

#[tokio::test]
async fn memory_endpoints_start_an_in_process_runtime() {
    let mut clients = connect("memory://").await.expect("connect").runtime;
    let version = clients.version(VersionRequest {}).await.expect("version").into_inner();
    assert_eq!(version.runtime_name, "memory");

    let config = MemoryConfig { node_name: "hollow-7".into(), ..MemoryConfig::default() };
    let mut clients = connect_with("memory://", config).await.expect("connect").runtime;
    let id = clients.run_pod_sandbox(pod()).await.expect("run").into_inner().pod_sandbox_id;
    let status = clients.pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: id }).await.expect("status");
    let labels = status.into_inner().status.unwrap_or_default().labels;
    assert_eq!(labels.get(labels::NODE_NAME).map(String::as_str), Some("hollow-7"));
}

#[tokio::test]
async fn wrong_endpoints_say_what_is_wrong() {
    let error = connect("tcp://127.0.0.1:1").await.expect_err("not supported");
    assert!(matches!(error, CriError::Endpoint(_)), "{error}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nobody-home.sock");
    let error = connect(&format!("unix://{}", path.display())).await.expect_err("no shim");
    assert!(matches!(error, CriError::Connect { .. }), "{error}");
    assert!(error.to_string().contains("nobody-home.sock"), "the error names the socket: {error}");
}

/// Serves a fresh memory runtime on `path` until the returned sender fires.
async fn serve(path: &std::path::Path) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let runtime = MemoryRuntime::new(MemoryConfig::default()).expect("runtime");
    let server = UnixServer::bind(path).await.expect("bind");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        server.serve(runtime, shutdown).await.expect("serve");
    });
    (stop, task)
}

#[tokio::test]
async fn unix_endpoints_reach_a_shim_that_cleans_up_its_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run/shim.sock");
    let (stop, served) = serve(&path).await;
    let clients = connect(&format!("unix://{}", path.display())).await.expect("connect");
    let mut runtime = clients.runtime.clone();
    let version = runtime.version(VersionRequest {}).await.expect("version").into_inner();
    assert_eq!(version.runtime_name, "memory");
    runtime.run_pod_sandbox(pod()).await.expect("a sandbox over the socket");
    drop((runtime, clients));
    let _ = stop.send(());
    served.await.expect("the server drains once the clients are gone");
    assert!(!path.exists(), "the socket file is removed on shutdown");
}
