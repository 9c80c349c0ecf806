//! The kubelet and the processes it depends on starting in any order: a runtime
//! shim that is not serving yet (a stale socket file left by a killed shim), a shim
//! restarted under a running kubelet, an API server that comes up after the
//! kubelet, and a shim pinned to another node, which the kubelet refuses at start
//! naming the flags. The runtime is the in-memory shim served on a unix socket, as
//! a separate shim process would serve it.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use capstan_apiserver::{ApiServer, Config as ApiConfig};
use capstan_client::{Client, Target};
use capstan_kubelet::{Config, Kubelet, KubeletError};
use capstan_memory_shim::{MemoryConfig, MemoryRuntime};
use capstan_proto::core::v1::{Node, NodeCondition, Pod};
use capstan_shim_common::ServedRuntime;
use common::*;

/// The node's Ready condition, if it has one.
fn ready(node: Option<&Node>) -> Option<&NodeCondition> {
    node?.status.as_ref()?.conditions.iter().find(|c| c.r#type == "Ready")
}

fn runtime_down(node: Option<&Node>) -> bool {
    ready(node).is_some_and(|c| c.status == "False" && c.reason == "ContainerRuntimeNotReady")
}

fn node_ready(node: Option<&Node>) -> bool {
    ready(node).is_some_and(|c| c.status == "True")
}

/// An in-memory runtime that serves whichever node calls it, as a shim started
/// without `--node-name` does.
fn unpinned_runtime() -> MemoryRuntime {
    let config = MemoryConfig {
        node_name: None,
        preloaded_images: vec!["capstan/pause:1".into(), "capstan/test:1".into()],
        ..MemoryConfig::default()
    };
    MemoryRuntime::new(config).expect("memory runtime")
}

/// A kubelet config against `server` and the shim socket at `socket`, with a fast
/// heartbeat so runtime outages show quickly.
fn config(target: Target, node: &str, socket: &Path) -> Config {
    let mut config = Config::new(target.server, node, format!("unix://{}", socket.display()));
    config.credentials = target.credentials;
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.node_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    config.timings.relist = Duration::from_millis(100);
    config.timings.pod_resync = Duration::from_millis(500);
    config.timings.node_status = Duration::from_millis(200);
    config
}

async fn serve(runtime: MemoryRuntime, socket: &Path) -> ServedRuntime<MemoryRuntime> {
    ServedRuntime::start(runtime, socket).await.expect("serving the runtime")
}

/// Stops serving; the bound only catches a hang.
async fn stop(served: ServedRuntime<MemoryRuntime>) {
    tokio::time::timeout(TIMEOUT, served.stop()).await.expect("the shim stops");
}

async fn a_pod_runs(cluster: &TestCluster, name: &str, node: &str) {
    let pod = pod(name, "Always", vec![container("app", &["sleep", "3600"])]);
    create_and_bind(&cluster.client, &pod, node).await;
    wait_pod(&cluster.client, name, |p: &Pod| phase(p) == "Running").await;
}

#[tokio::test]
async fn a_kubelet_started_before_its_shim_reports_not_ready_and_carries_on() {
    let cluster = cluster().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("shim.sock");
    std::fs::write(&socket, b"").expect("a stale socket file, as a killed shim leaves");
    let starting = tokio::spawn(Kubelet::start(config(cluster.node_target("early"), "early", &socket)));

    let node = wait_for::<Node>(&cluster.client, None, "early", runtime_down).await;
    let down = ready(node.as_ref()).expect("a Ready condition").message.clone();
    assert!(down.contains(&socket.display().to_string()), "the reason names the endpoint: {down}");
    assert!(!starting.is_finished(), "the kubelet waits for its runtime");

    let served = serve(unpinned_runtime(), &socket).await;
    let kubelet = tokio::time::timeout(TIMEOUT, starting)
        .await
        .expect("the kubelet starts once the runtime answers")
        .expect("the start task")
        .expect("the kubelet starts");
    let node = wait_for::<Node>(&cluster.client, None, "early", node_ready).await.expect("node");
    let info = node.status.as_ref().and_then(|s| s.node_info.as_ref()).expect("nodeInfo");
    assert!(info.container_runtime_version.starts_with("memory://"), "{}", info.container_runtime_version);
    assert_eq!(
        node.metadata.as_ref().and_then(|m| m.labels.get("capstan.io/runtime")).map(String::as_str),
        Some("memory")
    );
    a_pod_runs(&cluster, "after-the-shim", "early").await;
    kubelet.stop().await.expect("the kubelet stops cleanly");
    stop(served).await;
}

#[tokio::test]
async fn a_shim_restarted_under_the_kubelet_is_reported_and_picked_up_again() {
    let cluster = cluster().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("shim.sock");
    let runtime = unpinned_runtime();
    let served = serve(runtime.clone(), &socket).await;
    let kubelet =
        Kubelet::start(config(cluster.node_target("steady"), "steady", &socket)).await.expect("kubelet starts");
    a_pod_runs(&cluster, "before-the-restart", "steady").await;

    stop(served).await;
    let node = wait_for::<Node>(&cluster.client, None, "steady", runtime_down).await;
    let down = ready(node.as_ref()).expect("a Ready condition").message.clone();
    assert!(down.contains("shim.sock"), "the reason names the endpoint: {down}");

    // the same runtime state, as a restarted shim finds its containers in the engine
    let served = serve(runtime, &socket).await;
    wait_for::<Node>(&cluster.client, None, "steady", node_ready).await;
    a_pod_runs(&cluster, "after-the-restart", "steady").await;
    kubelet.stop().await.expect("the kubelet stops cleanly");
    stop(served).await;
}

#[tokio::test]
async fn a_kubelet_started_before_the_api_server_registers_once_it_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("shim.sock");
    let served = serve(unpinned_runtime(), &socket).await;
    // a port nothing serves the API on yet: the kubelet's first connection is taken
    // and dropped here, so it has certainly tried before the API server is up
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = listener.local_addr().expect("its address");
    // the PKI and the door first: the kubelet dials with its own identity from the start
    let data = tempfile::tempdir().expect("tempdir");
    let mut api_config = ApiConfig { listen: addr, ..ApiConfig::ephemeral(data.path()) };
    let mut admin = capstan_testkit::cluster::secure(&mut api_config, data.path());
    capstan_testkit::cluster::issue_node(&data.path().join("pki"), "patient");
    let kubeconfig = capstan_pki::Layout::new(data.path().join("pki")).kubeconfig("node-patient");
    let mut node = Target::from_kubeconfig(&kubeconfig, None).expect("the node's kubeconfig");
    node.server = format!("https://{addr}");
    let starting = tokio::spawn(Kubelet::start(config(node, "patient", &socket)));
    let tried = tokio::task::spawn_blocking(move || listener.accept().map(|_| ()));
    tokio::time::timeout(TIMEOUT, tried).await.expect("the kubelet tries").expect("accept").expect("a connection");
    assert!(!starting.is_finished(), "the kubelet waits for the API server");

    let server = ApiServer::start(api_config).await.expect("the API server starts on the port the kubelet tries");
    let kubelet = tokio::time::timeout(TIMEOUT, starting)
        .await
        .expect("the kubelet starts once the API server answers")
        .expect("the start task")
        .expect("the kubelet starts");
    admin.server = server.url();
    let client = Client::connect_to(&admin).expect("the admin's client");
    wait_for::<Node>(&client, None, "patient", node_ready).await;
    kubelet.stop().await.expect("the kubelet stops cleanly");
    stop(served).await;
}

#[tokio::test]
async fn a_shim_pinned_to_another_node_is_refused_at_start_naming_the_flags() {
    let cluster = cluster().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("shim.sock");
    let pinned = MemoryConfig { node_name: Some("someone-else".into()), ..MemoryConfig::default() };
    let served = serve(MemoryRuntime::new(pinned).expect("runtime"), &socket).await;
    let refused = tokio::time::timeout(TIMEOUT, Kubelet::start(config(cluster.node_target("me"), "me", &socket)))
        .await
        .expect("the kubelet decides at once");
    let error = refused.err().expect("the kubelet refuses to start");
    assert!(matches!(error, KubeletError::RuntimeRefusesNode { .. }), "{error}");
    let message = error.to_string();
    for words in ["someone-else", "node me", "--node-name", "shim.sock"] {
        assert!(message.contains(words), "{words:?} missing from: {message}");
    }
    stop(served).await;
}
