//! Serving connections that may be upgraded: the accept loop of a server
//! with an HTTP face ([`Server::serve_http`](crate::Server::serve_http)).
//!
//! tonic's own loop serves each connection without HTTP/1.1 upgrades (hyper
//! then refuses a `101 Switching Protocols`), and kubectl's `exec` is a
//! WebSocket upgraded from an HTTP/1.1 `GET`. This loop serves the same
//! stack, with the same per-connection facts (the TLS peer, the remote
//! address) on every request, through hyper's connection builder with
//! upgrades on: HTTP/2 (gRPC, kubectl's other requests) and HTTP/1.1 alike,
//! told apart by the connection's preface. On shutdown it stops accepting,
//! asks every connection to finish (HTTP/2 GOAWAY, HTTP/1.1 after the
//! request in flight) and waits for them, as tonic's does.

use std::future::Future;
use std::pin::pin;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::{Stream, StreamExt};
use tonic::service::Routes;
use tonic::transport::server::Connected;
use tower::ServiceExt;

/// Serves `routes` on the connections `incoming` yields until `shutdown`
/// completes, then drains them.
pub(crate) async fn serve<I, IO, IE>(routes: Routes, incoming: I, shutdown: impl Future<Output = ()>)
where
    I: Stream<Item = Result<IO, IE>>,
    IO: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
    IE: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper enforces its header read timeout only with a timer
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    // as tonic's own loop serves (h2's default): no cap on a connection's
    // streams. Watches are long-running streams that share a client's one
    // connection (hyper's default of 200 held the 201st call of a client with
    // 200 watches open); the stack's limits govern what runs at once
    builder.http2().max_concurrent_streams(None);
    let graceful = GracefulShutdown::new();
    {
        let mut incoming = pin!(incoming);
        let mut shutdown = pin!(shutdown);
        loop {
            let next = tokio::select! {
                () = &mut shutdown => break,
                next = incoming.next() => next,
            };
            let io = match next {
                Some(Ok(io)) => io,
                Some(Err(error)) => {
                    tracing::debug!(error = %error.into(), "a connection failed before it was served");
                    continue;
                }
                None => break,
            };
            let info = io.connect_info();
            let routes = routes.clone();
            let service = tower::service_fn(move |mut request: http::Request<Incoming>| {
                request.extensions_mut().insert(info.clone());
                routes.clone().oneshot(request)
            });
            let connection =
                builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
            let connection = graceful.watch(connection.into_owned());
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "a connection ended with an error");
                }
            });
        }
    }
    graceful.shutdown().await;
}
