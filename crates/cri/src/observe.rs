//! Watching every runtime call a client makes: the kubelet counts and times
//! them by operation (Kubernetes' `kubelet_runtime_operations_*`) without
//! each call site doing so, as most of its calls are made directly on the
//! generated clients.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tower::Service;

/// Told of each runtime call once its answer's head arrives (a streaming call's
/// stream has opened) or it failed.
pub trait CallObserver: Send + Sync + 'static {
    /// `method` is the call's gRPC method (`RunPodSandbox`, `PullImage`, …).
    fn observed(&self, method: &str, failed: bool, elapsed: Duration);
}

/// An observer, or none; what [`Observed`] and the clients hold.
#[derive(Clone, Default)]
pub struct Observer(Option<Arc<dyn CallObserver>>);

impl Observer {
    pub fn new(observer: Arc<dyn CallObserver>) -> Observer {
        Observer(Some(observer))
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Observer(Some)" } else { "Observer(None)" })
    }
}

/// The service that tells an [`Observer`] of each call made through it.
#[derive(Clone, Debug)]
pub struct Observed<S> {
    pub(crate) inner: S,
    pub(crate) observer: Observer,
}

impl<S, B, RB> Service<http::Request<B>> for Observed<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    RB: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let Some(observer) = self.observer.0.clone() else {
            return Box::pin(self.inner.call(request));
        };
        let method = method_of(request.uri().path()).to_string();
        let started = Instant::now();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await;
            let failed = match &answer {
                Ok(response) => failed(response.status(), response.headers()),
                Err(_) => true,
            };
            observer.observed(&method, failed, started.elapsed());
            answer
        })
    }
}

/// `Method` of `/package.Service/Method`.
fn method_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether an answer's head says the call failed: gRPC sends most failures
/// trailers-only, their `grpc-status` in the head; a success's is in the
/// trailers.
pub fn failed(status: http::StatusCode, headers: &http::HeaderMap) -> bool {
    !status.is_success()
        || headers.get("grpc-status").and_then(|v| v.to_str().ok()).is_some_and(|code| code.trim() != "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_failed_when_its_head_says_so() {
        let head = |code: Option<&str>| {
            let mut headers = http::HeaderMap::new();
            if let Some(code) = code {
                headers.insert("grpc-status", http::HeaderValue::from_str(code).expect("a header value"));
            }
            headers
        };
        let ok = http::StatusCode::OK;
        assert!(!failed(ok, &head(None)), "the status follows in the trailers");
        assert!(!failed(ok, &head(Some("0"))));
        assert!(failed(ok, &head(Some("5"))));
        assert!(failed(http::StatusCode::BAD_GATEWAY, &head(None)));
        assert_eq!(method_of("/capstan.runtime.v1.RuntimeService/RunPodSandbox"), "RunPodSandbox");
    }
}
