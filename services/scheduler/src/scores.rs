//! The scores: among the nodes that fit, which is best? Each plugin gives
//! every feasible node 0–100; the profile weighs and sums them.

use crate::affinity::term_matches;
use crate::node_info::NodeInfo;
use crate::resources::PodRequest;
use crate::taints::untolerated_preferred;
use capstan_proto::core::v1::PodSpec;

/// The score plugins a profile can weigh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    LeastAllocated,
    BalancedAllocation,
    OwnerSpread,
    NodeAffinity,
    TaintToleration,
}

impl Plugin {
    /// The plugin's name, as its weight is spelled in the profile file.
    pub fn name(self) -> &'static str {
        match self {
            Plugin::LeastAllocated => "leastAllocated",
            Plugin::BalancedAllocation => "balancedAllocation",
            Plugin::OwnerSpread => "ownerSpread",
            Plugin::NodeAffinity => "nodeAffinity",
            Plugin::TaintToleration => "taintToleration",
        }
    }
}

fn fraction(used: i64, have: i64) -> f64 {
    if have <= 0 {
        1.0
    } else {
        (used as f64 / have as f64).min(1.0)
    }
}

/// `x` (at least 0) rounded half up: an add and a truncation, where
/// `f64::round` is a library call on baseline x86-64.
fn round(x: f64) -> i64 {
    (x + 0.5) as i64
}

/// `(cpu, memory)` fractions of the node in use once the pod is on it.
fn usage(pod: &PodRequest, node: &NodeInfo) -> (f64, f64) {
    (
        fraction(node.requested.cpu_milli + pod.requests.cpu_milli, node.allocatable.cpu_milli),
        fraction(node.requested.memory + pod.requests.memory, node.allocatable.memory),
    )
}

/// Scale raw values so the largest is 100 (or, with `reverse`, the
/// smallest is 100 and the largest 0), as Kubernetes' default normaliser.
fn normalise(raw: Vec<i64>, reverse: bool) -> Vec<i64> {
    let max = raw.iter().copied().max().unwrap_or(0);
    raw.into_iter()
        .map(|v| match (max, reverse) {
            (0, true) => 100,
            (0, false) => 0,
            (m, true) => 100 * (m - v) / m,
            (m, false) => 100 * v / m,
        })
        .collect()
}

/// Every feasible node's 0–100 score under one plugin.
pub fn score(plugin: Plugin, spec: &PodSpec, pod: &PodRequest, nodes: &[&NodeInfo]) -> Vec<i64> {
    match plugin {
        Plugin::LeastAllocated => nodes
            .iter()
            .map(|n| {
                let (cpu, mem) = usage(pod, n);
                round((2.0 - cpu - mem) * 50.0)
            })
            .collect(),
        Plugin::BalancedAllocation => nodes
            .iter()
            .map(|n| {
                let (cpu, mem) = usage(pod, n);
                round((1.0 - (cpu - mem).abs() / 2.0) * 100.0)
            })
            .collect(),
        Plugin::OwnerSpread => {
            let raw = nodes.iter().map(|n| pod.owner_id.map_or(0, |o| n.owner_count(o))).collect();
            normalise(raw, true)
        }
        Plugin::NodeAffinity => {
            let terms = spec
                .affinity
                .as_ref()
                .and_then(|a| a.node_affinity.as_ref())
                .map(|n| n.preferred_during_scheduling_ignored_during_execution.as_slice())
                .unwrap_or_default();
            let raw = nodes
                .iter()
                .map(|n| {
                    terms
                        .iter()
                        .filter(|t| t.preference.as_ref().is_some_and(|p| term_matches(p, n)))
                        .map(|t| i64::from(t.weight))
                        .sum()
                })
                .collect();
            normalise(raw, false)
        }
        Plugin::TaintToleration => {
            let raw = nodes.iter().map(|n| untolerated_preferred(&n.taints, &spec.tolerations) as i64).collect();
            normalise(raw, true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node_info::OwnerId;
    use crate::testing::{container, node, pod_with, taint};
    use capstan_proto::core::v1::PreferredSchedulingTerm;
    use capstan_proto::core::v1::{Affinity, NodeAffinity, NodeSelectorRequirement, NodeSelectorTerm};

    /// Three nodes: big and empty, small and half full (cpu only), a
    /// PreferNoSchedule-tainted one labelled `zone=a` running two pods of `rs1`.
    fn nodes() -> Vec<NodeInfo> {
        let big = NodeInfo::from_node(&node("big", "8", "16Gi"));
        let mut small = NodeInfo::from_node(&node("small", "2", "4Gi"));
        small.requested.cpu_milli = 1000;
        let mut tainted = NodeInfo::from_node(&node("tainted", "4", "8Gi"));
        tainted.taints.push(taint("spot", "", "PreferNoSchedule"));
        tainted.labels.insert("zone".into(), "a".into());
        tainted.owners.push((OwnerId(1), 2));
        vec![big, small, tainted]
    }

    #[test]
    fn plugin_table() {
        let mut pod = pod_with("p", vec![container("1", "2Gi")]);
        let mut spec = pod.spec.take().unwrap_or_default();
        let term = NodeSelectorTerm {
            match_expressions: vec![NodeSelectorRequirement {
                key: "zone".into(),
                operator: "In".into(),
                values: vec!["a".into()],
            }],
            ..Default::default()
        };
        spec.affinity = Some(Affinity {
            node_affinity: Some(NodeAffinity {
                preferred_during_scheduling_ignored_during_execution: vec![PreferredSchedulingTerm {
                    weight: 10,
                    preference: Some(term),
                }],
                ..Default::default()
            }),
            ..Default::default()
        });
        pod.spec = Some(spec.clone());
        let mut req = PodRequest::of(&pod);
        req.owner_id = Some(OwnerId(1));
        let infos = nodes();
        let refs: Vec<&NodeInfo> = infos.iter().collect();
        let cases = [
            (Plugin::LeastAllocated, [88, 25, 75]),
            (Plugin::BalancedAllocation, [100, 75, 100]),
            (Plugin::OwnerSpread, [100, 100, 0]),
            (Plugin::NodeAffinity, [0, 0, 100]),
            (Plugin::TaintToleration, [100, 100, 0]),
        ];
        for (plugin, want) in cases {
            assert_eq!(score(plugin, &spec, &req, &refs), want.to_vec(), "{plugin:?}");
        }
    }
}
