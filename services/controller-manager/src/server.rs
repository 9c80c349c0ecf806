//! The controller-manager's own port: `grpc.health.v1` and Prometheus
//! metrics at `GET /metrics`, on one listener, through [`capstan_server`]'s stack.

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
    let server = capstan_server::Server::new(
        capstan_server::ServerConfig {
            component: Some("capstan-controller-manager"),
            ..capstan_server::ServerConfig::default()
        },
        registry,
    )?;
    Ok(server.serve(listener, shutdown).await?)
}
