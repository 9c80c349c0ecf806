//! Starts a real API server for a test, on either backend: the embedded store
//! in a temporary directory, or a real etcd started by the shared harness.

#![allow(dead_code)]

use capstan_apiserver::Config;
use capstan_proto::api::v1::resource_service_client::ResourceServiceClient;
use capstan_proto::api::v1::*;
use capstan_proto::object::parse_manifests;
use capstan_proto::ObjectExt;
use capstan_testkit::TestCluster;
use futures::StreamExt;
use std::time::Duration;
use tonic::transport::Channel;

pub use capstan_testkit::Backend;

/// A test cluster, and a raw gRPC client of the resource service: these
/// tests speak the wire protocol itself, not the typed client.
pub struct TestServer {
    cluster: TestCluster,
    pub client: ResourceServiceClient<Channel>,
}

impl TestServer {
    /// None when etcd is not installed outside CI (the harness reports it).
    pub async fn start(backend: Backend) -> Option<TestServer> {
        Self::start_with(backend, |_| {}).await
    }

    /// As `start`, with the configuration adjusted first.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestServer> {
        let cluster = TestCluster::start_with(backend, |config| {
            config.cache.bookmark_interval = Duration::from_millis(200);
            adjust(config);
        })
        .await?;
        let client = connect(&cluster);
        Some(TestServer { cluster, client })
    }

    /// Stops the server and starts a new one over the same store.
    pub async fn restart(&mut self) {
        self.cluster.restart().await;
        self.client = connect(&self.cluster);
    }

    pub async fn apply(&mut self, yaml: &str) -> Result<Object, tonic::Status> {
        let object = parse_manifests("test", yaml).expect("test manifest decodes").remove(0);
        let info = object.info().expect("kind");
        let r = ResourceRef {
            resource: info.resource.into(),
            namespace: object.meta().namespace.clone(),
            ..Default::default()
        };
        self.client
            .create(CreateRequest { r#ref: Some(r), object: Some(object), dry_run: false, ..Default::default() })
            .await
            .map(|r| r.into_inner())
    }

    pub async fn get(&mut self, resource: &str, ns: &str, name: &str) -> Result<Object, tonic::Status> {
        self.client.get(GetRequest { r#ref: Some(rref(resource, ns, name)) }).await.map(|r| r.into_inner())
    }

    pub async fn update(&mut self, resource: &str, object: Object) -> Result<Object, tonic::Status> {
        let r = rref(resource, &object.meta().namespace.clone(), &object.meta().name.clone());
        self.client
            .update(UpdateRequest { r#ref: Some(r), object: Some(object), dry_run: false, ..Default::default() })
            .await
            .map(|r| r.into_inner())
    }

    pub async fn update_status(&mut self, resource: &str, object: Object) -> Result<Object, tonic::Status> {
        let mut r = rref(resource, &object.meta().namespace.clone(), &object.meta().name.clone());
        r.subresource = "status".into();
        self.client
            .update(UpdateRequest { r#ref: Some(r), object: Some(object), dry_run: false, ..Default::default() })
            .await
            .map(|r| r.into_inner())
    }

    pub async fn patch(
        &mut self,
        resource: &str,
        ns: &str,
        name: &str,
        patch: serde_json::Value,
    ) -> Result<Object, tonic::Status> {
        let request = PatchRequest {
            r#ref: Some(rref(resource, ns, name)),
            patch_type: "application/merge-patch+json".into(),
            patch: serde_json::to_vec(&patch).expect("json"),
            dry_run: false,
            ..Default::default()
        };
        self.client.patch(request).await.map(|r| r.into_inner())
    }

    pub async fn delete(
        &mut self,
        resource: &str,
        ns: &str,
        name: &str,
        grace: Option<i64>,
        policy: &str,
    ) -> Result<DeleteResponse, tonic::Status> {
        let request = DeleteRequest {
            r#ref: Some(rref(resource, ns, name)),
            grace_period_seconds: grace,
            propagation_policy: policy.into(),
            ..Default::default()
        };
        self.client.delete(request).await.map(|r| r.into_inner())
    }

    pub async fn list(&mut self, resource: &str, ns: &str, options: ListOptions) -> Result<ObjectList, tonic::Status> {
        let request = ListRequest { r#ref: Some(rref(resource, ns, "")), options: Some(options) };
        self.client.list(request).await.map(|r| r.into_inner())
    }

    pub async fn watch(
        &mut self,
        resource: &str,
        ns: &str,
        options: ListOptions,
    ) -> Result<tonic::Streaming<WatchEvent>, tonic::Status> {
        let request = WatchRequest { r#ref: Some(rref(resource, ns, "")), options: Some(options) };
        self.client.watch(request).await.map(|r| r.into_inner())
    }
}

pub fn rref(resource: &str, ns: &str, name: &str) -> ResourceRef {
    ResourceRef { resource: resource.into(), namespace: ns.into(), name: name.into(), subresource: String::new() }
}

/// The admin's raw client (its client certificate, over TLS).
fn connect(cluster: &TestCluster) -> ResourceServiceClient<Channel> {
    ResourceServiceClient::new(cluster.target("admin").channel().expect("the admin's channel"))
}

/// The next non-bookmark event, waiting at most 10 s (a hang is a failure,
/// not a slow pass).
pub async fn next_event(stream: &mut tonic::Streaming<WatchEvent>) -> WatchEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("a watch event within 10 s")
            .expect("the stream stays open")
            .expect("no stream error");
        if event.r#type != "BOOKMARK" {
            return event;
        }
    }
}

pub fn name_of(event: &WatchEvent) -> String {
    event.object.as_ref().map(|o| o.meta().name.clone()).unwrap_or_default()
}

pub fn pod_yaml(ns: &str, name: &str, labels: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels: {{{labels}}}\nspec:\n  containers:\n  - name: app\n    image: capstan/test:1\n"
    )
}

/// Instantiates each listed test once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $name() {
                    let server = super::common::TestServer::start(super::common::Backend::Embedded).await.expect("embedded store");
                    super::$name(server).await;
                }
            )*
        }
        mod etcd {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(server) = super::common::TestServer::start(super::common::Backend::Etcd).await {
                        super::$name(server).await;
                    }
                }
            )*
        }
    };
}
