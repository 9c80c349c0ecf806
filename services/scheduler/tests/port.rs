//! The scheduler's port answers what every Capstan server must, through the
//! one server stack: `grpc.health.v1` and `GET /metrics` with per-call
//! request metrics next to the scheduler's own.

mod common;

use capstan_test_support::{probe_server, ServerAddr};
use common::{cluster, start_scheduler};

#[tokio::test]
async fn health_and_metrics_share_the_schedulers_port() {
    let cluster = cluster().await;
    let scheduler = start_scheduler(&cluster).await;
    let addr = scheduler.addr().expect("serves a port");
    let text = probe_server(&ServerAddr::Tcp(addr)).await.expect("health and /metrics through the stack");
    assert!(text.contains("# TYPE scheduler_pending_pods gauge"), "{text}");
    scheduler.stop().await.expect("scheduler stops");
}
