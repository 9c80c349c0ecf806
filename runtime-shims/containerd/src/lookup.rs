//! Finding this node's sandboxes and containers in containerd, and the labels the
//! shim keeps on them beyond the shared vocabulary of `capstan_shim_common::labels`.
//!
//! A sandbox is a containerd container that never runs a task: its record carries
//! the pod's labels, its state and its IP. App containers are containerd containers
//! whose tasks run in the sandbox's network namespace.

use std::collections::{BTreeMap, HashMap};

use capstan_shim_common::labels;
use containerd_client::services::v1::{
    Container as Record, GetContainerRequest, ListContainersRequest, UpdateContainerRequest,
};
use prost_types::FieldMask;

use crate::client::label_filter;
use crate::{ContainerdError, ContainerdRuntime, Context};

/// `ready` or `notready` (on sandboxes).
pub const SANDBOX_STATE: &str = "io.capstan.containerd.state";
/// The pod IP CNI gave the sandbox.
pub const SANDBOX_IP: &str = "io.capstan.containerd.ip";
/// The pod's hostname.
pub const SANDBOX_HOSTNAME: &str = "io.capstan.containerd.hostname";
/// The sandbox's hostPorts (JSON), which tearing its network down needs again.
pub const SANDBOX_PORTS: &str = "io.capstan.containerd.ports";
/// The image as the kubelet named it (on containers).
pub const IMAGE: &str = "io.capstan.containerd.image";
/// The image's ID (its config digest) when the container was created.
pub const IMAGE_ID: &str = "io.capstan.containerd.image-id";
/// When the task was started, in nanoseconds since the epoch.
pub const STARTED_AT: &str = "io.capstan.containerd.started-at";
/// The file the container's output is written to.
pub const LOG_FILE: &str = "io.capstan.containerd.log-file";

pub const READY: &str = "ready";
pub const NOT_READY: &str = "notready";

/// A record's labels as the sorted map the shared helpers take.
pub fn sorted(labels: &HashMap<String, String>) -> BTreeMap<String, String> {
    labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The record's labels and annotations as the kubelet set them (plus the shim's own keys).
pub fn decoded(record: &Record) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    labels::decode(record.labels.iter().map(|(k, v)| (k.clone(), v.clone())))
}

pub fn label<'a>(record: &'a Record, key: &str) -> &'a str {
    record.labels.get(key).map(String::as_str).unwrap_or_default()
}

/// Nanoseconds since the epoch of a protobuf timestamp (0 when absent).
pub fn nanos(at: Option<&prost_types::Timestamp>) -> i64 {
    at.map(|t| t.seconds.saturating_mul(1_000_000_000).saturating_add(i64::from(t.nanos))).unwrap_or_default()
}

impl ContainerdRuntime {
    /// The record `id` if it exists, is this node's and is of `kind`.
    pub(crate) async fn owned(&self, id: &str, kind: &str) -> Result<Option<Record>, ContainerdError> {
        if id.is_empty() {
            return Ok(None);
        }
        let request = self.client().on_container(GetContainerRequest { id: id.to_string() }, id);
        let record = match self.client().containers().get(request).await.during(|| format!("looking up {id}")) {
            Ok(response) => response.into_inner().container,
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(error),
        };
        Ok(record.filter(|r| label(r, labels::NODE_NAME) == self.node_name() && label(r, labels::KIND) == kind))
    }

    pub(crate) async fn sandbox(&self, id: &str) -> Result<Record, ContainerdError> {
        self.owned(id, labels::KIND_SANDBOX).await?.ok_or_else(|| self.sandbox_not_found(id))
    }

    pub(crate) async fn container(&self, id: &str) -> Result<Record, ContainerdError> {
        self.owned(id, labels::KIND_CONTAINER).await?.ok_or_else(|| self.container_not_found(id))
    }

    /// This node's records of `kind` carrying every `(key, value)` of `matching`.
    pub(crate) async fn list_owned(
        &self,
        kind: &str,
        matching: &[(&str, &str)],
    ) -> Result<Vec<Record>, ContainerdError> {
        self.list_records(Some(self.node_name()), kind, matching).await
    }

    /// The records of `kind` of `node` (of every node: `None`) carrying every
    /// `(key, value)` of `matching`.
    pub(crate) async fn list_records(
        &self,
        node: Option<&str>,
        kind: &str,
        matching: &[(&str, &str)],
    ) -> Result<Vec<Record>, ContainerdError> {
        let mut filter: Vec<String> = node.map(|node| label_filter(labels::NODE_NAME, node)).into_iter().collect();
        filter.push(label_filter(labels::KIND, kind));
        filter.extend(matching.iter().map(|(k, v)| label_filter(k, v)));
        let request = self.client().request(ListContainersRequest { filters: vec![filter.join(",")] });
        let listed = self
            .client()
            .containers()
            .list(request)
            .await
            .during(|| format!("listing the {kind}s of node {}", node.unwrap_or("(any)")))?;
        Ok(listed.into_inner().containers)
    }

    /// Sets `pairs` among the labels of record `id`, leaving the others alone.
    pub(crate) async fn set_labels(&self, id: &str, pairs: &[(&str, String)]) -> Result<(), ContainerdError> {
        let record = Record {
            id: id.to_string(),
            labels: pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            ..Default::default()
        };
        let mask = FieldMask { paths: pairs.iter().map(|(k, _)| format!("labels.{k}")).collect() };
        let update = UpdateContainerRequest { container: Some(record), update_mask: Some(mask) };
        let request = self.client().on_container(update, id);
        self.client().containers().update(request).await.during(|| format!("updating the labels of {id}"))?;
        Ok(())
    }
}
