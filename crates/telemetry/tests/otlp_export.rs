//! The production `init` path: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans reach an
//! OTLP/gRPC collector (a fake one here) under the component's `service.name`; and
//! each component's spans under its own (one process hosting several); and
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
    resource_attribute(request, "service.name")
}

fn resource_attribute(request: &ExportTraceServiceRequest, key: &str) -> Option<String> {
    let resource = request.resource_spans.first()?.resource.as_ref()?;
    let attribute = resource.attributes.iter().find(|kv| kv.key == key)?;
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

    tracing::info_span!("exported-work").in_scope(|| {
        tracing::info!("doing work");
        // another component in the same process, and its child
        let sync = tracing::info_span!("kubelet-sync");
        capstan_telemetry::mark_component(&sync, "capstan-kubelet");
        sync.in_scope(|| tracing::info_span!("runtime-call").in_scope(|| {}));
    });
    drop(shared);
    drop(guard); // flushes the batches to the collector

    let mut by_service = std::collections::BTreeMap::<String, Vec<String>>::new();
    let mut instances = std::collections::BTreeSet::new();
    while by_service.len() < 2 {
        let request = runtime
            .block_on(async { tokio::time::timeout(DEADLINE, received.recv()).await })?
            .ok_or("collector stopped before receiving spans")?;
        let service = service_name(&request).ok_or("an export without service.name")?;
        instances.insert(resource_attribute(&request, "service.instance.id").ok_or("no service.instance.id")?);
        let spans = request.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans);
        assert!(
            spans.flat_map(|s| &s.attributes).all(|kv| kv.key != capstan_telemetry::COMPONENT_KEY),
            "the component is the resource's, not an attribute"
        );
        by_service.entry(service).or_default().extend(span_names(&request));
    }
    assert_eq!(by_service.get("capstan-exporter-test"), Some(&vec!["exported-work".to_owned()]));
    let mut kubelet = by_service.get("capstan-kubelet").cloned().unwrap_or_default();
    kubelet.sort();
    assert_eq!(kubelet, ["kubelet-sync", "runtime-call"]);
    assert_eq!(instances.len(), 2, "each component its own instance id");
    Ok(())
}
