//! Serving a runtime inside the caller's process: what tests and `capstan up`'s
//! in-memory node use instead of a unix socket, so the kubelet still talks to it
//! through the same gRPC clients (and `capstan-cri` links no shim).
//!
//! The server's connections are `tokio::io::duplex` pipes handed over a channel: each
//! connection attempt makes a new pipe. The server task ends when the last client
//! clone is dropped (the connector, and with it the pipe sender, goes away, which
//! ends the server's incoming stream).

use capstan_cri::RuntimeClients;
use futures::StreamExt;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Endpoint, Uri};

use crate::{ContainerRuntime, ShimCommonError};

/// Serves `runtime` in this process and connects clients to it (clients that name
/// no node; a kubelet names its own with [`RuntimeClients::for_node`]).
pub async fn connect_in_process<R: ContainerRuntime>(runtime: R) -> Result<RuntimeClients, ShimCommonError> {
    let (pipes, incoming) = mpsc::channel::<tokio::io::DuplexStream>(4);
    let server = crate::serve::runtime_server(runtime)?;
    let incoming = ReceiverStream::new(incoming).map(Ok::<_, std::io::Error>);
    tokio::spawn(async move {
        if let Err(error) = server.serve_incoming(incoming, std::future::pending()).await {
            tracing::warn!(%error, "the in-process runtime server stopped");
        }
    });
    let connector = tower::service_fn(move |_: Uri| {
        let pipes = pipes.clone();
        async move {
            let (client, server) = tokio::io::duplex(64 * 1024);
            pipes.send(server).await.map_err(|_| std::io::Error::other("the in-process runtime has stopped"))?;
            Ok::<_, std::io::Error>(TokioIo::new(client))
        }
    });
    let channel = Endpoint::from_static("http://in-process.invalid")
        .connect_with_connector(connector)
        .await
        .map_err(|source| ShimCommonError::InProcess { source })?;
    Ok(RuntimeClients::over(channel))
}
