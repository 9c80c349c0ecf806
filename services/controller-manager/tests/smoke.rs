//! The controller-manager starts, serves health, runs only the chosen
//! controllers, and with leader election exactly one of two instances leads.

mod common;

use common::*;

#[tokio::test]
async fn two_managers_elect_one_leader_and_hand_over() {
    let cluster = cluster().await;
    let config = capstan_controller_manager::Config { leader_elect: true, ..controller_config(&cluster, &[]) };
    let a = capstan_controller_manager::ControllerManager::start(config.clone()).await.expect("a starts");
    let b = capstan_controller_manager::ControllerManager::start(config).await.expect("b starts");
    eventually("a leader", || async { (a.is_leader() || b.is_leader()).then_some(()) }).await;
    let lease: capstan_proto::coordination::v1::Lease =
        wait_object(&cluster.client, Some("kube-system"), "capstan-controller-manager", |l| l.is_some())
            .await
            .expect("lease");
    let holder = lease.spec.and_then(|s| s.holder_identity).unwrap_or_default();
    assert!(!holder.is_empty(), "the lease names its holder");
    assert!(a.is_leader() != b.is_leader(), "exactly one leader");
    let (leader, follower) = if a.is_leader() { (a, b) } else { (b, a) };
    leader.stop().await.expect("leader stops");
    eventually("the follower leads", || async { follower.is_leader().then_some(()) }).await;
    follower.stop().await.expect("follower stops");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn health_and_metrics_share_the_managers_port() {
    use capstan_test_support::{http_get, metric_sample, probe_server, ServerAddr};

    let cluster = cluster().await;
    let manager = start_controllers(&cluster, &["replicaset"]).await;
    let addr = manager.addr().expect("serves a port");
    probe_server(&ServerAddr::Tcp(addr)).await.expect("health and /metrics through the stack");

    // a ReplicaSet with no pods yet: one reconcile at least, counted as a success
    let rs = capstan_proto::apps::v1::ReplicaSet {
        metadata: Some(capstan_proto::meta::v1::ObjectMeta {
            name: "web".into(),
            namespace: "default".into(),
            ..Default::default()
        }),
        spec: Some(capstan_proto::apps::v1::ReplicaSetSpec {
            replicas: Some(0),
            selector: Some(selector(&[("app", "web")])),
            template: Some(template(&[("app", "web")], "capstan/test:1")),
            ..Default::default()
        }),
        ..Default::default()
    };
    cluster.client.api(Some("default")).create(&rs).await.expect("create replicaset");
    let series = "capstan_controller_reconcile_total{controller=\"replicaset\",result=\"success\"}";
    let text = eventually("a counted reconcile", || async {
        let response = http_get(addr, "/metrics").await.ok()?;
        metric_sample(&response.body, series).filter(|n| *n >= 1.0).map(|_| response.body)
    })
    .await;
    assert!(text.contains("# TYPE capstan_controller_reconcile_duration_seconds histogram"), "{text}");
    assert!(text.contains("workqueue_depth{name=\"replicaset\"}"), "{text}");
    manager.stop().await.expect("stops");
    cluster.assert_no_component_refused().await;
}
