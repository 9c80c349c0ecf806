//! The in-memory runtime's handle, its configuration, and the hooks tests use to
//! script what containers do (exit, be OOM-killed, print) beyond their command line.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use capstan_shim_common::{labels, RuntimeError, ShimNode};
use tokio::sync::{Mutex, MutexGuard};

use crate::clock::Clock;
use crate::images::ImageStore;
use crate::ipam::Ipam;
use crate::script::Stream;
use crate::state::{Container, Sandbox, State};
use crate::MemoryError;

/// How an in-memory runtime is set up.
#[derive(Clone, Debug)]
pub struct MemoryConfig {
    /// The node whose containers these are (`--node-name`): written into every
    /// label set, and the only node this runtime serves. `None`: whichever node
    /// each caller names, `memory-node` for callers that name none.
    pub node_name: Option<String>,
    /// Pod IPs are allocated from this IPv4 subnet (`a.b.c.d/len`).
    pub pod_subnet: String,
    /// Images present from the start, as if pulled.
    pub preloaded_images: Vec<String>,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            node_name: Some("memory-node".to_string()),
            pod_subnet: "10.88.0.0/16".to_string(),
            preloaded_images: vec!["capstan/pause:1".to_string()],
        }
    }
}

/// A cheaply cloneable handle on one in-memory runtime; serves both gRPC services.
#[derive(Clone)]
pub struct MemoryRuntime {
    pub(crate) inner: Arc<Inner>,
    /// The node this handle answers for (see `ContainerRuntime::for_node`).
    pub(crate) node: Arc<str>,
}

pub(crate) struct Inner {
    pub node: ShimNode,
    pub clock: Clock,
    state: Mutex<State>,
}

impl MemoryRuntime {
    /// A runtime with no sandboxes and the configured images.
    pub fn new(config: MemoryConfig) -> Result<MemoryRuntime, MemoryError> {
        let mut images = ImageStore::default();
        for image in &config.preloaded_images {
            images.add(image);
        }
        let state = State {
            sandboxes: BTreeMap::new(),
            containers: BTreeMap::new(),
            images,
            ipam: Ipam::new(&config.pod_subnet)?,
        };
        let node = match config.node_name {
            Some(name) => ShimNode::Pinned(name),
            None => ShimNode::Default("memory-node".to_string()),
        };
        let handle_node = Arc::from(node.name());
        let inner = Inner { node, clock: Clock::new(), state: Mutex::new(state) };
        Ok(MemoryRuntime { inner: Arc::new(inner), node: handle_node })
    }

    /// The node name this handle labels its containers with and lists by.
    pub fn node_name(&self) -> &str {
        &self.node
    }

    /// The state, with every due container event applied.
    pub(crate) async fn lock(&self) -> MutexGuard<'_, State> {
        let mut state = self.inner.state.lock().await;
        state.refresh(&self.inner.clock);
        state
    }

    /// Test hook: the container exits now with `exit_code` (reason `Completed` for 0,
    /// `Error` otherwise). No effect on a container that is not running.
    pub async fn set_exit(&self, container_id: &str, exit_code: i32) -> Result<(), MemoryError> {
        self.finish(container_id, exit_code, None).await
    }

    /// Test hook: the container is OOM-killed now (exit 137, reason `OOMKilled`).
    pub async fn oom_kill(&self, container_id: &str) -> Result<(), MemoryError> {
        self.finish(container_id, 137, Some("OOMKilled")).await
    }

    /// Test hook: the container writes `line` (a newline is added) to stdout, or to
    /// stderr when `stderr` is set.
    pub async fn write_log(&self, container_id: &str, line: &str, stderr: bool) -> Result<(), MemoryError> {
        self.write_log_aged(container_id, line, stderr, Duration::ZERO).await
    }

    /// Test hook: as [`write_log`](Self::write_log), with the line stamped `age`
    /// before now (so a test of `since` needs no real waiting).
    pub async fn write_log_aged(
        &self,
        container_id: &str,
        line: &str,
        stderr: bool,
        age: Duration,
    ) -> Result<(), MemoryError> {
        let age_ns = i64::try_from(age.as_nanos()).unwrap_or(i64::MAX);
        let at = self.inner.clock.now_ns().saturating_sub(age_ns);
        let mut state = self.lock().await;
        let container = state.containers.get_mut(container_id).ok_or_else(|| self.not_found(container_id))?;
        let stream = if stderr { Stream::Stderr } else { Stream::Stdout };
        container.print(stream, at, format!("{line}\n").into_bytes());
        Ok(())
    }

    /// Test hook: makes `image` present, as if pulled.
    pub async fn preload_image(&self, image: &str) {
        self.lock().await.images.add(image);
    }

    async fn finish(
        &self,
        container_id: &str,
        exit_code: i32,
        reason: Option<&'static str>,
    ) -> Result<(), MemoryError> {
        let now = self.inner.clock.now_ns();
        let mut state = self.lock().await;
        let container = state.containers.get_mut(container_id).ok_or_else(|| self.not_found(container_id))?;
        if container.is_running() {
            container.finish(now, exit_code, reason);
        }
        Ok(())
    }

    /// Container `id`, if it is this handle's node's.
    pub(crate) fn own_container<'s>(&self, state: &'s State, id: &str) -> Result<&'s Container, MemoryError> {
        state
            .containers
            .get(id)
            .filter(|c| labels::is_of_node(&c.labels, self.node_name()))
            .ok_or_else(|| self.not_found(id))
    }

    /// [`Self::own_container`], to change.
    pub(crate) fn own_container_mut<'s>(
        &self,
        state: &'s mut State,
        id: &str,
    ) -> Result<&'s mut Container, MemoryError> {
        let node = self.node_name();
        state.containers.get_mut(id).filter(|c| labels::is_of_node(&c.labels, node)).ok_or_else(|| self.not_found(id))
    }

    /// Sandbox `id`, if it is this handle's node's.
    pub(crate) fn own_sandbox<'s>(&self, state: &'s State, id: &str) -> Result<&'s Sandbox, MemoryError> {
        let node = self.node_name();
        state
            .sandboxes
            .get(id)
            .filter(|s| labels::is_of_node(&s.labels, node))
            .ok_or_else(|| self.sandbox_not_found(id))
    }

    pub(crate) fn not_found(&self, id: &str) -> MemoryError {
        RuntimeError::ContainerNotFound { id: id.to_string(), node: self.node_name().to_string() }.into()
    }

    pub(crate) fn sandbox_not_found(&self, id: &str) -> MemoryError {
        RuntimeError::SandboxNotFound { id: id.to_string(), node: self.node_name().to_string() }.into()
    }
}
