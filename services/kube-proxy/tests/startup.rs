//! Start-up: Services that exist before the proxy are served once its
//! informers have synced; both admin addresses answer health and `/metrics`; shutdown ends
//! the listeners.

mod common;

use capstan_kube_proxy::Algorithm;
use capstan_test_support::{probe_server, ServerAddr};
use common::backends::{ask, Backends};
use common::{eventually, start_proxy, Cluster, ServiceOptions, TestCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_services_that_existed_before_it_started() {
    let api = TestCluster::start().await;
    let mut backends = Backends::default();
    let a = backends.tcp("a").await;
    let writer = Cluster { api, proxy: None };
    let node_port = writer.service("early", ServiceOptions::default()).await;
    writer.endpoints("early", "TCP", &[a], &[]).await;

    let proxy = start_proxy(&writer.api, Algorithm::RoundRobin).await;
    eventually(
        "the pre-existing Service is served",
        || async move { ask(node_port).await.ok().as_deref() == Some("a") },
    )
    .await;

    // both addresses answer health and /metrics through the one stack, and
    // count their calls in the one registry
    let healthz = ServerAddr::Tcp(proxy.healthz_address.expect("healthz address"));
    probe_server(&healthz).await.expect("health and /metrics on the healthz address");
    let metrics = ServerAddr::Tcp(proxy.metrics_address.expect("metrics address"));
    let text = probe_server(&metrics).await.expect("health and /metrics on the metrics address");
    let checks = capstan_test_support::metric_sample(&text, capstan_test_support::HEALTH_CHECKS_OK);
    assert_eq!(checks, Some(2.0), "{text}");

    proxy.shutdown().await.expect("clean shutdown");
    assert!(ask(node_port).await.is_err(), "the node port closes with the proxy");
    writer.api.assert_no_component_refused().await;
}
