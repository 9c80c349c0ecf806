//! The connection to the API server and the dynamic calls on the `Object`
//! envelope. Every call goes through the telemetry trace layer, so the
//! caller's span and the API server's handling of the call share one trace.

use crate::api::Api;
use crate::connect::{self, BearerChannel, ClientChannel, Target};
use crate::error::ClientError;
use crate::params::DeleteParams;
use crate::watch::{self, WatchEvent, WatchStream};
use capstan_pki::Credentials;
use capstan_proto::api::v1::resource_service_client::ResourceServiceClient;
use capstan_proto::api::v1::review_service_client::ReviewServiceClient;
use capstan_proto::api::v1::{
    ApiResource, CreateRequest, DeleteResponse, DiscoveryRequest, GetRequest, ListOptions, ListRequest, Object,
    ObjectList, PatchRequest, ResourceRef, UpdateRequest, WatchRequest,
};
use capstan_proto::authentication::v1::SelfSubjectReview;
use capstan_proto::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use capstan_proto::{KindInfo, Resource};
use capstan_telemetry::TraceClientLayer;
use futures::StreamExt;
use std::path::Path;
use tonic::transport::Channel;
use tower::Layer;

/// The patch type the API server supports (RFC 7386).
pub const MERGE_PATCH: &str = "application/merge-patch+json";

/// A handle on the API server. Cloning is cheap: clones share one HTTP/2
/// connection.
#[derive(Clone, Debug)]
pub struct Client {
    grpc: ResourceServiceClient<ClientChannel>,
    reviews: ReviewServiceClient<ClientChannel>,
    channel: ClientChannel,
}

/// Names the object (or, with an empty name, the collection) of `info`'s
/// kind in `namespace`; cluster-scoped kinds ignore the namespace.
pub fn resource_ref(info: &KindInfo, namespace: &str, name: &str) -> ResourceRef {
    ResourceRef {
        resource: info.resource.to_string(),
        namespace: if info.namespaced { namespace.to_string() } else { String::new() },
        name: name.to_string(),
        subresource: String::new(),
    }
}

impl Client {
    /// A client for the server at `url` (`http://host:port`, or `https://`
    /// trusting the system's roots), with no credentials. The connection is
    /// made on first use and re-made after failures, so this only fails on a
    /// malformed address. Call it inside a Tokio runtime.
    pub fn connect(url: &str) -> Result<Client, ClientError> {
        Client::connect_with(url, &Credentials::default())
    }

    /// A client for the server at `url` with `credentials` (a kubeconfig
    /// context's): an `https://` address is dialled over TLS with its CA and
    /// client certificate, and its token is sent on every call. An `http://`
    /// address ignores the TLS material, as it always did.
    pub fn connect_with(url: &str, credentials: &Credentials) -> Result<Client, ClientError> {
        let channel = connect::bearer_channel(url, credentials)?.impersonating(&credentials.impersonate)?;
        Ok(Client::over(channel))
    }

    /// A client for `target` (see [`Target::resolve`]).
    pub fn connect_to(target: &Target) -> Result<Client, ClientError> {
        Client::connect_with(&target.server, &target.credentials)
    }

    /// A client for the current context of the kubeconfig at `path`;
    /// `server`, when given, overrides the kubeconfig's address.
    pub fn from_kubeconfig(path: &Path, server: Option<&str>) -> Result<Client, ClientError> {
        Client::connect_to(&Target::resolve(Some(path), server)?)
    }

    /// A client over an existing channel (tests, custom endpoints). The trace
    /// layer is added here.
    pub fn from_channel(channel: Channel) -> Client {
        Client::over(BearerChannel::anonymous(channel))
    }

    fn over(channel: BearerChannel) -> Client {
        let channel = TraceClientLayer.layer(channel);
        Client {
            grpc: ResourceServiceClient::new(channel.clone()),
            reviews: ReviewServiceClient::new(channel.clone()),
            channel,
        }
    }

    /// The typed view of one kind; `namespace: None` means all namespaces for
    /// list and watch, and the object's own namespace for writes.
    pub fn api<K: Resource>(&self, namespace: Option<&str>) -> Api<K> {
        Api::new(self.clone(), namespace)
    }

    /// The traced, credentialed channel under this client, for the API
    /// server's other services (`PodService`): one connection, one identity.
    pub fn channel(&self) -> ClientChannel {
        self.channel.clone()
    }

    fn grpc(&self) -> ResourceServiceClient<ClientChannel> {
        self.grpc.clone()
    }

    pub async fn create(&self, target: ResourceRef, object: Object) -> Result<Object, ClientError> {
        let request = CreateRequest { r#ref: Some(target), object: Some(object), dry_run: false, ..Default::default() };
        Ok(self.grpc().create(request).await?.into_inner())
    }

    pub async fn get(&self, target: ResourceRef) -> Result<Object, ClientError> {
        Ok(self.grpc().get(GetRequest { r#ref: Some(target) }).await?.into_inner())
    }

    pub async fn list(&self, target: ResourceRef, options: ListOptions) -> Result<ObjectList, ClientError> {
        let request = ListRequest { r#ref: Some(target), options: Some(options) };
        Ok(self.grpc().list(request).await?.into_inner())
    }

    pub async fn update(&self, target: ResourceRef, object: Object) -> Result<Object, ClientError> {
        let request = UpdateRequest { r#ref: Some(target), object: Some(object), dry_run: false, ..Default::default() };
        Ok(self.grpc().update(request).await?.into_inner())
    }

    /// A JSON merge patch (RFC 7386) of the named object.
    pub async fn patch_merge(&self, target: ResourceRef, patch: &serde_json::Value) -> Result<Object, ClientError> {
        let request = PatchRequest {
            r#ref: Some(target),
            patch_type: MERGE_PATCH.to_string(),
            patch: patch.to_string().into_bytes(),
            dry_run: false,
            ..Default::default()
        };
        Ok(self.grpc().patch(request).await?.into_inner())
    }

    pub async fn delete(&self, target: ResourceRef, params: &DeleteParams) -> Result<DeleteResponse, ClientError> {
        Ok(self.grpc().delete(params.to_request(target)).await?.into_inner())
    }

    /// Watches the collection `target` names from `options.resource_version`.
    /// An expired version fails either here or as the stream's first item.
    pub async fn watch(&self, target: ResourceRef, options: ListOptions) -> Result<WatchStream<Object>, ClientError> {
        let request = WatchRequest { r#ref: Some(target), options: Some(options) };
        let stream = self.grpc().watch(request).await?.into_inner();
        Ok(stream.map(|item| -> Result<WatchEvent<Object>, ClientError> { watch::from_wire(item?) }).boxed())
    }

    /// Who the server takes this client to be (after impersonation):
    /// `status.userInfo` of a `SelfSubjectReview`.
    pub async fn self_subject_review(&self) -> Result<SelfSubjectReview, ClientError> {
        Ok(self.reviews.clone().self_subject_review(SelfSubjectReview::default()).await?.into_inner())
    }

    /// Whether this client may do what `attributes` describe: the answered
    /// `SelfSubjectAccessReview` (`status.allowed`).
    pub async fn self_subject_access_review(
        &self,
        attributes: ResourceAttributes,
    ) -> Result<SelfSubjectAccessReview, ClientError> {
        let review = SelfSubjectAccessReview {
            spec: Some(SelfSubjectAccessReviewSpec { resource_attributes: Some(attributes), ..Default::default() }),
            ..Default::default()
        };
        Ok(self.reviews.clone().self_subject_access_review(review).await?.into_inner())
    }

    /// Every resource the server serves.
    pub async fn discover(&self) -> Result<Vec<ApiResource>, ClientError> {
        Ok(self.grpc().discover(DiscoveryRequest {}).await?.into_inner().resources)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::kinds::{NODE, POD};

    #[test]
    fn refs_drop_the_namespace_of_cluster_scoped_kinds() {
        assert_eq!(resource_ref(&POD, "default", "web").namespace, "default");
        let node = resource_ref(&NODE, "default", "n1");
        assert_eq!((node.resource.as_str(), node.namespace.as_str()), ("nodes", ""));
    }

    #[tokio::test]
    async fn connect_refuses_malformed_urls() {
        assert!(matches!(Client::connect("not a url"), Err(ClientError::InvalidUrl { .. })));
        assert!(Client::connect("http://127.0.0.1:6443").is_ok());
        assert!(Client::connect("https://127.0.0.1:6443").is_ok(), "the system's roots");
        assert!(matches!(Client::connect("ftp://127.0.0.1:6443"), Err(ClientError::InvalidUrl { .. })));
    }
}
