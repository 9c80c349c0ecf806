//! From an endpoint string to the two gRPC clients of a runtime.
//!
//! Unix endpoints use tonic over a `UnixStream` connector; the channel reconnects
//! through the same connector, so a restarted shim is picked up on the next call.
//! In-process runtimes (`memory://`, or any runtime a test builds) are served by
//! a tonic server whose connections are `tokio::io::duplex` pipes handed over a
//! channel: each connection attempt makes a new pipe. That server task ends when the
//! last client clone is dropped (the connector, and with it the pipe sender, goes
//! away, which ends the server's incoming stream).

use std::path::{Path, PathBuf};

use capstan_memory_shim::{MemoryConfig, MemoryRuntime};
use capstan_proto::runtime::v1::image_service_client::ImageServiceClient;
use capstan_proto::runtime::v1::runtime_service_client::RuntimeServiceClient;
use capstan_shim_common::{parse_endpoint, ContainerRuntime, RuntimeEndpoint};
use futures::StreamExt;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Endpoint, Uri};

use crate::CriError;

/// The channel under both clients: tonic's, with W3C trace context propagation.
pub type RuntimeChannel = capstan_telemetry::TracedChannel;

/// A runtime's two gRPC clients; cheap to clone.
#[derive(Clone, Debug)]
pub struct RuntimeClients {
    pub runtime: RuntimeServiceClient<RuntimeChannel>,
    pub images: ImageServiceClient<RuntimeChannel>,
}

impl RuntimeClients {
    fn over(channel: tonic::transport::Channel) -> RuntimeClients {
        let channel = capstan_telemetry::traced_channel(channel);
        RuntimeClients { runtime: RuntimeServiceClient::new(channel.clone()), images: ImageServiceClient::new(channel) }
    }
}

/// Connects to `unix:///path.sock`, or starts the in-memory runtime for `memory://`
/// (with [`MemoryConfig::default`]; see [`connect_with`] to name the node).
pub async fn connect(endpoint: &str) -> Result<RuntimeClients, CriError> {
    connect_with(endpoint, MemoryConfig::default()).await
}

/// [`connect`], with the configuration an in-memory runtime gets if `endpoint` is
/// `memory://` (ignored otherwise).
pub async fn connect_with(endpoint: &str, memory: MemoryConfig) -> Result<RuntimeClients, CriError> {
    match parse_endpoint(endpoint)? {
        RuntimeEndpoint::Unix(path) => connect_unix(&path).await,
        RuntimeEndpoint::Memory => {
            let runtime = MemoryRuntime::new(memory)?;
            connect_in_process(runtime).await
        }
    }
}

/// Connects to a runtime served on the unix socket at `path`.
pub async fn connect_unix(path: &Path) -> Result<RuntimeClients, CriError> {
    let endpoint = format!("unix://{}", path.display());
    let path: PathBuf = path.to_path_buf();
    let connector = tower::service_fn(move |_: Uri| {
        let path = path.clone();
        async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
    });
    // the authority is never resolved: the connector ignores the URI
    let channel = Endpoint::from_static("http://runtime.invalid")
        .connect_with_connector(connector)
        .await
        .map_err(|source| CriError::Connect { endpoint, source })?;
    Ok(RuntimeClients::over(channel))
}

/// Serves `runtime` in this process and connects clients to it.
pub async fn connect_in_process<R: ContainerRuntime>(runtime: R) -> Result<RuntimeClients, CriError> {
    let (pipes, incoming) = mpsc::channel::<tokio::io::DuplexStream>(4);
    let server = capstan_shim_common::serve::runtime_server(runtime);
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
        .map_err(|source| CriError::Connect { endpoint: "in-process".to_string(), source })?;
    Ok(RuntimeClients::over(channel))
}
