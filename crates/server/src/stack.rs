//! The one server stack, built in one function so that every layer, and the
//! reason it sits where it does, can be read top to bottom in one place.
//! Adding a layer to every Capstan server is one line here.

use axum::routing::get;
use capstan_metrics::Registry;
use tonic::service::Routes;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};

use crate::config::ServerConfig;
use crate::limit::ConcurrencyLimitLayer;
use crate::message::MessageLimits;
use crate::metrics::{RequestMetrics, RequestMetricsLayer};
use crate::scrape::{scrape, METRICS_PATH};
use crate::timeout::TimeoutLayer;

/// `services` (a component's own gRPC services, their message sizes already
/// capped), `grpc.health.v1` answering from `health`, and `GET /metrics`
/// rendering `registry`, behind the layers every Capstan server shares.
///
/// axum wraps only the routes that exist when `.layer` is called, so the
/// layers read innermost first, and what is added after a layer skips it.
/// Two concerns sit outside this function: the maximum message size lives in
/// each service's codec ([`MessageLimits`], applied as a service is added),
/// and TLS (next issue) wraps each connection before the stack sees it
/// ([`Server::serve_incoming`](crate::Server::serve_incoming)).
pub fn stack(
    services: Routes,
    health: &HealthReporter,
    registry: Registry,
    metrics: RequestMetrics,
    config: &ServerConfig,
) -> Routes {
    let services = services
        .into_axum_router()
        // Request timeout, innermost: it times the handler and nothing else,
        // and only until it answers, so a stream's messages are never cut.
        // Long-running unary calls (an image pull) are exempt.
        .layer(TimeoutLayer::new(config.request_timeout, config.long_running.clone()))
        // Concurrency limit, outside the timeout: a refused call costs no
        // timer, and a call holds its slot for exactly as long as it is timed.
        .layer(ConcurrencyLimitLayer::new(config.max_concurrent_requests, config.long_running.clone()));
    // Authentication and authorization (next issue) go here: outside the
    // limits, so a caller who is refused takes no slot, and inside the
    // metrics and the trace, so refusals are counted and traced.
    // Maximum message size, for health as for every added service.
    let health = HealthServer::new(HealthService::from_health_reporter(health.clone()))
        .limit_messages(config.max_receive_message_bytes, config.max_send_message_bytes);
    Routes::from(services)
        // Health, always present, outside the limits: a probe is answered
        // even when the server is full (kube-apiserver exempts its probes too).
        .add_service(health)
        .into_axum_router()
        // Request metrics, outside the limits: refusals and timeouts are
        // counted with their codes, as the caller saw them.
        .layer(RequestMetricsLayer(metrics))
        // Trace propagation, outermost: the call's span, continued from the
        // caller's `traceparent`, covers everything below, refusals included.
        .layer(capstan_telemetry::TraceServerLayer)
        // GET /metrics, after every layer: a scrape every few seconds makes
        // neither a span nor a series of its own.
        .route(METRICS_PATH, get(move || scrape(registry.clone())))
        .into()
}
