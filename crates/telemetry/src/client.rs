//! Client side of gRPC trace propagation: every outgoing call gets a `grpc.client`
//! span (a child of whatever span the caller is in) and that span's W3C context is
//! written into the request headers, where [`TraceServerLayer`](crate::TraceServerLayer)
//! picks it up on the other end.
//!
//! ```no_run
//! use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let channel = tonic::transport::Channel::from_static("http://127.0.0.1:6443").connect().await?;
//! let mut client = HealthClient::new(capstan_telemetry::traced_channel(channel));
//! client.check(HealthCheckRequest::default()).await?;
//! # Ok(())
//! # }
//! ```

use std::task::{Context, Poll};

use tonic::transport::Channel;
use tower::{Layer, Service};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::future::TracedFuture;
use crate::headers;
use crate::rpc::{self, Side};

/// Tower layer for the client side, e.g.
/// `tower::ServiceBuilder::new().layer(TraceClientLayer).service(channel)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceClientLayer;

impl<S> Layer<S> for TraceClientLayer {
    type Service = TraceClient<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceClient { inner }
    }
}

/// The service produced by [`TraceClientLayer`].
#[derive(Clone, Debug)]
pub struct TraceClient<S> {
    inner: S,
}

/// A tonic channel with trace propagation; generated clients accept it directly:
/// `XxxClient::new(traced_channel)`.
pub type TracedChannel = TraceClient<Channel>;

/// Wraps `channel` in [`TraceClientLayer`].
pub fn traced_channel(channel: Channel) -> TracedChannel {
    TraceClientLayer.layer(channel)
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for TraceClient<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<crate::TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = TracedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let span = rpc::span(Side::Client, request.uri().path());
        // The client span itself becomes the server span's parent.
        headers::inject(&span.context(), request.headers_mut());
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        TracedFuture::new(future, span, Side::Client)
    }
}
