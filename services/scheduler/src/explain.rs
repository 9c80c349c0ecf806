//! Why a pod is or is not schedulable, node by node: the pure logic behind
//! `SchedulerService/Explain`. Unlike a scheduling decision, which stops
//! filtering once it has found enough feasible nodes on a large cluster,
//! an explanation filters and scores every node, so the node it names is
//! the best of the whole cluster.

use crate::filters::filter;
use crate::node_info::NodeInfo;
use crate::placement::{best, score_nodes, summary};
use crate::profile::Weights;
use crate::resources::PodRequest;
use crate::scores::Plugin;
use capstan_proto::core::v1::PodSpec;
use std::collections::BTreeMap;

/// One plugin's say on one feasible node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginScore {
    pub plugin: Plugin,
    pub weight: i64,
    /// 0–100, before weighting.
    pub score: i64,
}

/// One node's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeVerdict {
    pub node: String,
    /// Why the node cannot take the pod (the first failing filter's
    /// reasons); empty when it fits.
    pub reasons: Vec<String>,
    /// The profile's scores, for a node that fits.
    pub scores: Vec<PluginScore>,
    /// Sum of weight × score, for a node that fits.
    pub total: i64,
}

impl NodeVerdict {
    pub fn fits(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// Every node's verdict, the node the scheduler would pick, and
/// Kubernetes' summary (`0/3 nodes are available: …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// In the order the nodes were given (the cache sorts them by name).
    pub nodes: Vec<NodeVerdict>,
    pub chosen: Option<String>,
    pub message: String,
}

/// Explain placing the pod over `nodes` with the profile's `weights`.
pub fn explain(spec: &PodSpec, pod: &PodRequest, nodes: &[&NodeInfo], weights: &Weights) -> Explanation {
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut verdicts: Vec<NodeVerdict> = Vec::with_capacity(nodes.len());
    let mut feasible = Vec::new();
    for node in nodes {
        let failed = filter(spec, pod, node);
        for reason in &failed {
            *reasons.entry(reason.clone()).or_default() += 1;
        }
        if failed.is_empty() {
            feasible.push((verdicts.len(), *node));
        }
        verdicts.push(NodeVerdict { node: node.name.clone(), reasons: failed, scores: Vec::new(), total: 0 });
    }
    let feasible_nodes: Vec<&NodeInfo> = feasible.iter().map(|(_, n)| *n).collect();
    let (per_plugin, totals) = score_nodes(spec, pod, &feasible_nodes, weights);
    for (j, (i, _)) in feasible.iter().enumerate() {
        let verdict = &mut verdicts[*i];
        verdict.total = totals[j];
        verdict.scores =
            per_plugin.iter().map(|p| PluginScore { plugin: p.plugin, weight: p.weight, score: p.scores[j] }).collect();
    }
    let chosen = best(&totals).map(|j| feasible_nodes[j].name.clone());
    Explanation { nodes: verdicts, chosen, message: summary(feasible.len(), nodes.len(), &reasons) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{container, node, pod_with, taint};

    #[test]
    fn every_node_gets_its_reasons_and_the_feasible_ones_their_scores() {
        let mut gpu = NodeInfo::from_node(&node("gpu", "8", "8Gi"));
        gpu.taints.push(taint("dedicated", "gpu", "NoSchedule"));
        let small = NodeInfo::from_node(&node("small", "500m", "8Gi"));
        let mut half = NodeInfo::from_node(&node("half", "4", "8Gi"));
        half.requested.cpu_milli = 2000;
        let big = NodeInfo::from_node(&node("big", "4", "8Gi"));
        let pod = pod_with("p", vec![container("1", "")]);
        let spec = pod.spec.clone().unwrap_or_default();
        let weights = Weights {
            least_allocated: 2,
            balanced_allocation: 0,
            owner_spread: 0,
            node_affinity: 0,
            taint_toleration: 1,
        };
        let got = explain(&spec, &PodRequest::of(&pod), &[&big, &gpu, &half, &small], &weights);
        let row = |v: &NodeVerdict| {
            let scores: Vec<String> =
                v.scores.iter().map(|s| format!("{}={}x{}", s.plugin.name(), s.weight, s.score)).collect();
            format!(
                "{} fits={} reasons={:?} scores=[{}] total={}",
                v.node,
                v.fits(),
                v.reasons,
                scores.join(" "),
                v.total
            )
        };
        let rows: Vec<String> = got.nodes.iter().map(row).collect();
        assert_eq!(
            rows,
            [
                "big fits=true reasons=[] scores=[leastAllocated=2x88 taintToleration=1x100] total=276",
                "gpu fits=false reasons=[\"node(s) had untolerated taint {dedicated: gpu}\"] scores=[] total=0",
                "half fits=true reasons=[] scores=[leastAllocated=2x63 taintToleration=1x100] total=226",
                "small fits=false reasons=[\"Insufficient cpu\"] scores=[] total=0",
            ]
        );
        assert_eq!(got.chosen.as_deref(), Some("big"));
        assert_eq!(
            got.message,
            "2/4 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}."
        );
    }

    #[test]
    fn nothing_fits_gives_the_unschedulable_message() {
        let small = NodeInfo::from_node(&node("small", "1", "8Gi"));
        let pod = pod_with("p", vec![container("2", "")]);
        let spec = pod.spec.clone().unwrap_or_default();
        let got = explain(&spec, &PodRequest::of(&pod), &[&small], &Weights::default());
        assert_eq!((got.chosen, got.message.as_str()), (None, "0/1 nodes are available: 1 Insufficient cpu."));
    }
}
