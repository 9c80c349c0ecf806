//! Timing every runtime call the kubelet makes: a tower layer on the Docker
//! shim's gRPC server records each call's method and when it began and ended, so
//! the report can say where a pod's start went without touching the kubelet.
//!
//! A unary call ends when its response is ready, which for the runtime interface
//! is when the shim has finished the engine calls behind it; a call that failed
//! is marked so (the kubelet retries some, e.g. an early CreateContainer).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

/// One runtime call as the shim served it.
#[derive(Clone, Debug)]
pub struct Call {
    /// the RPC's name, e.g. `RunPodSandbox`
    pub method: String,
    pub start: Instant,
    pub end: Instant,
    /// it answered without a gRPC error
    pub ok: bool,
}

/// Every call recorded so far; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct CallLog(Arc<Mutex<Vec<Call>>>);

impl CallLog {
    fn record(&self, call: Call) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(call);
    }

    /// The calls that began in `[from, to]`, in order of their start.
    pub fn between(&self, from: Instant, to: Instant) -> Vec<Call> {
        let calls = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut inside: Vec<Call> = calls.iter().filter(|c| c.start >= from && c.start <= to).cloned().collect();
        inside.sort_by_key(|c| c.start);
        inside
    }
}

/// The layer: wraps a server's routes in [`Timed`].
#[derive(Clone, Debug)]
pub struct TimingLayer(pub CallLog);

impl<S> tower::Layer<S> for TimingLayer {
    type Service = Timed<S>;

    fn layer(&self, inner: S) -> Timed<S> {
        Timed { inner, log: self.0.clone() }
    }
}

/// A service that records how long each request took to answer.
#[derive(Clone, Debug)]
pub struct Timed<S> {
    inner: S,
    log: CallLog,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for Timed<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().rsplit('/').next().unwrap_or_default().to_string();
        let (log, start) = (self.log.clone(), Instant::now());
        let answer = self.inner.call(request);
        Box::pin(async move {
            let result = answer.await;
            // a failed unary call answers "trailers-only": its grpc-status is a header
            let ok = result.as_ref().is_ok_and(|r| r.headers().get("grpc-status").is_none_or(|s| s == "0"));
            log.record(Call { method, start, end: Instant::now(), ok });
            result
        })
    }
}
