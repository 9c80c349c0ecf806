//! The sink over real TCP: spans exported by OpenTelemetry's own OTLP/gRPC
//! exporter come back over HTTP from the same port.

use std::net::SocketAddr;
use std::time::Duration;

use capstan_trace_sink::{SinkError, TraceRecord};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::{Span as _, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Bounds a hang only.
const DEADLINE: Duration = Duration::from_secs(30);

async fn get(addr: SocketAddr, path: &str) -> Result<(http::StatusCode, Vec<u8>), Box<dyn std::error::Error>> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let response = tokio::time::timeout(DEADLINE, client.get(format!("http://{addr}{path}").parse()?)).await??;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes().to_vec();
    Ok((status, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_spans_read_back_as_one_trace() -> TestResult {
    let sink = capstan_trace_sink::bind(SocketAddr::from(([127, 0, 0, 1], 0)), 10).await?;
    let addr = sink.local_addr()?;
    let serving = tokio::spawn(sink.serve(std::future::pending()));

    let exporter =
        opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(format!("http://{addr}")).build()?;
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name("capstan-test-exporter").build())
        .with_simple_exporter(exporter)
        .build();
    let tracer = provider.tracer("test");
    let linked = opentelemetry::trace::SpanContext::new(
        opentelemetry::trace::TraceId::from(0xabc_u128),
        opentelemetry::trace::SpanId::from(0xdef_u64),
        opentelemetry::trace::TraceFlags::SAMPLED,
        true,
        Default::default(),
    );
    let (trace_id, root_id) = tokio::task::spawn_blocking(move || {
        let mut root = tracer.start("apply");
        root.set_attribute(KeyValue::new("k8s.namespace.name", "default"));
        let ids = (root.span_context().trace_id(), root.span_context().span_id());
        let cx = opentelemetry::Context::current_with_span(root);
        let mut child = tracer
            .span_builder("create")
            .with_links(vec![opentelemetry::trace::Link::with_context(linked)])
            .start_with_context(&tracer, &cx);
        child.end();
        drop(cx);
        let _ = provider.force_flush();
        ids
    })
    .await?;

    let (status, body) = get(addr, &format!("/traces/{trace_id}")).await?;
    assert_eq!(status, http::StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let trace: TraceRecord = serde_json::from_slice(&body)?;
    let read: Vec<_> =
        trace.spans.iter().map(|s| (s.name.as_str(), s.service.as_str(), s.parent_span_id.clone())).collect();
    assert_eq!(
        read,
        [("apply", "capstan-test-exporter", None), ("create", "capstan-test-exporter", Some(root_id.to_string()))]
    );
    let apply = &trace.spans[0];
    assert_eq!(apply.attributes.get("k8s.namespace.name"), Some(&serde_json::json!("default")));
    assert_eq!(apply.duration_nanos, apply.end_unix_nanos - apply.start_unix_nanos);
    assert_eq!(trace.spans[1].links.first().map(|l| l.span_id.as_str()), Some("0000000000000def"));

    let (status, body) = get(addr, "/traces").await?;
    assert_eq!(status, http::StatusCode::OK);
    let listed: serde_json::Value = serde_json::from_slice(&body)?;
    assert_eq!(listed["traces"][0]["trace_id"], serde_json::json!(trace_id.to_string()));

    let (status, _) = get(addr, &format!("/traces/{}", "1".repeat(32))).await?;
    assert_eq!(status, http::StatusCode::NOT_FOUND);
    let (status, body) = get(addr, "/traces/not-an-id").await?;
    assert_eq!(status, http::StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("32 hex digits"));
    serving.abort();
    Ok(())
}

#[tokio::test]
async fn refuses_to_listen_off_loopback() {
    let outcome = capstan_trace_sink::bind(SocketAddr::from(([0, 0, 0, 0], 0)), 10).await;
    assert!(matches!(outcome, Err(SinkError::NotLoopback(_))), "{outcome:?}");
    let message = outcome.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("loopback"), "{message}");
}
