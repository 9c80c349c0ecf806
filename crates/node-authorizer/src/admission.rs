//! NodeRestriction: what a kubelet may write into the objects the Node
//! authorizer lets it write. The authorizer sees only a request's
//! attributes; the object's own name and labels are judged here, once the
//! body is decoded:
//! - a kubelet creates or changes only the Node and the Lease named after
//!   its node;
//! - it never sets, changes or removes a label under
//!   `node-restriction.kubernetes.io/` (an administrator's labels that
//!   workloads are placed by, so a node cannot lure them onto itself).

use crate::authorizer::NODE_LEASE_NAMESPACE;
use capstan_auth::UserInfo;
use capstan_proto::api::v1::object::Kind;
use capstan_proto::api::v1::Object;
use capstan_proto::ObjectExt;
use std::collections::BTreeMap;

/// The label domain only administrators may write on a Node.
pub const RESTRICTED_LABEL_DOMAIN: &str = "node-restriction.kubernetes.io";

/// A write NodeRestriction refuses (403), in Kubernetes' words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{resource} {name:?} is forbidden: {message}")]
pub struct NodeRestrictionError {
    pub resource: &'static str,
    pub name: String,
    pub message: String,
}

fn restricted(key: &str) -> bool {
    key.split_once('/').is_some_and(|(prefix, _)| {
        prefix == RESTRICTED_LABEL_DOMAIN || prefix.ends_with(&format!(".{RESTRICTED_LABEL_DOMAIN}"))
    })
}

/// The restricted labels that differ between `new` and `old`, sorted.
fn touched(new: &BTreeMap<String, String>, old: &BTreeMap<String, String>) -> Vec<String> {
    let mut keys: Vec<String> =
        new.keys().chain(old.keys()).filter(|k| restricted(k) && new.get(*k) != old.get(*k)).cloned().collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Checks a create (`old` is `None`) or update of `new` by `user`; only
/// kubelets' writes of Nodes and node Leases are restricted.
pub fn admit(user: &UserInfo, new: &Object, old: Option<&Object>) -> Result<(), NodeRestrictionError> {
    let Some(node) = user.node_name() else { return Ok(()) };
    let meta = new.meta();
    let refuse = |resource, message: String| Err(NodeRestrictionError { resource, name: meta.name.clone(), message });
    match &new.kind {
        Some(Kind::Node(_)) => {
            if meta.name != node {
                return refuse("nodes", format!("node {node:?} is not allowed to modify node {:?}", meta.name));
            }
            let empty = BTreeMap::new();
            let old_labels = old.map(|o| &o.meta().labels).unwrap_or(&empty);
            let keys = touched(&meta.labels, old_labels);
            if keys.is_empty() {
                return Ok(());
            }
            let what = if old.is_some() { "modify labels" } else { "set the following labels" };
            refuse("nodes", format!("node {node:?} is not allowed to {what}: {}", keys.join(", ")))
        }
        Some(Kind::Lease(_)) if meta.namespace == NODE_LEASE_NAMESPACE && meta.name != node => refuse(
            "leases.coordination.k8s.io",
            "can only access node lease with the same name as the requesting node".to_string(),
        ),
        _ => Ok(()),
    }
}
