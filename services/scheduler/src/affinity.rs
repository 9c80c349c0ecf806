//! Node selector terms (required and preferred node affinity) and
//! required pod anti-affinity, on plain labels.

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

/// Whether some pod on `node` matches a required anti-affinity term of a
/// pod in `namespace` (only `kubernetes.io/hostname` is a known topology;
/// other keys are treated the same way, per node).
pub fn anti_affinity_violated(term: &PodAffinityTerm, namespace: &str, node: &NodeInfo) -> bool {
    let selector = match term.label_selector.as_ref().map(LabelSelector::from_proto) {
        Some(Ok(s)) => s,
        // no selector (or an invalid one) selects nothing
        _ => return false,
    };
    node.pods.values().any(|p| {
        let ns_ok =
            if term.namespaces.is_empty() { p.namespace == namespace } else { term.namespaces.contains(&p.namespace) };
        ns_ok && selector.matches(&p.labels)
    })
}
