//! Server side of gRPC trace propagation: every incoming call gets a `grpc.server`
//! span whose parent is the caller's span (read from the W3C headers), so a handler
//! and everything it does below (store, other services) join the caller's trace.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let (_reporter, health) = tonic_health::server::health_reporter();
//! tonic::transport::Server::builder()
//!     .layer(capstan_telemetry::TraceServerLayer::component("capstan-kubelet"))
//!     .add_service(health)
//!     .serve("127.0.0.1:6443".parse()?)
//!     .await?;
//! # Ok(())
//! # }
//! ```

use std::task::{Context, Poll};

use tower::{Layer, Service};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::future::TracedFuture;
use crate::headers;
use crate::rpc::{self, Side};

/// OTLP's span export call, which is never traced itself.
const OTLP_TRACE_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Tower layer for `tonic::transport::Server::builder().layer(..)`; wraps each
/// service in a [`TraceServer`].
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceServerLayer {
    component: Option<&'static str>,
}

impl TraceServerLayer {
    /// Server spans of no component in particular: they belong to the
    /// process's service (the name telemetry was initialised with).
    pub fn new() -> Self {
        TraceServerLayer { component: None }
    }

    /// Server spans marked as `component`'s (see [`mark_component`](crate::mark_component)):
    /// in a process hosting several components (`capstan up`), each server's
    /// calls appear under its own `service.name`.
    pub fn component(component: &'static str) -> Self {
        TraceServerLayer { component: Some(component) }
    }
}

impl<S> Layer<S> for TraceServerLayer {
    type Service = TraceServer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceServer { inner, component: self.component }
    }
}

/// The service produced by [`TraceServerLayer`]. Generic over request and response
/// bodies, so it fits whatever tonic's router uses.
#[derive(Clone, Debug)]
pub struct TraceServer<S> {
    inner: S,
    component: Option<&'static str>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for TraceServer<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<crate::TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = TracedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        // Receiving spans makes none: a receiver exporting its own spans to
        // itself (`capstan up --trace-sink`) would otherwise trace each export
        // of the last export's span, forever.
        let span = if path == OTLP_TRACE_EXPORT { tracing::Span::none() } else { rpc::span(Side::Server, path) };
        if let Some(component) = self.component {
            crate::mark_component(&span, component);
        }
        if let Some(parent) = headers::extract_remote_parent(request.headers()) {
            // Fails only when no OpenTelemetry layer is installed (nothing to link
            // then) or the span was already started (impossible: it is brand new).
            let _ = span.set_parent(parent);
        }
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        TracedFuture::new(future, span, Side::Server)
    }
}
