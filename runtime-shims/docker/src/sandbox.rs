//! Pod sandboxes on Docker: a pause container on the shim's pod network (Docker's
//! default `bridge` unless configured) holding the pod's network and IPC
//! namespaces; the pod IP is its address there.
//!
//! The pod's resolver configuration (the kubelet's `dns_config`) is the pause
//! container's `--dns`, `--dns-search` and `--dns-option`: Docker writes its
//! resolv.conf from them, and the pod's containers, joining its network
//! namespace (`container:<id>`), share that very file. (On a user-defined
//! network Docker's embedded resolver at 127.0.0.11 stands in the file and
//! forwards to the given servers; search and options are written as given.)
//!
//! The pause container is listed (not ready) from its creation on, which lets the
//! kubelet create the pod's containers in it while it starts.
//!
//! Stop kills the pod's app containers and stops the pause container; remove
//! removes them all. Both are idempotent (a missing sandbox is already stopped and
//! removed), as the kubelet retries them.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigLogConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use capstan_proto::runtime::v1::{PodSandbox, PodSandboxConfig, PodSandboxFilter, PodSandboxStatus, PortMapping};
use capstan_shim_common::{labels, CallTarget, PodRef};

use crate::convert::{sandbox_item, sandbox_status};
use crate::error::{Context, Op};
use crate::names::{docker_labels, sandbox_name};
use crate::{DockerRuntime, ShimError};

/// Seconds the pause container gets to exit on SIGTERM (it exits at once).
const PAUSE_STOP_SECONDS: i32 = 10;

impl DockerRuntime {
    pub(crate) async fn run_sandbox(&self, config: Option<PodSandboxConfig>) -> Result<String, ShimError> {
        let (config, meta) = capstan_shim_common::sandbox_config(config)?;
        let pod = format!("{}/{}", meta.namespace, meta.name);
        let (exposed, bindings) = ports(&config.port_mappings);
        let dns = config.dns_config.clone().unwrap_or_default();
        // an empty list leaves Docker's default (the node's resolver)
        let given = |list: Vec<String>| (!list.is_empty()).then_some(list);
        let host_config = HostConfig {
            dns: given(dns.servers),
            dns_search: given(dns.searches),
            dns_options: given(dns.options),
            network_mode: Some(if config.host_network { "host".to_string() } else { self.inner.network_id.clone() }),
            ipc_mode: Some("shareable".to_string()),
            // the pause process never writes: no log file or copier to set up (~15 ms of its start)
            log_config: Some(HostConfigLogConfig { typ: Some("none".to_string()), config: None }),
            port_bindings: Some(bindings),
            restart_policy: Some(RestartPolicy { name: Some(RestartPolicyNameEnum::NO), maximum_retry_count: None }),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(self.inner.config.pause_image.clone()),
            hostname: (!config.host_network && !config.hostname.is_empty()).then(|| config.hostname.clone()),
            labels: Some(docker_labels(&labels::sandbox_labels(self.node_name(), &config), &config.annotations)),
            exposed_ports: Some(exposed),
            host_config: Some(host_config),
            ..Default::default()
        };
        let name = sandbox_name(self.node_name(), &meta);
        let options = || CreateContainerOptionsBuilder::default().name(&name).build();
        let docker = &self.inner.docker;
        let of_pod = CallTarget::pod(PodRef { name: &meta.name, namespace: &meta.namespace, uid: &meta.uid });
        let create = || async {
            let span = self.calls().span("ContainerCreate", of_pod);
            let created = self
                .engine_in(span.clone(), "ContainerCreate", docker.create_container(Some(options()), body.clone()))
                .await;
            if let Ok(created) = &created {
                span.record("container.id", created.id.as_str());
            }
            created.during(Op::CreateSandbox, &pod)
        };
        let created = match create().await {
            Err(error) if error.is_not_found() => {
                // the pause image was removed since the shim started: build it again
                let config = &self.inner.config;
                crate::pause::ensure_pause_image(docker, &config.pause_image, &config.busybox).await?;
                create().await?
            }
            created => created?,
        };
        let on_sandbox = CallTarget { container_id: Some(&created.id), ..of_pod };
        let started = self.engine("ContainerStart", on_sandbox, docker.start_container(&created.id, None)).await;
        if let Err(error) = started.during(Op::Start, &created.id) {
            let force = RemoveContainerOptionsBuilder::default().force(true).build();
            let _ = self.engine("ContainerDelete", on_sandbox, docker.remove_container(&created.id, Some(force))).await;
            return Err(error);
        }
        Ok(created.id)
    }

    pub(crate) async fn stop_sandbox(&self, id: &str) -> Result<(), ShimError> {
        if self.inspect_owned(id, labels::KIND_SANDBOX).await?.is_none() {
            return Ok(());
        }
        for container in self.containers_in(id).await? {
            let Some(container_id) = container.id else { continue };
            self.stop_container(&container_id, 0).await?;
        }
        let options = StopContainerOptionsBuilder::default().t(PAUSE_STOP_SECONDS).build();
        let stopped = self.engine(
            "ContainerStop",
            CallTarget::container(id),
            self.inner.docker.stop_container(id, Some(options)),
        );
        match stopped.await.during(Op::Stop, id) {
            Err(error) if error.is_not_found() => Ok(()),
            result => result,
        }
    }

    pub(crate) async fn remove_sandbox(&self, id: &str) -> Result<(), ShimError> {
        if self.inspect_owned(id, labels::KIND_SANDBOX).await?.is_none() {
            return Ok(());
        }
        for container in self.containers_in(id).await? {
            let Some(container_id) = container.id else { continue };
            self.remove_container(&container_id).await?;
        }
        self.force_remove(id).await
    }

    pub(crate) async fn sandbox_status(&self, id: &str) -> Result<PodSandboxStatus, ShimError> {
        Ok(sandbox_status(self.sandbox(id).await?, &self.inner.config.network))
    }

    pub(crate) async fn list_sandboxes(&self, filter: Option<PodSandboxFilter>) -> Result<Vec<PodSandbox>, ShimError> {
        let filter = filter.unwrap_or_default();
        let listed = self.list_owned(labels::KIND_SANDBOX, &filter.label_selector, &filter.id).await?;
        Ok(listed.into_iter().map(sandbox_item).filter(|s| filter.state.is_none_or(|state| state == s.state)).collect())
    }
}

/// Exposed ports and host bindings for the mappings that name a host port.
fn ports(mappings: &[PortMapping]) -> (Vec<String>, HashMap<String, Option<Vec<PortBinding>>>) {
    let mut exposed = Vec::new();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for mapping in mappings.iter().filter(|m| m.host_port > 0 && m.container_port > 0) {
        let protocol = if mapping.protocol.is_empty() { "tcp".to_string() } else { mapping.protocol.to_lowercase() };
        let key = format!("{}/{protocol}", mapping.container_port);
        exposed.push(key.clone());
        let binding = PortBinding {
            host_ip: (!mapping.host_ip.is_empty()).then(|| mapping.host_ip.clone()),
            host_port: Some(mapping.host_port.to_string()),
        };
        bindings.entry(key).or_default().get_or_insert_with(Vec::new).push(binding);
    }
    (exposed, bindings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mappings_with_a_host_port_are_published() {
        let mappings = [
            PortMapping { protocol: "TCP".into(), container_port: 80, host_port: 8080, host_ip: String::new() },
            PortMapping { protocol: "UDP".into(), container_port: 53, host_port: 5353, host_ip: "127.0.0.1".into() },
            PortMapping { protocol: "TCP".into(), container_port: 9000, host_port: 0, host_ip: String::new() },
        ];
        let (mut exposed, bindings) = ports(&mappings);
        exposed.sort();
        assert_eq!(exposed, ["53/udp", "80/tcp"]);
        let udp = bindings["53/udp"].clone().unwrap_or_default();
        assert_eq!((udp[0].host_ip.as_deref(), udp[0].host_port.as_deref()), (Some("127.0.0.1"), Some("5353")));
    }
}
