//! The response future of both layers: it polls the wrapped service inside the call's
//! span (so everything the handler or channel logs is attributed to the call), records
//! the response head, and hands the span on to the [`TracedBody`].

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tracing::Span;

use crate::body::TracedBody;
use crate::rpc::{self, Side};

pin_project! {
    /// Future returned by [`TraceServer`](crate::TraceServer) and
    /// [`TraceClient`](crate::TraceClient).
    pub struct TracedFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        side: Side,
    }
}

impl<F> TracedFuture<F> {
    pub(crate) fn new(inner: F, span: Span, side: Side) -> Self {
        Self { inner, span, side }
    }
}

impl<F> std::fmt::Debug for TracedFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedFuture").field("span", &self.span).field("side", &self.side).finish_non_exhaustive()
    }
}

impl<F, B, E> Future for TracedFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<TracedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this.span.enter();
            ready!(this.inner.poll(cx))
        };
        Poll::Ready(match result {
            Ok(response) => {
                rpc::record_head(this.span, *this.side, response.status(), response.headers());
                let (span, side) = (this.span.clone(), *this.side);
                Ok(response.map(|body| TracedBody::new(body, span, side)))
            }
            Err(error) => {
                rpc::record_failure(this.span);
                Err(error)
            }
        })
    }
}
