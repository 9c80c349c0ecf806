//! The scheduler's own gRPC port: `grpc.health.v1` behind the trace layer.

use crate::error::SchedulerError;
use std::future::Future;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

/// Serve health on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()>) -> Result<(), SchedulerError> {
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let (_reporter, health) = tonic_health::server::health_reporter();
    tonic::transport::Server::builder()
        .layer(capstan_telemetry::TraceServerLayer)
        .add_service(health)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
        .map_err(|e| SchedulerError::Serve { addr, source: std::io::Error::other(e) })
}
