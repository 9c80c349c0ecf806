//! Which pods a shrinking ReplicaSet deletes first: the least valuable,
//! in Kubernetes' order (`ActivePodsWithRanks`), so a scale-down takes
//! away pods that serve nothing yet before pods that serve traffic.
//!
//! From first deleted to last: unscheduled before scheduled; Pending, then
//! Unknown, then Running; not ready before ready; pods doubled up on a
//! node with more of their siblings before lonelier ones; ready for a
//! shorter time before longer; more restarts before fewer; newer before
//! older.

use super::pods;
use capstan_proto::core::v1::Pod;
use capstan_proto::meta::v1::Time;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

/// The `count` pods of `owned` to delete first. `related` are the active
/// pods of this ReplicaSet and its siblings (same owning Deployment): a pod
/// on a node crowded with them goes before one that is alone on its node.
pub fn pods_to_delete(owned: &[Arc<Pod>], related: &[Arc<Pod>], count: usize) -> Vec<Arc<Pod>> {
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for pod in related {
        let node = pods::node_name(pod);
        if !node.is_empty() {
            *per_node.entry(node).or_default() += 1;
        }
    }
    let mut ranked: Vec<(usize, &Arc<Pod>)> =
        owned.iter().map(|p| (per_node.get(pods::node_name(p)).copied().unwrap_or(0), p)).collect();
    ranked.sort_by(|(rank_a, a), (rank_b, b)| delete_first(a, *rank_a, b, *rank_b));
    ranked.into_iter().take(count).map(|(_, p)| p.clone()).collect()
}

/// The most active of `pods`: the one a scale-down would delete last, no
/// node crowded (Kubernetes' `ActivePods`, reversed). What `kubectl logs`
/// and `exec` pick for `TYPE/NAME`, and so `capstan`'s too.
pub fn most_active<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> Option<&'a Pod> {
    pods.into_iter().max_by(|a, b| delete_first(a, 0, b, 0))
}

/// `Less` when `a` should be deleted before `b`.
fn delete_first(a: &Pod, rank_a: usize, b: &Pod, rank_b: usize) -> Ordering {
    let (node_a, node_b) = (pods::node_name(a), pods::node_name(b));
    // unscheduled first
    if node_a != node_b && (node_a.is_empty() || node_b.is_empty()) {
        return if node_a.is_empty() { Ordering::Less } else { Ordering::Greater };
    }
    phase_ordinal(a)
        .cmp(&phase_ordinal(b))
        .then_with(|| pods::is_ready(a).cmp(&pods::is_ready(b)))
        // more siblings on the same node first
        .then_with(|| rank_b.cmp(&rank_a))
        .then_with(|| match (pods::ready_since(a), pods::ready_since(b)) {
            (Some(ta), Some(tb)) => later_first(ta, tb),
            _ => Ordering::Equal,
        })
        .then_with(|| pods::max_restarts(b).cmp(&pods::max_restarts(a)))
        .then_with(|| later_first(created(a), created(b)))
        .then_with(|| name(a).cmp(name(b)))
}

/// Pending before Unknown before Running; other phases rank with Pending,
/// as Kubernetes' ordinal map leaves them at zero.
fn phase_ordinal(pod: &Pod) -> u8 {
    match pods::phase(pod) {
        "Unknown" => 1,
        "Running" => 2,
        _ => 0,
    }
}

/// An unset time (zero) counts as the latest, as in Kubernetes' `afterOrZero`.
fn later_first(a: Time, b: Time) -> Ordering {
    let key = |t: Time| if t == Time::default() { (i64::MAX, i32::MAX) } else { (t.seconds, t.nanos) };
    key(b).cmp(&key(a))
}

fn created(pod: &Pod) -> Time {
    pod.metadata.as_ref().and_then(|m| m.creation_timestamp).unwrap_or_default()
}

fn name(pod: &Pod) -> &str {
    pod.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replicaset::pods::tests::{pod, with_restarts};

    fn created_at(mut pod: Pod, seconds: i64) -> Pod {
        pod.metadata.get_or_insert_with(Default::default).creation_timestamp = Some(Time { seconds, nanos: 0 });
        pod
    }

    fn order(owned: Vec<Pod>, related: Vec<Pod>) -> Vec<String> {
        let owned: Vec<Arc<Pod>> = owned.into_iter().map(Arc::new).collect();
        let related: Vec<Arc<Pod>> = related.into_iter().map(Arc::new).collect();
        pods_to_delete(&owned, &related, owned.len()).iter().map(|p| name(p).to_string()).collect()
    }

    #[test]
    fn each_rule_decides_when_the_ones_before_it_tie() {
        // (case, the pod that must go first, the pod that must stay)
        let cases: Vec<(&str, Pod, Pod)> = vec![
            ("unscheduled before scheduled", pod("a", "Pending", None, ""), pod("b", "Pending", None, "n1")),
            ("pending before running", pod("a", "Pending", None, "n1"), pod("b", "Running", None, "n1")),
            ("unknown before running", pod("a", "Unknown", None, "n1"), pod("b", "Running", None, "n1")),
            ("pending before unknown", pod("a", "Pending", None, "n1"), pod("b", "Unknown", None, "n1")),
            ("not ready before ready", pod("a", "Running", None, "n1"), pod("b", "Running", Some(10), "n1")),
            ("ready for less time first", pod("a", "Running", Some(20), "n1"), pod("b", "Running", Some(10), "n1")),
            (
                "more restarts first",
                with_restarts(pod("a", "Running", Some(10), "n1"), &[3]),
                with_restarts(pod("b", "Running", Some(10), "n1"), &[1]),
            ),
            (
                "newer before older",
                created_at(pod("a", "Running", Some(10), "n1"), 50),
                created_at(pod("b", "Running", Some(10), "n1"), 40),
            ),
            (
                "no creation time counts as newest",
                pod("a", "Running", Some(10), "n1"),
                created_at(pod("b", "Running", Some(10), "n1"), 40),
            ),
        ];
        for (case, first, last) in cases {
            assert_eq!(order(vec![last.clone(), first.clone()], vec![]), ["a", "b"], "{case}");
            assert_eq!(order(vec![first, last], vec![]), ["a", "b"], "{case} (either input order)");
        }
    }

    #[test]
    fn earlier_rules_win_over_later_ones() {
        // a ready pod with many restarts still outranks an unready fresh one
        let ready_restarting = with_restarts(pod("ready", "Running", Some(10), "n1"), &[9]);
        let unready = created_at(pod("unready", "Running", None, "n1"), 1);
        let unscheduled = pod("unscheduled", "Pending", None, "");
        assert_eq!(order(vec![ready_restarting, unready, unscheduled], vec![]), ["unscheduled", "unready", "ready"]);
    }

    #[test]
    fn doubled_up_pods_go_before_lonely_ones() {
        let crowded = pod("crowded", "Running", Some(10), "n1");
        let alone = pod("alone", "Running", Some(10), "n2");
        let sibling = pod("sibling", "Running", Some(10), "n1");
        let related = vec![crowded.clone(), alone.clone(), sibling];
        assert_eq!(order(vec![alone, crowded], related), ["crowded", "alone"]);
    }

    #[test]
    fn takes_only_what_is_asked() {
        let owned: Vec<Arc<Pod>> = ["a", "b", "c"].iter().map(|n| Arc::new(pod(n, "Running", None, "n1"))).collect();
        assert_eq!(pods_to_delete(&owned, &[], 2).len(), 2);
        assert!(pods_to_delete(&owned, &[], 0).is_empty());
        assert_eq!(pods_to_delete(&owned, &[], 9).len(), 3);
    }
}
