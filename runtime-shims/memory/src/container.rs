//! Containers in the in-memory runtime: create, start, stop, remove, status, list.
//!
//! A container needs a ready sandbox and a present image, like on a real node. Stop
//! honours the script's SIGTERM behaviour: a container that exits on TERM finishes at
//! once with its code; one that ignores TERM is killed (137) when the timeout (tokio
//! time) runs out.

use capstan_shim_common::RuntimeError;
use std::time::Duration;

use capstan_proto::runtime::v1::{Container, ContainerFilter, ContainerStatus, CreateContainerRequest, ImageSpec};
use capstan_shim_common::labels;

use crate::sandbox::new_id;
use crate::script::{self, OnTerm};
use crate::state::{self, State};
use crate::{MemoryError, MemoryRuntime};

impl MemoryRuntime {
    pub(crate) async fn create_container(&self, request: CreateContainerRequest) -> Result<String, MemoryError> {
        let missing = |field| MemoryError::Runtime(RuntimeError::MissingField { request: "CreateContainer", field });
        let config = request.config.ok_or(missing("config"))?;
        let meta = config.metadata.clone().ok_or(missing("config.metadata"))?;
        let image = config.image.clone().map(|i| i.image).filter(|i| !i.is_empty()).ok_or(missing("config.image"))?;
        let sandbox_id = request.pod_sandbox_id;
        let mut state = self.lock().await;
        let sandbox = self.own_sandbox(&state, &sandbox_id)?;
        if !sandbox.ready {
            return Err(MemoryError::Runtime(RuntimeError::SandboxNotReady { id: sandbox_id }));
        }
        let image_ref = state.images.get(&image).map(|i| i.id.clone());
        let image_ref =
            image_ref.ok_or_else(|| MemoryError::ImageNotPresent { image, node: self.node_name().to_string() })?;
        let sandbox_config = request.sandbox_config.unwrap_or_else(|| sandbox.config.clone());
        let log_path = labels::container_log_path(&sandbox.config.log_directory, &config.log_path);
        let taken = state.containers.values().find(|c| {
            let theirs = labels::container_metadata(&c.labels);
            c.sandbox_id == sandbox_id && theirs.name == meta.name && theirs.attempt == meta.attempt
        });
        if let Some(taken) = taken {
            return Err(MemoryError::ContainerExists {
                name: meta.name,
                attempt: meta.attempt,
                sandbox: sandbox_id,
                id: taken.id.clone(),
            });
        }
        let id = new_id();
        let argv: Vec<String> = config.command.iter().chain(&config.args).cloned().collect();
        let container = state::Container {
            id: id.clone(),
            sandbox_id: sandbox_id.clone(),
            labels: labels::container_labels(self.node_name(), &sandbox_id, &sandbox_config, &config),
            config,
            image_ref,
            log_path,
            created_at: self.inner.clock.now_ns(),
            started: None,
            finished: None,
            script: script::parse(&argv),
            logs: Vec::new(),
            changed: tokio::sync::watch::channel(()).0,
            next_event: 0,
        };
        state.containers.insert(id.clone(), container);
        Ok(id)
    }

    pub(crate) async fn start_container(&self, id: &str) -> Result<(), MemoryError> {
        let mut state = self.lock().await;
        let container = self.own_container_mut(&mut state, id)?;
        if container.started.is_some() {
            return Err(MemoryError::Runtime(RuntimeError::NotCreated {
                id: id.to_string(),
                state: container.state_name().to_string(),
            }));
        }
        container.start(&self.inner.clock);
        Ok(())
    }

    pub(crate) async fn stop_container(&self, id: &str, timeout_seconds: i64) -> Result<(), MemoryError> {
        let on_term = {
            let mut state = self.lock().await;
            let container = self.own_container_mut(&mut state, id)?;
            if !container.is_running() {
                return Ok(());
            }
            match container.script.on_term {
                OnTerm::Exit(code) if timeout_seconds > 0 => {
                    container.finish(self.inner.clock.now_ns(), code, None);
                    return Ok(());
                }
                on_term => on_term,
            }
        };
        if on_term == OnTerm::Ignore && timeout_seconds > 0 {
            tokio::time::sleep(Duration::from_secs(timeout_seconds.unsigned_abs())).await;
        }
        let now = self.inner.clock.now_ns();
        let mut state = self.lock().await;
        if let Ok(container) = self.own_container_mut(&mut state, id) {
            container.finish(now, 137, None); // no effect if it exited meanwhile
        }
        Ok(())
    }

    pub(crate) async fn remove_container(&self, id: &str) {
        let mut state = self.lock().await;
        if self.own_container(&state, id).is_ok() {
            state.containers.remove(id);
        }
    }

    pub(crate) async fn container_status(&self, id: &str) -> Result<ContainerStatus, MemoryError> {
        let state = self.lock().await;
        let c = self.own_container(&state, id)?;
        Ok(ContainerStatus {
            id: c.id.clone(),
            metadata: c.config.metadata.clone(),
            state: c.state() as i32,
            created_at: c.created_at,
            started_at: c.started.map(|(_, at)| at).unwrap_or_default(),
            finished_at: c.finished.map(|f| f.at).unwrap_or_default(),
            exit_code: c.finished.map(|f| f.exit_code).unwrap_or_default(),
            image: c.config.image.clone(),
            image_ref: c.image_ref.clone(),
            reason: c.finished.map(|f| f.reason.to_string()).unwrap_or_default(),
            message: String::new(),
            labels: c.labels.clone(),
            annotations: c.config.annotations.clone(),
            mounts: c.config.mounts.clone(),
            log_path: c.log_path.clone(),
        })
    }

    pub(crate) async fn list_containers(&self, filter: Option<ContainerFilter>) -> Vec<Container> {
        let filter = filter.unwrap_or_default();
        let state = self.lock().await;
        matching(&state, &filter, self.node_name())
            .map(|c| Container {
                id: c.id.clone(),
                pod_sandbox_id: c.sandbox_id.clone(),
                metadata: c.config.metadata.clone(),
                image: Some(c.config.image.clone().unwrap_or_else(ImageSpec::default)),
                image_ref: c.image_ref.clone(),
                state: c.state() as i32,
                created_at: c.created_at,
                labels: c.labels.clone(),
                annotations: c.config.annotations.clone(),
            })
            .collect()
    }
}

/// The containers of `node` that `filter` selects.
pub(crate) fn matching<'a>(
    state: &'a State,
    filter: &'a ContainerFilter,
    node: &'a str,
) -> impl Iterator<Item = &'a state::Container> {
    state
        .containers
        .values()
        .filter(move |c| labels::is_of_node(&c.labels, node))
        .filter(|c| filter.id.is_empty() || c.id.starts_with(&filter.id))
        .filter(|c| filter.pod_sandbox_id.is_empty() || c.sandbox_id == filter.pod_sandbox_id)
        .filter(|c| filter.state.is_none_or(|wanted| wanted == c.state() as i32))
        .filter(|c| labels::matches_selector(&c.labels, &filter.label_selector))
}
