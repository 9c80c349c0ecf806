//! The controller-manager's own port: `grpc.health.v1` and Prometheus
//! metrics at `GET /metrics`, on one listener.

use crate::error::ControllerError;
use capstan_metrics::Registry;
use std::future::Future;
use tokio::net::TcpListener;

/// Serve health and metrics on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    registry: Registry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ControllerError> {
    let (_reporter, health) = tonic_health::server::health_reporter();
    let grpc = tonic::service::Routes::new(health);
    Ok(capstan_metrics::serve(listener, grpc, registry, shutdown).await?)
}
