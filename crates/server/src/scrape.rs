//! `GET /metrics`: the registry in Prometheus' text format, as plain
//! HTTP/1.1 (or HTTP/2 over TLS) on the gRPC port (the server accepts both),
//! so a scraper needs no gRPC and no second port.
//!
//! kube-apiserver authorizes `/metrics` like any other path. Capstan's
//! authorizers speak only of resources, so on a server that authenticates,
//! a scrape is answered to a caller on loopback (a node-local agent, the
//! operator) or to one who authenticates with a certificate or a token; any
//! other caller gets 401. A server that does not authenticate answers everyone.

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use capstan_metrics::{Registry, CONTENT_TYPE};

use crate::authn::{Authenticator, UNAUTHORIZED};
use crate::tls::PeerInfo;

/// The path Prometheus scrapes.
pub const METRICS_PATH: &str = "/metrics";

/// Whether the scrape's caller may read the metrics.
fn allowed(guard: Option<&Authenticator>, request: &axum::extract::Request) -> bool {
    let Some(authenticator) = guard else {
        return true;
    };
    let extensions = request.extensions();
    let peer = extensions.get::<PeerInfo>();
    let remote = match peer {
        Some(peer) => peer.remote_addr,
        None => extensions.get::<tonic::transport::server::TcpConnectInfo>().and_then(|c| c.remote_addr()),
    };
    if remote.is_some_and(|addr| addr.ip().is_loopback()) {
        return true;
    }
    authenticator
        .authenticate(request.headers(), peer)
        .is_some_and(|user| user.in_group(capstan_auth::groups::AUTHENTICATED))
}

/// One scrape's answer; a metric that fails to encode fails the scrape
/// (500), rather than answering with a page that silently lacks it.
pub(crate) async fn scrape(
    registry: Registry,
    guard: Option<Arc<Authenticator>>,
    request: axum::extract::Request,
) -> Response {
    if !allowed(guard.as_deref(), &request) {
        return (StatusCode::UNAUTHORIZED, UNAUTHORIZED).into_response();
    }
    match registry.render() {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "scrape failed");
            (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
        }
    }
}
