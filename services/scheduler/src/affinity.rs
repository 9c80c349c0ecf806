//! Node selector terms (required and preferred node affinity) and
//! required pod anti-affinity, on plain labels — both ways: the incoming
//! pod's terms against the pods on a node, and the terms of the pods on a
//! node against the incoming pod (anti-affinity is symmetric in Kubernetes).

use crate::node_info::NodeInfo;
use capstan_proto::core::v1::{NodeSelectorRequirement, NodeSelectorTerm, PodAffinityTerm};
use capstan_selectors::{LabelSelector, Operator, Requirement};
use std::collections::BTreeMap;

/// The topology key the anti-affinity filter supports.
pub const HOSTNAME_KEY: &str = "kubernetes.io/hostname";

fn requirement_matches(req: &NodeSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let Some(op) = Operator::from_proto_name(&req.operator) else {
        return false;
    };
    Requirement::new(&req.key, op, req.values.iter().map(String::as_str)).is_ok_and(|r| r.matches(labels))
}

/// A term matches when all its expressions and fields do; an empty term
/// matches nothing, as in Kubernetes.
pub fn term_matches(term: &NodeSelectorTerm, node: &NodeInfo) -> bool {
    if term.match_expressions.is_empty() && term.match_fields.is_empty() {
        return false;
    }
    let fields: BTreeMap<String, String> = [("metadata.name".to_string(), node.name.clone())].into();
    term.match_expressions.iter().all(|r| requirement_matches(r, &node.labels))
        && term.match_fields.iter().all(|r| requirement_matches(r, &fields))
}

/// Whether `term`, written in a pod of `owner_namespace`, selects a pod in
/// `namespace` with `labels` (no namespaces listed means the owner's own).
fn term_selects(
    term: &PodAffinityTerm,
    owner_namespace: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
) -> bool {
    let ns_ok = if term.namespaces.is_empty() {
        namespace == owner_namespace
    } else {
        term.namespaces.iter().any(|n| n == namespace)
    };
    // no selector (or an invalid one) selects nothing
    ns_ok && matches!(term.label_selector.as_ref().map(LabelSelector::from_proto), Some(Ok(s)) if s.matches(labels))
}

/// Whether some pod on `node` matches a required anti-affinity term of a
/// pod in `namespace` (only `kubernetes.io/hostname` is a known topology;
/// other keys are treated the same way, per node).
pub fn anti_affinity_violated(term: &PodAffinityTerm, namespace: &str, node: &NodeInfo) -> bool {
    node.pods.values().any(|p| term_selects(term, namespace, &p.namespace, &p.labels))
}

/// Whether a pod on `node` has a required anti-affinity term that selects
/// the incoming pod (in `namespace`, with `labels`).
#[inline]
pub fn existing_anti_affinity_violated(namespace: &str, labels: &BTreeMap<String, String>, node: &NodeInfo) -> bool {
    node.anti_affinity_pods > 0
        && node.pods.values().any(|p| p.anti_affinity.iter().any(|t| term_selects(t, &p.namespace, namespace, labels)))
}
