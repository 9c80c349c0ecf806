//! The proxy's own endpoints: `grpc.health.v1` and the `ProxyAdmin` RPC on
//! the healthz address, and Prometheus text on the metrics address.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::ProxyError;

/// Serves `grpc.health.v1` (reporting SERVING) and the admin RPC until `shutdown`.
pub async fn serve_admin(
    listener: TcpListener,
    admin: crate::admin_rpc::AdminService,
    shutdown: CancellationToken,
) -> Result<(), ProxyError> {
    let addr = listener.local_addr().map_err(|source| ProxyError::Bind { addr: ([0, 0, 0, 0], 0).into(), source })?;
    let (_reporter, health) = tonic_health::server::health_reporter();
    tonic::transport::Server::builder()
        .layer(capstan_telemetry::TraceServerLayer)
        .add_service(health)
        .add_service(capstan_proto::proxy::v1::proxy_admin_server::ProxyAdminServer::new(admin))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown.cancelled_owned())
        .await
        .map_err(|source| ProxyError::Admin { addr, source })
}

/// Answers every HTTP request on `listener` with the metrics text, until `shutdown`.
pub async fn serve_metrics(listener: TcpListener, metrics: Arc<Metrics>, shutdown: CancellationToken) {
    let mut requests = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => {
                let Ok((mut stream, _)) = accepted else { continue };
                let metrics = metrics.clone();
                requests.spawn(async move {
                    // one request per connection; its content does not matter
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    let body = metrics.render();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
            Some(_) = requests.join_next(), if !requests.is_empty() => {}
        }
    }
}
