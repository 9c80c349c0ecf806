//! The caller's bad message is the caller's error. tonic answers a request
//! that does not decode with `INTERNAL` (grpc's own advice for a parse
//! failure) and an over-size one with `OUT_OF_RANGE`; to a Kubernetes client
//! the first is a 400 and the second a 413/429, and `INTERNAL` sends an
//! operator looking for a server bug that is not there. This layer rewrites
//! exactly those two answers, recognised by tonic's own words, on the way
//! out; every other answer passes untouched.
//!
//! It sees only trailers-only answers (the status in the response head),
//! which is how tonic answers when it cannot decode a unary or
//! server-streaming call's one request message; a client stream's bad
//! message, found mid-call, keeps tonic's code.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tonic::Code;
use tower::{Layer, Service};

/// tonic-prost's message for a request that is not the method's protobuf.
const DECODE_FAILED: &str = "failed to decode Protobuf message";
/// tonic's message for a frame whose compression flag is neither 0 nor 1.
const BAD_FRAME: &str = "protocol error: received message with invalid compression flag";
/// tonic's message for a message over the decoding limit (read from the
/// frame's length, before the body).
const TOO_LARGE: &str = "Error, decoded message length too large";

/// The code and message the caller should see instead of tonic's, if any.
fn rewrite(status: &tonic::Status) -> Option<tonic::Status> {
    let message = status.message();
    match status.code() {
        Code::Internal if message.starts_with(DECODE_FAILED) || message.starts_with(BAD_FRAME) => {
            Some(tonic::Status::invalid_argument(format!("the request message does not decode: {message}")))
        }
        Code::OutOfRange if message.starts_with(TOO_LARGE) => {
            let detail = message.trim_start_matches(TOO_LARGE).trim_start_matches(':').trim();
            Some(tonic::Status::resource_exhausted(format!(
                "the request message is too large ({detail}); it was refused before it was read"
            )))
        }
        _ => None,
    }
}

/// Wraps a service in [`ClientErrors`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientErrorsLayer;

impl<S> Layer<S> for ClientErrorsLayer {
    type Service = ClientErrors<S>;

    fn layer(&self, inner: S) -> ClientErrors<S> {
        ClientErrors { inner }
    }
}

/// See the [module](self) docs.
#[derive(Clone, Debug)]
pub struct ClientErrors<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for ClientErrors<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ClientErrorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        ClientErrorsFuture { inner: self.inner.call(request) }
    }
}

pin_project! {
    /// The response future of [`ClientErrors`].
    pub struct ClientErrorsFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, B, E> Future for ClientErrorsFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut answered = ready!(self.project().inner.poll(cx));
        if let Ok(response) = &mut answered {
            let headers = response.headers_mut();
            if let Some(replacement) = tonic::Status::from_header_map(headers).as_ref().and_then(rewrite) {
                headers.remove("grpc-status");
                headers.remove("grpc-message");
                headers.remove("grpc-status-details-bin");
                if let Err(error) = replacement.add_header(headers) {
                    tracing::warn!(%error, "could not rewrite a decode failure's status");
                }
            }
        }
        Poll::Ready(answered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tonics_decode_and_size_refusals_are_rewritten() {
        let decode = tonic::Status::new(Code::Internal, "failed to decode Protobuf message: invalid wire type");
        assert_eq!(rewrite(&decode).map(|s| s.code()), Some(Code::InvalidArgument));
        let large = tonic::Status::out_of_range(
            "Error, decoded message length too large: found 104857600 bytes, the limit is: 3145728 bytes",
        );
        let rewritten = rewrite(&large).expect("rewritten");
        assert_eq!(rewritten.code(), Code::ResourceExhausted);
        assert!(rewritten.message().contains("found 104857600 bytes"), "{}", rewritten.message());
        assert!(rewrite(&tonic::Status::new(Code::Internal, "internal error: the store broke")).is_none());
        assert!(rewrite(&tonic::Status::out_of_range("too old resource version")).is_none());
    }
}
