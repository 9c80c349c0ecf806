//! The request timeout: a handler that has not answered in time is dropped
//! and the caller gets `DEADLINE_EXCEEDED`.
//!
//! Only the response head is timed. A unary handler answers when its work is
//! done, so its whole handling is bounded; a streaming handler answers as soon
//! as its stream is set up, and the messages that follow (a watch, logs, exec,
//! a port stream) are never cut. tonic's own `Server::timeout` answers
//! `CANCELLED` instead, which callers would retry as if they had given up
//! themselves.
//!
//! A request of the HTTP face ([`crate::http`]) that is not long-running is
//! timed the same way and answered as kube-apiserver answers it: 504
//! `Timeout`, a `metav1.Status`.

use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use tower::{Layer, Service};

use crate::config::LongRunning;
use crate::http::{http_call, refuse, CallKind, Refusal};

/// Wraps a service in a [`Timeout`].
#[derive(Clone, Debug)]
pub struct TimeoutLayer {
    timeout: Duration,
    long_running: LongRunning,
}

impl TimeoutLayer {
    /// Times every call but the `long_running` ones.
    pub fn new(timeout: Duration, long_running: LongRunning) -> Self {
        TimeoutLayer { timeout, long_running }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout { inner, timeout: self.timeout, long_running: self.long_running.clone() }
    }
}

/// See the [module](self) docs.
#[derive(Clone, Debug)]
pub struct Timeout<S> {
    inner: S,
    timeout: Duration,
    long_running: LongRunning,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Timeout<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default + From<String>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path().to_string();
        let (long_running, http) = match http_call(&request) {
            Some(call) => (call.kind != CallKind::Request, true),
            None => (self.long_running.contains(&path), false),
        };
        let answer = self.inner.call(request);
        if long_running {
            return Box::pin(answer);
        }
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, answer).await {
                Ok(answered) => answered,
                Err(_) if http => Ok(refuse(Refusal::Timeout)),
                Err(_) => {
                    let message = format!("{path} did not answer within {}s", timeout.as_secs_f64());
                    Ok(tonic::Status::deadline_exceeded(message).into_http())
                }
            }
        })
    }
}
