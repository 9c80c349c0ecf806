//! The arithmetic of one RollingUpdate step (Kubernetes'
//! `reconcileNewReplicaSet` and `reconcileOldReplicaSets`).
//!
//! Scale the new ReplicaSet up as far as `replicas + maxSurge` allows,
//! counting every pod that exists or is about to; scale old ReplicaSets
//! down as far as `replicas - maxUnavailable` available pods allow —
//! their unavailable pods first, since removing those costs nothing.

use super::fenceposts::Params;
use super::view::RsView;

/// What the new ReplicaSet should be scaled to now, if anything.
pub fn new_rs_target(p: &Params, all: &[RsView], new: &RsView) -> Option<i32> {
    if new.replicas == p.replicas {
        return None;
    }
    if new.replicas > p.replicas {
        return Some(p.replicas);
    }
    let target = surge_limited(p, all, new.replicas);
    (target != new.replicas).then_some(target)
}

/// The new ReplicaSet's size now at `new_replicas`, grown within the surge
/// (Kubernetes' `NewRSNewReplicas`). `all` holds every ReplicaSet of the
/// Deployment, the new one included once it exists.
pub fn surge_limited(p: &Params, all: &[RsView], new_replicas: i32) -> i32 {
    let current: i32 = all.iter().map(RsView::footprint).sum();
    let max_total = p.replicas + p.max_surge;
    if current >= max_total {
        return new_replicas;
    }
    let grow = (max_total - current).min(p.replicas - new_replicas).max(0);
    new_replicas + grow
}

/// The new sizes of the old ReplicaSets that shrink in this step: first
/// their unavailable pods, then available ones while more than
/// `replicas - maxUnavailable` remain available (oldest ReplicaSets first).
pub fn old_rs_targets(p: &Params, old: &[RsView], new: Option<&RsView>) -> Vec<(String, i32)> {
    let old_pods: i32 = old.iter().map(|rs| rs.replicas).sum();
    if old_pods == 0 {
        return Vec::new();
    }
    let all_pods = old_pods + new.map_or(0, |n| n.replicas);
    let min_available = p.replicas - p.max_unavailable;
    let new_unavailable = new.map_or(0, |n| (n.replicas - n.effective_available()).max(0));
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return Vec::new();
    }
    let mut order: Vec<&RsView> = old.iter().collect();
    order.sort_by(|a, b| RsView::older(a, b));
    let mut sizes: Vec<i32> = order.iter().map(|rs| rs.replicas).collect();

    // Unavailable pods first: they cost no availability.
    let mut cleaned = 0;
    for (rs, size) in order.iter().zip(sizes.iter_mut()) {
        if cleaned >= max_scaled_down {
            break;
        }
        let unhealthy = *size - rs.available.min(*size);
        let down = unhealthy.min(max_scaled_down - cleaned);
        *size -= down;
        cleaned += down;
    }

    // Then available ones, down to the minimum.
    let available: i32 = order.iter().zip(&sizes).map(|(rs, size)| rs.available.min(*size)).sum::<i32>()
        + new.map_or(0, RsView::effective_available);
    if available > min_available {
        let budget = available - min_available;
        let mut scaled = 0;
        for size in sizes.iter_mut() {
            if scaled >= budget {
                break;
            }
            let down = (*size).min(budget - scaled);
            *size -= down;
            scaled += down;
        }
    }
    order
        .iter()
        .zip(sizes)
        .filter(|(rs, size)| rs.replicas != *size)
        .map(|(rs, size)| (rs.name.clone(), size))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::view::tests::rs;

    fn params(replicas: i32, max_surge: i32, max_unavailable: i32) -> Params {
        Params { replicas, max_surge, max_unavailable }
    }

    #[test]
    fn the_new_replica_set_grows_within_the_surge() {
        // (params, old (replicas, available), new (replicas, active), expected target)
        let cases = [
            ("start: room for the surge only", params(4, 1, 1), (4, 4), (0, 0), Some(1)),
            ("surge in use", params(4, 1, 1), (4, 4), (1, 0), None),
            ("old shrank: grow by what it gave", params(4, 1, 1), (2, 2), (1, 1), Some(3)),
            ("never above replicas", params(4, 2, 0), (0, 0), (3, 3), Some(4)),
            ("too big: shrink to replicas", params(4, 1, 1), (0, 0), (6, 6), Some(4)),
            ("done", params(4, 1, 1), (0, 0), (4, 4), None),
            ("old pods not yet deleted still count", params(4, 1, 1), (2, 4), (1, 1), None),
        ];
        for (case, p, (old_replicas, old_available), (new_replicas, new_active), expected) in cases {
            let old = rs("old", 1, old_replicas, old_available);
            let mut new = rs("new", 2, new_replicas, new_active);
            new.available = 0;
            assert_eq!(new_rs_target(&p, &[old, new.clone()], &new), expected, "{case}");
        }
    }

    #[test]
    fn a_new_replica_set_starts_at_the_surge() {
        let old = [rs("old", 1, 10, 10)];
        assert_eq!(surge_limited(&params(10, 3, 2), &old, 0), 3);
        assert_eq!(surge_limited(&params(10, 0, 2), &old, 0), 0, "no surge: wait for old pods to go");
        assert_eq!(surge_limited(&params(3, 1, 0), &[], 0), 3, "first rollout: all at once");
    }

    #[test]
    fn old_replica_sets_shrink_within_the_unavailable_budget() {
        // (case, params, old [(name, created, replicas, available)], new (replicas, available), expected)
        type Case = (&'static str, Params, Vec<(&'static str, i64, i32, i32)>, (i32, i32), Vec<(&'static str, i32)>);
        let cases: Vec<Case> = vec![
            ("new not ready yet: nothing may go", params(4, 1, 0), vec![("a", 1, 4, 4)], (1, 0), vec![]),
            ("one unavailable allowed", params(4, 1, 1), vec![("a", 1, 4, 4)], (1, 0), vec![("a", 3)]),
            ("new ready: trade one for one", params(4, 1, 0), vec![("a", 1, 4, 4)], (1, 1), vec![("a", 3)]),
            ("unavailable old pods go first", params(4, 0, 1), vec![("a", 1, 4, 2)], (0, 0), vec![("a", 3)]),
            (
                "unhealthy cleanup beyond the availability budget",
                params(4, 2, 1),
                vec![("a", 1, 4, 1)],
                (2, 2),
                vec![("a", 1)],
            ),
            (
                "oldest first",
                params(6, 0, 2),
                vec![("newer", 2, 3, 3), ("oldest", 1, 3, 3)],
                (0, 0),
                vec![("oldest", 1)],
            ),
            ("nothing left to shrink", params(4, 1, 1), vec![("a", 1, 0, 0)], (4, 4), vec![]),
            (
                "a shrinking set's extra pods are not counted available",
                params(4, 1, 1),
                vec![("a", 1, 2, 4)],
                (3, 2),
                vec![("a", 1)],
            ),
        ];
        for (case, p, old, (new_replicas, new_available), expected) in cases {
            let old: Vec<RsView> = old.into_iter().map(|(n, c, r, a)| rs(n, c, r, a)).collect();
            let new = rs("new", 9, new_replicas, new_available);
            let expected: Vec<(String, i32)> = expected.into_iter().map(|(n, s)| (n.to_string(), s)).collect();
            assert_eq!(old_rs_targets(&p, &old, Some(&new)), expected, "{case}");
        }
    }

    /// Step a simulated rollout (every scaled pod becomes available at once)
    /// and check the budgets at every step.
    #[test]
    fn a_whole_rollout_stays_within_both_budgets() {
        for (replicas, surge, unavailable) in [(4, 1, 1), (10, 3, 2), (3, 1, 0), (5, 0, 1), (1, 1, 0)] {
            let p = params(replicas, surge, unavailable);
            let mut old = rs("old", 1, replicas, replicas);
            let mut new = rs("new", 2, 0, 0);
            for step in 0.. {
                assert!(step < 100, "{p:?} does not converge");
                if let Some(target) = new_rs_target(&p, &[old.clone(), new.clone()], &new) {
                    new = rs("new", 2, target, new.available);
                }
                assert!(old.replicas + new.replicas <= replicas + surge, "{p:?}: surge exceeded at step {step}");
                for (_, size) in old_rs_targets(&p, std::slice::from_ref(&old), Some(&new)) {
                    old = rs("old", 1, size, old.available.min(size));
                }
                assert!(old.available + new.available >= replicas - unavailable, "{p:?}: too few at step {step}");
                if new.replicas == replicas && old.replicas == 0 && new.available == replicas {
                    break;
                }
                new.available = new.replicas; // the new pods become ready
                new.active = new.replicas;
            }
        }
    }
}
