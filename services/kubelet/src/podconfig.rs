//! Turning a pod spec into the runtime's sandbox and container configs.
//!
//! The sandbox config is a function of the pod and the attempt alone, so the
//! kubelet can rebuild it for an adopted sandbox when it creates containers in it.

use capstan_proto::core::v1::{Container, Pod};
use capstan_proto::runtime::v1::{
    ContainerConfig, ContainerMetadata, ImageSpec, KeyValue, LinuxResources, PodSandboxConfig, PodSandboxMetadata,
    PortMapping,
};

/// Where a pod's logs go on the node.
pub fn log_directory(pod: &Pod) -> String {
    let meta = pod.metadata.clone().unwrap_or_default();
    format!("/var/log/pods/{}_{}_{}", meta.namespace, meta.name, meta.uid)
}

/// The sandbox config for attempt `attempt` of `pod`.
pub fn sandbox_config(pod: &Pod, attempt: u32) -> PodSandboxConfig {
    let meta = pod.metadata.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let hostname = if spec.hostname.is_empty() { meta.name.clone() } else { spec.hostname.clone() };
    let port_mappings = spec
        .containers
        .iter()
        .flat_map(|c| &c.ports)
        .filter(|p| p.host_port > 0)
        .map(|p| PortMapping {
            protocol: if p.protocol.is_empty() { "TCP".into() } else { p.protocol.clone() },
            container_port: p.container_port,
            host_port: p.host_port,
            host_ip: p.host_ip.clone(),
        })
        .collect();
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: meta.name.clone(),
            uid: meta.uid.clone(),
            namespace: meta.namespace.clone(),
            attempt,
        }),
        hostname,
        port_mappings,
        labels: meta.labels.clone(),
        annotations: meta.annotations.clone(),
        host_network: spec.host_network,
        log_directory: log_directory(pod),
        // the kubelet's resolver configuration is added where the sandbox is
        // run (sync.rs), as it reads the node's resolv.conf and records events
        dns_config: None,
    }
}

/// The config of attempt `attempt` of `container`; `pod_ip` and `host_ip` feed
/// the `status.podIP` / `status.hostIP` env references; `service_env` (see
/// [`crate::service_env`]) comes before the container's own env, which wins.
pub fn container_config(
    pod: &Pod,
    container: &Container,
    attempt: u32,
    ips: (&str, &str),
    service_env: &[KeyValue],
) -> ContainerConfig {
    let (pod_ip, host_ip) = ips;
    let meta = pod.metadata.clone().unwrap_or_default();
    let node = pod.spec.as_ref().map(|s| s.node_name.clone()).unwrap_or_default();
    let field = |path: &str| match path {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta.namespace.clone(),
        "metadata.uid" => meta.uid.clone(),
        "spec.nodeName" => node.clone(),
        "status.podIP" => pod_ip.to_string(),
        "status.hostIP" => host_ip.to_string(),
        _ => String::new(),
    };
    let envs = container
        .env
        .iter()
        .map(|e| {
            let from_field = e.value_from.as_ref().and_then(|v| v.field_ref.as_ref()).map(|f| field(&f.field_path));
            KeyValue { key: e.name.clone(), value: from_field.unwrap_or_else(|| e.value.clone()) }
        })
        .collect();
    let envs = crate::service_env::with_service_env(envs, service_env);
    ContainerConfig {
        metadata: Some(ContainerMetadata { name: container.name.clone(), attempt }),
        image: Some(ImageSpec { image: container.image.clone() }),
        command: container.command.clone(),
        args: container.args.clone(),
        working_dir: container.working_dir.clone(),
        envs,
        mounts: vec![],
        labels: Default::default(),
        annotations: Default::default(),
        log_path: format!("{}/{attempt}.log", container.name),
        stdin: container.stdin,
        stdin_once: container.stdin_once,
        tty: container.tty,
        resources: Some(resources(container)),
    }
}

/// Whether the container's env refers to the pod's IP, which is known only once
/// its sandbox runs.
pub fn needs_pod_ip(container: &Container) -> bool {
    container
        .env
        .iter()
        .filter_map(|e| e.value_from.as_ref()?.field_ref.as_ref())
        .any(|f| f.field_path.starts_with("status.podIP"))
}

fn resources(container: &Container) -> LinuxResources {
    let Some(resources) = &container.resources else { return LinuxResources::default() };
    let milli = |map: &std::collections::BTreeMap<String, capstan_proto::meta::v1::Quantity>, key: &str| {
        map.get(key).and_then(|q| q.to_milli().ok()).unwrap_or(0)
    };
    let bytes = resources.limits.get("memory").and_then(|q| q.to_units().ok()).unwrap_or(0);
    LinuxResources {
        cpu_millis: milli(&resources.limits, "cpu"),
        cpu_request_millis: milli(&resources.requests, "cpu"),
        memory_limit_bytes: bytes,
    }
}
