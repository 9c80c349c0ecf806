//! Which node a call is for: the caller's. Every harness starts its runtime pinned
//! to one node (as a shim started with `--node-name`), so a caller naming another
//! is refused, saying which names and flags disagree; a runtime started without a
//! node name serves each caller as the node it names
//! ([`each_caller_is_served_as_its_node`], run by the real shims' own tests).

use capstan_cri::labels;
use capstan_proto::runtime::v1::*;
use tonic::Code;

use crate::fixtures::has_label;
use crate::Runtime;

/// A node no harness pins its runtime to.
const OTHER_NODE: &str = "conformance-other-node";

pub async fn calls_for_another_node_are_refused(rt: Runtime) {
    let other = rt.clients.for_node(OTHER_NODE).expect("a valid node name");
    let refused = other.runtime.clone().version(VersionRequest {}).await.expect_err("another node is refused");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    for words in [OTHER_NODE, "--node-name"] {
        assert!(refused.message().contains(words), "{words:?} missing from: {}", refused.message());
    }
    let listed = other.runtime.clone().list_pod_sandbox(ListPodSandboxRequest::default()).await;
    assert_eq!(listed.expect_err("every call is refused").code(), Code::FailedPrecondition);
}

/// Run against a runtime that pins no node: what the caller of node `a` creates is
/// labelled `a`, and the caller of node `b` neither lists nor finds it.
pub async fn each_caller_is_served_as_its_node(rt: Runtime, a: &str, b: &str) {
    let for_a = Runtime { clients: rt.clients.for_node(a).expect("node a"), ..rt.clone() };
    let for_b = rt.clients.for_node(b).expect("node b");
    let pod = for_a.run_pod("nodes").await;
    let id = for_a.start(&pod, "sleeper", &["sleep", "3600"]).await;
    let status = for_a.sandbox_status(&pod.id).await;
    assert!(has_label(&status.labels, labels::NODE_NAME, a), "labelled with the caller's node: {:?}", status.labels);
    let container = for_a.status(&id).await;
    assert!(has_label(&container.labels, labels::NODE_NAME, a), "{:?}", container.labels);

    let sandboxes = for_b.runtime.clone().list_pod_sandbox(ListPodSandboxRequest::default()).await;
    let sandboxes = sandboxes.expect("list for b").into_inner().items;
    assert!(sandboxes.iter().all(|s| s.id != pod.id), "b lists a's sandbox: {sandboxes:?}");
    let containers = for_b.runtime.clone().list_containers(ListContainersRequest::default()).await;
    let containers = containers.expect("list for b").into_inner().containers;
    assert!(containers.iter().all(|c| c.id != id), "b lists a's container: {containers:?}");
    let request = PodSandboxStatusRequest { pod_sandbox_id: pod.id.clone() };
    let found = for_b.runtime.clone().pod_sandbox_status(request).await;
    assert_eq!(found.expect_err("b does not find a's sandbox").code(), Code::NotFound);

    let stop = StopPodSandboxRequest { pod_sandbox_id: pod.id.clone() };
    for_a.clients.runtime.clone().stop_pod_sandbox(stop).await.expect("a stops its sandbox");
    let remove = RemovePodSandboxRequest { pod_sandbox_id: pod.id };
    for_a.clients.runtime.clone().remove_pod_sandbox(remove).await.expect("a removes its sandbox");
}
