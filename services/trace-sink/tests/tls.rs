//! The sink off loopback: TLS through the one server stack, every caller
//! authenticated by a client certificate the cluster's CA signed. Spans come
//! from OpenTelemetry's own OTLP/gRPC exporter over real TCP, its TLS built
//! from the OTLP specification's certificate variables as every component
//! builds it (`capstan_telemetry::otlp_tls`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use capstan_pki::{InitOptions, Layout};
use capstan_server::TlsFiles;
use capstan_trace_sink::{SinkError, TraceStore};
use opentelemetry::trace::{Span as _, Tracer, TracerProvider as _};
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn pki(dir: &Path) -> TestResult<Layout> {
    capstan_pki::init(&InitOptions::new(dir))?;
    Ok(Layout::new(dir))
}

fn sink_tls(layout: &Layout) -> TlsFiles {
    TlsFiles { cert: layout.cert("trace-sink"), key: layout.key("trace-sink"), client_ca: Some(layout.ca_cert()) }
}

/// Exports one span named `name` to `https://localhost:PORT` with the TLS the
/// certificate variables `vars` describe; its trace id.
async fn export_one(port: u16, vars: HashMap<&'static str, String>, name: &'static str) -> TestResult<String> {
    let tls = capstan_telemetry::otlp_tls(|var| vars.get(var).cloned())?.ok_or("no TLS from the variables")?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(format!("https://localhost:{port}"))
        .with_tls_config(tls)
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name("capstan-test-exporter").build())
        .with_simple_exporter(exporter)
        .build();
    // the simple exporter exports as the span ends: once `end` returns, the
    // export has been answered (taken or refused)
    let trace_id = tokio::task::spawn_blocking(move || {
        let mut span = provider.tracer("test").start(name);
        let id = span.span_context().trace_id().to_string();
        span.end();
        let _ = provider.force_flush();
        id
    })
    .await?;
    Ok(trace_id)
}

fn held(store: &TraceStore, trace_id: &str) -> Vec<String> {
    store.trace(trace_id).map(|t| t.spans.into_iter().map(|s| s.name).collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_exporter_with_a_client_certificate_gets_its_spans_in() -> TestResult {
    let dir = tempfile::tempdir()?;
    let layout = pki(dir.path())?;
    // off loopback: allowed, because every caller must authenticate
    let sink = capstan_trace_sink::bind_with(SocketAddr::from(([0, 0, 0, 0], 0)), 10, Some(sink_tls(&layout))).await?;
    let port = sink.local_addr()?.port();
    let store = sink.store();
    let serving = tokio::spawn(sink.serve(std::future::pending()));

    let ca = layout.ca_cert().display().to_string();
    let with_cert = HashMap::from([
        (capstan_telemetry::OTLP_CERTIFICATE_VAR, ca.clone()),
        (capstan_telemetry::OTLP_CLIENT_CERTIFICATE_VAR, layout.cert("admin").display().to_string()),
        (capstan_telemetry::OTLP_CLIENT_KEY_VAR, layout.key("admin").display().to_string()),
    ]);
    let taken = export_one(port, with_cert, "authenticated").await?;
    assert_eq!(held(&store, &taken), ["authenticated"], "the authenticated exporter's span");

    // the same CA, so the handshake verifies the sink, but no client certificate
    let without_cert = HashMap::from([(capstan_telemetry::OTLP_CERTIFICATE_VAR, ca)]);
    let refused = export_one(port, without_cert, "anonymous").await?;
    assert_eq!(held(&store, &refused), Vec::<String>::new(), "an exporter without a client certificate is refused");
    assert_eq!(store.recent().len(), 1, "only the authenticated trace: {:?}", store.recent());
    serving.abort();
    Ok(())
}

#[tokio::test]
async fn off_loopback_needs_a_client_ca() -> TestResult {
    let dir = tempfile::tempdir()?;
    let layout = pki(dir.path())?;
    let no_ca = TlsFiles { client_ca: None, ..sink_tls(&layout) };
    let outcome = capstan_trace_sink::bind_with(SocketAddr::from(([0, 0, 0, 0], 0)), 10, Some(no_ca.clone())).await;
    assert!(matches!(outcome, Err(SinkError::NotLoopback(_))), "{outcome:?}");
    let message = outcome.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("--client-ca-file"), "{message}");
    // on loopback TLS alone is fine
    capstan_trace_sink::bind_with(SocketAddr::from(([127, 0, 0, 1], 0)), 10, Some(no_ca)).await?;
    // a certificate file that is not there refuses the start, naming it
    let missing = TlsFiles { cert: dir.path().join("missing.crt"), ..sink_tls(&layout) };
    let outcome = capstan_trace_sink::bind_with(SocketAddr::from(([127, 0, 0, 1], 0)), 10, Some(missing)).await;
    let message = outcome.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("missing.crt"), "{message}");
    Ok(())
}
