//! Finding this node's sandboxes and containers in the engine by their labels.
//!
//! Every operation that takes an ID goes through [`DockerRuntime::inspect_owned`], so a
//! shim never touches another node's containers (several kubelets may share one
//! engine) nor containers it did not create, even when given their IDs.

use std::collections::BTreeMap;

use bollard::models::{ContainerInspectResponse, ContainerSummary};
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptionsBuilder};
use capstan_shim_common::{labels, CallTarget};

use crate::error::{Context, Op};
use crate::names::{label_filters, owned};
use crate::{DockerRuntime, ShimError};

impl DockerRuntime {
    /// The container `id` if it exists and is this node's object of `kind`.
    pub(crate) async fn inspect_owned(
        &self,
        id: &str,
        kind: &str,
    ) -> Result<Option<ContainerInspectResponse>, ShimError> {
        if id.is_empty() {
            return Ok(None);
        }
        let inspected = self
            .engine(
                "ContainerInspect",
                CallTarget::container(id),
                self.inner.docker.inspect_container(id, None::<InspectContainerOptions>),
            )
            .await
            .during(Op::Inspect, id);
        match inspected {
            Ok(inspect) if owned(inspect.config.as_ref().and_then(|c| c.labels.as_ref()), self.node_name(), kind) => {
                Ok(Some(inspect))
            }
            Ok(_) => Ok(None),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The sandbox `id`, or NotFound.
    pub(crate) async fn sandbox(&self, id: &str) -> Result<ContainerInspectResponse, ShimError> {
        self.inspect_owned(id, labels::KIND_SANDBOX).await?.ok_or_else(|| self.not_found_sandbox(id))
    }

    /// The sandbox `id` as the engine lists it, or NotFound.
    ///
    /// Docker holds a container's lock while it starts and an inspect waits for
    /// that lock; a list does not. Creating containers in a sandbox that is still
    /// starting (the kubelet does, to overlap the two) looks the sandbox up here,
    /// or each create would wait out the sandbox's whole start.
    pub(crate) async fn listed_sandbox(&self, id: &str) -> Result<ContainerSummary, ShimError> {
        if id.is_empty() {
            return Err(self.not_found_sandbox(id));
        }
        let mut listed = self.list_owned(labels::KIND_SANDBOX, &BTreeMap::new(), id).await?;
        match listed.iter().position(|c| c.id.as_deref() == Some(id)) {
            Some(exact) => Ok(listed.swap_remove(exact)),
            None if listed.len() == 1 => Ok(listed.swap_remove(0)),
            None => Err(self.not_found_sandbox(id)),
        }
    }

    /// The app container `id`, or NotFound.
    pub(crate) async fn container(&self, id: &str) -> Result<ContainerInspectResponse, ShimError> {
        self.inspect_owned(id, labels::KIND_CONTAINER).await?.ok_or_else(|| self.not_found_container(id))
    }

    /// This node's objects of `kind` (in any state) carrying every pair of `selector`,
    /// optionally only those whose ID starts with `id_prefix`.
    pub(crate) async fn list_owned(
        &self,
        kind: &str,
        selector: &BTreeMap<String, String>,
        id_prefix: &str,
    ) -> Result<Vec<ContainerSummary>, ShimError> {
        let mut filters = label_filters(self.node_name(), kind, selector);
        if !id_prefix.is_empty() {
            filters.insert("id".to_string(), vec![id_prefix.to_string()]);
        }
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let listed = self.engine("ContainerList", CallTarget::none(), self.inner.docker.list_containers(Some(options)));
        let listed = listed.await.during(Op::List, self.node_name())?;
        // the engine's id filter matches anywhere in the ID; the interface means a prefix
        Ok(listed.into_iter().filter(|c| c.id.as_deref().is_some_and(|i| i.starts_with(id_prefix))).collect())
    }

    /// The IDs of the app containers in sandbox `sandbox_id`.
    pub(crate) async fn containers_in(&self, sandbox_id: &str) -> Result<Vec<ContainerSummary>, ShimError> {
        let selector = BTreeMap::from([(labels::SANDBOX_ID.to_string(), sandbox_id.to_string())]);
        self.list_owned(labels::KIND_CONTAINER, &selector, "").await
    }
}
