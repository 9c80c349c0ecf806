//! The Node authorizer: requests of a kubelet (`system:node:NAME` in
//! `system:nodes`) on node-scoped objects — Nodes, Leases in
//! `kube-node-lease`, pods — are judged by whether the object is the node's
//! own: its Node (and `nodes/status`), its Lease, and the pods bound to it
//! (read, `pods/status`, delete; list and watch only with the field selector
//! `spec.nodeName=NAME`). Everything else a kubelet may do is the static
//! `system:node` rules.
//!
//! Unlike Kubernetes' authorizer, which only ever allows or passes, this one
//! *denies* a kubelet another node's Node, Lease or pods, so no RBAC binding
//! to `system:nodes` can ever open one node's objects to another.
//! Requests of other users get no opinion.

use crate::graph::Graph;
use capstan_auth::{Attributes, Authorizer, Decision, Fed, UserInfo, Verb};
use capstan_proto::rbac::v1::PolicyRule;
use std::sync::Arc;

/// The namespace node heartbeat leases live in (the kubelet's `lease.rs`).
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";
const COORDINATION: &str = "coordination.k8s.io";

/// The Node authorizer and its graph. Clones share the graph.
#[derive(Clone)]
pub struct NodeAuthorizer {
    graph: Fed<Graph>,
    /// what any kubelet may do (`capstan_rbac::bootstrap::node_rules`)
    static_rules: Arc<Vec<PolicyRule>>,
}

impl Default for NodeAuthorizer {
    fn default() -> Self {
        NodeAuthorizer::new()
    }
}

impl NodeAuthorizer {
    pub fn new() -> NodeAuthorizer {
        NodeAuthorizer { graph: Fed::default(), static_rules: Arc::new(capstan_rbac::bootstrap::node_rules()) }
    }

    /// The index the watch feed keeps up to date (`observe` each event,
    /// `replace` on a relist); clones share it.
    pub fn feed(&self) -> &Fed<Graph> {
        &self.graph
    }

    /// How many pods the graph has bound to `node`.
    pub fn pod_count(&self, node: &str) -> usize {
        self.graph.read().pod_count(node)
    }

    fn pods(&self, node: &str, a: &Attributes) -> Decision {
        let own_or_deny = |bound: Option<&str>| match bound {
            Some(n) if n == node => Decision::Allow,
            Some(_) => Decision::Deny { reason: no_relationship(node) },
            // not bound, or not seen yet: nothing to say either way
            None => Decision::NoOpinion,
        };
        match (a.verb, a.subresource.as_str()) {
            (Verb::List | Verb::Watch, "") => match a.required_field("spec.nodeName") {
                Some(n) if n == node => Decision::Allow,
                Some(_) => Decision::Deny { reason: no_relationship(node) },
                None => Decision::NoOpinion,
            },
            (Verb::Get, "" | "status") | (Verb::Update | Verb::Patch, "status") | (Verb::Delete, "") => {
                own_or_deny(self.graph.read().node_of(&a.namespace, &a.name))
            }
            _ => match self.graph.read().node_of(&a.namespace, &a.name) {
                Some(n) if n != node => Decision::Deny { reason: no_relationship(node) },
                _ => Decision::NoOpinion,
            },
        }
    }
}

fn no_relationship(node: &str) -> String {
    format!("no relationship found between node '{node}' and this object")
}

/// A kubelet's own Node: read, update, patch (and its status), and create
/// it under its own name (the name of a create is checked again by
/// [`crate::admit`], since a create's attributes may carry none).
fn node_object(node: &str, a: &Attributes) -> Decision {
    let own = a.name == node;
    match (a.verb, a.subresource.as_str()) {
        (Verb::Create, "") if own || a.name.is_empty() => Decision::Allow,
        (Verb::Get | Verb::Update | Verb::Patch, "" | "status") if own => Decision::Allow,
        (Verb::List | Verb::Watch, "") if a.required_field("metadata.name") == Some(node) => Decision::Allow,
        _ if !a.name.is_empty() && !own => {
            Decision::Deny { reason: format!("node '{node}' cannot access node '{}'", a.name) }
        }
        _ => Decision::NoOpinion,
    }
}

/// A kubelet's heartbeat Lease, `kube-node-lease/NAME`.
fn node_lease(node: &str, a: &Attributes) -> Decision {
    let own = a.name == node;
    match a.verb {
        Verb::Create if own || a.name.is_empty() => Decision::Allow,
        Verb::Get | Verb::Update | Verb::Patch | Verb::Delete if own => Decision::Allow,
        _ if !a.name.is_empty() && !own => Decision::Deny {
            reason: "can only access node lease with the same name as the requesting node".to_string(),
        },
        _ => Decision::NoOpinion,
    }
}

impl Authorizer for NodeAuthorizer {
    fn authorize(&self, user: &UserInfo, a: &Attributes) -> Decision {
        let Some(node) = user.node_name() else { return Decision::NoOpinion };
        let decided = match (a.api_group.as_str(), a.resource.as_str()) {
            ("", "nodes") => node_object(node, a),
            ("", "pods") => self.pods(node, a),
            (COORDINATION, "leases") if a.namespace == NODE_LEASE_NAMESPACE => node_lease(node, a),
            _ => Decision::NoOpinion,
        };
        match decided {
            Decision::NoOpinion if capstan_rbac::rules::any_allows(&self.static_rules, a) => Decision::Allow,
            other => other,
        }
    }
}
