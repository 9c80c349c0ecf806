//! App containers on Docker: they join their sandbox's network and IPC namespaces
//! (`container:<sandbox id>`), never restart on their own (the kubelet decides), and
//! carry the pod's labels.
//!
//! A container may be created in a sandbox that is still starting (see
//! `accepts_containers`); it starts only once the sandbox runs.
//!
//! The command replaces the image's entrypoint and the args its cmd, as in Kubernetes;
//! Docker then ignores the image's cmd when the entrypoint is replaced, as Kubernetes
//! requires.

use bollard::models::{
    ContainerCreateBody, ContainerSummaryStateEnum, HostConfig, Mount, MountType, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use capstan_proto::runtime::v1::{
    Container, ContainerConfig, ContainerFilter, ContainerState, ContainerStatus, CreateContainerRequest,
    LinuxResources, PodSandboxConfig,
};
use capstan_shim_common::RuntimeError;
use capstan_shim_common::{labels, CallTarget, PodRef};

use crate::convert::{container_item, container_status, state_of};
use crate::error::{Context, Op};
use crate::names::{container_name, docker_labels};
use crate::{DockerRuntime, ShimError};

/// How long past its own grace period a stop may take before the HTTP call gives up.
const STOP_CALL_MARGIN_SECONDS: u64 = 120;

impl DockerRuntime {
    pub(crate) async fn create_container(&self, request: CreateContainerRequest) -> Result<String, ShimError> {
        let missing = |field| ShimError::Runtime(RuntimeError::MissingField { request: "CreateContainer", field });
        let config = request.config.ok_or(missing("config"))?;
        let meta = config.metadata.clone().ok_or(missing("config.metadata"))?;
        let sandbox = self.listed_sandbox(&request.pod_sandbox_id).await?;
        let sandbox_id = sandbox.id.unwrap_or(request.pod_sandbox_id);
        if !accepts_containers(sandbox.state) {
            return Err(ShimError::Runtime(RuntimeError::SandboxNotReady { id: sandbox_id }));
        }
        let sandbox_labels = sandbox.labels.unwrap_or_default();
        let sandbox_config = request.sandbox_config.unwrap_or_else(|| PodSandboxConfig {
            metadata: Some(labels::sandbox_metadata(&labels::decode(sandbox_labels).0)),
            ..Default::default()
        });
        let pod = sandbox_config.metadata.clone().unwrap_or_default();
        let mut container_labels = labels::container_labels(self.node_name(), &sandbox_id, &sandbox_config, &config);
        let log_path = labels::container_log_path(&sandbox_config.log_directory, &config.log_path);
        if !log_path.is_empty() {
            container_labels.insert(labels::LOG_PATH.to_string(), log_path);
        }
        let body = ContainerCreateBody {
            image: config.image.as_ref().map(|i| i.image.clone()),
            entrypoint: (!config.command.is_empty()).then(|| config.command.clone()),
            cmd: (!config.args.is_empty()).then(|| config.args.clone()),
            env: Some(config.envs.iter().map(|kv| format!("{}={}", kv.key, kv.value)).collect()),
            working_dir: (!config.working_dir.is_empty()).then(|| config.working_dir.clone()),
            tty: Some(config.tty),
            open_stdin: Some(config.stdin),
            stdin_once: Some(config.stdin_once),
            labels: Some(docker_labels(&container_labels, &config.annotations)),
            host_config: Some(host_config(&sandbox_id, &config)),
            ..Default::default()
        };
        let name = container_name(self.node_name(), &pod, &meta);
        let target = format!("{} in pod sandbox {sandbox_id}", meta.name);
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let of_pod = CallTarget::pod(PodRef { name: &pod.name, namespace: &pod.namespace, uid: &pod.uid });
        let span = self.calls().span("ContainerCreate", of_pod);
        let created =
            self.engine_in(span.clone(), "ContainerCreate", self.inner.docker.create_container(Some(options), body));
        let created = created.await.during(Op::CreateContainer, target)?;
        span.record("container.id", created.id.as_str());
        Ok(created.id)
    }

    pub(crate) async fn start_container(&self, id: &str) -> Result<(), ShimError> {
        let inspect = self.container(id).await?;
        let state = state_of(inspect.state.and_then(|s| s.status));
        if state != ContainerState::ContainerCreated {
            return Err(ShimError::Runtime(RuntimeError::NotCreated {
                id: id.to_string(),
                state: state.as_str_name().to_lowercase(),
            }));
        }
        self.engine("ContainerStart", CallTarget::container(id), self.inner.docker.start_container(id, None))
            .await
            .during(Op::Start, id)
    }

    /// SIGTERM, then SIGKILL after `timeout` seconds (at once for 0). A container
    /// that is not running is left alone.
    pub(crate) async fn stop_container(&self, id: &str, timeout: i64) -> Result<(), ShimError> {
        let inspect = self.container(id).await?;
        if inspect.state.and_then(|s| s.running) != Some(true) {
            return Ok(());
        }
        let seconds = i32::try_from(timeout.max(0)).unwrap_or(i32::MAX);
        let options = StopContainerOptionsBuilder::default().t(seconds).build();
        let call_timeout = std::time::Duration::from_secs(seconds as u64 + STOP_CALL_MARGIN_SECONDS);
        let docker = self.inner.docker.clone().with_timeout(call_timeout);
        match self
            .engine("ContainerStop", CallTarget::container(id), docker.stop_container(id, Some(options)))
            .await
            .during(Op::Stop, id)
        {
            Err(error) if error.is_not_found() => Ok(()),
            result => result,
        }
    }

    /// Removes the container, killing it if it runs; a missing one is already removed.
    pub(crate) async fn remove_container(&self, id: &str) -> Result<(), ShimError> {
        if self.inspect_owned(id, labels::KIND_CONTAINER).await?.is_none() {
            return Ok(());
        }
        self.force_remove(id).await
    }

    pub(crate) async fn force_remove(&self, id: &str) -> Result<(), ShimError> {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        let removed = self.engine(
            "ContainerDelete",
            CallTarget::container(id),
            self.inner.docker.remove_container(id, Some(options)),
        );
        match removed.await.during(Op::Remove, id) {
            Err(error) if error.is_not_found() => Ok(()),
            result => result,
        }
    }

    pub(crate) async fn container_status(&self, id: &str) -> Result<ContainerStatus, ShimError> {
        Ok(container_status(self.container(id).await?))
    }

    pub(crate) async fn list_containers(&self, filter: Option<ContainerFilter>) -> Result<Vec<Container>, ShimError> {
        let filter = filter.unwrap_or_default();
        let mut selector = filter.label_selector.clone();
        if !filter.pod_sandbox_id.is_empty() {
            selector.insert(labels::SANDBOX_ID.to_string(), filter.pod_sandbox_id.clone());
        }
        let listed = self.list_owned(labels::KIND_CONTAINER, &selector, &filter.id).await?;
        Ok(listed
            .into_iter()
            .map(container_item)
            .filter(|c| filter.state.is_none_or(|state| state == c.state))
            .collect())
    }
}

/// Whether a sandbox in this state takes new containers: a running one, and one
/// still starting (its pause container created, RunPodSandbox not yet returned),
/// so the kubelet can create a pod's containers while the pause container
/// starts. Docker itself refuses to *start* a container joining a namespace
/// whose holder does not run, so nothing starts early.
fn accepts_containers(state: Option<ContainerSummaryStateEnum>) -> bool {
    matches!(state, Some(ContainerSummaryStateEnum::RUNNING | ContainerSummaryStateEnum::CREATED))
}

fn host_config(sandbox_id: &str, config: &ContainerConfig) -> HostConfig {
    let resources = config.resources.unwrap_or_default();
    let LinuxResources { cpu_millis, cpu_request_millis, memory_limit_bytes } = resources;
    let mounts = config.mounts.iter().map(|m| Mount {
        target: Some(m.container_path.clone()),
        source: Some(m.host_path.clone()),
        typ: Some(MountType::BIND),
        read_only: Some(m.readonly),
        ..Default::default()
    });
    HostConfig {
        network_mode: Some(format!("container:{sandbox_id}")),
        ipc_mode: Some(format!("container:{sandbox_id}")),
        nano_cpus: (cpu_millis > 0).then_some(cpu_millis.saturating_mul(1_000_000)),
        // Kubernetes' shares: 1024 per core, at least 2
        cpu_shares: (cpu_request_millis > 0).then_some((cpu_request_millis.saturating_mul(1024) / 1000).max(2)),
        memory: (memory_limit_bytes > 0).then_some(memory_limit_bytes),
        mounts: Some(mounts.collect()),
        restart_policy: Some(RestartPolicy { name: Some(RestartPolicyNameEnum::NO), maximum_retry_count: None }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_and_starting_sandboxes_take_containers() {
        assert!(accepts_containers(Some(ContainerSummaryStateEnum::RUNNING)));
        assert!(accepts_containers(Some(ContainerSummaryStateEnum::CREATED)));
        assert!(!accepts_containers(Some(ContainerSummaryStateEnum::EXITED)));
        assert!(!accepts_containers(Some(ContainerSummaryStateEnum::REMOVING)));
        assert!(!accepts_containers(None));
    }

    #[test]
    fn resources_become_cgroup_limits() {
        let config = ContainerConfig {
            resources: Some(LinuxResources { cpu_millis: 500, cpu_request_millis: 250, memory_limit_bytes: 64 << 20 }),
            ..Default::default()
        };
        let host = host_config("sb", &config);
        assert_eq!((host.nano_cpus, host.cpu_shares, host.memory), (Some(500_000_000), Some(256), Some(64 << 20)));
        assert_eq!(host.network_mode.as_deref(), Some("container:sb"));
        let none = host_config("sb", &ContainerConfig::default());
        assert_eq!((none.nano_cpus, none.cpu_shares, none.memory), (None, None, None));
    }
}
