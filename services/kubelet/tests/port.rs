//! The kubelet's port answers what every Capstan server must, through the one
//! server stack: `grpc.health.v1` and `GET /metrics` with per-call request
//! metrics (a `PodUsage` call is counted by its code).

mod common;

use capstan_proto::kubelet::v1::kubelet_service_client::KubeletServiceClient;
use capstan_proto::kubelet::v1::PodUsageRequest;
use capstan_test_support::{metric_sample, probe_server, ServerAddr};
use common::{cluster, memory_runtime, start_kubelet};

#[tokio::test]
async fn health_and_metrics_share_the_kubelets_port() {
    let cluster = cluster().await;
    let (_runtime, clients) = memory_runtime("port-node").await;
    let kubelet = start_kubelet(&cluster, "port-node", clients).await;
    let addr = kubelet.addr();

    let mut client = KubeletServiceClient::connect(format!("http://{addr}")).await.expect("kubelet connects");
    let usage = PodUsageRequest { namespace: "default".into(), pod: "nobody".into() };
    let refused = client.pod_usage(usage).await.expect_err("no such pod on this node");
    assert_eq!(refused.code(), tonic::Code::NotFound, "{refused}");

    let text = probe_server(&ServerAddr::Tcp(addr)).await.expect("health and /metrics through the stack");
    let series = "grpc_server_handled_total{grpc_service=\"capstan.kubelet.v1.KubeletService\",grpc_method=\"PodUsage\",grpc_code=\"NotFound\"}";
    assert_eq!(metric_sample(&text, series), Some(1.0), "{text}");
    kubelet.stop().await.expect("the kubelet stops cleanly");
}
