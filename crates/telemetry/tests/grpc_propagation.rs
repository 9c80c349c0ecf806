//! End to end over real gRPC: a tonic server behind `TraceServerLayer` and a client
//! behind `TraceClientLayer`, with the standard health service so no protos are
//! needed. Asserts on spans captured by the in-memory exporter.

use std::net::SocketAddr;
use std::time::Duration;

use capstan_telemetry::{
    init_for_test, InMemorySpans, OpenTelemetrySpanExt, SpanData, TraceClientLayer, TraceServerLayer, TracedChannel,
};
use opentelemetry::trace::{Status, TraceContextExt, TraceId};
use tokio::sync::oneshot;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
use tracing::Instrument;

/// Bounds a hang only; nothing asserts on elapsed time.
const DEADLINE: Duration = Duration::from_secs(30);

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Starts the health service on an ephemeral port; send on the sender to stop it.
fn start_server() -> Result<(SocketAddr, oneshot::Sender<()>), std::io::Error> {
    let incoming = TcpIncoming::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = incoming.local_addr()?;
    let (_reporter, health) = tonic_health::server::health_reporter();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(
        Server::builder()
            .layer(TraceServerLayer::component("capstan-test-server"))
            .add_service(health)
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            }),
    );
    Ok((addr, stop))
}

async fn traced_client(addr: SocketAddr) -> Result<HealthClient<TracedChannel>, Box<dyn std::error::Error>> {
    let channel = Channel::from_shared(format!("http://{addr}"))?.connect().await?;
    let traced: TracedChannel = tower::ServiceBuilder::new().layer(TraceClientLayer).service(channel);
    Ok(HealthClient::new(traced))
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.as_str().into_owned())
}

/// Waits for one client and one server span of `trace` and returns them.
async fn call_spans(spans: &InMemorySpans, trace: TraceId) -> Result<(SpanData, SpanData), Box<dyn std::error::Error>> {
    let found = spans
        .wait_for(DEADLINE, |all| {
            let in_trace = |name: &str| all.iter().any(|s| s.name == name && s.span_context.trace_id() == trace);
            in_trace("grpc.client") && in_trace("grpc.server")
        })
        .await?;
    let pick = |name: &str| {
        found
            .iter()
            .find(|s| s.name == name && s.span_context.trace_id() == trace)
            .cloned()
            .ok_or_else(|| format!("no {name} span"))
    };
    Ok((pick("grpc.client")?, pick("grpc.server")?))
}

#[tokio::test]
async fn client_and_server_spans_form_one_trace() -> TestResult {
    let spans = init_for_test();
    let (addr, stop) = start_server()?;
    let mut client = traced_client(addr).await?;

    // Stands in for `capstan apply`: the call must join this trace.
    let apply = tracing::info_span!("apply");
    let trace = apply.context().span().span_context().trace_id();
    let reply = client.check(HealthCheckRequest::default()).instrument(apply.clone()).await?;
    assert_eq!(reply.get_ref().status, 1, "SERVING");

    let (client_span, server_span) = call_spans(&spans, trace).await?;
    assert_ne!(trace, TraceId::INVALID);
    assert_eq!(client_span.parent_span_id, apply.context().span().span_context().span_id());
    assert_eq!(server_span.parent_span_id, client_span.span_context.span_id());
    assert!(server_span.parent_span_is_remote);
    // the server's span is its component's; the client's, in the test's own span, the process's
    assert_eq!(InMemorySpans::component_of(&server_span).as_deref(), Some("capstan-test-server"));
    assert_eq!(InMemorySpans::component_of(&client_span).as_deref(), Some("capstan-test"));
    for span in [&client_span, &server_span] {
        assert_eq!(attr(span, "rpc.service").as_deref(), Some("grpc.health.v1.Health"));
        assert_eq!(attr(span, "rpc.method").as_deref(), Some("Check"));
        assert_eq!(attr(span, "rpc.grpc.status_code").as_deref(), Some("0"));
        assert_eq!(span.status, Status::Unset);
    }
    let _ = stop.send(());
    Ok(())
}

#[tokio::test]
async fn caller_errors_are_recorded_without_blaming_the_server() -> TestResult {
    let spans = init_for_test();
    let (addr, stop) = start_server()?;
    let mut client = traced_client(addr).await?;

    let root = tracing::info_span!("lookup-unknown-service");
    let trace = root.context().span().span_context().trace_id();
    let request = HealthCheckRequest { service: "no.such.Service".to_owned() };
    let outcome = client.check(request).instrument(root).await;
    assert_eq!(outcome.err().map(|s| s.code()), Some(tonic::Code::NotFound));

    let (client_span, server_span) = call_spans(&spans, trace).await?;
    assert_eq!(server_span.parent_span_id, client_span.span_context.span_id());
    // NOT_FOUND is the caller's problem: an error for the client only.
    assert_eq!(attr(&server_span, "rpc.grpc.status_code").as_deref(), Some("5"));
    assert_eq!(server_span.status, Status::Unset);
    assert_eq!(attr(&client_span, "rpc.grpc.status_code").as_deref(), Some("5"));
    assert!(matches!(client_span.status, Status::Error { .. }));
    let _ = stop.send(());
    Ok(())
}

/// Receiving spans makes no span: a receiver that exports its own spans to itself
/// would otherwise trace each export of the last export's span, forever.
#[tokio::test]
async fn span_exports_received_are_not_traced() -> TestResult {
    use tower::{Layer, Service, ServiceExt};
    let spans = init_for_test();
    let mut server = TraceServerLayer::component("capstan-test-receiver").layer(tower::service_fn(
        |_: http::Request<String>| async { Ok::<_, std::convert::Infallible>(http::Response::new(String::new())) },
    ));
    let root = tracing::info_span!("receiver-test");
    let trace = root.context().span().span_context().trace_id();
    for path in ["/opentelemetry.proto.collector.trace.v1.TraceService/Export", "/grpc.health.v1.Health/Check"] {
        let request = http::Request::builder().uri(path).body(String::new())?;
        let ready = server.ready().await?;
        // the server's span is made in `call`: inside the root, it joins the root's trace
        let response = root.in_scope(|| ready.call(request)).await?;
        drop(response);
    }
    // the second call's span is there, so the first's would be too
    let found = spans.wait_for(DEADLINE, |spans| spans.iter().any(|s| s.span_context.trace_id() == trace)).await?;
    let services: Vec<_> =
        found.iter().filter(|s| s.span_context.trace_id() == trace).filter_map(|s| attr(s, "rpc.service")).collect();
    assert_eq!(services, ["grpc.health.v1.Health"]);
    Ok(())
}
