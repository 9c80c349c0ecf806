//! Trace context carried on API objects. gRPC metadata only lives for one call, but
//! much of Capstan's work happens later, in another process, triggered by a watch:
//! the scheduler binds a pod, the kubelet starts its containers. Storing the W3C
//! `traceparent` of the request that wrote the object in an annotation lets that
//! later work join the original trace.

use std::collections::BTreeMap;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Annotation holding the W3C `traceparent` of the request that last wrote the object.
pub const TRACE_CONTEXT_ANNOTATION: &str = "capstan.io/trace-context";
/// Annotation holding the W3C `tracestate`, present only when it is non-empty.
pub const TRACE_STATE_ANNOTATION: &str = "capstan.io/trace-state";

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// Stores the current `tracing` span's trace context in `annotations`.
///
/// Any previous trace annotations are removed first, so an object re-applied from an
/// old copy never points at a stale trace. When there is no valid current context
/// (telemetry not initialised), the map ends up without trace annotations.
pub fn inject_into_map(annotations: &mut BTreeMap<String, String>) {
    inject_context_into_map(&tracing::Span::current().context(), annotations);
}

/// Like [`inject_into_map`], for an explicit context.
pub fn inject_context_into_map(cx: &Context, annotations: &mut BTreeMap<String, String>) {
    annotations.remove(TRACE_CONTEXT_ANNOTATION);
    annotations.remove(TRACE_STATE_ANNOTATION);
    TraceContextPropagator::new().inject_context(cx, &mut AnnotationInjector(annotations));
}

/// Reads the trace context stored by [`inject_into_map`].
///
/// Returns an empty context when the annotation is missing or malformed; use it with
/// `span.set_parent(cx)` (from [`OpenTelemetrySpanExt`]) to join the trace.
pub fn extract_from_map(annotations: &BTreeMap<String, String>) -> Context {
    TraceContextPropagator::new().extract(&AnnotationExtractor(annotations))
}

fn annotation_key(header: &str) -> Option<&'static str> {
    match header {
        TRACEPARENT => Some(TRACE_CONTEXT_ANNOTATION),
        TRACESTATE => Some(TRACE_STATE_ANNOTATION),
        _ => None,
    }
}

struct AnnotationInjector<'a>(&'a mut BTreeMap<String, String>);

impl Injector for AnnotationInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let Some(annotation) = annotation_key(key) {
            if !value.is_empty() {
                self.0.insert(annotation.to_owned(), value);
            }
        }
    }
}

struct AnnotationExtractor<'a>(&'a BTreeMap<String, String>);

impl Extractor for AnnotationExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        annotation_key(key).and_then(|annotation| self.0.get(annotation)).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE]
    }
}

/// The span attribute naming the component a span belongs to
/// (`capstan-kubelet`, `capstan-scheduler`, …). Exported spans carry it as
/// their resource's `service.name` instead, so several components in one
/// process (`capstan up`) each appear as their own service; a span without
/// it belongs to its in-process parent's component, else to the process's.
pub const COMPONENT_KEY: &str = "capstan.component";

/// How a component's span carries on from the trace an object records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// The span is the next step of that trace (the write it acts on is why
    /// it runs): it becomes a child of the recorded context.
    Parent,
    /// The span serves many writes at once, or runs for its own reasons (a
    /// resync): it starts its own trace and links to the recorded one.
    Link,
}

/// Continues, as `component`, the trace recorded in `annotations` (see
/// [`inject_into_map`]) on `span`, a span not yet entered. A missing or
/// malformed record leaves `span` a root of its own trace.
pub fn follow_object(
    span: &tracing::Span,
    component: &'static str,
    annotations: &BTreeMap<String, String>,
    how: Follow,
) {
    span.set_attribute(COMPONENT_KEY, component);
    let recorded = extract_from_map(annotations);
    follow_context(span, &recorded, how);
}

/// Like [`follow_object`], for a context already extracted.
pub fn follow_context(span: &tracing::Span, recorded: &Context, how: Follow) {
    use opentelemetry::trace::TraceContextExt;
    let remote = recorded.span().span_context().clone();
    if !remote.is_valid() {
        return;
    }
    match how {
        // fails only when no OpenTelemetry layer is installed or the span
        // already started: then there is no trace to join
        Follow::Parent => {
            let _ = span.set_parent(recorded.clone());
        }
        Follow::Link => span.add_link(remote),
    }
}

/// Marks `span` as `component`'s (see [`COMPONENT_KEY`]).
pub fn mark_component(span: &tracing::Span, component: &'static str) {
    span.set_attribute(COMPONENT_KEY, component);
}

/// The W3C trace id of the context recorded in `annotations`, if any (what
/// `capstan describe` shows).
pub fn trace_id_of(annotations: &BTreeMap<String, String>) -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    let context = extract_from_map(annotations);
    let span = context.span();
    let recorded = span.span_context();
    recorded.is_valid().then(|| recorded.trace_id().to_string())
}

/// The W3C trace id of `span` (a command's root span, for `capstan --trace`),
/// if telemetry is on.
pub fn trace_id_of_span(span: &tracing::Span) -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    let context = span.context();
    let recorded = context.span();
    let span_context = recorded.span_context();
    span_context.is_valid().then(|| span_context.trace_id().to_string())
}
