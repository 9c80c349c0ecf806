//! The autoscaler's pod-usage reads against a kubelet behind its TLS door:
//! with the controller-manager's kubeconfig (its client certificate and the
//! cluster CA) the kubelet answers; with a node's certificate it refuses in
//! its own words; without a certificate (an open cluster) the reader speaks
//! plaintext, which a TLS kubelet does not answer.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use capstan_client::Credentials;
use capstan_controller_manager::podautoscaler::metrics::UsageReader;
use capstan_kubelet::Kubelet;
use capstan_memory_shim::{MemoryConfig, MemoryRuntime};
use capstan_proto::core::v1::Pod;
use capstan_testkit::{node_pki, TestCluster};

const NODE: &str = "node-1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_read_over_tls_with_the_controller_managers_certificate() {
    let cluster = TestCluster::start_secured().await;
    let runtime = MemoryRuntime::new(MemoryConfig {
        node_name: Some(NODE.into()),
        preloaded_images: vec!["capstan/pause:1".into(), "capstan/test:1".into()],
        ..Default::default()
    })
    .expect("the memory runtime");
    let node = cluster.target(&format!("node-{NODE}"));
    let mut config = capstan_kubelet::Config::new(node.server, NODE, "memory://");
    config.credentials = node.credentials;
    config.runtime = Some(capstan_shim_common::connect_in_process(runtime).await.expect("the runtime serves"));
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.node_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    config.tls = Some(node_pki::kubelet_serving(&cluster.pki(), NODE));
    let kubelet = Kubelet::start(config).await.expect("the kubelet starts with TLS");
    let address = kubelet.addr().to_string();

    let web = capstan_testkit::pod("web").containers(vec![capstan_testkit::container("web", &["sleep", "3600"])]);
    let pods = cluster.client.api::<Pod>(Some("default"));
    pods.create(&web.node(NODE).build()).await.expect("create the pod");
    let running = |p: Option<&Pod>| p.and_then(|p| p.status.as_ref()).is_some_and(|s| s.phase == "Running");
    let pod = capstan_runtime::wait_for(&pods, "web", Duration::from_secs(30), running)
        .await
        .expect("the pod runs")
        .expect("the pod exists");

    let controller_manager = UsageReader::new(&cluster.target("controller-manager").credentials);
    let usage = controller_manager.read(NODE, &address, &pod).await.expect("the controller-manager reads usage");
    assert!(usage.memory.is_some(), "{usage:?}");

    let node = UsageReader::new(&cluster.target(&format!("node-{NODE}")).credentials);
    let refused = node.read(NODE, &address, &pod).await.expect_err("a node may not read usage").to_string();
    assert!(
        refused.contains("Forbidden (user=system:node:node-1, verb=get, resource=nodes, subresource=stats)"),
        "{refused}"
    );

    let plaintext = UsageReader::new(&Credentials::default());
    plaintext.read(NODE, &address, &pod).await.expect_err("plaintext is not TLS");

    kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.stop().await;
}
