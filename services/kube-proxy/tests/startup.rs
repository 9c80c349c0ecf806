//! Start-up: Services that exist before the proxy are served once its
//! informers have synced; the health service answers SERVING; shutdown ends
//! the listeners.

mod common;

use capstan_kube_proxy::Algorithm;
use common::backends::{ask, Backends};
use common::{eventually, start_proxy, Cluster, ServiceOptions, TestCluster};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

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

    let health = proxy.healthz_address.expect("healthz address");
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{health}")).expect("url");
    let mut health = HealthClient::new(channel.connect().await.expect("health connects"));
    let status =
        health.check(HealthCheckRequest { service: String::new() }).await.expect("health answers").into_inner().status;
    assert_eq!(status, ServingStatus::Serving as i32);

    proxy.shutdown().await.expect("clean shutdown");
    assert!(ask(node_port).await.is_err(), "the node port closes with the proxy");
}
