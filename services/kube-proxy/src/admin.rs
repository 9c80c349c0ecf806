//! The proxy's own endpoints: `grpc.health.v1` and the `ProxyAdmin` RPC on
//! the healthz address, and Prometheus text on the metrics address. They
//! are two addresses, as kube-proxy's: the metrics one defaults to loopback.

use capstan_metrics::Registry;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

use crate::ProxyError;

/// Serves `grpc.health.v1` (reporting SERVING) and the admin RPC until `shutdown`.
pub async fn serve_admin(
    listener: TcpListener,
    admin: crate::admin_rpc::AdminService,
    shutdown: CancellationToken,
) -> Result<(), ProxyError> {
    let addr = listener.local_addr().map_err(|source| ProxyError::Bind { addr: ([0, 0, 0, 0], 0).into(), source })?;
    let (_reporter, health) = tonic_health::server::health_reporter();
    tonic::transport::Server::builder()
        .layer(capstan_telemetry::TraceServerLayer)
        .add_service(health)
        .add_service(capstan_proto::proxy::v1::proxy_admin_server::ProxyAdminServer::new(admin))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown.cancelled_owned())
        .await
        .map_err(|source| ProxyError::Admin { addr, source })
}

/// Serves `GET /metrics` for `registry` until `shutdown`, through the
/// shared server every Capstan component scrapes from. No gRPC service is
/// added: health and the admin RPC stay on the healthz address, so the
/// metrics address exposes nothing else.
pub async fn serve_metrics(listener: TcpListener, registry: Registry, shutdown: CancellationToken) {
    let grpc = tonic::service::Routes::default();
    if let Err(error) = capstan_metrics::serve(listener, grpc, registry, shutdown.cancelled_owned()).await {
        tracing::error!(%error, "metrics server stopped");
    }
}
