//! What a pod asks of a node: CPU and memory requests, host ports, and the
//! identity (labels, owner) the spreading and anti-affinity plugins look at.
//!
//! Requests follow Kubernetes: a container without a request counts as
//! zero, and the pod's request for each resource is the larger of the
//! biggest init container and the sum of the app containers.

use crate::node_info::OwnerId;
use capstan_proto::core::v1::{Container, Pod, PodAffinityTerm};
use std::collections::BTreeMap;
use std::sync::Arc;

/// CPU in millicores and memory in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpu_milli: i64,
    pub memory: i64,
}

impl Resources {
    fn add(self, other: Resources) -> Resources {
        Resources { cpu_milli: self.cpu_milli + other.cpu_milli, memory: self.memory + other.memory }
    }

    fn max(self, other: Resources) -> Resources {
        Resources { cpu_milli: self.cpu_milli.max(other.cpu_milli), memory: self.memory.max(other.memory) }
    }
}

/// The scheduling-relevant summary of one pod.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodRequest {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub requests: Resources,
    /// `(protocol, hostPort)` pairs; the protocol defaults to TCP.
    pub host_ports: Vec<(String, i32)>,
    /// The uid of the controller ownerReference, if any.
    pub owner: Option<String>,
    /// The cache's number for `owner` ([`crate::cache::Cache::identify`]);
    /// `None` until then, or when no placed pod shares the owner.
    pub owner_id: Option<OwnerId>,
    /// Required pod anti-affinity terms: once placed, the pod keeps pods
    /// they match off its node.
    pub anti_affinity: Arc<[PodAffinityTerm]>,
}

impl PodRequest {
    /// Summarise a pod; unparsable quantities count as zero (the API server
    /// validates them on write).
    pub fn of(pod: &Pod) -> PodRequest {
        // borrowed, not cloned: this runs for every pod event
        let default_meta = Default::default();
        let default_spec = Default::default();
        let meta = pod.metadata.as_ref().unwrap_or(&default_meta);
        let spec = pod.spec.as_ref().unwrap_or(&default_spec);
        let apps = spec.containers.iter().map(container_requests).fold(Resources::default(), Resources::add);
        let init = spec.init_containers.iter().map(container_requests).fold(Resources::default(), Resources::max);
        let host_ports = spec
            .containers
            .iter()
            .flat_map(|c| c.ports.iter())
            .filter(|p| p.host_port > 0)
            .map(|p| (if p.protocol.is_empty() { "TCP".to_string() } else { p.protocol.clone() }, p.host_port))
            .collect();
        let owner = meta.owner_references.iter().find(|o| o.controller == Some(true)).map(|o| o.uid.clone());
        let anti_affinity = spec
            .affinity
            .as_ref()
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .map(|a| a.required_during_scheduling_ignored_during_execution.as_slice())
            .unwrap_or_default();
        PodRequest {
            namespace: meta.namespace.clone(),
            name: meta.name.clone(),
            labels: meta.labels.clone(),
            requests: apps.max(init),
            host_ports,
            owner,
            owner_id: None,
            anti_affinity: anti_affinity.into(),
        }
    }
}

fn container_requests(container: &Container) -> Resources {
    let Some(requests) = container.resources.as_ref().map(|r| &r.requests) else {
        return Resources::default();
    };
    Resources {
        cpu_milli: requests.get("cpu").and_then(|q| q.to_milli().ok()).unwrap_or(0),
        memory: requests.get("memory").and_then(|q| q.to_units().ok()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{container, pod_with};

    #[test]
    fn requests_sum_apps_and_take_max_of_init() {
        let cases: [(&str, Vec<Container>, Vec<Container>, Resources); 4] = [
            ("no requests", vec![container("", "")], vec![], Resources::default()),
            (
                "apps sum",
                vec![container("100m", "1Mi"), container("250m", "")],
                vec![],
                Resources { cpu_milli: 350, memory: 1 << 20 },
            ),
            (
                "init bigger cpu",
                vec![container("100m", "2Mi")],
                vec![container("1", "1Mi"), container("500m", "")],
                Resources { cpu_milli: 1000, memory: 2 << 20 },
            ),
            (
                "init smaller",
                vec![container("2", "")],
                vec![container("1", "")],
                Resources { cpu_milli: 2000, memory: 0 },
            ),
        ];
        for (name, apps, inits, want) in cases {
            let mut pod = pod_with("p", apps);
            if let Some(spec) = pod.spec.as_mut() {
                spec.init_containers = inits;
            }
            assert_eq!(PodRequest::of(&pod).requests, want, "{name}");
        }
    }
}
