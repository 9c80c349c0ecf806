//! The API server's port answers what every Capstan server must, through the
//! one server stack: `grpc.health.v1` (the ResourceService reported SERVING)
//! and `GET /metrics` with per-call request metrics.

use capstan_apiserver::{ApiServer, Config};
use capstan_test_support::{health_status, probe_server, ServerAddr};
use tonic_health::pb::health_check_response::ServingStatus;

// plaintext on purpose: the probe speaks plain HTTP/2, as a bare health checker does
#[tokio::test]
async fn health_and_metrics_share_the_api_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ApiServer::start(Config::ephemeral(dir.path())).await.expect("API server starts");
    let addr = ServerAddr::Tcp(server.addr());
    let status = health_status(&addr, "capstan.api.v1.ResourceService").await.expect("health answers");
    assert_eq!(status, ServingStatus::Serving);
    let text = probe_server(&addr).await.expect("health and /metrics through the stack");
    assert!(text.contains("# TYPE grpc_server_handling_seconds histogram"), "{text}");
    server.stop().await.expect("API server stops");
}
