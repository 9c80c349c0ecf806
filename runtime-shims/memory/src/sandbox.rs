//! Pod sandboxes in the in-memory runtime: an allocated IP and a ready flag.
//!
//! Stopping a sandbox kills what still runs in it (exit 137) and returns its IP to
//! the pool; removing it removes its containers too. Stop and remove are idempotent,
//! as the kubelet retries them.

use capstan_proto::runtime::v1::{
    PodSandbox, PodSandboxConfig, PodSandboxFilter, PodSandboxNetworkStatus, PodSandboxState, PodSandboxStatus,
};
use capstan_shim_common::labels;

use crate::state::Sandbox;
use crate::{MemoryError, MemoryRuntime};

impl MemoryRuntime {
    pub(crate) async fn run_sandbox(&self, config: Option<PodSandboxConfig>) -> Result<String, MemoryError> {
        let (config, meta) = capstan_shim_common::sandbox_config(config)?;
        let mut state = self.lock().await;
        let same_pod = |s: &&Sandbox| {
            let theirs = labels::sandbox_metadata(&s.labels);
            theirs.uid == meta.uid
                && theirs.name == meta.name
                && theirs.namespace == meta.namespace
                && theirs.attempt == meta.attempt
        };
        if let Some(existing) = state.sandboxes.values().find(same_pod) {
            let pod = format!("{}/{}", meta.namespace, meta.name);
            return Err(MemoryError::SandboxExists { pod, attempt: meta.attempt, id: existing.id.clone() });
        }
        let ip = if config.host_network { None } else { Some(state.ipam.allocate()?) };
        let id = new_id();
        let sandbox = Sandbox {
            id: id.clone(),
            labels: labels::sandbox_labels(self.node_name(), &config),
            config,
            created_at: self.inner.clock.now_ns(),
            ready: true,
            ip,
        };
        state.sandboxes.insert(id.clone(), sandbox);
        Ok(id)
    }

    pub(crate) async fn stop_sandbox(&self, id: &str) -> Result<(), MemoryError> {
        let now = self.inner.clock.now_ns();
        let mut state = self.lock().await;
        if self.own_sandbox(&state, id).is_err() {
            return Ok(());
        }
        let Some(sandbox) = state.sandboxes.get_mut(id) else {
            return Ok(());
        };
        sandbox.ready = false;
        let ip = sandbox.ip.take();
        for container in state.containers.values_mut().filter(|c| c.sandbox_id == id && c.is_running()) {
            container.finish(now, 137, None);
        }
        if let Some(ip) = ip {
            state.ipam.release(ip);
        }
        Ok(())
    }

    pub(crate) async fn remove_sandbox(&self, id: &str) -> Result<(), MemoryError> {
        let mut state = self.lock().await;
        if self.own_sandbox(&state, id).is_err() {
            return Ok(());
        }
        let Some(sandbox) = state.sandboxes.remove(id) else { return Ok(()) };
        state.containers.retain(|_, c| c.sandbox_id != id);
        if let Some(ip) = sandbox.ip {
            state.ipam.release(ip);
        }
        Ok(())
    }

    pub(crate) async fn sandbox_status(&self, id: &str) -> Result<PodSandboxStatus, MemoryError> {
        let state = self.lock().await;
        let sandbox = self.own_sandbox(&state, id)?;
        Ok(PodSandboxStatus {
            id: sandbox.id.clone(),
            metadata: sandbox.config.metadata.clone(),
            state: sandbox_state(sandbox) as i32,
            created_at: sandbox.created_at,
            network: Some(PodSandboxNetworkStatus { ip: sandbox.ip.map(|ip| ip.to_string()).unwrap_or_default() }),
            labels: sandbox.labels.clone(),
            annotations: sandbox.config.annotations.clone(),
        })
    }

    pub(crate) async fn list_sandboxes(&self, filter: Option<PodSandboxFilter>) -> Vec<PodSandbox> {
        let filter = filter.unwrap_or_default();
        let state = self.lock().await;
        state
            .sandboxes
            .values()
            .filter(|s| labels::is_of_node(&s.labels, self.node_name()))
            .filter(|s| filter.id.is_empty() || s.id.starts_with(&filter.id))
            .filter(|s| filter.state.is_none_or(|wanted| wanted == sandbox_state(s) as i32))
            .filter(|s| labels::matches_selector(&s.labels, &filter.label_selector))
            .map(|s| PodSandbox {
                id: s.id.clone(),
                metadata: s.config.metadata.clone(),
                state: sandbox_state(s) as i32,
                created_at: s.created_at,
                labels: s.labels.clone(),
                annotations: s.config.annotations.clone(),
            })
            .collect()
    }
}

fn sandbox_state(sandbox: &Sandbox) -> PodSandboxState {
    if sandbox.ready {
        PodSandboxState::SandboxReady
    } else {
        PodSandboxState::SandboxNotready
    }
}

/// A fresh 64-hex-digit ID, as Docker's look.
pub(crate) fn new_id() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}
