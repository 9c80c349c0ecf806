//! The filters: may this pod run on this node at all? Each returns the
//! reasons it says no, worded as Kubernetes words them; the first filter
//! that says no decides (as Kubernetes stops at the first failing plugin).

use crate::affinity::{anti_affinity_violated, term_matches};
use crate::node_info::NodeInfo;
use crate::resources::PodRequest;
use crate::taints::first_untolerated;
use capstan_proto::core::v1::PodSpec;

/// One filter: the reasons it refuses the node, empty when it accepts.
type Check = fn(&PodSpec, &PodRequest, &NodeInfo) -> Vec<String>;

/// Why `node` cannot take the pod; empty when it can.
pub fn filter(spec: &PodSpec, pod: &PodRequest, node: &NodeInfo) -> Vec<String> {
    let checks: [Check; 7] = [ready, schedulable, taints, node_affinity, host_ports, resources, anti_affinity];
    checks.iter().map(|check| check(spec, pod, node)).find(|r| !r.is_empty()).unwrap_or_default()
}

fn one(ok: bool, reason: &str) -> Vec<String> {
    if ok {
        Vec::new()
    } else {
        vec![reason.to_string()]
    }
}

fn ready(_: &PodSpec, _: &PodRequest, node: &NodeInfo) -> Vec<String> {
    one(node.ready, "node(s) were not ready")
}

fn schedulable(_: &PodSpec, _: &PodRequest, node: &NodeInfo) -> Vec<String> {
    one(!node.unschedulable, "node(s) were unschedulable")
}

fn taints(spec: &PodSpec, _: &PodRequest, node: &NodeInfo) -> Vec<String> {
    match first_untolerated(&node.taints, &spec.tolerations, &["NoSchedule", "NoExecute"]) {
        Some(t) => vec![format!("node(s) had untolerated taint {{{}: {}}}", t.key, t.value)],
        None => Vec::new(),
    }
}

fn node_affinity(spec: &PodSpec, _: &PodRequest, node: &NodeInfo) -> Vec<String> {
    let selector_ok = spec.node_selector.iter().all(|(k, v)| node.labels.get(k) == Some(v));
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref());
    let affinity_ok = required.is_none_or(|r| r.node_selector_terms.iter().any(|t| term_matches(t, node)));
    one(selector_ok && affinity_ok, "node(s) didn't match Pod's node affinity/selector")
}

fn host_ports(_: &PodSpec, pod: &PodRequest, node: &NodeInfo) -> Vec<String> {
    let free = pod.host_ports.iter().all(|p| !node.host_ports.contains(p));
    one(free, "node(s) didn't have free ports for the requested pod ports")
}

fn resources(_: &PodSpec, pod: &PodRequest, node: &NodeInfo) -> Vec<String> {
    let mut reasons = Vec::new();
    if node.pod_count + 1 > node.allocatable_pods {
        reasons.push("Too many pods".to_string());
    }
    let (want, have, used) = (pod.requests, node.allocatable, node.requested);
    if want.cpu_milli > 0 && used.cpu_milli + want.cpu_milli > have.cpu_milli {
        reasons.push("Insufficient cpu".to_string());
    }
    if want.memory > 0 && used.memory + want.memory > have.memory {
        reasons.push("Insufficient memory".to_string());
    }
    reasons
}

fn anti_affinity(spec: &PodSpec, pod: &PodRequest, node: &NodeInfo) -> Vec<String> {
    let terms = spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .map(|a| a.required_during_scheduling_ignored_during_execution.as_slice())
        .unwrap_or_default();
    let violated = terms.iter().any(|t| anti_affinity_violated(t, &pod.namespace, node));
    one(!violated, "node(s) didn't match pod anti-affinity rules")
}
