//! The proxy's own endpoints: `grpc.health.v1` and the `ProxyAdmin` RPC on
//! the healthz address, and Prometheus text on the metrics address. They
//! are two addresses, as kube-proxy's: the metrics one defaults to loopback.
//! Both are [`capstan_server`] servers (the metrics address answers health
//! too, as every Capstan server does), counting their calls in one registry.

use capstan_metrics::Registry;
use capstan_server::{RequestMetrics, Server, ServerConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::ProxyError;

/// Health (reporting SERVING) and the admin RPC.
pub fn admin_server(admin: crate::admin_rpc::AdminService, registry: Registry, metrics: RequestMetrics) -> Server {
    Server::with_request_metrics(config(), registry, metrics)
        .add_service(capstan_proto::proxy::v1::proxy_admin_server::ProxyAdminServer::new(admin))
}

/// `GET /metrics` for `registry`, and health; no other service, so the
/// metrics address exposes nothing else.
pub fn metrics_server(registry: Registry, metrics: RequestMetrics) -> Server {
    Server::with_request_metrics(config(), registry, metrics)
}

/// Serves `server` on `listener` until `shutdown`.
pub async fn serve(server: Server, listener: TcpListener, shutdown: CancellationToken) -> Result<(), ProxyError> {
    Ok(server.serve(listener, shutdown.cancelled_owned()).await?)
}

/// The proxy's servers: default limits, calls marked as the proxy's.
fn config() -> ServerConfig {
    ServerConfig { component: Some("capstan-proxy"), ..ServerConfig::default() }
}
