//! Which node each pod is bound to, kept from the pods' watch events: the
//! relationship the Node authorizer judges a kubelet's pod requests by.
//! Only bound pods are kept; a pod leaves when it is deleted or unbound.

use capstan_auth::Feed;
use capstan_proto::api::v1::object::Kind;
use capstan_proto::api::v1::Object;
use capstan_proto::ObjectExt;
use std::collections::{BTreeSet, HashMap};

#[derive(Default)]
pub struct Graph {
    /// (namespace, name) → node
    pod_node: HashMap<(String, String), String>,
    /// node → its pods, for the answers the other way round
    node_pods: HashMap<String, BTreeSet<(String, String)>>,
}

impl Feed<Object> for Graph {
    /// A pod was added or changed; other kinds are ignored.
    fn apply(&mut self, object: &Object) {
        let Some(Kind::Pod(pod)) = &object.kind else { return };
        let node = pod.spec.as_ref().map(|s| s.node_name.as_str()).unwrap_or_default();
        let meta = object.meta();
        let key = (meta.namespace.clone(), meta.name.clone());
        self.unlink(&key);
        if !node.is_empty() {
            self.node_pods.entry(node.to_string()).or_default().insert(key.clone());
            self.pod_node.insert(key, node.to_string());
        }
    }

    /// A pod was deleted.
    fn remove(&mut self, object: &Object) {
        if matches!(object.kind, Some(Kind::Pod(_))) {
            let meta = object.meta();
            self.unlink(&(meta.namespace.clone(), meta.name.clone()));
        }
    }
}

impl Graph {
    fn unlink(&mut self, key: &(String, String)) {
        if let Some(node) = self.pod_node.remove(key) {
            if let Some(pods) = self.node_pods.get_mut(&node) {
                pods.remove(key);
                if pods.is_empty() {
                    self.node_pods.remove(&node);
                }
            }
        }
    }

    /// The node the pod `namespace/name` is bound to, if the graph knows it.
    pub fn node_of(&self, namespace: &str, name: &str) -> Option<&str> {
        self.pod_node.get(&(namespace.to_string(), name.to_string())).map(String::as_str)
    }

    /// How many pods are bound to `node`.
    pub fn pod_count(&self, node: &str) -> usize {
        self.node_pods.get(node).map_or(0, BTreeSet::len)
    }
}
