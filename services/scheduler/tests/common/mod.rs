//! The harness of the scheduler's integration tests: a real API server on
//! an embedded store, Node objects without kubelets, pod builders, and a
//! bounded wait.

#![allow(dead_code)]

use capstan_client::ListParams;
use capstan_proto::core::v1::{Node, NodeCondition, NodeSpec, NodeStatus, Pod, Taint};
use capstan_proto::meta::v1::{ObjectMeta, Quantity};
use capstan_scheduler::{Config, Scheduler};
pub use capstan_testkit::TestCluster;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

pub const TIMEOUT: Duration = Duration::from_secs(30);

pub async fn cluster() -> TestCluster {
    TestCluster::start().await
}

/// The scheduler's config for `cluster`, with its own identity (`system:kube-scheduler`).
pub fn scheduler_config(cluster: &TestCluster) -> Config {
    let target = cluster.target("scheduler");
    Config {
        server: target.server,
        credentials: target.credentials,
        listen: Some("127.0.0.1:0".parse().expect("addr")),
        ..Config::default()
    }
}

pub async fn start_scheduler(cluster: &TestCluster) -> Scheduler {
    Scheduler::start(scheduler_config(cluster)).await.expect("scheduler starts")
}

/// Create a Ready node with `cpu` and `memory` allocatable.
pub async fn add_node(cluster: &TestCluster, name: &str, cpu: &str, taints: Vec<Taint>, unschedulable: bool) {
    add_node_with_ready(cluster, name, cpu, taints, unschedulable, "True").await;
}

/// Create a node whose Ready condition has `ready` as its status.
pub async fn add_node_with_ready(
    cluster: &TestCluster,
    name: &str,
    cpu: &str,
    taints: Vec<Taint>,
    unschedulable: bool,
    ready: &str,
) {
    let allocatable: BTreeMap<String, Quantity> = [("cpu", cpu), ("memory", "64Gi"), ("pods", "110")]
        .into_iter()
        .map(|(k, v)| (k.into(), Quantity::new(v)))
        .collect();
    let node = Node {
        metadata: Some(ObjectMeta { name: name.into(), ..Default::default() }),
        spec: Some(NodeSpec { taints, unschedulable, ..Default::default() }),
        ..Default::default()
    };
    let api = cluster.client.api::<Node>(None);
    let mut created = api.create(&node).await.expect("create node");
    created.status = Some(NodeStatus {
        capacity: allocatable.clone(),
        allocatable,
        conditions: vec![NodeCondition { r#type: "Ready".into(), status: ready.into(), ..Default::default() }],
        ..Default::default()
    });
    api.update_status(&created).await.expect("node status");
}

/// A pod requesting `cpu`, optionally controlled by the ReplicaSet `web` with `owner_uid`.
pub fn pod(name: &str, cpu: &str, owner_uid: Option<&str>) -> Pod {
    let pod = capstan_testkit::pod(name).cpu(cpu);
    match owner_uid {
        Some(uid) => pod.owned_by_replica_set("web", uid),
        None => pod,
    }
    .build()
}

pub async fn pods(cluster: &TestCluster) -> Vec<Pod> {
    cluster.client.api::<Pod>(Some("default")).list(&ListParams::default()).await.expect("list pods").0
}

pub fn node_of(pod: &Pod) -> &str {
    pod.spec.as_ref().map_or("", |s| s.node_name.as_str())
}

/// `GET /metrics` over HTTP/1.1 on the scheduler's port: the body.
pub async fn scrape(addr: std::net::SocketAddr) -> String {
    let response = capstan_test_support::http_get(addr, "/metrics").await.expect("scrape the scheduler");
    assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{response:?}");
    response.body
}

/// The value of one sample line (`name{labels}`) in a scrape, if present.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    capstan_test_support::metric_sample(text, series)
}

/// Poll `check` until it yields a value, or panic after [`TIMEOUT`].
pub async fn wait_for<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    capstan_test_support::eventually(what, TIMEOUT, check).await
}
