//! From an endpoint string to the two gRPC clients of a runtime.
//!
//! Unix endpoints use tonic over a `UnixStream` connector; the channel reconnects
//! through the same connector, so a restarted shim is picked up on the next call.
//! [`connect_lazy`] does not even try until the first call, so a kubelet can start
//! before its shim and wait for it. In-process runtimes (tests, `capstan up`'s
//! in-memory node) hand over a channel of their own to [`RuntimeClients::over`]
//! (`capstan_shim_common::connect_in_process` builds one): this crate links no shim.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use capstan_proto::runtime::v1::image_service_client::ImageServiceClient;
use capstan_proto::runtime::v1::runtime_service_client::RuntimeServiceClient;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::observe::{CallObserver, Observed, Observer};
use crate::{parse_endpoint, CallerNode, CriError, RuntimeEndpoint};

/// The channel under both clients: tonic's, with W3C trace context propagation,
/// the caller's node name on every call, and an [`Observer`] told of each.
pub type RuntimeChannel = InterceptedService<Observed<capstan_telemetry::TracedChannel>, CallerNode>;

/// A runtime's two gRPC clients; cheap to clone.
#[derive(Clone, Debug)]
pub struct RuntimeClients {
    pub runtime: RuntimeServiceClient<RuntimeChannel>,
    pub images: ImageServiceClient<RuntimeChannel>,
    channel: capstan_telemetry::TracedChannel,
    caller: CallerNode,
    observer: Observer,
}

impl RuntimeClients {
    /// Clients over `channel` that name no node (the runtime uses its default).
    pub fn over(channel: Channel) -> RuntimeClients {
        RuntimeClients::calling(
            capstan_telemetry::traced_channel(channel),
            CallerNode::anonymous(),
            Observer::default(),
        )
    }

    fn calling(channel: capstan_telemetry::TracedChannel, caller: CallerNode, observer: Observer) -> RuntimeClients {
        let observed = Observed { inner: channel.clone(), observer: observer.clone() };
        let intercepted = InterceptedService::new(observed, caller.clone());
        RuntimeClients {
            runtime: RuntimeServiceClient::new(intercepted.clone()),
            images: ImageServiceClient::new(intercepted),
            channel,
            caller,
            observer,
        }
    }

    /// The same connection, every call naming node `name` (what a kubelet uses).
    pub fn for_node(&self, name: &str) -> Result<RuntimeClients, CriError> {
        Ok(RuntimeClients::calling(self.channel.clone(), CallerNode::named(name)?, self.observer.clone()))
    }

    /// The same connection, `observer` told of every call (the kubelet's metrics).
    pub fn observed_by(&self, observer: Arc<dyn CallObserver>) -> RuntimeClients {
        RuntimeClients::calling(self.channel.clone(), self.caller.clone(), Observer::new(observer))
    }

    /// The node every call names, if any.
    pub fn node(&self) -> Option<&str> {
        self.caller.name()
    }
}

/// Connects to the shim serving `unix:///path.sock`; fails at once if none answers.
pub async fn connect(endpoint: &str) -> Result<RuntimeClients, CriError> {
    connect_unix(&unix_path(endpoint)?).await
}

/// Clients for the shim at `unix:///path.sock` that connect on their first call
/// (and reconnect on later ones): a shim that is not serving yet makes calls fail
/// `Unavailable` until it is, rather than failing here.
pub fn connect_lazy(endpoint: &str) -> Result<RuntimeClients, CriError> {
    let channel = unix_endpoint().connect_with_connector_lazy(unix_connector(unix_path(endpoint)?));
    Ok(RuntimeClients::over(channel))
}

/// Connects to a runtime served on the unix socket at `path`.
pub async fn connect_unix(path: &Path) -> Result<RuntimeClients, CriError> {
    let channel = unix_endpoint()
        .connect_with_connector(unix_connector(path.to_path_buf()))
        .await
        .map_err(|source| CriError::Connect { endpoint: format!("unix://{}", path.display()), source })?;
    Ok(RuntimeClients::over(channel))
}

/// The socket a `unix://` endpoint names; `memory://` is not served from here.
fn unix_path(endpoint: &str) -> Result<PathBuf, CriError> {
    match parse_endpoint(endpoint)? {
        RuntimeEndpoint::Unix(path) => Ok(path),
        RuntimeEndpoint::Memory => Err(CriError::InProcessOnly { endpoint: endpoint.to_string() }),
    }
}

fn unix_endpoint() -> Endpoint {
    // the authority is never resolved: the connector ignores the URI
    Endpoint::from_static("http://runtime.invalid")
}

fn unix_connector(
    path: PathBuf,
) -> impl tower::Service<
    Uri,
    Response = TokioIo<UnixStream>,
    Error = std::io::Error,
    Future = impl Future<Output = Result<TokioIo<UnixStream>, std::io::Error>> + Send,
> + Clone
       + Send
       + 'static {
    tower::service_fn(move |_: Uri| {
        let path = path.clone();
        async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
    })
}
