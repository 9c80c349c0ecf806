//! The health and metrics port: `grpc.health.v1` (NOT_SERVING until the
//! informers have synced), `GET /readyz` (the same, for an HTTP probe),
//! `GET /healthz` (alive), and `GET /metrics`, all through the one server
//! stack as every Capstan component serves them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use capstan_server::{CallKind, HttpCall, HttpFace, Server, ServerConfig};
use http::StatusCode;

/// The component name the server's calls are marked with.
pub const COMPONENT: &str = "capstan-dns";

/// Health, readiness and metrics over `registry`.
pub fn server(registry: capstan_metrics::Registry, ready: Arc<AtomicBool>) -> Result<Server, crate::DnsError> {
    let config = ServerConfig { component: Some(COMPONENT), ..ServerConfig::default() };
    Ok(Server::new(config, registry)?.serve_http(face(ready)))
}

fn face(ready: Arc<AtomicBool>) -> HttpFace {
    let router =
        axum::Router::new().route("/readyz", get(readyz)).route("/healthz", get(|| async { "ok" })).with_state(ready);
    let classify = |_: &http::Method, uri: &http::Uri| HttpCall {
        verb: "get",
        resource: uri.path().trim_start_matches('/').to_owned(),
        kind: CallKind::Probe,
    };
    HttpFace { router, classify: Arc::new(classify) }
}

async fn readyz(State(ready): State<Arc<AtomicBool>>) -> (StatusCode, &'static str) {
    if ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "the Service and EndpointSlice caches have not synced yet")
    }
}
