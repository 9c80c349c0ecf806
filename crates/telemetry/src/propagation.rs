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
