//! Response bodies that keep their call's span open. A gRPC status usually arrives in
//! the trailers, after the last message, and a streaming call (a watch) lasts as long
//! as its body; so the span must live with the body, not end with the response head.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tracing::Span;

use crate::rpc::{self, Side};

pin_project! {
    /// A response body wrapped by [`TraceServerLayer`](crate::TraceServerLayer) or
    /// [`TraceClientLayer`](crate::TraceClientLayer). It records the trailers'
    /// `grpc-status` on the call's span, and the span ends when the body is dropped.
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        span: Span,
        side: Side,
    }
}

impl<B> TracedBody<B> {
    pub(crate) fn new(inner: B, span: Span, side: Side) -> Self {
        Self { inner, span, side }
    }
}

impl<B> std::fmt::Debug for TracedBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedBody").field("span", &self.span).field("side", &self.side).finish_non_exhaustive()
    }
}

impl<B: Body> Body for TracedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        // Streaming handlers produce their messages while the body is polled, so
        // their events belong in the call's span.
        let _entered = this.span.enter();
        let frame = ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref() {
                    rpc::record_grpc_status(this.span, *this.side, trailers);
                }
            }
            Some(Err(_)) => rpc::record_failure(this.span),
            None => {}
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
