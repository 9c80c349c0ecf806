//! The scheduler against a real API server: capacity, spreading, the
//! unschedulable report, cordons and a node that arrives late.

mod common;

use capstan_client::ListParams;
use capstan_proto::core::v1::{Event, Pod, Taint};
use common::*;
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_pods_fit_without_overcommit_and_spread() {
    let c = cluster().await;
    for (name, cpu) in [("small", "2"), ("medium", "4"), ("large", "8")] {
        add_node(&c, name, cpu, vec![], false).await;
    }
    let scheduler = start_scheduler(&c).await;
    let api = c.client.api::<Pod>(Some("default"));
    for i in 0..20 {
        api.create(&pod(&format!("web-{i}"), "500m", Some("rs-uid-1"))).await.expect("create pod");
    }
    let placed = wait_for("20 bound pods", || async {
        let pods = pods(&c).await;
        let bound: Vec<String> = pods.iter().map(|p| node_of(p).to_string()).filter(|n| !n.is_empty()).collect();
        (bound.len() == 20).then_some(bound)
    })
    .await;
    let mut per_node: BTreeMap<String, i64> = BTreeMap::new();
    for node in placed {
        *per_node.entry(node).or_default() += 500;
    }
    let capacity: BTreeMap<&str, i64> = [("small", 2000), ("medium", 4000), ("large", 8000)].into();
    for (node, used) in &per_node {
        assert!(*used <= capacity[node.as_str()], "{node} overcommitted: {used}m");
    }
    assert_eq!(per_node.len(), 3, "the owner's pods spread over every node: {per_node:?}");
    scheduler.stop().await.expect("scheduler stops");
    c.assert_no_component_refused().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unschedulable_pod_gets_kubernetes_message_and_event() {
    let c = cluster().await;
    let gpu = Taint { key: "dedicated".into(), value: "gpu".into(), effect: "NoSchedule".into(), ..Default::default() };
    add_node(&c, "gpu", "8", vec![gpu], false).await;
    add_node(&c, "s1", "1", vec![], false).await;
    add_node(&c, "s2", "1", vec![], false).await;
    let scheduler = start_scheduler(&c).await;
    let api = c.client.api::<Pod>(Some("default"));
    api.create(&pod("big", "2", None)).await.expect("create pod");
    let want = "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu.";
    let condition = wait_for("PodScheduled=False", || async {
        let pod = api.get("big").await.ok()?;
        pod.status?.conditions.into_iter().find(|c| c.r#type == "PodScheduled")
    })
    .await;
    assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("False", "Unschedulable"));
    assert_eq!(condition.message, want);
    let events = c.client.api::<Event>(Some("default"));
    let event = wait_for("FailedScheduling event", || async {
        let (list, _) = events.list(&ListParams::default()).await.ok()?;
        list.into_iter().find(|e| e.reason == "FailedScheduling")
    })
    .await;
    assert_eq!((event.r#type.as_str(), event.message.as_str()), ("Warning", want));
    let involved = event.involved_object.unwrap_or_default();
    assert_eq!((involved.kind.as_str(), involved.name.as_str()), ("Pod", "big"));
    scheduler.stop().await.expect("scheduler stops");
    c.assert_no_component_refused().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cordoned_node_gets_nothing_and_foreign_pods_are_left_alone() {
    let c = cluster().await;
    add_node(&c, "cordoned", "16", vec![], true).await;
    add_node(&c, "open", "4", vec![], false).await;
    let scheduler = start_scheduler(&c).await;
    let api = c.client.api::<Pod>(Some("default"));
    let mut foreign = pod("foreign", "100m", None);
    if let Some(spec) = foreign.spec.as_mut() {
        spec.scheduler_name = "someone-else".into();
    }
    api.create(&foreign).await.expect("create pod");
    for i in 0..5 {
        api.create(&pod(&format!("p{i}"), "100m", None)).await.expect("create pod");
    }
    let nodes = wait_for("5 bound pods", || async {
        let nodes: Vec<String> =
            pods(&c).await.iter().map(|p| node_of(p).to_string()).filter(|n| !n.is_empty()).collect();
        (nodes.len() == 5).then_some(nodes)
    })
    .await;
    assert!(nodes.iter().all(|n| n == "open"), "{nodes:?}");
    let foreign = api.get("foreign").await.expect("get pod");
    assert_eq!(node_of(&foreign), "", "a pod naming another scheduler is left alone");
    scheduler.stop().await.expect("scheduler stops");
    c.assert_no_component_refused().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_schedules_when_a_node_is_added() {
    let c = cluster().await;
    add_node(&c, "tiny", "1", vec![], false).await;
    let scheduler = start_scheduler(&c).await;
    let api = c.client.api::<Pod>(Some("default"));
    api.create(&pod("waiting", "3", None)).await.expect("create pod");
    wait_for("unschedulable", || async {
        let pod = api.get("waiting").await.ok()?;
        pod.status?.conditions.into_iter().find(|c| c.reason == "Unschedulable")
    })
    .await;
    add_node(&c, "roomy", "4", vec![], false).await;
    let node = wait_for("bound", || async {
        let pod = api.get("waiting").await.ok()?;
        Some(node_of(&pod).to_string()).filter(|n| !n.is_empty())
    })
    .await;
    assert_eq!(node, "roomy");
    let events = c.client.api::<Event>(Some("default"));
    wait_for("Scheduled event", || async {
        let (list, _) = events.list(&ListParams::default()).await.ok()?;
        list.into_iter().find(|e| e.reason == "Scheduled" && e.r#type == "Normal")
    })
    .await;
    scheduler.stop().await.expect("scheduler stops");
    c.assert_no_component_refused().await;
}
