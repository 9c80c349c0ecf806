//! The HTTP face beside gRPC (the API server's REST face) passes the same
//! layers as the gRPC services: the same concurrency limit (refused 429 as
//! kube-apiserver refuses, with `Retry-After`), the same timeout (504
//! `Timeout`) with long-running requests exempt, the same request metrics
//! under Kubernetes' verbs and resources, and the same authentication (401
//! as a `metav1.Status`, health open). Driven through the whole stack as one
//! in-process service, on tokio's paused clock where time matters.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use capstan_metrics::Registry;
use capstan_proto::kubelet::v1::kubelet_service_server::{KubeletService, KubeletServiceServer};
use capstan_proto::kubelet::v1::{ExecRequest, LogsRequest, PodUsageRequest, PodUsageResponse};
use capstan_proto::runtime::v1::{ExecOutput, LogChunk};
use capstan_server::{AuthenticationConfig, CallKind, HttpCall, HttpFace, Server, ServerConfig};
use capstan_test_support::metric_sample;
use tokio::sync::{mpsc, Semaphore};
use tonic::service::Routes;
use tower::ServiceExt;

const TIMEOUT: Duration = Duration::from_secs(1);

/// No gRPC call reaches it: the face is what is tested.
struct Idle;

#[tonic::async_trait]
impl KubeletService for Idle {
    type LogsStream = futures::stream::Empty<Result<LogChunk, tonic::Status>>;
    type ExecStream = futures::stream::Empty<Result<ExecOutput, tonic::Status>>;

    async fn logs(&self, _: tonic::Request<LogsRequest>) -> Result<tonic::Response<Self::LogsStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("idle"))
    }

    async fn exec(
        &self,
        _: tonic::Request<tonic::Streaming<ExecRequest>>,
    ) -> Result<tonic::Response<Self::ExecStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("idle"))
    }

    async fn pod_usage(
        &self,
        _: tonic::Request<PodUsageRequest>,
    ) -> Result<tonic::Response<PodUsageResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("idle"))
    }
}

struct Harness {
    stack: Routes,
    registry: Registry,
    entered: mpsc::UnboundedReceiver<()>,
    release: Arc<Semaphore>,
}

/// A face with `/pods` (answers at once), `/blocked` (waits for a permit),
/// `/slow` (an hour), `/watch` (an hour, long-running) and `/healthz`.
fn harness(config: ServerConfig) -> Harness {
    let (entered, entered_rx) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let permits = release.clone();
    let router = axum::Router::new()
        .route("/pods", get(|| async { "[]" }).post(|| async { "{}" }))
        .route(
            "/blocked",
            get(move || {
                let (entered, permits) = (entered.clone(), permits.clone());
                async move {
                    let _ = entered.send(());
                    let _permit = permits.acquire().await;
                    "done"
                }
            }),
        )
        .route("/slow", get(|| async { tokio::time::sleep(Duration::from_secs(3600)).await }))
        .route("/watch", get(|| async { tokio::time::sleep(Duration::from_secs(3600)).await }))
        .route("/healthz", get(|| async { "ok" }));
    let classify = Arc::new(|method: &http::Method, uri: &http::Uri| {
        let kind = match uri.path() {
            "/watch" => CallKind::LongRunning,
            "/healthz" => CallKind::Probe,
            _ => CallKind::Request,
        };
        let verb = if method == http::Method::POST { "create" } else { "list" };
        HttpCall { verb, resource: "pods".into(), kind }
    });
    let registry = Registry::new();
    let server = Server::new(config, registry.clone())
        .expect("metrics register")
        .add_service(KubeletServiceServer::new(Idle))
        .serve_http(HttpFace { router, classify });
    Harness { stack: server.into_service(), registry, entered: entered_rx, release }
}

/// One request through the whole stack: its status, `Retry-After` and body.
async fn send(stack: &Routes, method: &str, path: &str) -> (u16, Option<String>, String) {
    let request = http::Request::builder().method(method).uri(path).body(Body::empty()).expect("a request");
    let response = stack.clone().oneshot(request).await.expect("the stack answers");
    let retry_after = response.headers().get(http::header::RETRY_AFTER).map(|v| v.to_str().unwrap_or("").to_string());
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX).await.expect("the body");
    (status, retry_after, String::from_utf8_lossy(&body).into_owned())
}

fn reason(body: &str) -> String {
    let status: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(status["kind"], "Status", "{body}");
    status["reason"].as_str().unwrap_or_default().to_string()
}

fn handled(registry: &Registry, verb: &str, code: &str) -> Option<f64> {
    let series =
        format!("grpc_server_handled_total{{grpc_service=\"pods\",grpc_method=\"{verb}\",grpc_code=\"{code}\"}}");
    metric_sample(&registry.render().expect("renders"), &series)
}

#[tokio::test]
async fn a_request_over_the_limit_is_refused_429_with_retry_after_and_health_still_answers() {
    let mut h = harness(ServerConfig { max_concurrent_requests: 1, ..ServerConfig::default() });
    let stack = h.stack.clone();
    let holding = tokio::spawn(async move { send(&stack, "GET", "/blocked").await });
    h.entered.recv().await.expect("the first request holds the only slot");

    let (status, retry_after, body) = send(&h.stack, "GET", "/pods").await;
    assert_eq!((status, retry_after.as_deref()), (429, Some("1")), "{body}");
    assert_eq!(reason(&body), "TooManyRequests");
    assert_eq!(send(&h.stack, "GET", "/healthz").await.0, 200, "a probe takes no slot");
    assert_eq!(inflight(&h.registry, "readOnly"), Some(1.0), "the held request, as kube-apiserver reports it");

    h.release.add_permits(1);
    assert_eq!(holding.await.expect("task").0, 200);
    assert_eq!(send(&h.stack, "GET", "/pods").await.0, 200, "its slot is free again");
    assert_eq!(inflight(&h.registry, "readOnly"), Some(0.0));
    assert_eq!(handled(&h.registry, "list", "ResourceExhausted"), Some(1.0));
    assert_eq!(handled(&h.registry, "list", "OK"), Some(2.0));
    // on kube-apiserver's names too, labelled from the classifier (no hook heard of these calls)
    assert_eq!(api_requests(&h.registry, "LIST", "429"), Some(1.0));
    assert_eq!(api_requests(&h.registry, "LIST", "200"), Some(2.0));
}

fn inflight(registry: &Registry, kind: &str) -> Option<f64> {
    let series = format!("apiserver_current_inflight_requests{{request_kind=\"{kind}\"}}");
    metric_sample(&registry.render().expect("renders"), &series)
}

fn api_requests(registry: &Registry, verb: &str, code: &str) -> Option<f64> {
    let series = format!(
        "apiserver_request_total{{verb=\"{verb}\",dry_run=\"\",group=\"\",version=\"\",resource=\"pods\",\
         subresource=\"\",scope=\"\",component=\"apiserver\",code=\"{code}\"}}"
    );
    metric_sample(&registry.render().expect("renders"), &series)
}

#[tokio::test]
async fn a_write_takes_a_slot_of_the_mutating_pool() {
    let mut h =
        harness(ServerConfig { max_mutating_requests: 1, max_concurrent_requests: 1, ..ServerConfig::default() });
    let stack = h.stack.clone();
    let holding = tokio::spawn(async move { send(&stack, "GET", "/blocked").await });
    h.entered.recv().await.expect("the read holds the only read slot");
    let (status, _, body) = send(&h.stack, "POST", "/pods").await;
    assert_eq!(status, 200, "a write is not refused for want of a read slot: {body}");
    h.release.add_permits(1);
    holding.await.expect("task");
    assert_eq!(handled(&h.registry, "create", "OK"), Some(1.0));
}

#[tokio::test(start_paused = true)]
async fn a_slow_request_is_answered_504_timeout_and_a_long_running_one_is_not_timed() {
    let h = harness(ServerConfig { request_timeout: TIMEOUT, ..ServerConfig::default() });
    let (status, _, body) = send(&h.stack, "GET", "/slow").await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(reason(&body), "Timeout");
    assert_eq!(handled(&h.registry, "list", "DeadlineExceeded"), Some(1.0));

    let (status, _, _) = send(&h.stack, "GET", "/watch").await;
    assert_eq!(status, 200, "the long-running request answered after an hour, untimed");
    let text = h.registry.render().expect("renders");
    let timed = "grpc_server_handling_seconds_count{grpc_service=\"pods\",grpc_method=\"list\"}";
    assert_eq!(metric_sample(&text, timed), Some(2.0), "{text}");
    // kube-apiserver's histogram leaves the long-running request out
    let timed = "apiserver_request_duration_seconds_count{verb=\"LIST\",dry_run=\"\",group=\"\",version=\"\",\
        resource=\"pods\",subresource=\"\",scope=\"\",component=\"apiserver\"}";
    assert_eq!(metric_sample(&text, timed), Some(1.0), "{text}");
    assert_eq!(api_requests(&h.registry, "LIST", "504"), Some(1.0));
    assert_eq!(api_requests(&h.registry, "LIST", "200"), Some(1.0), "the long-running one, once it ended");
}

#[tokio::test]
async fn an_unauthenticated_request_is_refused_401_as_a_status_and_health_is_open() {
    let authentication = Some(AuthenticationConfig { token_file: None, anonymous: false });
    let h = harness(ServerConfig { authentication, ..ServerConfig::default() });
    let (status, _, body) = send(&h.stack, "GET", "/pods").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(reason(&body), "Unauthorized");
    assert_eq!(send(&h.stack, "GET", "/healthz").await, (200, None, "ok".to_string()));
    assert_eq!(handled(&h.registry, "list", "Unauthenticated"), Some(1.0));
}
