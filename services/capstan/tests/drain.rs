//! `capstan drain` against a real API server, with no kubelet: pods are
//! bound to nodes by their manifests, and the test plays the kubelet's part
//! where a graceful deletion needs finishing.

mod common;

use capstan_client::{DeleteParams, ListParams};
use capstan_proto::core::v1::{Node, Pod};
use capstan_proto::Resource;
use common::cluster;

fn pod(name: &str, node: &str, extra_meta: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default{extra_meta}}}\n\
         spec: {{nodeName: {node}, containers: [{{name: app, image: 'capstan/test:1'}}]}}\n---\n"
    )
}

const OWNED: &str =
    ", ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-h1, uid: '1234', controller: true}]";

#[tokio::test]
async fn drain_cordons_refuses_unmanaged_pods_then_empties_the_node() {
    let c = cluster().await;
    let nodes = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: n2}\n---\n";
    let pods = [
        pod("managed", "n1", OWNED),
        pod("bare", "n1", ""),
        pod("mirror", "n1", ", annotations: {kubernetes.io/config.mirror: abc}"),
        pod("elsewhere", "n2", ""),
    ]
    .concat();
    c.apply(&format!("{nodes}{pods}")).await;
    let client = c.client();
    let pods_api = client.api::<Pod>(Some("default"));
    let names = || async {
        let (pods, _) = pods_api.list(&ListParams::default()).await.expect("pods");
        pods.iter().map(|p| p.meta().name.clone()).collect::<Vec<_>>()
    };

    let (out, result) = c.capstan(&["drain", "n1"]).await;
    assert_eq!(out, "node/n1 cordoned\n");
    assert_eq!(
        result.expect_err("an unmanaged pod stops the drain").to_string(),
        "error: unable to drain node \"n1\" due to error: cannot delete Pods that declare no controller (use --force \
         to override): default/bare"
    );
    assert_eq!(names().await, ["bare", "elsewhere", "managed", "mirror"], "nothing was deleted");
    let node = client.api::<Node>(None).get("n1").await.expect("node");
    assert!(node.spec.is_some_and(|s| s.unschedulable), "the node stays cordoned, as kubectl leaves it");

    assert_eq!(
        c.ok(&["drain", "n1", "--force", "--grace-period", "0"]).await,
        "node/n1 already cordoned\nWarning: deleting Pods that declare no controller: default/bare\n\
         evicting pod default/bare\nevicting pod default/managed\npod/bare evicted\npod/managed evicted\nnode/n1 drained\n"
    );
    assert_eq!(names().await, ["elsewhere", "mirror"], "mirror pods and other nodes' pods stay");

    assert_eq!(c.err(&["drain", "nope"]).await, r#"Error from server (NotFound): nodes "nope" not found"#);
    c.stop().await;
}

#[tokio::test]
async fn drain_waits_for_graceful_deletion_to_finish() {
    let c = cluster().await;
    c.apply(&format!("apiVersion: v1\nkind: Node\nmetadata: {{name: n1}}\n---\n{}", pod("slow", "n1", OWNED))).await;
    let client = c.client();
    let pods_api = client.api::<Pod>(Some("default"));

    // a bound pod is only marked for deletion until its kubelet finishes it
    let (out, result) = c.capstan(&["drain", "n1", "--timeout", "1s"]).await;
    assert_eq!(out, "node/n1 cordoned\nevicting pod default/slow\n");
    assert_eq!(
        result.expect_err("nobody finishes the deletion").to_string(),
        "error: unable to drain node \"n1\" due to error: error when waiting for pod \"slow\" in namespace \"default\" \
         to terminate: global timeout reached: 1s"
    );
    let terminating = pods_api.get("slow").await.expect("still there");
    assert!(terminating.meta().deletion_timestamp.is_some(), "marked for deletion");

    // now the kubelet's part: finish the deletion while drain waits
    let mut drain = c.spawn(&["drain", "n1"]);
    assert_eq!(drain.next_line().await, "node/n1 already cordoned");
    assert_eq!(drain.next_line().await, "evicting pod default/slow");
    pods_api.delete("slow", &DeleteParams::default().grace_period(0)).await.expect("the kubelet's delete");
    assert_eq!(drain.next_line().await, "pod/slow evicted");
    assert_eq!(drain.next_line().await, "node/n1 drained");
    drain.result().await.expect("drained");
    c.stop().await;
}
