//! The stack's layers, driven through the whole stack as one in-process
//! service (no socket, no daemon) by a gRPC client, on tokio's paused clock
//! where time matters.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use capstan_metrics::Registry;
use capstan_proto::kubelet::v1::kubelet_service_client::KubeletServiceClient;
use capstan_proto::kubelet::v1::kubelet_service_server::{KubeletService, KubeletServiceServer};
use capstan_proto::kubelet::v1::{ExecRequest, LogsRequest, PodUsageRequest, PodUsageResponse};
use capstan_proto::runtime::v1::{ExecOutput, LogChunk};
use capstan_server::{LongRunning, Server, ServerConfig};
use capstan_test_support::metric_sample;
use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, Semaphore};
use tonic::service::Routes;
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

const TIMEOUT: Duration = Duration::from_secs(1);

/// A kubelet service whose behaviour each call's pod name picks.
#[derive(Clone)]
struct Fake {
    /// `blocked` calls report here that they started, then wait for a permit
    entered: mpsc::UnboundedSender<()>,
    release: Arc<Semaphore>,
}

type Chunks = Pin<Box<dyn Stream<Item = Result<LogChunk, Status>> + Send>>;
type Outputs = Pin<Box<dyn Stream<Item = Result<ExecOutput, Status>> + Send>>;

#[tonic::async_trait]
impl KubeletService for Fake {
    type LogsStream = Chunks;
    type ExecStream = Outputs;

    /// Two chunks, far further apart than the request timeout.
    async fn logs(&self, _: Request<LogsRequest>) -> Result<Response<Chunks>, Status> {
        let chunks = futures::stream::iter(["first", "second"]).then(|text| async move {
            tokio::time::sleep(TIMEOUT * 10).await;
            Ok(LogChunk { stream: "stdout".into(), data: text.as_bytes().to_vec(), timestamp: 0 })
        });
        Ok(Response::new(Box::pin(chunks)))
    }

    async fn exec(&self, _: Request<Streaming<ExecRequest>>) -> Result<Response<Outputs>, Status> {
        Err(Status::unimplemented("not in this fake"))
    }

    async fn pod_usage(&self, request: Request<PodUsageRequest>) -> Result<Response<PodUsageResponse>, Status> {
        match request.into_inner().pod.as_str() {
            "slow" => tokio::time::sleep(Duration::from_secs(3600)).await,
            "blocked" => {
                let _ = self.entered.send(());
                let _permit = self.release.acquire().await.map_err(|_| Status::aborted("released"))?;
            }
            "missing" => return Err(Status::not_found("no such pod")),
            _ => {}
        }
        Ok(Response::new(PodUsageResponse::default()))
    }
}

struct Harness {
    stack: Routes,
    registry: Registry,
    entered: mpsc::UnboundedReceiver<()>,
    release: Arc<Semaphore>,
}

fn harness(config: ServerConfig) -> Harness {
    let (entered, entered_rx) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let registry = Registry::new();
    let fake = Fake { entered, release: release.clone() };
    let server =
        Server::new(config, registry.clone()).expect("metrics register").add_service(KubeletServiceServer::new(fake));
    Harness { stack: server.into_service(), registry, entered: entered_rx, release }
}

fn config() -> ServerConfig {
    ServerConfig { request_timeout: TIMEOUT, ..ServerConfig::default() }
}

fn usage(pod: &str) -> PodUsageRequest {
    PodUsageRequest { namespace: "default".into(), pod: pod.into() }
}

fn handled(registry: &Registry, method: &str, code: &str) -> Option<f64> {
    let series = format!(
        "grpc_server_handled_total{{grpc_service=\"capstan.kubelet.v1.KubeletService\",grpc_method=\"{method}\",grpc_code=\"{code}\"}}"
    );
    metric_sample(&registry.render().expect("renders"), &series)
}

#[tokio::test(start_paused = true)]
async fn a_slow_unary_call_ends_with_deadline_exceeded() {
    let h = harness(config());
    let mut client = KubeletServiceClient::new(h.stack.clone());
    let status = client.pod_usage(usage("slow")).await.expect_err("timed out");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    assert!(status.message().contains("PodUsage"), "{status}");
    assert_eq!(handled(&h.registry, "PodUsage", "DeadlineExceeded"), Some(1.0));
}

#[tokio::test(start_paused = true)]
async fn a_slow_stream_is_not_cut() {
    let h = harness(config());
    let mut client = KubeletServiceClient::new(h.stack.clone());
    let chunks = client.logs(LogsRequest::default()).await.expect("the stream starts").into_inner();
    let chunks: Vec<LogChunk> = chunks.map(|chunk| chunk.expect("no chunk is cut")).collect().await;
    let texts: Vec<&[u8]> = chunks.iter().map(|c| c.data.as_slice()).collect();
    assert_eq!(texts, [b"first".as_slice(), b"second".as_slice()]);
    assert_eq!(handled(&h.registry, "Logs", "OK"), Some(1.0));
}

#[tokio::test(start_paused = true)]
async fn a_long_running_call_is_not_timed() {
    let long_running = LongRunning::new(["/capstan.kubelet.v1.KubeletService/PodUsage"]);
    let h = harness(ServerConfig { long_running, ..config() });
    let mut client = KubeletServiceClient::new(h.stack.clone());
    client.pod_usage(usage("slow")).await.expect("answers after an hour");
}

#[tokio::test]
async fn a_call_over_the_concurrency_limit_is_refused_and_health_still_answers() {
    let mut h = harness(ServerConfig { max_concurrent_requests: 1, ..ServerConfig::default() });
    let mut first = KubeletServiceClient::new(h.stack.clone());
    let holding = tokio::spawn(async move { first.pod_usage(usage("blocked")).await });
    h.entered.recv().await.expect("the first call holds the only slot");

    let mut client = KubeletServiceClient::new(h.stack.clone());
    let refused = client.pod_usage(usage("any")).await.expect_err("over the limit");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused}");
    assert_eq!(refused.metadata().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let mut health = HealthClient::new(h.stack.clone());
    health.check(HealthCheckRequest::default()).await.expect("health is outside the limit");

    h.release.add_permits(1);
    holding.await.expect("task").expect("the first call completes");
    client.pod_usage(usage("any")).await.expect("its slot is free again");
    assert_eq!(handled(&h.registry, "PodUsage", "ResourceExhausted"), Some(1.0));
    assert_eq!(handled(&h.registry, "PodUsage", "OK"), Some(2.0));
}

#[tokio::test]
async fn an_over_size_request_is_refused() {
    let h = harness(ServerConfig { max_receive_message_bytes: 1024, ..ServerConfig::default() });
    let mut client = KubeletServiceClient::new(h.stack.clone());
    let status = client.pod_usage(usage(&"x".repeat(4096))).await.expect_err("too large");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    assert!(status.message().contains("too large"), "{status}");
    client.pod_usage(usage("small")).await.expect("a small request still passes");
}

#[tokio::test]
async fn mutating_calls_have_a_pool_of_their_own() {
    let mutating = capstan_server::Methods::new(["/capstan.kubelet.v1.KubeletService/PodUsage"]);
    let mut h = harness(ServerConfig { max_mutating_requests: 1, mutating, ..ServerConfig::default() });
    let mut first = KubeletServiceClient::new(h.stack.clone());
    let holding = tokio::spawn(async move { first.pod_usage(usage("blocked")).await });
    h.entered.recv().await.expect("the first call holds the only mutating slot");
    let mut client = KubeletServiceClient::new(h.stack.clone());
    let refused = client.pod_usage(usage("any")).await.expect_err("over the mutating limit");
    assert!(refused.message().contains("limit of 1 mutating calls"), "{refused}");
    h.release.add_permits(1);
    holding.await.expect("task").expect("the first call completes");
}

#[tokio::test]
async fn metrics_count_calls_by_method_and_code() {
    let h = harness(ServerConfig::default());
    let mut client = KubeletServiceClient::new(h.stack.clone());
    client.pod_usage(usage("a")).await.expect("ok");
    client.pod_usage(usage("b")).await.expect("ok");
    client.pod_usage(usage("missing")).await.expect_err("not found");
    let exec = client.exec(futures::stream::empty()).await;
    assert_eq!(exec.err().map(|s| s.code()), Some(Code::Unimplemented));

    assert_eq!(handled(&h.registry, "PodUsage", "OK"), Some(2.0));
    assert_eq!(handled(&h.registry, "PodUsage", "NotFound"), Some(1.0));
    // an unimplemented method is not a series of its own
    assert_eq!(handled(&h.registry, "unknown", "Unimplemented"), Some(1.0));
    let text = h.registry.render().expect("renders");
    let timed = "grpc_server_handling_seconds_count{grpc_service=\"capstan.kubelet.v1.KubeletService\",grpc_method=\"PodUsage\"}";
    assert_eq!(metric_sample(&text, timed), Some(3.0), "{text}");
}

#[tokio::test]
async fn a_caller_that_goes_away_mid_stream_is_counted_as_canceled() {
    let h = harness(config());
    let mut client = KubeletServiceClient::new(h.stack.clone());
    let chunks = client.logs(LogsRequest::default()).await.expect("the stream starts");
    drop(chunks);
    assert_eq!(handled(&h.registry, "Logs", "Canceled"), Some(1.0));
}
