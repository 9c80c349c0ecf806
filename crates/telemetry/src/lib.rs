//! Capstan's shared telemetry: one place that decides how every component logs and
//! traces, so that a single user request (`capstan apply` → API server → store, then
//! the scheduler's bind and the kubelet's container start) shows up as ONE trace.
//!
//! What it gives a component:
//!
//! * [`init`] / [`init_or_reuse`]: a global `tracing` subscriber (`RUST_LOG` filter,
//!   stderr logs, OpenTelemetry spans exported over OTLP/gRPC when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set, or to [`init_with_endpoint`]'s endpoint)
//!   plus the global W3C propagator; sampling as `OTEL_TRACES_SAMPLER` says
//!   (`sampler`). Each span is exported under its component's `service.name`
//!   (`router`: [`COMPONENT_KEY`], else its in-process parent's, else the
//!   process's), so the components `capstan up` hosts in one process each
//!   appear as a service of their own.
//! * [`TraceServerLayer`] / [`TraceClientLayer`]: tower layers that carry the W3C
//!   `traceparent`/`tracestate` headers in gRPC metadata and open `grpc.server` /
//!   `grpc.client` spans around every call.
//! * [`inject_into_map`] / [`extract_from_map`]: the same context stored on an API
//!   object's annotations under [`TRACE_CONTEXT_ANNOTATION`], for work that happens
//!   later and elsewhere (controllers, scheduler, kubelet).
//! * [`init_for_test`]: an in-memory span exporter so tests can assert that spans
//!   share a trace (and, with [`InMemorySpans::component_of`], whose they are).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let _guard = capstan_telemetry::init("capstan-apiserver")?;
//! let channel = tonic::transport::Channel::from_static("http://127.0.0.1:6443").connect_lazy();
//! let traced: capstan_telemetry::TracedChannel = capstan_telemetry::traced_channel(channel);
//! # let _ = traced;
//! # Ok(())
//! # }
//! ```

mod body;
mod client;
mod error;
mod future;
mod headers;
mod init;
mod propagation;
mod router;
mod rpc;
mod sampler;
mod server;
mod subscriber;
mod testing;

pub use body::TracedBody;
pub use client::{traced_channel, TraceClient, TraceClientLayer, TracedChannel};
pub use error::TelemetryError;
pub use future::TracedFuture;
pub use init::{init, init_or_reuse, init_with_default_filter, init_with_endpoint, TelemetryGuard};
pub use propagation::{
    extract_from_map, follow_context, follow_object, inject_context_into_map, inject_into_map, mark_component,
    trace_id_of, trace_id_of_span, Follow, COMPONENT_KEY, TRACE_CONTEXT_ANNOTATION, TRACE_STATE_ANNOTATION,
};
pub use server::{TraceServer, TraceServerLayer};
pub use subscriber::{otlp_tls, OTLP_CERTIFICATE_VAR, OTLP_CLIENT_CERTIFICATE_VAR, OTLP_CLIENT_KEY_VAR};
pub use testing::{init_for_test, InMemorySpans};

/// Re-exported so callers can name the context type without depending on
/// `opentelemetry` directly.
pub use opentelemetry::Context;
/// Re-exported for assertions on [`InMemorySpans`] results.
pub use opentelemetry_sdk::trace::SpanData;
/// Re-exported so callers can write `span.set_parent(cx)` / `span.context()`.
pub use tracing_opentelemetry::OpenTelemetrySpanExt;
