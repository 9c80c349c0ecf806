//! The typed layer: `Api<K>` speaks in the generated message of one kind, so
//! controllers never touch the `Object` envelope or build `ResourceRef`s.

use crate::client::{resource_ref, Client};
use crate::error::ClientError;
use crate::params::{DeleteParams, ListParams};
use crate::watch::{typed, typed_stream, WatchStream};
use capstan_proto::api::v1::ResourceRef;
use capstan_proto::autoscaling::v1::Scale;
use capstan_proto::core::v1::{Binding, ObjectReference, Pod};
use capstan_proto::meta::v1::{ListMeta, ObjectMeta};
use capstan_proto::Resource;
use std::marker::PhantomData;

/// Calls on one kind, in one namespace or (for `None`) in all of them.
#[derive(Debug)]
pub struct Api<K> {
    client: Client,
    namespace: Option<String>,
    kind: PhantomData<fn() -> K>,
}

impl<K> Clone for Api<K> {
    fn clone(&self) -> Self {
        Api { client: self.client.clone(), namespace: self.namespace.clone(), kind: PhantomData }
    }
}

/// What a delete call left behind.
#[derive(Debug, Clone, PartialEq)]
pub struct Deletion<K> {
    /// the object as it stands after the call (with deletionTimestamp set
    /// while it terminates), when the server returned it
    pub object: Option<K>,
    /// true when the object is gone from the store
    pub deleted: bool,
}

impl<K: Resource> Api<K> {
    pub(crate) fn new(client: Client, namespace: Option<&str>) -> Self {
        Api { client, namespace: namespace.map(str::to_string), kind: PhantomData }
    }

    /// The namespace this view is bound to (`None` = all namespaces).
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn target(&self, name: &str) -> ResourceRef {
        resource_ref(&K::INFO, self.namespace.as_deref().unwrap_or(""), name)
    }

    /// Writes go to the view's namespace, or the object's own in an
    /// all-namespaces view.
    fn target_of(&self, object: &K, subresource: &str) -> ResourceRef {
        let meta = object.meta();
        let namespace = self.namespace.as_deref().unwrap_or(&meta.namespace);
        let mut target = resource_ref(&K::INFO, namespace, &meta.name);
        target.subresource = subresource.to_string();
        target
    }

    pub async fn get(&self, name: &str) -> Result<K, ClientError> {
        typed(self.client.get(self.target(name)).await?)
    }

    /// One page of the collection (everything unless `params.limit` is set).
    pub async fn list(&self, params: &ListParams) -> Result<(Vec<K>, ListMeta), ClientError> {
        let list = self.client.list(self.target(""), params.to_options("")).await?;
        let items = list.items.into_iter().map(typed).collect::<Result<Vec<K>, _>>()?;
        Ok((items, list.metadata.unwrap_or_default()))
    }

    pub async fn create(&self, object: &K) -> Result<K, ClientError> {
        let mut target = self.target_of(object, "");
        target.name.clear();
        typed(self.client.create(target, object.clone().into_object()).await?)
    }

    /// Replaces the object; refused with `Conflict` when its resourceVersion
    /// is stale.
    pub async fn update(&self, object: &K) -> Result<K, ClientError> {
        typed(self.client.update(self.target_of(object, ""), object.clone().into_object()).await?)
    }

    /// Writes only the status of the object (the `status` subresource).
    pub async fn update_status(&self, object: &K) -> Result<K, ClientError> {
        typed(self.client.update(self.target_of(object, "status"), object.clone().into_object()).await?)
    }

    /// A JSON merge patch (RFC 7386): `{"spec":{"replicas":3}}`.
    pub async fn patch_merge(&self, name: &str, patch: serde_json::Value) -> Result<K, ClientError> {
        typed(self.client.patch_merge(self.target(name), &patch).await?)
    }

    pub async fn delete(&self, name: &str, params: &DeleteParams) -> Result<Deletion<K>, ClientError> {
        let response = self.client.delete(self.target(name), params).await?;
        let object = response.object.and_then(K::try_from_object);
        Ok(Deletion { object, deleted: response.deleted })
    }

    /// Changes after `resource_version` ("" = the current state as ADDED
    /// events, then changes). The stream ends when the server closes it.
    pub async fn watch(&self, params: &ListParams, resource_version: &str) -> Result<WatchStream<K>, ClientError> {
        let stream = self.client.watch(self.target(""), params.to_options(resource_version)).await?;
        Ok(typed_stream(stream))
    }

    /// The scale subresource (deployments and replica sets).
    pub async fn get_scale(&self, name: &str) -> Result<Scale, ClientError> {
        let mut target = self.target(name);
        target.subresource = "scale".to_string();
        typed(self.client.get(target).await?)
    }

    pub async fn update_scale(&self, name: &str, scale: &Scale) -> Result<Scale, ClientError> {
        let mut target = self.target(name);
        target.subresource = "scale".to_string();
        typed(self.client.update(target, scale.clone().into_object()).await?)
    }
}

impl Api<Pod> {
    /// Assigns the pod to a node (the `binding` subresource): the
    /// scheduler's one write.
    pub async fn bind(&self, pod_name: &str, node_name: &str) -> Result<(), ClientError> {
        let mut target = self.target(pod_name);
        target.subresource = "binding".to_string();
        let mut binding = Binding {
            metadata: Some(ObjectMeta {
                name: pod_name.to_string(),
                namespace: target.namespace.clone(),
                ..Default::default()
            }),
            target: Some(ObjectReference {
                kind: "Node".to_string(),
                name: node_name.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        };
        binding.set_type_meta();
        self.client.create(target, binding.into_object()).await?;
        Ok(())
    }
}
