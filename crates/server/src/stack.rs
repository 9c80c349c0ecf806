//! The one server stack, built in one function so that every layer, and the
//! reason it sits where it does, can be read top to bottom in one place.
//! Adding a layer to every Capstan server is one line here.

use std::sync::Arc;

use axum::routing::get;
use capstan_metrics::Registry;
use tonic::service::Routes;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};

use crate::audit::{AuditLayer, AuditLog};
use crate::authn::{AuthenticationLayer, Authenticator};
use crate::config::ServerConfig;
use crate::decode::ClientErrorsLayer;
use crate::http::{ClassifyLayer, HttpFace};
use crate::limit::ConcurrencyLimitLayer;
use crate::message::MessageLimits;
use crate::metrics::{RequestMetrics, RequestMetricsLayer};
use crate::scrape::{scrape, METRICS_PATH};
use crate::timeout::TimeoutLayer;

/// The door's loaded parts, made from [`ServerConfig`]'s files by
/// [`Server::new`](crate::Server::new): absent ones add no layer.
#[derive(Clone, Debug, Default)]
pub struct Door {
    pub authenticator: Option<Arc<Authenticator>>,
    pub audit: Option<AuditLog>,
}

/// `services` (a component's own gRPC services, their message sizes already
/// capped), `grpc.health.v1` answering from `health`, and `GET /metrics`
/// rendering `registry`, behind the layers every Capstan server shares.
///
/// axum wraps only the routes that exist when `.layer` is called, so the
/// layers read innermost first, and what is added after a layer skips it.
/// Two concerns sit outside this function: the maximum message size lives in
/// each service's codec ([`MessageLimits`], applied as a service is added),
/// and TLS wraps each connection before the stack sees it
/// ([`Server::serve`](crate::Server::serve)); the verified client
/// certificate arrives on each request as [`PeerInfo`](crate::tls::PeerInfo).
/// Authorization is the API server's (it alone knows what a request is
/// about): its hook runs inside all of this, before any handler.
///
/// `http`, the API server's REST face, answers every path no gRPC service
/// claims, inside the same layers: each layer asks [`HttpCall`](crate::http::HttpCall)
/// (told once by the face's classifier) what the request is, and refuses
/// an HTTP caller in Kubernetes' words.
pub fn stack(
    services: Routes,
    health: &HealthReporter,
    registry: Registry,
    metrics: RequestMetrics,
    config: &ServerConfig,
    door: &Door,
    http: Option<HttpFace>,
) -> Routes {
    let mut services = services.into_axum_router();
    let classify = http.map(|face| {
        // unmatched paths go to the face instead of gRPC's UNIMPLEMENTED
        services = std::mem::take(&mut services).fallback_service(face.router);
        face.classify
    });
    // a server with the Kubernetes face reports kube-apiserver's metrics too
    let metrics = if classify.is_some() { metrics.for_kubernetes_api() } else { metrics };
    let mut services = services
        // The caller's undecodable or over-size message, innermost: tonic
        // answers it INTERNAL / OUT_OF_RANGE; every layer outside (metrics,
        // audit) sees the client's code, INVALID_ARGUMENT / RESOURCE_EXHAUSTED.
        .layer(ClientErrorsLayer)
        // Request timeout: it times the handler and nothing else, and only
        // until it answers, so a stream's messages are never cut.
        // Long-running calls (an image pull, a watch) are exempt.
        .layer(TimeoutLayer::new(config.request_timeout, config.long_running.clone()))
        // Concurrency limits (reads, and writes in a pool of their own),
        // outside the timeout: a refused call costs no timer, and a call
        // holds its slot for exactly as long as it is timed.
        .layer(
            ConcurrencyLimitLayer::with_mutating(
                config.max_concurrent_requests,
                config.max_mutating_requests,
                config.mutating.clone(),
                config.long_running.clone(),
            )
            .reporting(&metrics),
        );
    // Authentication, outside the limits: a caller who is refused takes no
    // slot. Everything inside finds the caller's UserInfo on the request.
    if let Some(authenticator) = &door.authenticator {
        services = services.layer(AuthenticationLayer(authenticator.clone()));
    }
    // Audit, outside authentication, so that a 401 is written too; the
    // layers inside fill in who called and on what (an AuditRecord).
    if let Some(audit) = &door.audit {
        services = services.layer(AuditLayer(audit.clone()));
    }
    let guard = door.authenticator.clone();
    // Maximum message size, for health as for every added service.
    let health = HealthServer::new(HealthService::from_health_reporter(health.clone()))
        .limit_messages(config.max_receive_message_bytes, config.max_send_message_bytes);
    let mut routes = Routes::from(services)
        // Health, always present, outside the limits and authentication: a
        // probe is answered even when the server is full, and by anyone
        // (kube-apiserver leaves /healthz open to anonymous callers too).
        .add_service(health)
        .into_axum_router()
        // Request metrics, outside the limits: refusals and timeouts are
        // counted with their codes, as the caller saw them.
        .layer(RequestMetricsLayer(metrics));
    // What an HTTP request is, told once, outside every layer that asks.
    if let Some(classify) = classify {
        routes = routes.layer(ClassifyLayer(classify));
    }
    routes
        // Trace propagation, outermost: the call's span, continued from the
        // caller's `traceparent`, covers everything below, refusals included.
        .layer(match config.component {
            Some(component) => capstan_telemetry::TraceServerLayer::component(component),
            None => capstan_telemetry::TraceServerLayer::new(),
        })
        // GET /metrics, after every layer: a scrape every few seconds makes
        // neither a span nor a series of its own. It is guarded by the
        // authenticator when there is one (see `scrape`).
        .route(
            METRICS_PATH,
            get(move |request: axum::extract::Request| scrape(registry.clone(), guard.clone(), request)),
        )
        .into()
}
