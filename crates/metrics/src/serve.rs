//! One port per component: its gRPC services (behind the trace layer) and
//! `GET /metrics` as plain HTTP/1.1 for Prometheus, on the same listener.
//!
//! tonic routes gRPC through an axum router; `/metrics` is one more route
//! on it, and the server accepts HTTP/1.1 as well as HTTP/2, so a scraper
//! and a gRPC client reach the same port.

use crate::error::MetricsError;
use crate::registry::Registry;
use crate::text::CONTENT_TYPE;
use axum::http::header;
use std::future::Future;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;

/// The path Prometheus scrapes.
pub const METRICS_PATH: &str = "/metrics";

/// `grpc` with the trace layer on it, plus `GET /metrics` rendering `registry`.
pub fn with_metrics(grpc: Routes, registry: Registry) -> Routes {
    let scrape = move || {
        let text = registry.render();
        async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], text) }
    };
    // axum applies a layer to the routes added before it: gRPC is traced, scrapes are not.
    let router = grpc
        .into_axum_router()
        .layer(capstan_telemetry::TraceServerLayer)
        .route(METRICS_PATH, axum::routing::get(scrape));
    Routes::from(router)
}

/// Serve `grpc` and `GET /metrics` on `listener` until `shutdown` completes.
///
/// ```no_run
/// # async fn demo(listener: tokio::net::TcpListener) -> Result<(), capstan_metrics::MetricsError> {
/// let registry = capstan_metrics::Registry::new();
/// let (_reporter, health) = tonic_health::server::health_reporter();
/// let grpc = tonic::service::Routes::new(health); // .add_service(MyServer::new(..))
/// capstan_metrics::serve(listener, grpc, registry, std::future::pending()).await
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    grpc: Routes,
    registry: Registry,
    shutdown: impl Future<Output = ()>,
) -> Result<(), MetricsError> {
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| "an unknown address".into());
    tonic::transport::Server::builder()
        .accept_http1(true)
        .add_routes(with_metrics(grpc, registry))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
        .map_err(|e| MetricsError::Serve { addr, source: Box::new(e) })
}
