//! The scheduler's view of the cluster: every node with the pods placed on
//! it, bound or only *assumed* (picked by us, bind not yet seen).
//!
//! Assuming before the bind call is what keeps concurrent binds from
//! double-booking a node: the next decision already sees the capacity as
//! taken. A failed bind is forgotten; a bind the informer confirms turns
//! the assumption into fact.

use crate::node_info::NodeInfo;
use crate::resources::PodRequest;
use capstan_proto::core::v1::Node;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug)]
struct Placement {
    node: String,
    pod: PodRequest,
    assumed: bool,
}

/// Nodes by name and where each known pod sits.
#[derive(Debug, Default)]
pub struct Cache {
    nodes: BTreeMap<String, NodeInfo>,
    placements: HashMap<String, Placement>,
}

fn key(pod: &PodRequest) -> String {
    format!("{}/{}", pod.namespace, pod.name)
}

impl Cache {
    /// Add or update a node, keeping the pods already placed on it.
    pub fn set_node(&mut self, node: &Node) {
        let mut info = NodeInfo::from_node(node);
        if let Some(old) = self.nodes.remove(&info.name) {
            info.requested = old.requested;
            info.pod_count = old.pod_count;
            info.host_ports = old.host_ports;
            info.pods = old.pods;
            info.owners = old.owners;
        } else {
            let name = info.name.clone();
            for p in self.placements.values().filter(|p| p.node == name) {
                info.add_pod(&p.pod);
            }
        }
        self.nodes.insert(info.name.clone(), info);
    }

    pub fn remove_node(&mut self, name: &str) {
        self.nodes.remove(name);
    }

    /// Account a pod the API server says is bound to `node`.
    pub fn add_bound(&mut self, pod: PodRequest, node: &str) {
        if let Some(p) = self.placements.get_mut(&key(&pod)) {
            if p.node == node {
                p.assumed = false;
                return;
            }
        }
        self.remove_pod(&key(&pod));
        self.place(pod, node, false);
    }

    /// We chose `node` for the pod; account it before binding.
    pub fn assume(&mut self, pod: PodRequest, node: &str) {
        self.place(pod, node, true);
    }

    /// The bind failed: give the capacity back (only if still assumed).
    pub fn forget(&mut self, pod_key: &str) {
        if self.placements.get(pod_key).is_some_and(|p| p.assumed) {
            self.remove_pod(pod_key);
        }
    }

    /// A pod was deleted (or finished): its node gets the capacity back.
    pub fn remove_pod(&mut self, pod_key: &str) {
        if let Some(p) = self.placements.remove(pod_key) {
            if let Some(n) = self.nodes.get_mut(&p.node) {
                n.remove_pod(&p.pod);
            }
        }
    }

    pub fn is_placed(&self, pod_key: &str) -> bool {
        self.placements.contains_key(pod_key)
    }

    fn place(&mut self, pod: PodRequest, node: &str, assumed: bool) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.add_pod(&pod);
        }
        self.placements.insert(key(&pod), Placement { node: node.to_string(), pod, assumed });
    }

    /// Every node, sorted by name so decisions are reproducible.
    pub fn nodes(&self) -> Vec<&NodeInfo> {
        self.nodes.values().collect()
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.nodes.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{container, node, pod_with};

    #[test]
    fn assume_forget_and_confirm() {
        let mut cache = Cache::default();
        cache.set_node(&node("n1", "2", "4Gi"));
        let pod = PodRequest::of(&pod_with("a", vec![container("1", "")]));
        cache.assume(pod.clone(), "n1");
        let used = |c: &Cache| c.node("n1").map(|n| n.requested.cpu_milli);
        assert_eq!(used(&cache), Some(1000));
        cache.set_node(&node("n1", "4", "4Gi"));
        assert_eq!(used(&cache), Some(1000), "node update keeps placed pods");
        cache.forget("default/a");
        assert_eq!(used(&cache), Some(0));
        cache.assume(pod.clone(), "n1");
        cache.add_bound(pod, "n1");
        cache.forget("default/a");
        assert_eq!(used(&cache), Some(1000), "a confirmed bind is not forgotten");
        cache.remove_pod("default/a");
        assert_eq!(used(&cache), Some(0));
    }
}
