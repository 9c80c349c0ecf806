//! `GET /metrics`: the registry in Prometheus' text format, as plain
//! HTTP/1.1 on the gRPC port (the server accepts both), so a scraper needs no
//! gRPC and no second port.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use capstan_metrics::{Registry, CONTENT_TYPE};

/// The path Prometheus scrapes.
pub const METRICS_PATH: &str = "/metrics";

/// One scrape's answer; a metric that fails to encode fails the scrape
/// (500), rather than answering with a page that silently lacks it.
pub(crate) async fn scrape(registry: Registry) -> Response {
    match registry.render() {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "scrape failed");
            (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
        }
    }
}
