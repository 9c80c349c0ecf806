//! The pod half of the controller (Kubernetes' taint manager): deletes a
//! pod whose node has a `NoExecute` taint it does not tolerate, or comes
//! back when its toleration runs out; and marks the pods of a node whose
//! kubelet went silent not ready.

use super::eviction::{self, Eviction, Sightings};
use super::health::ready_status;
use crate::context::Context;
use crate::error::ControllerError;
use capstan_client::DeleteParams;
use capstan_proto::core::v1::Pod;
use capstan_proto::meta::v1::Time;
use capstan_runtime::events::{NORMAL, WARNING};
use capstan_runtime::EventRecorder;
use capstan_runtime::Requeue;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

pub struct TaintEvictor {
    ctx: Arc<Context>,
    sightings: Mutex<Sightings>,
    recorder: EventRecorder,
}

impl TaintEvictor {
    pub fn new(ctx: Arc<Context>) -> Self {
        let recorder = ctx.recorder("taint-eviction-controller");
        TaintEvictor { ctx, sightings: Mutex::default(), recorder }
    }

    pub fn forget_node(&self, node: &str) {
        self.sightings.lock().unwrap_or_else(|p| p.into_inner()).forget(node);
    }

    /// One look at the pod `key` ("namespace/name").
    pub async fn reconcile(&self, key: &str) -> Result<Requeue, ControllerError> {
        let Some((namespace, name)) = key.split_once('/') else {
            return Err(ControllerError::Invalid(format!("pod key {key:?} is not namespace/name")));
        };
        let Some(pod) = self.ctx.pods.store().get(namespace, name) else { return Ok(Requeue::No) };
        let spec = pod.spec.clone().unwrap_or_default();
        let deleting = pod.metadata.as_ref().is_some_and(|m| m.deletion_timestamp.is_some());
        if deleting || spec.node_name.is_empty() {
            return Ok(Requeue::No);
        }
        let Some(node) = self.ctx.nodes.store().get("", &spec.node_name) else { return Ok(Requeue::No) };
        let taints = node.spec.as_ref().map(|s| s.taints.clone()).unwrap_or_default();
        let now = SystemTime::now();
        let since = self.sightings.lock().unwrap_or_else(|p| p.into_inner()).since(&spec.node_name, &taints, now);
        match eviction::decide(&taints, &since, &spec.tolerations, now) {
            Eviction::Now => return self.evict(&pod).await,
            Eviction::At(at) => {
                self.mark_not_ready(&pod, ready_status(&node)).await?;
                Ok(Requeue::After(at.duration_since(now).unwrap_or_default()))
            }
            Eviction::Never => {
                self.mark_not_ready(&pod, ready_status(&node)).await?;
                Ok(Requeue::No)
            }
        }
    }

    async fn evict(&self, pod: &Pod) -> Result<Requeue, ControllerError> {
        let meta = pod.metadata.clone().unwrap_or_default();
        // only this pod: a new one of the same name is not ours to evict
        let params = DeleteParams { precondition_uid: Some(meta.uid.clone()), ..Default::default() };
        match self.ctx.client.api::<Pod>(Some(&meta.namespace)).delete(&meta.name, &params).await {
            Ok(_) => {}
            Err(error) if error.is_not_found() => return Ok(Requeue::No),
            Err(error) => {
                return Err(ControllerError::api(format!("evict pod {}/{}", meta.namespace, meta.name))(error))
            }
        }
        tracing::info!(pod = %format!("{}/{}", meta.namespace, meta.name), "taint manager evicted the pod");
        let message = format!("Marking for deletion Pod {}/{}", meta.namespace, meta.name);
        if let Err(error) = self.recorder.record(pod, NORMAL, "TaintManagerEviction", &message).await {
            tracing::debug!(%error, "recording TaintManagerEviction");
        }
        Ok(Requeue::No)
    }

    /// On a node whose kubelet went silent nobody else will say the pod is
    /// not serving: turn its Ready condition False.
    async fn mark_not_ready(&self, pod: &Pod, node_ready: Option<&str>) -> Result<(), ControllerError> {
        if node_ready != Some("Unknown") {
            return Ok(());
        }
        let conditions = pod.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
        let Some(conditions) = eviction::not_ready_conditions(conditions, Time::now()) else { return Ok(()) };
        let mut next = pod.clone();
        next.status.get_or_insert_with(Default::default).conditions = conditions;
        let meta = pod.metadata.clone().unwrap_or_default();
        match self.ctx.client.api::<Pod>(Some(&meta.namespace)).update_status(&next).await {
            Ok(_) => {}
            Err(error) if error.is_not_found() => return Ok(()),
            Err(error) => {
                return Err(ControllerError::api(format!("mark pod {}/{} not ready", meta.namespace, meta.name))(error))
            }
        }
        if let Err(error) = self.recorder.record(pod, WARNING, "NodeNotReady", "Node is not ready").await {
            tracing::debug!(%error, "recording NodeNotReady");
        }
        Ok(())
    }
}
