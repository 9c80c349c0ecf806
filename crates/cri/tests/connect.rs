//! Connecting the kubelet's clients over unix sockets (including a shim that starts
//! late or restarts), the node each call names, and the errors a wrong endpoint gives.

use capstan_cri::{connect, connect_lazy, labels, CriError};
use capstan_memory_shim::{MemoryConfig, MemoryRuntime};
use capstan_proto::runtime::v1::*;
use capstan_shim_common::UnixServer;
use tokio::sync::oneshot;

fn pod() -> RunPodSandboxRequest {
    let metadata = PodSandboxMetadata { name: "p".into(), uid: "u".into(), namespace: "n".into(), attempt: 0 };
    RunPodSandboxRequest { config: Some(PodSandboxConfig { metadata: Some(metadata), ..Default::default() }) }
}

#[tokio::test]
async fn wrong_endpoints_say_what_is_wrong() {
    let error = connect("tcp://127.0.0.1:1").await.expect_err("not supported");
    assert!(matches!(error, CriError::BadEndpoint { .. }), "{error}");
    let error = connect("memory://").await.expect_err("in-process runtimes are not connected to");
    assert!(matches!(error, CriError::InProcessOnly { .. }), "{error}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nobody-home.sock");
    let error = connect(&format!("unix://{}", path.display())).await.expect_err("no shim");
    assert!(matches!(error, CriError::Connect { .. }), "{error}");
    assert!(error.to_string().contains("nobody-home.sock"), "the error names the socket: {error}");
}

/// Serves a fresh memory runtime (serving node `pinned` only, or any node) on
/// `path` until the returned sender fires.
async fn serve(path: &std::path::Path, pinned: Option<&str>) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let config = MemoryConfig { node_name: pinned.map(str::to_string), ..MemoryConfig::default() };
    let runtime = MemoryRuntime::new(config).expect("runtime");
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
    let (stop, served) = serve(&path, None).await;
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

#[tokio::test]
async fn lazy_clients_wait_for_a_shim_that_starts_after_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("late.sock");
    std::fs::write(&path, b"").expect("a stale socket file, as a killed shim leaves");
    let clients = connect_lazy(&format!("unix://{}", path.display())).expect("no connection is tried yet");
    let mut runtime = clients.runtime.clone();
    let refused = runtime.version(VersionRequest {}).await.expect_err("nothing serves yet");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    let (stop, served) = serve(&path, None).await;
    let version = runtime.version(VersionRequest {}).await.expect("the same clients reach the late shim");
    assert_eq!(version.into_inner().runtime_name, "memory");
    drop((runtime, clients));
    let _ = stop.send(());
    served.await.expect("served");
}

#[tokio::test]
async fn each_call_is_served_for_the_node_its_caller_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shared.sock");
    let (stop, served) = serve(&path, None).await;
    let clients = connect(&format!("unix://{}", path.display())).await.expect("connect");
    let (n1, n2) = (clients.for_node("n1").expect("n1"), clients.for_node("n2").expect("n2"));
    assert_eq!(n1.node(), Some("n1"));
    let id = n1.runtime.clone().run_pod_sandbox(pod()).await.expect("run").into_inner().pod_sandbox_id;
    let status = n1.runtime.clone().pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: id }).await;
    let labels = status.expect("status").into_inner().status.unwrap_or_default().labels;
    assert_eq!(labels.get(labels::NODE_NAME).map(String::as_str), Some("n1"), "labelled with the caller's node");
    let listed = |clients: capstan_cri::RuntimeClients| async move {
        let reply = clients.runtime.clone().list_pod_sandbox(ListPodSandboxRequest { filter: None }).await;
        reply.expect("list").into_inner().items.len()
    };
    assert_eq!(listed(n1.clone()).await, 1, "n1 sees its sandbox");
    assert_eq!(listed(n2.clone()).await, 0, "n2 sees none of n1's");
    drop((clients, n1, n2));
    let _ = stop.send(());
    served.await.expect("served");
}

#[tokio::test]
async fn a_shim_pinned_to_another_node_refuses_the_caller_naming_both() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pinned.sock");
    let (stop, served) = serve(&path, Some("n1")).await;
    let clients = connect(&format!("unix://{}", path.display())).await.expect("connect");
    let own = clients.for_node("n1").expect("n1").runtime.clone().version(VersionRequest {}).await;
    assert!(own.is_ok(), "its own node is served: {own:?}");
    let anonymous = clients.runtime.clone().version(VersionRequest {}).await;
    assert!(anonymous.is_ok(), "a caller naming no node gets the shim's: {anonymous:?}");
    let refused = clients.for_node("n2").expect("n2").runtime.clone().version(VersionRequest {}).await;
    let refused = refused.expect_err("another node is refused");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    for words in ["n1", "n2", "--node-name"] {
        assert!(refused.message().contains(words), "{words:?} missing: {}", refused.message());
    }
    drop(clients);
    let _ = stop.send(());
    served.await.expect("served");
}
