//! The harness of the controller-manager's integration tests: a real API
//! server on an embedded store, the controller-manager with the controllers
//! a test names, and nodes made of a real kubelet on the in-memory runtime
//! (Docker adds nothing to what controllers do), with the real scheduler.

#![allow(dead_code)]

use capstan_client::{Client, ListParams};
use capstan_controller_manager::{Config, ControllerManager};
use capstan_cri::RuntimeClients;
use capstan_kubelet::{Config as KubeletConfig, Kubelet};
use capstan_memory_shim::{MemoryConfig, MemoryRuntime};
use capstan_proto::core::v1::{Pod, PodTemplateSpec};
use capstan_proto::meta::v1::LabelSelector;
use capstan_proto::Resource;
use capstan_runtime::wait_for;
use capstan_scheduler::{Config as SchedulerConfig, Scheduler};
pub use capstan_testkit::TestCluster;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A fresh API server on an embedded store in a temp dir.
pub async fn cluster() -> TestCluster {
    TestCluster::start().await
}

/// The controller-manager's config for `cluster`, running only `controllers`.
pub fn controller_config(cluster: &TestCluster, controllers: &[&str]) -> Config {
    let target = cluster.target("controller-manager");
    Config {
        server: target.server,
        credentials: target.credentials,
        listen: Some("127.0.0.1:0".parse().expect("addr")),
        controllers: controllers.iter().map(|c| c.to_string()).collect(),
        ..Config::default()
    }
}

pub async fn start_controllers(cluster: &TestCluster, controllers: &[&str]) -> ControllerManager {
    ControllerManager::start(controller_config(cluster, controllers)).await.expect("controller-manager starts")
}

/// The scheduler's config for `cluster`, as `system:kube-scheduler`.
pub fn scheduler_config(cluster: &TestCluster) -> SchedulerConfig {
    let target = cluster.target("scheduler");
    SchedulerConfig {
        server: target.server,
        credentials: target.credentials,
        listen: Some("127.0.0.1:0".parse().expect("addr")),
        ..SchedulerConfig::default()
    }
}

pub async fn start_scheduler(cluster: &TestCluster) -> Scheduler {
    Scheduler::start(scheduler_config(cluster)).await.expect("scheduler starts")
}

/// A node: a real kubelet on a fresh in-memory runtime.
pub struct TestNode {
    pub kubelet: Kubelet,
    pub runtime: MemoryRuntime,
    pub clients: RuntimeClients,
}

/// The kubelet config of a test node: fast resync and back-off; callers may
/// shorten the lease for node-failure tests.
pub fn kubelet_config(cluster: &TestCluster, node: &str, clients: RuntimeClients) -> KubeletConfig {
    let target = cluster.node_target(node);
    let mut config = KubeletConfig::new(target.server, node, "memory://");
    config.credentials = target.credentials;
    // serves TLS as a production kubelet does: the autoscaler reads pod
    // usage over TLS with its own certificate
    config.tls = Some(capstan_testkit::node_pki::kubelet_serving(&cluster.pki(), node));
    config.runtime = Some(clients);
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.node_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    config.timings.backoff_base = Duration::from_millis(200);
    config.timings.backoff_max = Duration::from_secs(2);
    config.timings.pod_resync = Duration::from_millis(200);
    config.timings.node_status = Duration::from_secs(1);
    config.timings.lease_renew = Duration::from_secs(1);
    config
}

pub async fn memory_runtime(node: &str) -> (MemoryRuntime, RuntimeClients) {
    let runtime = MemoryRuntime::new(MemoryConfig {
        node_name: Some(node.to_string()),
        preloaded_images: vec!["capstan/pause:1".into(), "capstan/test:1".into(), "capstan/test:2".into()],
        ..Default::default()
    })
    .expect("memory runtime");
    let clients = capstan_shim_common::connect_in_process(runtime.clone()).await.expect("connect");
    (runtime, clients)
}

pub async fn start_node(cluster: &TestCluster, node: &str) -> TestNode {
    let (runtime, clients) = memory_runtime(node).await;
    let kubelet = Kubelet::start(kubelet_config(cluster, node, clients.clone())).await.expect("kubelet starts");
    TestNode { kubelet, runtime, clients }
}

/// A pod template labelled `labels`, one container of `image` running
/// `sleep` (the in-memory runtime keeps it running).
pub fn template(labels: &[(&str, &str)], image: &str) -> PodTemplateSpec {
    capstan_testkit::pod("").labels(labels).image(image).command(&["sleep", "3600"]).template()
}

pub fn selector(labels: &[(&str, &str)]) -> LabelSelector {
    capstan_testkit::selector(labels)
}

/// A pod in `default` labelled `labels`, running `sleep` in the test image.
pub fn pod(name: &str, labels: &[(&str, &str)]) -> Pod {
    capstan_testkit::pod(name).labels(labels).command(&["sleep", "3600"]).build()
}

/// Pods in `namespace` matching the label selector, as listed now.
pub async fn pods(client: &Client, namespace: &str, selector: &str) -> Vec<Pod> {
    let (pods, _) =
        client.api::<Pod>(Some(namespace)).list(&ListParams::default().labels(selector)).await.expect("list pods");
    pods
}

pub fn is_ready(pod: &Pod) -> bool {
    pod.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.r#type == "Ready" && c.status == "True"))
}

/// Watch `name` until `done` holds; panics with the last version after [`TIMEOUT`].
pub async fn wait_object<K: Resource + std::fmt::Debug>(
    client: &Client,
    namespace: Option<&str>,
    name: &str,
    done: impl FnMut(Option<&K>) -> bool,
) -> Option<K> {
    match wait_for(&client.api::<K>(namespace), name, TIMEOUT, done).await {
        Ok(object) => object,
        Err(error) => panic!("waiting for {} {name}: {error:?}", K::INFO.kind),
    }
}

/// Poll `probe` until it answers `Some`; panics after [`TIMEOUT`]. For
/// conditions that span many objects (a count of ready pods), where no single
/// watch says it.
pub async fn eventually<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    capstan_test_support::eventually(what, TIMEOUT, probe).await
}
