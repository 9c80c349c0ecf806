//! Request metrics: every gRPC call counted by service, method and status
//! code, and timed, under grpc-go's Prometheus names so existing dashboards
//! and alerts read them unchanged.
//!
//! A call is recorded when it ends: at a trailers-only answer (an error, or a
//! refusal by the limits), at the trailers that close its body, or when its
//! body is dropped unfinished (the caller went away: `Canceled`). A stream is
//! thus timed over its whole life, as grpc-go does.
//!
//! A request of the HTTP face ([`crate::http`]) is recorded in the same two
//! series, so one dashboard shows both faces: `grpc_service` is its
//! Kubernetes resource (`pods`, `deployments.apps`, `pods/log`),
//! `grpc_method` its verb (`list`, `create`, …), and `grpc_code` the code
//! its HTTP status stands for (the inverse of the REST face's mapping: 404
//! `NotFound`, 409 `Aborted`, 429 `ResourceExhausted`, 504
//! `DeadlineExceeded`…). It is timed to its last byte (a watch to its end,
//! as a gRPC stream is); health probes are not recorded.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use capstan_metrics::{Counter, Family, Histogram, MetricsError, Registry, DEFAULT_BUCKETS};
use http::HeaderMap;
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use prometheus_client::encoding::EncodeLabelSet;
use tokio::time::Instant;
use tower::{Layer, Service};

use crate::http::{http_call, is_grpc, CallKind, HttpCall};

/// `grpc_server_handled_total`'s labels, as grpc-go names them.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Handled {
    grpc_service: String,
    grpc_method: String,
    grpc_code: &'static str,
}

/// `grpc_server_handling_seconds`' labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Handling {
    grpc_service: String,
    grpc_method: String,
}

/// The two metric families, registered once per registry.
#[derive(Clone, Debug)]
pub struct RequestMetrics {
    handled: Family<Handled, Counter>,
    handling: Family<Handling, Histogram>,
}

impl RequestMetrics {
    /// Registers `grpc_server_handled_total` and `grpc_server_handling_seconds`.
    pub fn register(registry: &Registry) -> Result<RequestMetrics, MetricsError> {
        Ok(RequestMetrics {
            handled: registry.register(
                "grpc_server_handled_total",
                "Total number of RPCs completed on the server, regardless of success or failure.",
                Family::default(),
            )?,
            handling: registry.register(
                "grpc_server_handling_seconds",
                "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
                Family::<Handling, Histogram>::new_with_constructor(|| Histogram::new(DEFAULT_BUCKETS)),
            )?,
        })
    }
}

/// Wraps a service in a [`Metered`] one.
#[derive(Clone, Debug)]
pub struct RequestMetricsLayer(pub RequestMetrics);

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Metered<S> {
        Metered { inner, metrics: self.0.clone() }
    }
}

/// See the [module](self) docs.
#[derive(Clone, Debug)]
pub struct Metered<S> {
    inner: S,
    metrics: RequestMetrics,
}

/// One call on its way: what it is and when it began.
#[derive(Debug)]
struct Call {
    metrics: RequestMetrics,
    service: String,
    method: String,
    started: Instant,
    /// an HTTP call: `None` until its head is out, then the code its status stands for
    http: Option<Option<tonic::Code>>,
}

impl Call {
    fn start(metrics: &RequestMetrics, path: &str) -> Call {
        let (service, method) = path.trim_start_matches('/').split_once('/').unwrap_or((path, ""));
        Call {
            metrics: metrics.clone(),
            service: service.into(),
            method: method.into(),
            started: Instant::now(),
            http: None,
        }
    }

    fn http(metrics: &RequestMetrics, call: &HttpCall) -> Call {
        Call {
            metrics: metrics.clone(),
            service: call.resource.clone(),
            method: call.verb.into(),
            started: Instant::now(),
            http: Some(None),
        }
    }

    fn finish(self, code: tonic::Code) {
        // an unknown method would otherwise make a new series per path a caller invents
        let method = if code == tonic::Code::Unimplemented { "unknown".into() } else { self.method };
        let handling = Handling { grpc_service: self.service, grpc_method: method };
        self.metrics.handling.get_or_create(&handling).observe(self.started.elapsed().as_secs_f64());
        let handled = Handled {
            grpc_service: handling.grpc_service,
            grpc_method: handling.grpc_method,
            grpc_code: code_name(code),
        };
        self.metrics.handled.get_or_create(&handled).inc();
    }
}

/// grpc-go's spelling of a status code, which its metrics carry.
fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "Canceled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}

/// The gRPC code an HTTP answer's status stands for: the inverse of the
/// REST face's mapping of gRPC codes onto Kubernetes' HTTP codes.
fn http_code(status: http::StatusCode) -> tonic::Code {
    use tonic::Code;
    match status.as_u16() {
        100..=399 => Code::Ok,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        405 | 501 => Code::Unimplemented,
        409 => Code::Aborted,
        410 => Code::OutOfRange,
        413 | 429 => Code::ResourceExhausted,
        400..=499 => Code::InvalidArgument,
        503 => Code::Unavailable,
        504 => Code::DeadlineExceeded,
        _ => Code::Internal,
    }
}

fn grpc_status(headers: &HeaderMap) -> Option<tonic::Code> {
    headers.get("grpc-status").map(|value| tonic::Code::from_bytes(value.as_bytes()))
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Metered<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<MeteredBody<ResBody>>;
    type Error = S::Error;
    type Future = MeteredFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let call = match http_call(&request) {
            Some(call) if call.kind == CallKind::Probe => None,
            Some(call) => Some(Call::http(&self.metrics, call)),
            // other plain HTTP (a scrape of /metrics) is not a call
            None => is_grpc(request.headers()).then(|| Call::start(&self.metrics, request.uri().path())),
        };
        MeteredFuture { inner: self.inner.call(request), call }
    }
}

pin_project! {
    /// The response future of [`Metered`].
    pub struct MeteredFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
    }
}

impl<F, B, E> Future for MeteredFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<MeteredBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answered = ready!(this.inner.poll(cx));
        let mut call = this.call.take();
        Poll::Ready(answered.map(|response| {
            if let Some(Call { http: Some(answered), .. }) = &mut call {
                // an HTTP call ends with its body; its status is its code
                *answered = Some(http_code(response.status()));
            } else if let Some(code) = grpc_status(response.headers()) {
                // trailers-only: the call ended with its head
                if let Some(call) = call.take() {
                    call.finish(code);
                }
            }
            response.map(|inner| MeteredBody { inner, call })
        }))
    }
}

pin_project! {
    /// A response body that records its call when it ends.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }

    impl<B> PinnedDrop for MeteredBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(call) = this.project().call.take() {
                // an HTTP body dropped once sent (or unread) ends as its status said
                let code = call.http.flatten().unwrap_or(tonic::Code::Cancelled);
                call.finish(code);
            }
        }
    }
}

impl<B: Body> Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        // a body that fails ends the call as tonic tells the caller (INTERNAL);
        // one that ends without trailers never said how it ended
        let http = this.call.as_ref().and_then(|call| call.http);
        let code = match &frame {
            Some(Ok(_)) if http.is_some() => None,
            None if http.is_some() => http.flatten(),
            Some(Ok(frame)) => frame.trailers_ref().map(|t| grpc_status(t).unwrap_or(tonic::Code::Unknown)),
            Some(Err(_)) => Some(tonic::Code::Internal),
            None => Some(tonic::Code::Unknown),
        };
        if let Some(code) = code {
            if let Some(call) = this.call.take() {
                call.finish(code);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
