//! Node failure end to end: a node whose kubelet stops turns Unknown and
//! tainted, its pods are marked not ready and evicted when their own short
//! toleration runs out, the ReplicaSet replaces them on the other node, and
//! the node loses the taint when a kubelet for it comes back.

mod common;

use capstan_apiserver::defaults::{DEFAULT_TOLERATION_SECONDS, NOT_READY_TAINT, UNREACHABLE_TAINT};
use capstan_client::ListParams;
use capstan_controller_manager::{Config, ControllerManager};
use capstan_kubelet::Kubelet;
use capstan_proto::apps::v1::{ReplicaSet, ReplicaSetSpec};
use capstan_proto::core::v1::{Event, Node, Pod, Toleration};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::Resource;
use common::*;
use std::time::Duration;

fn unreachable_toleration(seconds: Option<i64>) -> Toleration {
    Toleration {
        key: UNREACHABLE_TAINT.into(),
        operator: "Exists".into(),
        value: String::new(),
        effect: "NoExecute".into(),
        toleration_seconds: seconds,
    }
}

fn ready_condition(node: &Node) -> Option<(String, String)> {
    let condition = node.status.as_ref()?.conditions.iter().find(|c| c.r#type == "Ready")?;
    Some((condition.status.clone(), condition.reason.clone()))
}

fn has_unreachable_taint(node: &Node) -> bool {
    node.spec.as_ref().is_some_and(|s| {
        s.taints.iter().any(|t| t.key == UNREACHABLE_TAINT && t.effect == "NoExecute" && t.time_added.is_some())
    })
}

fn toleration_seconds(pod: &Pod, key: &str) -> Option<Option<i64>> {
    let spec = pod.spec.as_ref()?;
    spec.tolerations.iter().find(|t| t.key == key).map(|t| t.toleration_seconds)
}

#[tokio::test]
async fn a_silent_node_is_tainted_its_pods_evicted_and_replaced_and_it_recovers() {
    let cluster = cluster().await;
    let mut a = Some(start_node(&cluster, "node-a").await);
    let mut b = Some(start_node(&cluster, "node-b").await);
    let scheduler = start_scheduler(&cluster).await;
    let config = Config {
        node_monitor_grace_period: Duration::from_secs(3),
        node_monitor_period: Duration::from_millis(500),
        ..controller_config(&cluster, &["nodelifecycle", "replicaset"])
    };
    let manager = ControllerManager::start(config).await.expect("controller-manager starts");

    // one replica that tolerates an unreachable node for 2 s only
    let labels = [("app", "flaky")];
    let mut pod_template = template(&labels, "capstan/test:1");
    if let Some(spec) = pod_template.spec.as_mut() {
        spec.tolerations.push(unreachable_toleration(Some(2)));
    }
    let rs = ReplicaSet {
        metadata: Some(ObjectMeta { name: "flaky".into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(ReplicaSetSpec {
            replicas: Some(1),
            selector: Some(selector(&labels)),
            template: Some(pod_template),
            ..Default::default()
        }),
        ..Default::default()
    };
    cluster.client.api::<ReplicaSet>(Some("default")).create(&rs).await.expect("create replicaset");
    let first = eventually("the replica running", || async {
        pods(&cluster.client, "default", "app=flaky").await.into_iter().find(is_ready)
    })
    .await;
    assert_eq!(toleration_seconds(&first, UNREACHABLE_TAINT), Some(Some(2)), "the pod's own toleration is kept");
    assert_eq!(
        toleration_seconds(&first, NOT_READY_TAINT),
        Some(Some(DEFAULT_TOLERATION_SECONDS)),
        "the API server adds the default one"
    );
    let dead = first.spec.as_ref().map(|s| s.node_name.clone()).unwrap_or_default();
    let alive = if dead == "node-a" { "node-b" } else { "node-a" };

    // a pod on the same node that tolerates an unreachable node forever
    let mut stays = pod("stays", &[("app", "stays")]);
    if let Some(spec) = stays.spec.as_mut() {
        spec.node_name = dead.clone();
        spec.tolerations.push(unreachable_toleration(None));
    }
    let pod_api = cluster.client.api::<Pod>(Some("default"));
    pod_api.create(&stays).await.expect("create pod");
    wait_object::<Pod>(&cluster.client, Some("default"), "stays", |p| p.is_some_and(is_ready)).await;

    // the kubelet of that node stops: no lease renewals, no status
    let stopped = if dead == "node-a" { a.take() } else { b.take() }.expect("node to stop");
    stopped.kubelet.stop().await.expect("the kubelet stops cleanly");
    let node: Node = wait_object(&cluster.client, None, &dead, |n: Option<&Node>| {
        n.is_some_and(|n| ready_condition(n).is_some_and(|(s, _)| s == "Unknown") && has_unreachable_taint(n))
    })
    .await
    .expect("node");
    assert_eq!(ready_condition(&node), Some(("Unknown".into(), "NodeStatusUnknown".into())));
    let alive_node: Node = cluster.client.api::<Node>(None).get(alive).await.expect("get the other node");
    assert!(!has_unreachable_taint(&alive_node), "the live node keeps working");

    // the replica is evicted when its 2 s run out; the other pod only turns not ready
    let name = first.meta().name.clone();
    let evicted = wait_object::<Pod>(&cluster.client, Some("default"), &name, |p| {
        p.is_none_or(|p| p.meta().deletion_timestamp.is_some())
    })
    .await
    .expect("a pod on a dead node waits for its kubelet");
    // deletionTimestamp is the delete's time plus the grace period
    let deleted_at = evicted.meta().deletion_timestamp.map(|t| t.seconds).unwrap_or_default()
        - evicted.meta().deletion_grace_period_seconds.unwrap_or_default();
    let tainted_at = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.iter().find(|t| t.key == UNREACHABLE_TAINT))
        .and_then(|t| t.time_added)
        .map(|t| t.seconds)
        .unwrap_or_default();
    assert!(deleted_at >= tainted_at + 2, "evicted at {deleted_at}, not before the taint ({tainted_at}) + 2 s");
    let stays = wait_object::<Pod>(&cluster.client, Some("default"), "stays", |p| p.is_some_and(|p| !is_ready(p)))
        .await
        .expect("the tolerating pod");
    assert!(stays.meta().deletion_timestamp.is_none(), "a pod tolerating the taint forever stays");
    // the Event is written after the delete
    eventually("the eviction recorded", || async {
        let (events, _) = cluster.client.api::<Event>(Some("default")).list(&ListParams::default()).await.ok()?;
        events
            .iter()
            .any(|e| e.reason == "TaintManagerEviction" && e.involved_object.as_ref().is_some_and(|o| o.name == name))
            .then_some(())
    })
    .await;

    // the ReplicaSet replaces it on the node that still works
    let replacement = eventually("a ready replacement", || async {
        pods(&cluster.client, "default", "app=flaky")
            .await
            .into_iter()
            .find(|p| p.meta().name != name && p.meta().deletion_timestamp.is_none() && is_ready(p))
    })
    .await;
    assert_eq!(replacement.spec.as_ref().map(|s| s.node_name.as_str()), Some(alive));

    // a kubelet for the node comes back: Ready again, untainted
    let restarted = Kubelet::start(kubelet_config(&cluster, &dead, stopped.clients.clone())).await.expect("restart");
    wait_object::<Node>(&cluster.client, None, &dead, |n| {
        n.is_some_and(|n| ready_condition(n).is_some_and(|(s, _)| s == "True") && !has_unreachable_taint(n))
    })
    .await;

    restarted.stop().await.expect("the kubelet stops cleanly");
    manager.stop().await.expect("controller-manager stops");
    scheduler.stop().await.expect("scheduler stops");
    for node in [a, b].into_iter().flatten() {
        node.kubelet.stop().await.expect("the kubelet stops cleanly");
    }
    cluster.assert_no_component_refused().await;
}
