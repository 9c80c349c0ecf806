//! The memory shim's unix socket answers what every Capstan server must,
//! through the one server stack: `grpc.health.v1` and `GET /metrics` (what
//! `curl --unix-socket` scrapes), its runtime calls counted.

use capstan_memory_shim::{MemoryConfig, MemoryRuntime};
use capstan_proto::runtime::v1::VersionRequest;
use capstan_shim_common::ServedRuntime;
use capstan_test_support::{metric_sample, probe_server, ServerAddr};

#[tokio::test]
async fn health_and_metrics_share_the_shims_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("memory-shim.sock");
    let runtime = MemoryRuntime::new(MemoryConfig { node_name: Some("port-node".into()), ..Default::default() })
        .expect("memory runtime");
    let served = ServedRuntime::start(runtime, &socket).await.expect("serving the shim");
    let mut clients = capstan_cri::connect(&served.endpoint()).await.expect("connecting to the shim");
    clients.runtime.version(VersionRequest::default()).await.expect("version");
    drop(clients);

    let text = probe_server(&ServerAddr::Unix(socket)).await.expect("health and /metrics through the stack");
    let series = "grpc_server_handled_total{grpc_service=\"capstan.runtime.v1.RuntimeService\",grpc_method=\"Version\",grpc_code=\"OK\"}";
    assert_eq!(metric_sample(&text, series), Some(1.0), "{text}");
    served.stop().await;
}
