//! The plain HTTP face beside gRPC (the API server's Kubernetes REST face)
//! passes the same layers as the gRPC services: one stack, one set of
//! slots, one timer, one set of metrics. What the layers need to know of it
//! lives here: what a request is ([`HttpCall`], told by the face's
//! [`Classify`] once, in the outermost layer), and how each refusal is said
//! to an HTTP caller — as kube-apiserver says it, a `metav1.Status`.
//!
//! A request that carries no [`HttpCall`] is treated as a gRPC call, as
//! before the face existed (a server without a face answers any other
//! request with gRPC's `UNIMPLEMENTED`).

use std::sync::Arc;
use std::task::{Context, Poll};

use tower::{Layer, Service};

/// What an HTTP request is, in Kubernetes' words: its verb (`get`, `list`,
/// `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`) and
/// resource (`pods`, `deployments.apps`, `pods/log`; `nonresource` for
/// discovery and the like), and how the layers treat it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCall {
    pub verb: &'static str,
    pub resource: String,
    pub kind: CallKind,
}

/// The resource of a request that names none (discovery, OpenAPI,
/// `/version`): one series for all of them, however many paths callers invent.
pub const NON_RESOURCE: &str = "nonresource";

/// How the limits, the timeout and the metrics treat a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// Takes a slot, is timed, is counted.
    Request,
    /// A watch, `logs -f`, exec, attach: no slot and no timer (kube-apiserver
    /// exempts its long-running requests from both), counted when it ends.
    LongRunning,
    /// A health probe: never refused, timed, authenticated or counted, as
    /// gRPC health is not.
    Probe,
}

impl HttpCall {
    /// kube-apiserver's read-only verbs take the read pool; every other verb
    /// the mutating one (`--max-mutating-requests-inflight`).
    pub fn mutating(&self) -> bool {
        !matches!(self.verb, "get" | "list" | "watch")
    }
}

/// The face's own reading of a request's method and URI (path and query).
pub type Classify = Arc<dyn Fn(&http::Method, &http::Uri) -> HttpCall + Send + Sync>;

/// The HTTP face a server mounts beside its gRPC services: the router that
/// answers every path no gRPC service claims, and how to read its requests.
#[derive(Clone)]
pub struct HttpFace {
    pub router: axum::Router,
    pub classify: Classify,
}

impl std::fmt::Debug for HttpFace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFace").finish_non_exhaustive()
    }
}

/// The call an HTTP request was classified as; `None` for a gRPC call.
pub(crate) fn http_call<B>(request: &http::Request<B>) -> Option<&HttpCall> {
    request.extensions().get::<HttpCall>()
}

/// Whether the request is gRPC, by its content type.
pub(crate) fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/grpc"))
}

/// Classifies every request that is not gRPC, as the outermost of the
/// layers that care (see [`crate::stack`]).
#[derive(Clone)]
pub struct ClassifyLayer(pub Classify);

impl<S> Layer<S> for ClassifyLayer {
    type Service = Classified<S>;

    fn layer(&self, inner: S) -> Classified<S> {
        Classified { inner, classify: self.0.clone() }
    }
}

/// See [`ClassifyLayer`].
#[derive(Clone)]
pub struct Classified<S> {
    inner: S,
    classify: Classify,
}

impl<S, B> Service<http::Request<B>> for Classified<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if !is_grpc(request.headers()) {
            let call = (self.classify)(request.method(), request.uri());
            request.extensions_mut().insert(call);
        }
        self.inner.call(request)
    }
}

/// A refusal by one of the stack's layers, said to an HTTP caller.
pub(crate) enum Refusal {
    /// The concurrency limit: 429, `Retry-After`.
    TooManyRequests,
    /// The request timeout: 504.
    Timeout,
    /// Authentication: 401.
    Unauthorized,
}

/// `refusal` as kube-apiserver answers it: the HTTP code and a
/// `metav1.Status` with its reason and message (its max-in-flight filter's
/// 429 with `Retry-After: 1`, its timeout filter's 504, its 401).
pub(crate) fn refuse<B: From<String>>(refusal: Refusal) -> http::Response<B> {
    let (code, reason, message, details) = match refusal {
        Refusal::TooManyRequests => (
            429,
            "TooManyRequests",
            "Too many requests, please try again later.",
            serde_json::json!({ "retryAfterSeconds": 1 }),
        ),
        Refusal::Timeout => (
            504,
            "Timeout",
            "Timeout: request did not complete within requested timeout - context deadline exceeded",
            serde_json::json!({}),
        ),
        Refusal::Unauthorized => (401, "Unauthorized", crate::authn::UNAUTHORIZED, serde_json::Value::Null),
    };
    let mut status = serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if !details.is_null() {
        status["details"] = details;
    }
    let mut response = http::Response::new(B::from(status.to_string()));
    *response.status_mut() = http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    if matches!(refusal, Refusal::TooManyRequests) {
        headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from_static(crate::limit::RETRY_AFTER_SECONDS));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_kubernetes_statuses() {
        let answer: http::Response<String> = refuse(Refusal::TooManyRequests);
        assert_eq!(answer.status(), 429);
        assert_eq!(answer.headers()[http::header::RETRY_AFTER], "1");
        let body: serde_json::Value = serde_json::from_str(answer.body()).expect("JSON");
        assert_eq!((body["kind"].as_str(), body["reason"].as_str()), (Some("Status"), Some("TooManyRequests")));
        assert_eq!(body["details"]["retryAfterSeconds"], 1);
        let answer: http::Response<String> = refuse(Refusal::Timeout);
        let body: serde_json::Value = serde_json::from_str(answer.body()).expect("JSON");
        assert_eq!(
            (answer.status().as_u16(), body["reason"].as_str(), body["code"].as_u64()),
            (504, Some("Timeout"), Some(504))
        );
        let answer: http::Response<String> = refuse(Refusal::Unauthorized);
        assert_eq!(answer.status(), 401);
    }

    #[test]
    fn only_reads_are_not_mutating() {
        let call = |verb| HttpCall { verb, resource: "pods".into(), kind: CallKind::Request };
        for verb in ["get", "list", "watch"] {
            assert!(!call(verb).mutating(), "{verb}");
        }
        for verb in ["create", "update", "patch", "delete", "deletecollection"] {
            assert!(call(verb).mutating(), "{verb}");
        }
    }
}
