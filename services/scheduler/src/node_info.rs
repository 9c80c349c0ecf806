//! `NodeInfo`: one node as the scheduler sees it — what it offers, what
//! the pods on it (bound or only assumed) already take, and who they are.
//!
//! A node that is not Ready carries the taint Kubernetes' node lifecycle
//! controller would give it (`node.kubernetes.io/not-ready`, or
//! `unreachable` when its kubelet stopped reporting), whether or not a
//! controller has written it yet: not-readiness is then judged by the taint
//! filter, tolerations apply, and the unschedulable message names the taint
//! as Kubernetes' does.

use crate::resources::{PodRequest, Resources};
use capstan_proto::core::v1::{Node, NodeStatus, PodAffinityTerm, Taint};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// The taint of a node whose Ready condition is False (or missing).
pub const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
/// The taint of a node whose Ready condition is Unknown (kubelet silent).
pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";

/// A controller (ownerReference uid) as the cache numbers it; see
/// [`crate::cache`]. Only pods placed through the cache carry one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnerId(pub u32);

/// A pod already placed on a node, as far as placement cares.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedPod {
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    /// Its required anti-affinity terms, which keep matching pods off its node.
    pub anti_affinity: Arc<[PodAffinityTerm]>,
}

/// The taint that stands for the node's Ready condition, if it is not True.
fn condition_taint(status: &NodeStatus) -> Option<Taint> {
    let ready = status.conditions.iter().find(|c| c.r#type == "Ready").map(|c| c.status.as_str());
    let key = match ready {
        Some("True") => return None,
        Some("Unknown") => UNREACHABLE_TAINT,
        _ => NOT_READY_TAINT,
    };
    Some(Taint { key: key.into(), effect: "NoSchedule".into(), ..Default::default() })
}

/// A node with the sums of the pods placed on it.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub allocatable: Resources,
    pub allocatable_pods: i64,
    pub requested: Resources,
    pub pod_count: i64,
    pub host_ports: BTreeSet<(String, i32)>,
    /// Pods keyed by "namespace/name".
    pub pods: HashMap<String, PlacedPod>,
    /// How many pods of each controller run here. A node runs few
    /// controllers' pods, and scoring reads this on hundreds of nodes per
    /// pod: a short vector of small ids is read without hashing or chasing
    /// pointers to strings.
    pub owners: Vec<(OwnerId, i64)>,
    /// How many of [`NodeInfo::pods`] have required anti-affinity terms
    /// (most nodes have none, and the check can skip them).
    pub anti_affinity_pods: usize,
}

impl NodeInfo {
    /// A node with nothing placed on it yet.
    pub fn from_node(node: &Node) -> NodeInfo {
        let meta = node.metadata.clone().unwrap_or_default();
        let spec = node.spec.clone().unwrap_or_default();
        let status = node.status.clone().unwrap_or_default();
        let alloc = &status.allocatable;
        let mut taints = spec.taints;
        if let Some(t) = condition_taint(&status) {
            if !taints.iter().any(|have| have.key == t.key && have.effect == t.effect) {
                taints.push(t);
            }
        }
        NodeInfo {
            name: meta.name,
            labels: meta.labels,
            taints,
            unschedulable: spec.unschedulable,
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
        if let Some(owner) = pod.owner_id {
            match self.owners.iter_mut().find(|(o, _)| *o == owner) {
                Some((_, n)) => *n += 1,
                None => self.owners.push((owner, 1)),
            }
        }
        if !pod.anti_affinity.is_empty() {
            self.anti_affinity_pods += 1;
        }
        let placed = PlacedPod {
            namespace: pod.namespace.clone(),
            labels: pod.labels.clone(),
            anti_affinity: pod.anti_affinity.clone(),
        };
        self.pods.insert(key, placed);
    }

    /// How many pods of `owner` are placed here.
    pub fn owner_count(&self, owner: OwnerId) -> i64 {
        self.owners.iter().find(|(o, _)| *o == owner).map_or(0, |(_, n)| *n)
    }

    /// Undo [`NodeInfo::add_pod`]; removing an absent pod is a no-op.
    pub fn remove_pod(&mut self, pod: &PodRequest) {
        let key = format!("{}/{}", pod.namespace, pod.name);
        let Some(placed) = self.pods.remove(&key) else {
            return;
        };
        if !placed.anti_affinity.is_empty() {
            self.anti_affinity_pods -= 1;
        }
        self.requested.cpu_milli -= pod.requests.cpu_milli;
        self.requested.memory -= pod.requests.memory;
        self.pod_count -= 1;
        for port in &pod.host_ports {
            self.host_ports.remove(port);
        }
        if let Some(owner) = pod.owner_id {
            if let Some(i) = self.owners.iter().position(|(o, _)| *o == owner) {
                self.owners[i].1 -= 1;
                if self.owners[i].1 <= 0 {
                    self.owners.swap_remove(i);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{container, node, pod_with, taint};
    use capstan_proto::core::v1::NodeCondition;

    #[test]
    fn a_node_that_is_not_ready_carries_its_condition_taint() {
        let with_ready = |status: Option<&str>| {
            let mut n = node("n1", "4", "8Gi");
            if let Some(st) = n.status.as_mut() {
                st.conditions = status
                    .map(|s| vec![NodeCondition { r#type: "Ready".into(), status: s.into(), ..Default::default() }])
                    .unwrap_or_default();
            }
            n
        };
        let keys = |n: &Node| {
            NodeInfo::from_node(n).taints.iter().map(|t| format!("{}:{}", t.key, t.effect)).collect::<Vec<_>>()
        };
        assert_eq!(keys(&with_ready(Some("True"))), Vec::<String>::new());
        assert_eq!(keys(&with_ready(Some("False"))), ["node.kubernetes.io/not-ready:NoSchedule"]);
        assert_eq!(keys(&with_ready(None)), ["node.kubernetes.io/not-ready:NoSchedule"]);
        assert_eq!(keys(&with_ready(Some("Unknown"))), ["node.kubernetes.io/unreachable:NoSchedule"]);
        let mut tainted = with_ready(Some("False"));
        if let Some(spec) = tainted.spec.as_mut() {
            spec.taints.push(taint(NOT_READY_TAINT, "", "NoSchedule"));
        }
        assert_eq!(
            keys(&tainted),
            ["node.kubernetes.io/not-ready:NoSchedule"],
            "the controller's taint is not doubled"
        );
    }

    #[test]
    fn add_and_remove_pods_keep_sums() {
        let mut info = NodeInfo::from_node(&node("n1", "4", "8Gi"));
        assert!(info.taints.is_empty());
        assert_eq!(info.allocatable, Resources { cpu_milli: 4000, memory: 8 << 30 });
        let mut pod = PodRequest::of(&pod_with("a", vec![container("500m", "1Gi")]));
        pod.owner_id = Some(OwnerId(3));
        let mut sibling = PodRequest::of(&pod_with("b", vec![]));
        sibling.owner_id = Some(OwnerId(3));
        info.add_pod(&pod);
        info.add_pod(&pod);
        info.add_pod(&sibling);
        assert_eq!((info.requested.cpu_milli, info.pod_count, info.owner_count(OwnerId(3))), (500, 2, 2));
        info.remove_pod(&pod);
        info.remove_pod(&pod);
        info.remove_pod(&sibling);
        assert_eq!((info.requested, info.pod_count), (Resources::default(), 0));
        assert!(info.owners.is_empty());
    }
}
