//! `GET /metrics`: the registry in Prometheus' text format, as plain
//! HTTP/1.1 on the gRPC port (the server accepts both), so a scraper needs no
//! gRPC and no second port.

use axum::http::header;
use capstan_metrics::{Registry, CONTENT_TYPE};

/// The path Prometheus scrapes.
pub const METRICS_PATH: &str = "/metrics";

/// One scrape's answer.
pub(crate) async fn scrape(registry: Registry) -> ([(header::HeaderName, &'static str); 1], String) {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], registry.render())
}
