//! The scheduler's view of the cluster: every node with the pods placed on
//! it, bound or only *assumed* (picked by us, bind not yet seen).
//!
//! Assuming before the bind call is what keeps concurrent binds from
//! double-booking a node: the next decision already sees the capacity as
//! taken. A failed bind is forgotten; a bind the informer confirms turns
//! the assumption into fact.
//!
//! Nodes live in one vector (in the order they arrived) with an index by
//! name, so a decision reads them as a slice without building a list of
//! thousands of nodes for every pod.
//!
//! Controllers (owner uids) are numbered while they have pods placed
//! ([`OwnerId`]), so spreading reads small numbers instead of hashing a
//! uid on every node it scores.

use crate::node_info::{NodeInfo, OwnerId};
use crate::resources::PodRequest;
use capstan_proto::core::v1::Node;
use std::collections::HashMap;

#[derive(Debug)]
struct Placement {
    node: String,
    pod: PodRequest,
    assumed: bool,
}

/// Numbers for the owners of placed pods, reused once no pod has them.
#[derive(Debug, Default)]
struct OwnerIds {
    /// Each owner's number and how many placed pods have it.
    ids: HashMap<String, (OwnerId, usize)>,
    free: Vec<OwnerId>,
    next: u32,
}

impl OwnerIds {
    fn acquire(&mut self, uid: &str) -> OwnerId {
        if let Some((id, refs)) = self.ids.get_mut(uid) {
            *refs += 1;
            return *id;
        }
        let id = self.free.pop().unwrap_or_else(|| {
            self.next += 1;
            OwnerId(self.next)
        });
        self.ids.insert(uid.to_string(), (id, 1));
        id
    }

    fn release(&mut self, uid: &str) {
        if let Some((id, refs)) = self.ids.get_mut(uid) {
            *refs -= 1;
            if *refs == 0 {
                self.free.push(*id);
                self.ids.remove(uid);
            }
        }
    }
}

/// Nodes by name and where each known pod sits.
#[derive(Debug, Default)]
pub struct Cache {
    nodes: Vec<NodeInfo>,
    index: HashMap<String, usize>,
    placements: HashMap<String, Placement>,
    owners: OwnerIds,
}

fn key(pod: &PodRequest) -> String {
    format!("{}/{}", pod.namespace, pod.name)
}

impl Cache {
    /// Add or update a node, keeping the pods already placed on it.
    pub fn set_node(&mut self, node: &Node) {
        let mut info = NodeInfo::from_node(node);
        if let Some(old) = self.node_mut(&info.name) {
            // what the node offers changed; what is placed on it did not
            info.requested = old.requested;
            info.pod_count = old.pod_count;
            info.anti_affinity_pods = old.anti_affinity_pods;
            info.host_ports = std::mem::take(&mut old.host_ports);
            info.pods = std::mem::take(&mut old.pods);
            info.owners = std::mem::take(&mut old.owners);
            *old = info;
        } else {
            let name = info.name.clone();
            for p in self.placements.values().filter(|p| p.node == name) {
                info.add_pod(&p.pod);
            }
            self.index.insert(info.name.clone(), self.nodes.len());
            self.nodes.push(info);
        }
    }

    pub fn remove_node(&mut self, name: &str) {
        let Some(i) = self.index.remove(name) else { return };
        self.nodes.swap_remove(i);
        if let Some(moved) = self.nodes.get(i) {
            self.index.insert(moved.name.clone(), i);
        }
    }

    fn node_mut(&mut self, name: &str) -> Option<&mut NodeInfo> {
        self.index.get(name).and_then(|i| self.nodes.get_mut(*i))
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
            if let Some(n) = self.node_mut(&p.node) {
                n.remove_pod(&p.pod);
            }
            if let Some(owner) = &p.pod.owner {
                self.owners.release(owner);
            }
        }
    }

    /// Give a pod about to be placed its owner's number, if placed pods
    /// share that owner (if none does, no node counts it anyway).
    pub fn identify(&self, pod: &mut PodRequest) {
        pod.owner_id = pod.owner.as_deref().and_then(|o| self.owners.ids.get(o)).map(|(id, _)| *id);
    }

    pub fn is_placed(&self, pod_key: &str) -> bool {
        self.placements.contains_key(pod_key)
    }

    fn place(&mut self, mut pod: PodRequest, node: &str, assumed: bool) {
        pod.owner_id = pod.owner.as_deref().map(|o| self.owners.acquire(o));
        if let Some(n) = self.node_mut(node) {
            n.add_pod(&pod);
        }
        self.placements.insert(key(&pod), Placement { node: node.to_string(), pod, assumed });
    }

    /// Every node, in the order they arrived (an informer's first list
    /// delivers them by name), so decisions are reproducible.
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.index.get(name).and_then(|i| self.nodes.get(*i))
    }

    /// The node a pod is placed on, as it would be without the pod.
    pub fn node_without(&self, pod_key: &str) -> Option<NodeInfo> {
        let placement = self.placements.get(pod_key)?;
        let mut node = self.node(&placement.node)?.clone();
        node.remove_pod(&placement.pod);
        Some(node)
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
        assert_eq!(cache.node_without("default/a").map(|n| n.requested.cpu_milli), Some(0));
        cache.remove_pod("default/a");
        assert_eq!(used(&cache), Some(0));
    }

    #[test]
    fn nodes_come_and_go_by_name() {
        let mut cache = Cache::default();
        for name in ["a", "b", "c"] {
            cache.set_node(&node(name, "2", "4Gi"));
        }
        let pod = PodRequest::of(&pod_with("p", vec![container("1", "")]));
        cache.add_bound(pod, "c");
        cache.remove_node("a");
        let names: Vec<&str> = cache.nodes().iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["c", "b"]);
        assert_eq!(cache.node("c").map(|n| n.requested.cpu_milli), Some(1000));
        cache.remove_node("c");
        cache.set_node(&node("c", "2", "4Gi"));
        assert_eq!(cache.node("c").map(|n| n.requested.cpu_milli), Some(1000), "a returning node gets its pods back");
        assert!(cache.node("a").is_none());
    }

    #[test]
    fn owners_are_numbered_while_they_have_pods() {
        let mut cache = Cache::default();
        cache.set_node(&node("n1", "8", "8Gi"));
        let owned = |name: &str, owner: &str| {
            let mut p = PodRequest::of(&pod_with(name, vec![]));
            p.owner = Some(owner.to_string());
            p
        };
        let mut probe = owned("new", "rs-a");
        cache.identify(&mut probe);
        assert_eq!(probe.owner_id, None, "no placed pod has rs-a yet");
        cache.assume(owned("a1", "rs-a"), "n1");
        cache.add_bound(owned("a2", "rs-a"), "n1");
        cache.add_bound(owned("b1", "rs-b"), "n1");
        cache.identify(&mut probe);
        let count = |c: &Cache, id| c.node("n1").map(|n| n.owner_count(id));
        let a = probe.owner_id.expect("rs-a is numbered");
        assert_eq!(count(&cache, a), Some(2));
        cache.forget("default/a1");
        cache.remove_pod("default/a2");
        assert_eq!(count(&cache, a), Some(0));
        cache.identify(&mut probe);
        assert_eq!(probe.owner_id, None, "rs-a's number is released");
        cache.add_bound(owned("c1", "rs-c"), "n1");
        let mut c = owned("c2", "rs-c");
        cache.identify(&mut c);
        assert_eq!(c.owner_id, Some(a), "a released number is reused");
        assert_eq!(c.owner_id.map(|id| count(&cache, id)), Some(Some(1)));
    }
}
