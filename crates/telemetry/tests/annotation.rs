//! Trace context on API objects: the annotation written by one component must let a
//! later span, in another component, join the same trace.

use std::collections::BTreeMap;
use std::time::Duration;

use capstan_telemetry::{
    extract_from_map, init_for_test, inject_context_into_map, inject_into_map, OpenTelemetrySpanExt,
    TRACE_CONTEXT_ANNOTATION, TRACE_STATE_ANNOTATION,
};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;

fn remote_context(state: TraceState) -> SpanContext {
    SpanContext::new(
        TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736_u128),
        SpanId::from(0x00f067aa0ba902b7_u64),
        TraceFlags::SAMPLED,
        true,
        state,
    )
}

#[test]
fn annotation_round_trips_traceparent_and_tracestate() -> Result<(), Box<dyn std::error::Error>> {
    let state = TraceState::from_key_value([("vendor", "abc")])?;
    let sent = remote_context(state);
    let mut annotations = BTreeMap::from([("app".to_owned(), "web".to_owned())]);

    inject_context_into_map(&Context::new().with_remote_span_context(sent.clone()), &mut annotations);

    assert_eq!(
        annotations.get(TRACE_CONTEXT_ANNOTATION).map(String::as_str),
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    );
    assert_eq!(annotations.get(TRACE_STATE_ANNOTATION).map(String::as_str), Some("vendor=abc"));
    assert_eq!(annotations.get("app").map(String::as_str), Some("web"));
    assert_eq!(extract_from_map(&annotations).span().span_context(), &sent);
    Ok(())
}

#[test]
fn missing_or_garbled_annotations_yield_no_parent() {
    let mut annotations = BTreeMap::new();
    assert!(!extract_from_map(&annotations).span().span_context().is_valid());
    annotations.insert(TRACE_CONTEXT_ANNOTATION.to_owned(), "00-zz-yy-01".to_owned());
    assert!(!extract_from_map(&annotations).span().span_context().is_valid());
}

#[test]
fn injecting_without_a_context_clears_a_stale_one() {
    let mut annotations = BTreeMap::new();
    inject_context_into_map(
        &Context::new().with_remote_span_context(remote_context(TraceState::default())),
        &mut annotations,
    );
    assert!(annotations.contains_key(TRACE_CONTEXT_ANNOTATION));
    inject_context_into_map(&Context::new(), &mut annotations);
    assert!(annotations.is_empty());
}

#[tokio::test]
async fn later_work_joins_the_trace_of_the_writer() -> Result<(), Box<dyn std::error::Error>> {
    let spans = init_for_test();
    let mut annotations = BTreeMap::new();
    let apply = tracing::info_span!("apply");
    apply.in_scope(|| inject_into_map(&mut annotations));
    let apply_context = apply.context().span().span_context().clone();
    drop(apply);

    // Elsewhere, later: the scheduler binds the pod under the stored context.
    let bind = tracing::info_span!("bind");
    bind.set_parent(extract_from_map(&annotations))?;
    let bind_context = bind.context().span().span_context().clone();
    drop(bind);

    assert!(apply_context.is_valid());
    assert_eq!(bind_context.trace_id(), apply_context.trace_id());
    let recorded =
        spans.wait_for(Duration::from_secs(30), |all| all.iter().any(|s| s.span_context == bind_context)).await?;
    let bind_span = recorded.iter().find(|s| s.span_context == bind_context).ok_or("bind span not recorded")?;
    assert_eq!(bind_span.parent_span_id, apply_context.span_id());
    Ok(())
}
