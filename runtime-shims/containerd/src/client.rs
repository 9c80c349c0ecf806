//! containerd's gRPC clients, each request in the shim's containerd namespace.
//!
//! containerd scopes everything by the `containerd-namespace` request header; one
//! helper puts it (and, while an image is being written, the `containerd-lease` that
//! keeps half-written content from the garbage collector) on every request.

use containerd_client::services::v1::containers_client::ContainersClient;
use containerd_client::services::v1::content_client::ContentClient;
use containerd_client::services::v1::diff_client::DiffClient;
use containerd_client::services::v1::images_client::ImagesClient;
use containerd_client::services::v1::leases_client::LeasesClient;
use containerd_client::services::v1::snapshots::snapshots_client::SnapshotsClient;
use containerd_client::services::v1::tasks_client::TasksClient;
use containerd_client::services::v1::version_client::VersionClient;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::Request;

use crate::ContainerdError;

/// A connection to containerd, scoped to one namespace.
#[derive(Clone, Debug)]
pub struct Client {
    channel: Channel,
    namespace: MetadataValue<tonic::metadata::Ascii>,
}

impl Client {
    /// Connects to the socket at `address` (containerd's default is
    /// `/run/containerd/containerd.sock`); `namespace` scopes every request.
    pub async fn connect(address: &str, namespace: &str) -> Result<Client, ContainerdError> {
        let path = address.strip_prefix("unix://").unwrap_or(address).to_string();
        let channel = containerd_client::connect(&path)
            .await
            .map_err(|source| ContainerdError::Connect { address: path.clone(), source })?;
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

    /// `message` as a request in this namespace, under `lease`.
    pub fn leased<T>(&self, message: T, lease: &str) -> Request<T> {
        let mut request = self.request(message);
        if let Ok(value) = lease.parse() {
            request.metadata_mut().insert("containerd-lease", value);
        }
        request
    }

    pub fn containers(&self) -> ContainersClient<Channel> {
        ContainersClient::new(self.channel.clone())
    }

    pub fn tasks(&self) -> TasksClient<Channel> {
        TasksClient::new(self.channel.clone())
    }

    pub fn images(&self) -> ImagesClient<Channel> {
        ImagesClient::new(self.channel.clone())
    }

    pub fn content(&self) -> ContentClient<Channel> {
        // blobs are read and written in chunks well under this; manifests and
        // configs arrive whole
        ContentClient::new(self.channel.clone()).max_decoding_message_size(64 << 20)
    }

    pub fn snapshots(&self) -> SnapshotsClient<Channel> {
        SnapshotsClient::new(self.channel.clone())
    }

    pub fn diff(&self) -> DiffClient<Channel> {
        DiffClient::new(self.channel.clone())
    }

    pub fn leases(&self) -> LeasesClient<Channel> {
        LeasesClient::new(self.channel.clone())
    }

    pub fn version(&self) -> VersionClient<Channel> {
        VersionClient::new(self.channel.clone())
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
    fn label_filters_quote_keys_and_values() {
        assert_eq!(label_filter("io.capstan.node.name", "n-1"), r#"labels."io.capstan.node.name"=="n-1""#);
        assert_eq!(label_filter("k", "a\"b"), r#"labels."k"=="a\"b""#);
    }
}
