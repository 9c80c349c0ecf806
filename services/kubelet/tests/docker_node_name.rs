//! The node's name comes from the kubelet, on the real Docker shim: a shim started
//! without `--node-name` serves the kubelet's node (its pods' containers are seen,
//! exec'd into and removed — before, the shim labelled them with the hostname and
//! the kubelet, listing by its own name, never saw them); a shim pinned to another
//! node is refused at the kubelet's start, naming the flags; and a kubelet started
//! before its shim carries on once the shim serves. Without Docker the tests are
//! skipped, except under `CI=true`.

mod common;
mod docker_support;

use capstan_client::DeleteParams;
use capstan_kubelet::{Kubelet, KubeletError};
use capstan_proto::core::v1::{Node, Pod};
use capstan_proto::Resource;
use common::{container, container_status, phase, wait_for};
use docker_support::*;

fn ready_is(node: Option<&Node>, status: &str, reason: &str) -> bool {
    let conditions = node.and_then(|n| n.status.as_ref()).map(|s| s.conditions.as_slice()).unwrap_or_default();
    conditions.iter().any(|c| c.r#type == "Ready" && c.status == status && (reason.is_empty() || c.reason == reason))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shim_without_a_node_name_serves_the_kubelets_node() {
    let Some(()) = require_docker() else { return };
    ensure_images().await;
    let node = node_name("unpinned");
    let _sweeper = Sweeper::new(&node);
    let cluster = common::cluster().await;
    let shim = Shim::start_in(None, tempfile::tempdir().expect("tempdir")).await;
    let kubelet =
        Kubelet::start(kubelet_config(&cluster, &node, &shim.endpoint, test_timings())).await.expect("kubelet starts");

    let app = container("app", &["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]);
    let mut pod = pod("seen", "Always", vec![app]);
    pod.spec.get_or_insert_with(Default::default).node_name = node.clone();
    let created = cluster.client.api::<Pod>(Some("default")).create(&pod).await.expect("create");
    let uid = created.meta().uid.clone();
    let running =
        watch_pod(&cluster.client, "seen", |p| phase(p) == "Running" && container_status(p, "app").is_some()).await;
    let id = container_status(&running, "app").expect("app").container_id.clone();
    let engine = docker_containers(&uid).await;
    assert_eq!(engine.len(), 2, "a pause and an app container, in Docker: {engine:?}");

    let clients = capstan_cri::connect(&shim.endpoint).await.expect("connect").for_node(&node).expect("node");
    let request = capstan_proto::runtime::v1::ExecSyncRequest {
        container_id: docker_id(&id).to_string(),
        cmd: vec!["echo".into(), "here".into()],
        timeout: 10,
    };
    let reply = clients.runtime.clone().exec_sync(request).await.expect("exec finds the container").into_inner();
    assert_eq!(String::from_utf8_lossy(&reply.stdout).trim(), "here");

    let api = cluster.client.api::<Pod>(Some("default"));
    api.delete("seen", &DeleteParams::default()).await.expect("delete with the default grace");
    wait_gone(&cluster.client, "seen").await;
    // the kubelet removes everything before it finishes the delete: no wait here
    assert_eq!(docker_containers(&uid).await, [], "the deleted pod's containers are removed from Docker");
    kubelet.stop().await.expect("the kubelet stops cleanly");
    drop(clients);
    shim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shim_pinned_to_another_node_is_refused_at_start_naming_the_flags() {
    let Some(()) = require_docker() else { return };
    ensure_images().await;
    let (node, other) = (node_name("refused-kubelet"), node_name("refused-shim"));
    let cluster = common::cluster().await;
    let shim = Shim::start(&other).await;
    let refused = Kubelet::start(kubelet_config(&cluster, &node, &shim.endpoint, test_timings())).await;
    let error = refused.err().expect("the kubelet refuses to start");
    assert!(matches!(error, KubeletError::RuntimeRefusesNode { .. }), "{error}");
    let message = error.to_string();
    for words in [node.as_str(), other.as_str(), "--node-name"] {
        assert!(message.contains(words), "{words:?} missing from: {message}");
    }
    shim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubelet_started_before_its_shim_carries_on_once_it_serves() {
    let Some(()) = require_docker() else { return };
    ensure_images().await;
    let node = node_name("early");
    let _sweeper = Sweeper::new(&node);
    let cluster = common::cluster().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let endpoint = format!("unix://{}", Shim::socket_in(&dir).display());
    let starting = tokio::spawn(Kubelet::start(kubelet_config(&cluster, &node, &endpoint, test_timings())));
    wait_for::<Node>(&cluster.client, None, &node, |n| ready_is(n, "False", "ContainerRuntimeNotReady")).await;
    assert!(!starting.is_finished(), "the kubelet waits for its shim");

    let shim = Shim::start_in(Some(&node), dir).await;
    let kubelet = tokio::time::timeout(WAIT, starting).await.expect("starts").expect("task").expect("kubelet");
    wait_for::<Node>(&cluster.client, None, &node, |n| ready_is(n, "True", "")).await;
    let mut pod = pod("late-shim", "Always", vec![container("app", &["sleep", "3600"])]);
    pod.spec.get_or_insert_with(Default::default).node_name = node.clone();
    cluster.client.api::<Pod>(Some("default")).create(&pod).await.expect("create");
    watch_pod(&cluster.client, "late-shim", |p| phase(p) == "Running").await;
    kubelet.stop().await.expect("the kubelet stops cleanly");
    shim.stop().await;
}
