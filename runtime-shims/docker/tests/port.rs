//! The Docker shim's unix socket answers what every Capstan server must,
//! through the one server stack: `grpc.health.v1` and `GET /metrics` (what
//! `curl --unix-socket` scrapes), its runtime calls counted.

mod support;

use std::path::PathBuf;

use capstan_proto::runtime::v1::VersionRequest;
use capstan_test_support::{metric_sample, probe_server, ServerAddr};
use support::{node_name, require_docker, Shim};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_share_the_shims_socket() {
    let Some(()) = require_docker() else { return };
    let shim = Shim::start(&node_name("port")).await;
    let mut clients = shim.clients().await;
    clients.runtime.version(VersionRequest::default()).await.expect("version");
    drop(clients);

    let socket = PathBuf::from(shim.endpoint.trim_start_matches("unix://"));
    let text = probe_server(&ServerAddr::Unix(socket)).await.expect("health and /metrics through the stack");
    let series = "grpc_server_handled_total{grpc_service=\"capstan.runtime.v1.RuntimeService\",grpc_method=\"Version\",grpc_code=\"OK\"}";
    assert_eq!(metric_sample(&text, series), Some(1.0), "{text}");
    shim.stop().await;
}
