//! One scheduling decision: filter every node, score the ones that fit,
//! pick the best — or explain, in Kubernetes' words, why none fits.

use crate::filters::{filter, fits};
use crate::node_info::NodeInfo;
use crate::profile::Weights;
use crate::resources::PodRequest;
use crate::scores::{score, Plugin};
use capstan_proto::core::v1::PodSpec;
use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;

/// No node fits: how many nodes were considered and each reason's count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitError {
    pub nodes: usize,
    pub reasons: BTreeMap<String, usize>,
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&summary(0, self.nodes, &self.reasons))
    }
}

/// `0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu.`
/// — reasons as "count reason", sorted by that text as Kubernetes sorts them.
pub fn summary(available: usize, nodes: usize, reasons: &BTreeMap<String, usize>) -> String {
    let mut parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
    parts.sort();
    if parts.is_empty() {
        format!("{available}/{nodes} nodes are available.")
    } else {
        format!("{available}/{nodes} nodes are available: {}.", parts.join(", "))
    }
}

/// One plugin's 0–100 scores of the feasible nodes, and its weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginScores {
    pub plugin: Plugin,
    pub weight: i64,
    pub scores: Vec<i64>,
}

/// Every plugin's scores of the `feasible` nodes, and each node's weighted total.
pub fn score_nodes(
    spec: &PodSpec,
    pod: &PodRequest,
    feasible: &[&NodeInfo],
    weights: &Weights,
) -> (Vec<PluginScores>, Vec<i64>) {
    let mut totals = vec![0i64; feasible.len()];
    let mut per_plugin = Vec::new();
    for (plugin, weight) in weights.plugins() {
        let scores = score(plugin, spec, pod, feasible);
        for (total, s) in totals.iter_mut().zip(&scores) {
            *total += s * weight;
        }
        per_plugin.push(PluginScores { plugin, weight, scores });
    }
    (per_plugin, totals)
}

/// The index of the highest total; ties go to the first.
pub fn best(totals: &[i64]) -> Option<usize> {
    totals.iter().enumerate().max_by_key(|(i, t)| (**t, std::cmp::Reverse(*i))).map(|(i, _)| i)
}

/// How many feasible nodes to find before scoring, as Kubernetes'
/// adaptive `percentageOfNodesToScore`: all below 100 nodes, else 50 %
/// shrinking by 1 % per 125 nodes down to 5 %, and never fewer than 100.
pub fn feasible_to_find(nodes: usize) -> usize {
    if nodes < 100 {
        return nodes;
    }
    let percent = 50usize.saturating_sub(nodes / 125).max(5);
    (nodes * percent / 100).max(100)
}

/// The best node's name for the pod over every node; ties go to the first.
pub fn place<N: Borrow<NodeInfo>>(
    spec: &PodSpec,
    pod: &PodRequest,
    nodes: &[N],
    weights: &Weights,
) -> Result<String, FitError> {
    place_from(spec, pod, nodes, weights, 0, nodes.len()).0
}

/// Like [`place`], but filtering starts at node `start` (wrapping) and stops
/// once `limit` nodes fit; also returns where the next search should start,
/// so successive pods look at different nodes first.
pub fn place_from<N: Borrow<NodeInfo>>(
    spec: &PodSpec,
    pod: &PodRequest,
    nodes: &[N],
    weights: &Weights,
    start: usize,
    limit: usize,
) -> (Result<String, FitError>, usize) {
    let filtering = tracing::info_span!("scheduler.filter", nodes = nodes.len(), feasible = tracing::field::Empty);
    let entered = filtering.enter();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut feasible = Vec::new();
    let len = nodes.len();
    let start = if start < len { start } else { 0 };
    let mut next = start;
    // from `start` to the end, then from the beginning (no division per node)
    let order = nodes[start..].iter().chain(&nodes[..start]).map(Borrow::borrow);
    for (i, node) in order.enumerate() {
        next = if start + i + 1 >= len { start + i + 1 - len } else { start + i + 1 };
        if fits(spec, pod, node) {
            feasible.push(node);
            if feasible.len() >= limit.max(1) {
                break;
            }
            continue;
        }
        for reason in filter(spec, pod, node) {
            *reasons.entry(reason).or_default() += 1;
        }
    }
    filtering.record("feasible", feasible.len());
    drop(entered);
    drop(filtering);
    if feasible.is_empty() {
        return (Err(FitError { nodes: len, reasons }), next);
    }
    let (_, totals) = tracing::info_span!("scheduler.score", nodes = feasible.len())
        .in_scope(|| score_nodes(spec, pod, &feasible, weights));
    let chosen = best(&totals).and_then(|i| feasible.get(i)).map(|n| n.name.clone());
    (chosen.ok_or(FitError { nodes: len, reasons }), next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{container, node, pod_with, taint};

    #[test]
    fn unschedulable_message_matches_kubernetes() {
        let mut gpu = NodeInfo::from_node(&node("gpu", "8", "8Gi"));
        gpu.taints.push(taint("dedicated", "gpu", "NoSchedule"));
        let small1 = NodeInfo::from_node(&node("s1", "1", "8Gi"));
        let small2 = NodeInfo::from_node(&node("s2", "1", "8Gi"));
        let pod = pod_with("p", vec![container("2", "")]);
        let spec = pod.spec.clone().unwrap_or_default();
        let err = place(&spec, &PodRequest::of(&pod), &[&gpu, &small1, &small2], &Weights::default()).err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu.")
        );
    }

    #[test]
    fn picks_the_emptiest_node() {
        let mut busy = NodeInfo::from_node(&node("busy", "4", "8Gi"));
        busy.requested.cpu_milli = 3000;
        let idle = NodeInfo::from_node(&node("idle", "4", "8Gi"));
        let pod = pod_with("p", vec![container("500m", "1Gi")]);
        let spec = pod.spec.clone().unwrap_or_default();
        let got = place(&spec, &PodRequest::of(&pod), &[&busy, &idle], &Weights::default());
        assert_eq!(got, Ok("idle".to_string()));
    }

    #[test]
    fn sampling_finds_enough_nodes_and_rotates() {
        let sizes = [10, 100, 1000, 5000, 100_000];
        let found: Vec<usize> = sizes.iter().map(|n| feasible_to_find(*n)).collect();
        assert_eq!(found, [10, 100, 420, 500, 5000]);
        let infos: Vec<NodeInfo> = (0..4).map(|i| NodeInfo::from_node(&node(&format!("n{i}"), "4", "8Gi"))).collect();
        let refs: Vec<&NodeInfo> = infos.iter().collect();
        let pod = pod_with("p", vec![container("500m", "1Gi")]);
        let spec = pod.spec.clone().unwrap_or_default();
        let (got, next) = place_from(&spec, &PodRequest::of(&pod), &refs, &Weights::default(), 3, 1);
        assert_eq!((got, next), (Ok("n3".to_string()), 0));
    }
}
