//! containerd's gRPC clients, each request in the shim's containerd namespace.
//!
//! containerd scopes everything by the `containerd-namespace` request header; one
//! helper puts it (and, while an image is being written, the `containerd-lease` that
//! keeps half-written content from the garbage collector) on every request.
//!
//! Every call goes through `capstan_telemetry`'s client layer (a `grpc.client` span
//! under the runtime call that makes it, with `rpc.service`/`rpc.method`) and, inside
//! it, [`Engine`]: it marks that span as containerd's (and with the container a
//! request names, [`Client::on_container`]) and times the call.

use containerd_client::services::v1::containers_client::ContainersClient;
use containerd_client::services::v1::content_client::ContentClient;
use containerd_client::services::v1::diff_client::DiffClient;
use containerd_client::services::v1::images_client::ImagesClient;
use containerd_client::services::v1::leases_client::LeasesClient;
use containerd_client::services::v1::snapshots::snapshots_client::SnapshotsClient;
use containerd_client::services::v1::tasks_client::TasksClient;
use containerd_client::services::v1::version_client::VersionClient;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use capstan_shim_common::{CallResult, EngineCalls};
use capstan_telemetry::{TraceClient, TraceClientLayer};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::Request;
use tower::{Layer, Service};

use crate::ContainerdError;

/// The channel under every client: traced, marked and timed.
pub type EngineChannel = TraceClient<Engine<Channel>>;

/// A connection to containerd, scoped to one namespace.
#[derive(Clone, Debug)]
pub struct Client {
    channel: EngineChannel,
    namespace: MetadataValue<tonic::metadata::Ascii>,
}

impl Client {
    /// Connects to the socket at `address` (containerd's default is
    /// `/run/containerd/containerd.sock`); `namespace` scopes every request;
    /// each call is traced and timed in `calls`.
    pub async fn connect(address: &str, namespace: &str, calls: EngineCalls) -> Result<Client, ContainerdError> {
        let path = address.strip_prefix("unix://").unwrap_or(address).to_string();
        let channel = containerd_client::connect(&path)
            .await
            .map_err(|source| ContainerdError::Connect { address: path.clone(), source })?;
        let channel = TraceClientLayer.layer(Engine { inner: channel, calls });
        let value = namespace.parse().map_err(|_| ContainerdError::BadReference {
            reference: namespace.to_string(),
            reason: "a containerd namespace must be plain ASCII",
        })?;
        Ok(Client { channel, namespace: value })
    }

    /// `message` as a request in this namespace.
    pub fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.metadata_mut().insert("containerd-namespace", self.namespace.clone());
        request
    }

    /// `message` as a request in this namespace, acting on container (or
    /// sandbox) `id`: its span says so.
    pub fn on_container<T>(&self, message: T, id: &str) -> Request<T> {
        let mut request = self.request(message);
        request.extensions_mut().insert(OnContainer(id.to_string()));
        request
    }

    /// `message` as a request in this namespace, under `lease`.
    pub fn leased<T>(&self, message: T, lease: &str) -> Request<T> {
        let mut request = self.request(message);
        if let Ok(value) = lease.parse() {
            request.metadata_mut().insert("containerd-lease", value);
        }
        request
    }

    pub fn containers(&self) -> ContainersClient<EngineChannel> {
        ContainersClient::new(self.channel.clone())
    }

    pub fn tasks(&self) -> TasksClient<EngineChannel> {
        TasksClient::new(self.channel.clone())
    }

    pub fn images(&self) -> ImagesClient<EngineChannel> {
        ImagesClient::new(self.channel.clone())
    }

    pub fn content(&self) -> ContentClient<EngineChannel> {
        // blobs are read and written in chunks well under this; manifests and
        // configs arrive whole
        ContentClient::new(self.channel.clone()).max_decoding_message_size(64 << 20)
    }

    pub fn snapshots(&self) -> SnapshotsClient<EngineChannel> {
        SnapshotsClient::new(self.channel.clone())
    }

    pub fn diff(&self) -> DiffClient<EngineChannel> {
        DiffClient::new(self.channel.clone())
    }

    pub fn leases(&self) -> LeasesClient<EngineChannel> {
        LeasesClient::new(self.channel.clone())
    }

    pub fn version(&self) -> VersionClient<EngineChannel> {
        VersionClient::new(self.channel.clone())
    }
}

/// The container a request acts on, carried to [`Engine`] in its extensions.
#[derive(Clone, Debug)]
struct OnContainer(String);

/// Marks each call's `grpc.client` span (the current span when the trace layer
/// outside calls it) as containerd's, and times the call by method and result.
#[derive(Clone, Debug)]
pub struct Engine<S> {
    inner: S,
    calls: EngineCalls,
}

impl<S, B, RB> Service<http::Request<B>> for Engine<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    RB: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let container = request.extensions().get::<OnContainer>().map(|on| on.0.as_str());
        self.calls.mark_current(container);
        let method = request.uri().path().trim_start_matches('/').to_string();
        let calls = self.calls.clone();
        let started = Instant::now();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await;
            let result = match &answer {
                Ok(response) => call_result(response.status(), response.headers()),
                Err(_) => CallResult::Error,
            };
            calls.observe(&method, result, started.elapsed().as_secs_f64());
            answer
        })
    }
}

/// How a call ended, as far as its response head says: gRPC sends most
/// failures trailers-only, their `grpc-status` in the head.
fn call_result(status: http::StatusCode, headers: &http::HeaderMap) -> CallResult {
    if !status.is_success() {
        return CallResult::Error;
    }
    match headers.get("grpc-status").and_then(|v| v.to_str().ok()).map(str::trim) {
        None | Some("0") => CallResult::Ok,
        Some("5") => CallResult::NotFound,
        Some(_) => CallResult::Error,
    }
}

/// A containerd filter matching label `key` equal to `value`.
pub fn label_filter(key: &str, value: &str) -> String {
    format!("labels.{}=={}", quote(key), quote(value))
}

/// A Go-style quoted string, as containerd's filter syntax reads it.
fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_counts_by_its_grpc_status() {
        let head = |code: Option<&str>| {
            let mut headers = http::HeaderMap::new();
            if let Some(code) = code {
                headers.insert("grpc-status", http::HeaderValue::from_str(code).expect("a header value"));
            }
            headers
        };
        let ok = http::StatusCode::OK;
        assert_eq!(call_result(ok, &head(None)), CallResult::Ok, "status in the trailers: ok so far");
        assert_eq!(call_result(ok, &head(Some("0"))), CallResult::Ok);
        assert_eq!(call_result(ok, &head(Some("5"))), CallResult::NotFound);
        assert_eq!(call_result(ok, &head(Some("14"))), CallResult::Error);
        assert_eq!(call_result(http::StatusCode::BAD_GATEWAY, &head(None)), CallResult::Error);
    }

    #[test]
    fn label_filters_quote_keys_and_values() {
        assert_eq!(label_filter("io.capstan.node.name", "n-1"), r#"labels."io.capstan.node.name"=="n-1""#);
        assert_eq!(label_filter("k", "a\"b"), r#"labels."k"=="a\"b""#);
    }
}
