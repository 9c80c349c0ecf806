//! `NodeInfo`: one node as the scheduler sees it — what it offers, what
//! the pods on it (bound or only assumed) already take, and who they are.

use crate::resources::{PodRequest, Resources};
use capstan_proto::core::v1::{Node, Taint};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A pod already placed on a node, as far as placement cares.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedPod {
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
}

/// A node with the sums of the pods placed on it.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub ready: bool,
    pub allocatable: Resources,
    pub allocatable_pods: i64,
    pub requested: Resources,
    pub pod_count: i64,
    pub host_ports: BTreeSet<(String, i32)>,
    /// Pods keyed by "namespace/name".
    pub pods: HashMap<String, PlacedPod>,
    /// How many pods of each controller (owner uid) run here.
    pub owners: HashMap<String, i64>,
}

impl NodeInfo {
    /// A node with nothing placed on it yet.
    pub fn from_node(node: &Node) -> NodeInfo {
        let meta = node.metadata.clone().unwrap_or_default();
        let spec = node.spec.clone().unwrap_or_default();
        let status = node.status.clone().unwrap_or_default();
        let alloc = &status.allocatable;
        let ready = status.conditions.iter().any(|c| c.r#type == "Ready" && c.status == "True");
        NodeInfo {
            name: meta.name,
            labels: meta.labels,
            taints: spec.taints,
            unschedulable: spec.unschedulable,
            ready,
            allocatable: Resources {
                cpu_milli: alloc.get("cpu").and_then(|q| q.to_milli().ok()).unwrap_or(0),
                memory: alloc.get("memory").and_then(|q| q.to_units().ok()).unwrap_or(0),
            },
            allocatable_pods: alloc.get("pods").and_then(|q| q.to_units().ok()).unwrap_or(110),
            ..NodeInfo::default()
        }
    }

    /// Account a pod on this node; adding the same pod twice is a no-op.
    pub fn add_pod(&mut self, pod: &PodRequest) {
        let key = format!("{}/{}", pod.namespace, pod.name);
        if self.pods.contains_key(&key) {
            return;
        }
        self.requested.cpu_milli += pod.requests.cpu_milli;
        self.requested.memory += pod.requests.memory;
        self.pod_count += 1;
        self.host_ports.extend(pod.host_ports.iter().cloned());
        if let Some(owner) = &pod.owner {
            *self.owners.entry(owner.clone()).or_default() += 1;
        }
        self.pods.insert(key, PlacedPod { namespace: pod.namespace.clone(), labels: pod.labels.clone() });
    }

    /// Undo [`NodeInfo::add_pod`]; removing an absent pod is a no-op.
    pub fn remove_pod(&mut self, pod: &PodRequest) {
        let key = format!("{}/{}", pod.namespace, pod.name);
        if self.pods.remove(&key).is_none() {
            return;
        }
        self.requested.cpu_milli -= pod.requests.cpu_milli;
        self.requested.memory -= pod.requests.memory;
        self.pod_count -= 1;
        for port in &pod.host_ports {
            self.host_ports.remove(port);
        }
        if let Some(owner) = &pod.owner {
            if let Some(n) = self.owners.get_mut(owner) {
                *n -= 1;
                if *n <= 0 {
                    self.owners.remove(owner);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{container, node, pod_with};

    #[test]
    fn add_and_remove_pods_keep_sums() {
        let mut info = NodeInfo::from_node(&node("n1", "4", "8Gi"));
        assert!(info.ready);
        assert_eq!(info.allocatable, Resources { cpu_milli: 4000, memory: 8 << 30 });
        let pod = PodRequest::of(&pod_with("a", vec![container("500m", "1Gi")]));
        info.add_pod(&pod);
        info.add_pod(&pod);
        assert_eq!((info.requested.cpu_milli, info.pod_count), (500, 1));
        info.remove_pod(&pod);
        info.remove_pod(&pod);
        assert_eq!((info.requested, info.pod_count), (Resources::default(), 0));
    }
}
