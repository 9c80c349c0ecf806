//! The filters: may this pod run on this node at all? Each refuses with the
//! reasons Kubernetes words; the first filter that says no decides (as
//! Kubernetes stops at the first failing plugin), in Kubernetes' plugin
//! order: unschedulable, taints, node affinity, host ports, resources,
//! inter-pod anti-affinity. A node that is not Ready is refused by the
//! taint filter (see [`crate::node_info`]).
//!
//! A decision on a large cluster runs the filters on hundreds of nodes, and
//! most nodes pass: [`fits`] answers with plain predicates and no
//! allocation, and only a refused node has its reasons written out by
//! [`filter`], from the same predicates, so the two cannot disagree.

use crate::affinity::{anti_affinity_violated, existing_anti_affinity_violated, term_matches};
use crate::node_info::NodeInfo;
use crate::resources::PodRequest;
use crate::taints::first_untolerated;
use capstan_proto::core::v1::{PodSpec, Taint};

/// The taint effects that keep a pod off a node (PreferNoSchedule only scores).
const FILTERED_EFFECTS: &[&str] = &["NoSchedule", "NoExecute"];

#[inline]
fn untolerated<'a>(spec: &PodSpec, node: &'a NodeInfo) -> Option<&'a Taint> {
    first_untolerated(&node.taints, &spec.tolerations, FILTERED_EFFECTS)
}

#[inline]
fn node_affinity_ok(spec: &PodSpec, node: &NodeInfo) -> bool {
    let selector_ok = spec.node_selector.iter().all(|(k, v)| node.labels.get(k) == Some(v));
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref());
    selector_ok && required.is_none_or(|r| r.node_selector_terms.iter().any(|t| term_matches(t, node)))
}

#[inline]
fn host_ports_ok(pod: &PodRequest, node: &NodeInfo) -> bool {
    pod.host_ports.iter().all(|p| !node.host_ports.contains(p))
}

/// `(too many pods, insufficient cpu, insufficient memory)`.
#[inline]
fn shortages(pod: &PodRequest, node: &NodeInfo) -> (bool, bool, bool) {
    let (want, have, used) = (pod.requests, node.allocatable, node.requested);
    (
        node.pod_count + 1 > node.allocatable_pods,
        want.cpu_milli > 0 && used.cpu_milli + want.cpu_milli > have.cpu_milli,
        want.memory > 0 && used.memory + want.memory > have.memory,
    )
}

#[inline]
fn own_anti_affinity_ok(pod: &PodRequest, node: &NodeInfo) -> bool {
    !pod.anti_affinity.iter().any(|t| anti_affinity_violated(t, &pod.namespace, node))
}

#[inline]
fn existing_anti_affinity_ok(pod: &PodRequest, node: &NodeInfo) -> bool {
    !existing_anti_affinity_violated(&pod.namespace, &pod.labels, node)
}

/// Whether `node` can take the pod.
#[inline]
pub fn fits(spec: &PodSpec, pod: &PodRequest, node: &NodeInfo) -> bool {
    !node.unschedulable
        && untolerated(spec, node).is_none()
        && node_affinity_ok(spec, node)
        && host_ports_ok(pod, node)
        && shortages(pod, node) == (false, false, false)
        && own_anti_affinity_ok(pod, node)
        && existing_anti_affinity_ok(pod, node)
}

/// Why `node` cannot take the pod; empty when it can.
pub fn filter(spec: &PodSpec, pod: &PodRequest, node: &NodeInfo) -> Vec<String> {
    if fits(spec, pod, node) {
        Vec::new()
    } else {
        reasons(spec, pod, node)
    }
}

/// The first failing filter's reasons.
#[cold]
fn reasons(spec: &PodSpec, pod: &PodRequest, node: &NodeInfo) -> Vec<String> {
    if node.unschedulable {
        return vec!["node(s) were unschedulable".into()];
    }
    if let Some(t) = untolerated(spec, node) {
        return vec![format!("node(s) had untolerated taint {{{}: {}}}", t.key, t.value)];
    }
    if !node_affinity_ok(spec, node) {
        return vec!["node(s) didn't match Pod's node affinity/selector".into()];
    }
    if !host_ports_ok(pod, node) {
        return vec!["node(s) didn't have free ports for the requested pod ports".into()];
    }
    let (pods, cpu, memory) = shortages(pod, node);
    if pods || cpu || memory {
        let named = [(pods, "Too many pods"), (cpu, "Insufficient cpu"), (memory, "Insufficient memory")];
        return named.into_iter().filter(|(short, _)| *short).map(|(_, reason)| reason.to_string()).collect();
    }
    if !own_anti_affinity_ok(pod, node) {
        return vec!["node(s) didn't match pod anti-affinity rules".into()];
    }
    if !existing_anti_affinity_ok(pod, node) {
        return vec!["node(s) didn't satisfy existing pods anti-affinity rules".into()];
    }
    Vec::new()
}
