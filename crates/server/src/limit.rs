//! The concurrency limit: at most so many handlers run at once on a server,
//! across all its connections; a call over the limit is refused at once with
//! `RESOURCE_EXHAUSTED` and `retry-after: 1` metadata (kube-apiserver answers
//! 429 with `Retry-After: 1` the same way) instead of queueing behind work
//! that may never finish. Mutating calls have a pool of their own, as
//! kube-apiserver's `--max-mutating-requests-inflight`.
//!
//! A request of the HTTP face ([`crate::http`]) takes a slot of the same
//! pools (a read verb the read pool, any other the mutating one) and is
//! refused as kube-apiserver refuses it: 429 `TooManyRequests`, a
//! `metav1.Status`, `Retry-After: 1`.
//!
//! A slot is held until the handler answers, so an open stream (a watch, logs,
//! exec) stops counting once it is set up, and a server with thousands of
//! watchers still takes new calls.
//!
//! On a server of the Kubernetes API, the slots taken are reported as
//! kube-apiserver reports its own: `apiserver_current_inflight_requests`,
//! `readOnly` and `mutating` ([`ConcurrencyLimitLayer::reporting`]).

use std::sync::Arc;
use std::task::{Context, Poll};

use capstan_metrics::Gauge;
use futures::future::BoxFuture;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Layer, Service};

use crate::config::{LongRunning, Methods};
use crate::http::{http_call, refuse, CallKind, Refusal};
use crate::metrics::{inflight, RequestMetrics};

/// One pool of slots and its size, for the message.
#[derive(Clone, Debug)]
struct Pool {
    slots: Arc<Semaphore>,
    limit: usize,
    what: &'static str,
}

impl Pool {
    fn new(limit: usize, what: &'static str) -> Pool {
        Pool { slots: Arc::new(Semaphore::new(limit)), limit, what }
    }
}

/// Wraps a service in a [`ConcurrencyLimit`]; every service it wraps shares
/// the one set of pools.
#[derive(Clone, Debug)]
pub struct ConcurrencyLimitLayer {
    reads: Pool,
    mutating: Pool,
    mutating_methods: Methods,
    long_running: LongRunning,
    /// the slots taken by read-only and by mutating calls, when reported
    inflight: Option<(Gauge, Gauge)>,
}

impl ConcurrencyLimitLayer {
    /// `limit` handlers at once; the `long_running` calls take no slot.
    pub fn new(limit: usize, long_running: LongRunning) -> Self {
        Self::with_mutating(limit, 0, Methods::default(), long_running)
    }

    /// `limit` handlers at once, and besides them `mutating_limit` of the
    /// `mutating` calls; the `long_running` calls take no slot.
    pub fn with_mutating(limit: usize, mutating_limit: usize, mutating: Methods, long_running: LongRunning) -> Self {
        ConcurrencyLimitLayer {
            reads: Pool::new(limit, "calls"),
            mutating: Pool::new(mutating_limit, "mutating calls"),
            mutating_methods: mutating,
            long_running,
            inflight: None,
        }
    }

    /// Reports the slots taken in `metrics`' `apiserver_current_inflight_requests`
    /// when the server serves the Kubernetes API (see [`crate::metrics`]).
    pub fn reporting(self, metrics: &RequestMetrics) -> Self {
        let inflight = inflight(metrics, false).zip(inflight(metrics, true));
        ConcurrencyLimitLayer { inflight, ..self }
    }
}

/// A slot taken, counted in its gauge until it is given back.
struct Slot {
    _permit: OwnedSemaphorePermit,
    inflight: Option<Gauge>,
}

impl Slot {
    fn new(permit: OwnedSemaphorePermit, inflight: Option<Gauge>) -> Slot {
        if let Some(gauge) = &inflight {
            gauge.inc();
        }
        Slot { _permit: permit, inflight }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(gauge) = &self.inflight {
            gauge.dec();
        }
    }
}

/// How long a refused caller should wait, in seconds (kube-apiserver's value).
pub const RETRY_AFTER_SECONDS: &str = "1";

impl<S> Layer<S> for ConcurrencyLimitLayer {
    type Service = ConcurrencyLimit<S>;

    fn layer(&self, inner: S) -> ConcurrencyLimit<S> {
        ConcurrencyLimit { inner, limits: self.clone() }
    }
}

/// See the [module](self) docs.
#[derive(Clone, Debug)]
pub struct ConcurrencyLimit<S> {
    inner: S,
    limits: ConcurrencyLimitLayer,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for ConcurrencyLimit<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + From<String> + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let (long_running, mutating) = match http_call(&request) {
            Some(call) => (call.kind != CallKind::Request, call.mutating()),
            None => {
                let path = request.uri().path();
                (self.limits.long_running.contains(path), self.limits.mutating_methods.contains(path))
            }
        };
        if long_running {
            return Box::pin(self.inner.call(request));
        }
        let pool = match mutating && self.limits.mutating.limit > 0 {
            true => &self.limits.mutating,
            false => &self.limits.reads,
        };
        // counted by what the call is, whichever pool it draws on
        let gauge = self.limits.inflight.as_ref().map(|(reads, writes)| if mutating { writes } else { reads }.clone());
        let Ok(permit) = pool.slots.clone().try_acquire_owned() else {
            if http_call(&request).is_some() {
                return Box::pin(std::future::ready(Ok(refuse(Refusal::TooManyRequests))));
            }
            let message = format!(
                "{} refused: the server is handling its limit of {} {}; retry later",
                request.uri().path(),
                pool.limit,
                pool.what
            );
            let mut status = tonic::Status::resource_exhausted(message);
            status
                .metadata_mut()
                .insert("retry-after", tonic::metadata::MetadataValue::from_static(RETRY_AFTER_SECONDS));
            return Box::pin(std::future::ready(Ok(status.into_http())));
        };
        let slot = Slot::new(permit, gauge);
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answered = answer.await;
            drop(slot);
            answered
        })
    }
}
