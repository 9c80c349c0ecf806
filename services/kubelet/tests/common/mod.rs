//! The harness of the kubelet's integration tests: a real API server on an
//! embedded store, the in-memory runtime in-process, pod builders, and a bounded
//! wait that watches an object until a predicate holds.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use capstan_client::Client;
use capstan_cri::RuntimeClients;
use capstan_kubelet::{Config, Kubelet};
use capstan_memory_shim::{MemoryConfig, MemoryRuntime};
use capstan_proto::core::v1::{Container, Pod};
use capstan_proto::Resource;
pub use capstan_testkit::TestCluster;

pub const TIMEOUT: Duration = Duration::from_secs(30);

pub async fn cluster() -> TestCluster {
    TestCluster::start().await
}

/// A fresh in-memory runtime for `node`, and clients to it.
pub async fn memory_runtime(node: &str) -> (MemoryRuntime, RuntimeClients) {
    let runtime = MemoryRuntime::new(MemoryConfig {
        node_name: Some(node.to_string()),
        preloaded_images: vec!["capstan/pause:1".into(), "capstan/test:1".into()],
        ..Default::default()
    })
    .expect("memory runtime");
    let clients = capstan_shim_common::connect_in_process(runtime.clone()).await.expect("connect");
    (runtime, clients)
}

/// A kubelet config with test timings: 200 ms back-off doubling to 2 s, fast relist
/// and resync.
pub fn kubelet_config(cluster: &TestCluster, node: &str, runtime: RuntimeClients) -> Config {
    let target = cluster.node_target(node);
    let mut config = Config::new(target.server, node, "memory://");
    config.credentials = target.credentials;
    config.runtime = Some(runtime);
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.node_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    config.timings.backoff_base = Duration::from_millis(200);
    config.timings.backoff_max = Duration::from_secs(2);
    config.timings.relist = Duration::from_millis(100);
    config.timings.pod_resync = Duration::from_millis(500);
    config.timings.gc = Duration::from_millis(500);
    config
}

pub async fn start_kubelet(cluster: &TestCluster, node: &str, runtime: RuntimeClients) -> Kubelet {
    Kubelet::start(kubelet_config(cluster, node, runtime)).await.expect("kubelet starts")
}

pub fn container(name: &str, command: &[&str]) -> Container {
    capstan_testkit::container(name, command)
}

pub fn pod(name: &str, policy: &str, containers: Vec<Container>) -> Pod {
    capstan_testkit::pod(name).restart_policy(policy).containers(containers).build()
}

/// Creates the pod and binds it to `node`, as the scheduler would.
pub async fn create_and_bind(client: &Client, pod: &Pod, node: &str) -> Pod {
    let api = client.api::<Pod>(Some("default"));
    let created = api.create(pod).await.expect("create pod");
    api.bind(&created.meta().name, node).await.expect("bind pod");
    created
}

/// Watches `K` named `name` until `done` holds for it (or, with `None`, until it is
/// gone); panics with the last version seen after [`TIMEOUT`].
pub async fn wait_for<K: Resource + std::fmt::Debug>(
    client: &Client,
    namespace: Option<&str>,
    name: &str,
    done: impl Fn(Option<&K>) -> bool,
) -> Option<K> {
    match capstan_runtime::wait_for(&client.api::<K>(namespace), name, TIMEOUT, done).await {
        Ok(object) => object,
        Err(error) => panic!("waiting for {name}: {error:?}"),
    }
}

/// Waits for the pod's status to satisfy `done`.
pub async fn wait_pod(client: &Client, name: &str, done: impl Fn(&Pod) -> bool) -> Pod {
    wait_for::<Pod>(client, Some("default"), name, |p| p.is_some_and(&done)).await.expect("pod exists")
}

pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().map_or("", |s| s.phase.as_str())
}

pub fn condition(pod: &Pod, kind: &str) -> Option<String> {
    let status = pod.status.as_ref()?;
    status.conditions.iter().find(|c| c.r#type == kind).map(|c| c.status.clone())
}

pub fn container_status<'a>(pod: &'a Pod, name: &str) -> Option<&'a capstan_proto::core::v1::ContainerStatus> {
    pod.status.as_ref()?.container_statuses.iter().find(|c| c.name == name)
}
