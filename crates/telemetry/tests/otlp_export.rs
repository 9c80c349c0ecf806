//! The production `init` path: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans reach an
//! OTLP/gRPC collector (a fake one here) under the component's `service.name`; and
//! the process-wide rules (`init` once, `init_or_reuse` shares) hold.
//!
//! One test only: it sets an environment variable and installs the global
//! subscriber, so it must own its process.

use std::net::SocketAddr;
use std::time::Duration;

use capstan_telemetry::{init, init_or_reuse, TelemetryError};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tokio::sync::mpsc;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// Bounds a hang only; nothing asserts on elapsed time.
const DEADLINE: Duration = Duration::from_secs(30);

struct FakeCollector(mpsc::UnboundedSender<ExportTraceServiceRequest>);

#[tonic::async_trait]
impl TraceService for FakeCollector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let _ = self.0.send(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

fn service_name(request: &ExportTraceServiceRequest) -> Option<String> {
    let resource = request.resource_spans.first()?.resource.as_ref()?;
    let attribute = resource.attributes.iter().find(|kv| kv.key == "service.name")?;
    match attribute.value.as_ref()?.value.as_ref()? {
        Value::StringValue(name) => Some(name.clone()),
        _ => None,
    }
}

fn span_names(request: &ExportTraceServiceRequest) -> Vec<String> {
    let scopes = request.resource_spans.iter().flat_map(|r| &r.scope_spans);
    scopes.flat_map(|s| &s.spans).map(|s| s.name.clone()).collect()
}

#[test]
fn init_exports_spans_over_otlp_and_installs_once() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let incoming = runtime.block_on(async { TcpIncoming::bind(SocketAddr::from(([127, 0, 0, 1], 0))) })?;
    let addr = incoming.local_addr()?;
    // init() reads the endpoint from the environment, as a deployed component does; nextest
    // runs each test in its own process, so no other test's thread reads it concurrently
    #[allow(clippy::disallowed_methods)]
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}"));

    // Export needs a runtime to drive its connection: a clear error, nothing installed.
    assert!(matches!(init("early"), Err(TelemetryError::NoTokioRuntime)));

    let (sent, mut received) = mpsc::unbounded_channel();
    runtime.spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(FakeCollector(sent)))
            .serve_with_incoming(incoming),
    );

    let guard = runtime.block_on(async { init("capstan-exporter-test") })?;
    assert!(matches!(runtime.block_on(async { init("second") }), Err(TelemetryError::AlreadyInitialized)));
    let shared = runtime.block_on(async { init_or_reuse("in-process-peer") })?;

    tracing::info_span!("exported-work").in_scope(|| tracing::info!("doing work"));
    drop(shared);
    drop(guard); // flushes the batch to the collector

    let request = runtime
        .block_on(async { tokio::time::timeout(DEADLINE, received.recv()).await })?
        .ok_or("collector stopped before receiving spans")?;
    assert_eq!(service_name(&request).as_deref(), Some("capstan-exporter-test"));
    assert!(span_names(&request).contains(&"exported-work".to_owned()));
    Ok(())
}
