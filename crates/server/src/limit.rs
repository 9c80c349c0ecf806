//! The concurrency limit: at most so many handlers run at once on a server,
//! across all its connections; a call over the limit is refused at once with
//! `RESOURCE_EXHAUSTED` (kube-apiserver answers 429 the same way) instead of
//! queueing behind work that may never finish.
//!
//! A slot is held until the handler answers, so an open stream (a watch, logs,
//! exec) stops counting once it is set up, and a server with thousands of
//! watchers still takes new calls.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Semaphore;
use tower::{Layer, Service};

use crate::config::LongRunning;

/// Wraps a service in a [`ConcurrencyLimit`]; every service it wraps shares
/// the one set of slots.
#[derive(Clone, Debug)]
pub struct ConcurrencyLimitLayer {
    slots: Arc<Semaphore>,
    limit: usize,
    long_running: LongRunning,
}

impl ConcurrencyLimitLayer {
    /// `limit` handlers at once; the `long_running` calls take no slot.
    pub fn new(limit: usize, long_running: LongRunning) -> Self {
        ConcurrencyLimitLayer { slots: Arc::new(Semaphore::new(limit)), limit, long_running }
    }
}

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

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for ConcurrencyLimit<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        if self.limits.long_running.contains(request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        let Ok(slot) = self.limits.slots.clone().try_acquire_owned() else {
            let message = format!(
                "{} refused: the server is handling its limit of {} calls; retry later",
                request.uri().path(),
                self.limits.limit
            );
            return Box::pin(std::future::ready(Ok(tonic::Status::resource_exhausted(message).into_http())));
        };
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answered = answer.await;
            drop(slot);
            answered
        })
    }
}
