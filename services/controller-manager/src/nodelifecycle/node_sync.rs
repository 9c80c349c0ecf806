//! The node half of the controller: notes each node's heartbeats, writes
//! `Unknown` conditions through the status subresource when a kubelet has
//! been silent past the grace period, and keeps the node's `NoExecute`
//! condition taints in line with its Ready condition.

use super::health::{ready_status, HealthBook, Heartbeat};
use super::taints;
use crate::context::{Context, NODE_LEASE_NAMESPACE};
use crate::error::ControllerError;
use capstan_proto::core::v1::Node;
use capstan_proto::meta::v1::Time;
use capstan_runtime::events::WARNING;
use capstan_runtime::EventRecorder;
use capstan_runtime::Requeue;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

pub struct NodeMonitor {
    ctx: Arc<Context>,
    book: Mutex<HealthBook>,
    recorder: EventRecorder,
}

impl NodeMonitor {
    pub fn new(ctx: Arc<Context>) -> Self {
        let recorder = ctx.recorder("node-controller");
        NodeMonitor { ctx, book: Mutex::default(), recorder }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, HealthBook> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn forget(&self, name: &str) {
        self.book().forget(name);
    }

    /// One look at node `name`: its health, then its taints.
    pub async fn reconcile(&self, name: &str) -> Result<Requeue, ControllerError> {
        let Some(node) = self.ctx.nodes.store().get("", name) else {
            self.forget(name);
            return Ok(Requeue::No);
        };
        let lease = self.ctx.node_leases.store().get(NODE_LEASE_NAMESPACE, name);
        let silent = self.book().observe(name, Heartbeat::of(&node, lease.as_deref()), Instant::now());
        if silent > self.ctx.config.node_monitor_grace_period && self.mark_unknown(&node).await? {
            // the write comes back as a node event; the taint follows then
            return Ok(Requeue::No);
        }
        self.sync_taints(&node).await
    }

    /// Writes the `Unknown` conditions; false when they were already so.
    async fn mark_unknown(&self, node: &Node) -> Result<bool, ControllerError> {
        let Some(conditions) = super::health::unknown_conditions(node, Time::now()) else { return Ok(false) };
        let name = node.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default();
        let was_ready = ready_status(node) == Some("True");
        let mut next = node.clone();
        next.status.get_or_insert_with(Default::default).conditions = conditions;
        // pinned to the cached resourceVersion: a kubelet that posted just now wins
        self.ctx
            .client
            .api::<Node>(None)
            .update_status(&next)
            .await
            .map_err(ControllerError::api(format!("mark node {name} Unknown")))?;
        tracing::info!(node = name, "kubelet stopped posting node status; node is Unknown");
        if was_ready {
            let message = format!("Node {name} status is now: NodeNotReady");
            if let Err(error) = self.recorder.record(node, WARNING, "NodeNotReady", &message).await {
                tracing::debug!(node = name, %error, "recording NodeNotReady");
            }
        }
        Ok(true)
    }

    /// Adds or removes the not-ready / unreachable `NoExecute` taints.
    async fn sync_taints(&self, cached: &Node) -> Result<Requeue, ControllerError> {
        let taints_of = |node: &Node| node.spec.as_ref().map(|s| s.taints.clone()).unwrap_or_default();
        if taints::desired(&taints_of(cached), ready_status(cached), Time::now()).is_none() {
            return Ok(Requeue::No);
        }
        let name = cached.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default();
        let api = self.ctx.client.api::<Node>(None);
        // others write the spec too (cordon, users' taints): change the current one
        let mut node = match api.get(name).await {
            Ok(node) => node,
            Err(error) if error.is_not_found() => return Ok(Requeue::No),
            Err(error) => return Err(ControllerError::api(format!("get node {name}"))(error)),
        };
        let Some(next) = taints::desired(&taints_of(&node), ready_status(&node), Time::now()) else {
            return Ok(Requeue::No);
        };
        let keys: Vec<String> = next.iter().map(|t| format!("{}:{}", t.key, t.effect)).collect();
        node.spec.get_or_insert_with(Default::default).taints = next;
        api.update(&node).await.map_err(ControllerError::api(format!("update the taints of node {name}")))?;
        tracing::info!(node = name, taints = ?keys, "node taints follow its Ready condition");
        Ok(Requeue::No)
    }
}
