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
//!
//! # Kubernetes' API request metrics
//!
//! A server with the Kubernetes REST face (the API server; see
//! [`RequestMetrics::for_kubernetes_api`]) also records each call of the
//! Kubernetes API, of either face, under kube-apiserver's names and labels,
//! so a dashboard written for kube-apiserver reads Capstan's API server
//! unchanged and sees gRPC and REST callers in one set of series:
//!
//! - `apiserver_request_total{verb,dry_run,group,version,resource,subresource,scope,component,code}`:
//!   a counter per finished call. `verb` is kube-apiserver's reported verb
//!   ([`reported_verb`]: `GET`, `LIST`, `WATCH`, `POST`, `PUT`, `PATCH`,
//!   `APPLY`, `DELETE`); `dry_run` is `All` or empty; `scope` is `resource`
//!   (one named object, or a create), `namespace` or `cluster` (a
//!   collection); `component` is `apiserver`; `code` is the HTTP status: a
//!   REST call's own, a gRPC call's the one its status stands for
//!   ([`crate::audit::http_code`]: `NOT_FOUND` is 404, a create 201).
//! - `apiserver_request_duration_seconds{verb,dry_run,group,version,resource,subresource,scope,component}`:
//!   a histogram with kube-apiserver's buckets, 5 ms to 60 s, of every call
//!   but the long-running ones (watches, `logs -f`, exec), which last as long
//!   as their caller wants and which kube-apiserver's latency SLOs leave out.
//! - `apiserver_longrunning_requests{verb,group,version,resource,subresource,scope,component}`:
//!   a gauge of the long-running calls open now (the open watches among them).
//! - `apiserver_current_inflight_requests{request_kind}`: a gauge of the
//!   calls holding a slot of the concurrency limit ([`crate::limit`]) now,
//!   `readOnly` or `mutating`, as kube-apiserver's max-in-flight filter
//!   reports its two pools.
//!
//! Which API request a call is, is learnt where it is known, never guessed
//! here: the layer puts an empty [`ApiRequest`] on each request, and the API
//! server's authorization hook, which decodes every call's message to judge
//! it, fills it in ([`ApiRequest::set`]). A REST call's verb is its method's
//! (the face's [`HttpCall`]), and one refused before the hook ran (401, 429,
//! an unknown path) is recorded with what its classifier read from its path;
//! a gRPC call refused before its message was read, or one that names no
//! resource (discovery, reviews), is recorded only in the `grpc_server_*`
//! series.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};

use capstan_metrics::{Counter, Family, Gauge, Histogram, MetricsError, Registry, DEFAULT_BUCKETS};
use http::HeaderMap;
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use prometheus_client::encoding::EncodeLabelSet;
use tokio::time::Instant;
use tower::{Layer, Service};

use crate::http::{http_call, is_grpc, CallKind, HttpCall, NON_RESOURCE};

/// kube-apiserver's buckets for `apiserver_request_duration_seconds` (and
/// `etcd_request_duration_seconds`): 5 ms to a minute.
pub const APISERVER_BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0,
    45.0, 60.0,
];

/// kube-apiserver's `component` label for its own requests (the aggregator's are `aggregator`).
const COMPONENT: &str = "apiserver";

/// A call of the Kubernetes API, in the words of kube-apiserver's metrics
/// (its `RequestInfo`, as its metrics clean it up).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// kube-apiserver's reported verb, see [`reported_verb`]
    pub verb: &'static str,
    pub dry_run: bool,
    /// `""` for the core group
    pub group: String,
    pub version: String,
    /// plural: `pods`, `deployments`
    pub resource: String,
    pub subresource: String,
    /// `resource`, `namespace`, `cluster`, or `""` for a path that names no resource
    pub scope: &'static str,
    /// a watch, `logs -f`, exec: not timed, counted among the open ones
    pub long_running: bool,
}

/// kube-apiserver's verb label for an authorization verb (`get`, `list`,
/// `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`): the
/// request's HTTP method, with a read of a collection `LIST`, a watch
/// `WATCH` and a server-side apply `APPLY`, as its `cleanVerb` reports it.
pub fn reported_verb(verb: &str, apply: bool) -> &'static str {
    match verb {
        "get" => "GET",
        "list" => "LIST",
        "watch" => "WATCH",
        "create" => "POST",
        "update" => "PUT",
        "patch" if apply => "APPLY",
        "patch" => "PATCH",
        "delete" | "deletecollection" => "DELETE",
        // kube-apiserver's label for a method it does not know
        _ => "other",
    }
}

/// `scope` as kube-apiserver's `CleanScope` tells it: a named object or a
/// create is `resource`, a collection in a namespace `namespace`, any
/// other collection `cluster`.
pub fn scope(verb: &str, namespace: &str, name: &str) -> &'static str {
    if !name.is_empty() || verb == "create" {
        "resource"
    } else if !namespace.is_empty() {
        "namespace"
    } else {
        "cluster"
    }
}

/// Which Kubernetes API request a call is, filled in by whoever decodes it
/// (the API server's authorization hook) and read by the metrics layer when
/// the call answers and ends. A request extension, like
/// [`AuditRecord`](crate::AuditRecord); the first [`set`](ApiRequest::set)
/// wins (a REST call may ask the hook more than once: a read, then a write).
#[derive(Clone, Debug, Default)]
pub struct ApiRequest(Arc<OnceLock<RequestInfo>>);

impl ApiRequest {
    pub fn set(&self, info: RequestInfo) {
        let _ = self.0.set(info);
    }

    pub fn get(&self) -> Option<&RequestInfo> {
        self.0.get()
    }
}

/// The labels of `apiserver_request_duration_seconds` and `apiserver_longrunning_requests`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    verb: &'static str,
    dry_run: &'static str,
    group: String,
    version: String,
    resource: String,
    subresource: String,
    scope: &'static str,
    component: &'static str,
}

impl ApiLabels {
    fn new(info: &RequestInfo) -> ApiLabels {
        ApiLabels {
            verb: info.verb,
            dry_run: if info.dry_run { "All" } else { "" },
            group: info.group.clone(),
            version: info.version.clone(),
            resource: info.resource.clone(),
            subresource: info.subresource.clone(),
            scope: info.scope,
            component: COMPONENT,
        }
    }
}

/// `apiserver_request_total`'s labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiCode {
    #[prometheus(flatten)]
    request: ApiLabels,
    code: u16,
}

/// `apiserver_current_inflight_requests`' label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestKind {
    request_kind: &'static str,
}

/// kube-apiserver's request metrics, see the [module](self) docs.
#[derive(Clone, Debug)]
struct ApiMetrics {
    requests: Family<ApiCode, Counter>,
    durations: Family<ApiLabels, Histogram>,
    long_running: Family<ApiLabels, Gauge>,
    inflight: Family<RequestKind, Gauge>,
}

impl ApiMetrics {
    fn register(registry: &Registry) -> Result<ApiMetrics, MetricsError> {
        Ok(ApiMetrics {
            requests: registry.register(
                "apiserver_request_total",
                "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
                Family::default(),
            )?,
            durations: registry.register(
                "apiserver_request_duration_seconds",
                "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
                Family::<ApiLabels, Histogram>::new_with_constructor(|| Histogram::new(APISERVER_BUCKETS)),
            )?,
            long_running: registry.register(
                "apiserver_longrunning_requests",
                "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.",
                Family::default(),
            )?,
            inflight: registry.register(
                "apiserver_current_inflight_requests",
                "Number of requests currently using a slot of this apiserver's in-flight limit, per request kind.",
                Family::default(),
            )?,
        })
    }
}

/// The gauge of the calls holding a slot of one of the concurrency limit's
/// pools, for [`crate::limit`]; `None` unless the server serves the
/// Kubernetes API.
pub(crate) fn inflight(metrics: &RequestMetrics, mutating: bool) -> Option<Gauge> {
    let request_kind = if mutating { "mutating" } else { "readOnly" };
    metrics.kubernetes.then(|| metrics.api.inflight.get_or_create(&RequestKind { request_kind }).clone())
}

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

/// The metric families, registered once per registry.
#[derive(Clone, Debug)]
pub struct RequestMetrics {
    handled: Family<Handled, Counter>,
    handling: Family<Handling, Histogram>,
    /// kube-apiserver's, registered on every registry but recorded only
    /// when `kubernetes` (a family with no series is not rendered)
    api: ApiMetrics,
    kubernetes: bool,
}

impl RequestMetrics {
    /// Registers `grpc_server_handled_total` and `grpc_server_handling_seconds`
    /// (and kube-apiserver's families, which stay empty and unrendered unless
    /// the server serves the Kubernetes API).
    pub fn register(registry: &Registry) -> Result<RequestMetrics, MetricsError> {
        Ok(RequestMetrics {
            api: ApiMetrics::register(registry)?,
            kubernetes: false,
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

    /// These metrics, recording kube-apiserver's too (see the [module](self)
    /// docs): for a server with the Kubernetes REST face.
    pub fn for_kubernetes_api(self) -> RequestMetrics {
        RequestMetrics { kubernetes: true, ..self }
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
    /// an HTTP call: `None` until its head is out, then its status
    http: Option<Option<http::StatusCode>>,
    /// a call of the Kubernetes API, on a server that serves it
    api: Option<ApiCall>,
}

/// What the metrics layer knows of a call of the Kubernetes API.
#[derive(Debug)]
struct ApiCall {
    /// filled in further in (the authorization hook)
    learnt: ApiRequest,
    /// a REST call: its verb, and what its classifier read from its path
    rest: Option<RequestInfo>,
    /// a long-running call counted open, under these labels
    open: Option<ApiLabels>,
}

impl ApiCall {
    /// What the call is, as far as is known by now: a REST call's verb is
    /// its method's, whatever the hook was asked on its behalf.
    fn info(&self) -> Option<RequestInfo> {
        match (self.learnt.get(), &self.rest) {
            (Some(learnt), Some(rest)) => {
                Some(RequestInfo { verb: rest.verb, long_running: rest.long_running, ..learnt.clone() })
            }
            (Some(learnt), None) => Some(learnt.clone()),
            (None, rest) => rest.clone(),
        }
    }

    /// The call answered: a long-running one is open from now on.
    fn answered(&mut self, metrics: &ApiMetrics) {
        if let Some(info) = self.info().filter(|info| info.long_running) {
            let labels = ApiLabels::new(&info);
            metrics.long_running.get_or_create(&labels).inc();
            self.open = Some(labels);
        }
    }

    fn finish(self, metrics: &ApiMetrics, status: Option<http::StatusCode>, code: tonic::Code, elapsed: f64) {
        if let Some(open) = &self.open {
            metrics.long_running.get_or_create(open).dec();
        }
        let Some(info) = self.info() else { return };
        let verb = if info.verb == "POST" { "create" } else { "" };
        let code = status.map_or_else(|| crate::audit::http_code(code, verb), |status| status.as_u16());
        let request = ApiLabels::new(&info);
        if !info.long_running {
            metrics.durations.get_or_create(&request).observe(elapsed);
        }
        metrics.requests.get_or_create(&ApiCode { request, code }).inc();
    }
}

/// A REST call as its classifier read it, for when the hook never hears of
/// it (refused before, or naming no resource): `pods`, `deployments.apps/scale`.
fn rest_info(call: &HttpCall, apply: bool) -> RequestInfo {
    let (resource, subresource) = call.resource.split_once('/').unwrap_or((&call.resource, ""));
    let (resource, group) = resource.split_once('.').unwrap_or((resource, ""));
    let named = call.resource != NON_RESOURCE;
    RequestInfo {
        verb: reported_verb(call.verb, apply),
        group: if named { group.into() } else { String::new() },
        resource: if named { resource.into() } else { String::new() },
        subresource: if named { subresource.into() } else { String::new() },
        long_running: call.kind == CallKind::LongRunning,
        ..RequestInfo::default()
    }
}

/// Whether a PATCH is a server-side apply, by its content type.
fn is_apply<B>(request: &http::Request<B>) -> bool {
    request.method() == http::Method::PATCH
        && request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.split(';').next().unwrap_or_default().trim() == "application/apply-patch+yaml")
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
            api: None,
        }
    }

    fn http(metrics: &RequestMetrics, call: &HttpCall) -> Call {
        Call {
            metrics: metrics.clone(),
            service: call.resource.clone(),
            method: call.verb.into(),
            started: Instant::now(),
            http: Some(None),
            api: None,
        }
    }

    /// Its head is out.
    fn answered(&mut self) {
        if let Some(api) = &mut self.api {
            api.answered(&self.metrics.api);
        }
    }

    fn finish(self, code: tonic::Code) {
        let elapsed = self.started.elapsed().as_secs_f64();
        if let Some(api) = self.api {
            api.finish(&self.metrics.api, self.http.flatten(), code, elapsed);
        }
        // an unknown method would otherwise make a new series per path a caller invents
        let method = if code == tonic::Code::Unimplemented { "unknown".into() } else { self.method };
        let handling = Handling { grpc_service: self.service, grpc_method: method };
        self.metrics.handling.get_or_create(&handling).observe(elapsed);
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

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let mut call = match http_call(&request) {
            Some(call) if call.kind == CallKind::Probe => None,
            Some(call) => Some(Call::http(&self.metrics, call)),
            // other plain HTTP (a scrape of /metrics) is not a call
            None => is_grpc(request.headers()).then(|| Call::start(&self.metrics, request.uri().path())),
        };
        if let Some(call) = call.as_mut().filter(|_| self.metrics.kubernetes) {
            let learnt = ApiRequest::default();
            let rest = http_call(&request).map(|http| rest_info(http, is_apply(&request)));
            request.extensions_mut().insert(learnt.clone());
            call.api = Some(ApiCall { learnt, rest, open: None });
        }
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
                *answered = Some(response.status());
            } else if let Some(code) = grpc_status(response.headers()) {
                // trailers-only: the call ended with its head
                if let Some(call) = call.take() {
                    call.finish(code);
                }
            }
            if let Some(call) = &mut call {
                call.answered();
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
                let code = call.http.flatten().map_or(tonic::Code::Cancelled, http_code);
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
            None if http.is_some() => http.flatten().map(http_code),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_are_reported_as_kube_apiserver_reports_them() {
        let cases = [
            (("get", false), "GET"),
            (("list", false), "LIST"),
            (("watch", false), "WATCH"),
            (("create", false), "POST"),
            (("update", false), "PUT"),
            (("patch", false), "PATCH"),
            (("patch", true), "APPLY"),
            (("delete", false), "DELETE"),
            (("deletecollection", false), "DELETE"),
            (("impersonate", false), "other"),
        ];
        for ((verb, apply), want) in cases {
            assert_eq!(reported_verb(verb, apply), want, "{verb} apply={apply}");
        }
    }

    #[test]
    fn scopes_are_told_as_kube_apiservers_clean_scope_tells_them() {
        let cases = [
            (("get", "shop", "web"), "resource"),
            (("get", "", "n1"), "resource"),
            (("create", "shop", ""), "resource"),
            (("list", "shop", ""), "namespace"),
            (("list", "", ""), "cluster"),
            (("watch", "", ""), "cluster"),
        ];
        for ((verb, namespace, name), want) in cases {
            assert_eq!(scope(verb, namespace, name), want, "{verb} {namespace}/{name}");
        }
    }

    /// verb group resource/sub long-running, `-` for empty
    fn shown(info: &RequestInfo) -> String {
        let dash = |s: &str| if s.is_empty() { "-".to_string() } else { s.to_string() };
        format!(
            "{} {} {}/{} {}",
            info.verb,
            dash(&info.group),
            dash(&info.resource),
            dash(&info.subresource),
            if info.long_running { "long" } else { "-" }
        )
    }

    #[test]
    fn a_rest_call_the_hook_never_saw_is_labelled_from_its_classification() {
        let call = |verb, resource: &str, kind| HttpCall { verb, resource: resource.into(), kind };
        let cases = [
            (call("list", "pods", CallKind::Request), false, "LIST - pods/- -"),
            (call("patch", "deployments.apps/scale", CallKind::Request), false, "PATCH apps deployments/scale -"),
            (call("patch", "deployments.apps", CallKind::Request), true, "APPLY apps deployments/- -"),
            (
                call("watch", "leases.coordination.k8s.io", CallKind::LongRunning),
                false,
                "WATCH coordination.k8s.io leases/- long",
            ),
            (call("get", "pods/log", CallKind::LongRunning), false, "GET - pods/log long"),
            (call("get", NON_RESOURCE, CallKind::Request), false, "GET - -/- -"),
        ];
        for (call, apply, want) in cases {
            assert_eq!(shown(&rest_info(&call, apply)), want, "{call:?}");
        }
    }

    #[test]
    fn only_a_patch_with_the_apply_content_type_is_an_apply() {
        let request = |method, content_type: &str| {
            http::Request::builder()
                .method(method)
                .header(http::header::CONTENT_TYPE, content_type)
                .body(())
                .expect("a request")
        };
        assert!(is_apply(&request(http::Method::PATCH, "application/apply-patch+yaml")));
        assert!(is_apply(&request(http::Method::PATCH, "application/apply-patch+yaml; charset=utf-8")));
        assert!(!is_apply(&request(http::Method::PATCH, "application/merge-patch+json")));
        assert!(!is_apply(&request(http::Method::POST, "application/apply-patch+yaml")));
    }
}
