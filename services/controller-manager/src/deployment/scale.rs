//! Scaling a Deployment without rolling it out (Kubernetes' `scale`): when
//! `spec.replicas` changes — also while paused or mid-rollout — the change
//! is shared among the active ReplicaSets in proportion to their sizes, so
//! a rollout in progress keeps its shape instead of starting over.

use super::fenceposts::Params;
use super::view::RsView;

/// True when an active ReplicaSet was last sized for a different
/// `spec.replicas` than the Deployment's now (its `desired-replicas`).
pub fn is_scaling_event(replicas: i32, all: &[&RsView]) -> bool {
    all.iter().filter(|rs| rs.replicas > 0).any(|rs| rs.desired_annotation.is_some_and(|d| d != replicas))
}

/// The ReplicaSet that alone should carry all replicas: the only active
/// one, or with none active the new one (else the newest old one).
fn active_or_latest<'a>(new: Option<&'a RsView>, old: &'a [RsView]) -> Option<&'a RsView> {
    let active: Vec<&RsView> = old.iter().chain(new).filter(|rs| rs.replicas > 0).collect();
    match active.len() {
        0 => new.or_else(|| old.iter().max_by(|a, b| RsView::older(a, b))),
        1 => active.first().copied(),
        _ => None,
    }
}

/// The new ReplicaSet has all replicas and they are all available.
fn is_saturated(replicas: i32, new: Option<&RsView>) -> bool {
    new.is_some_and(|rs| rs.replicas == replicas && rs.desired_annotation == Some(replicas) && rs.available == replicas)
}

/// The sizes the active ReplicaSets should have for `p.replicas`, for every
/// ReplicaSet whose size or replicas annotations need writing.
/// `status_replicas` stands in for a missing `max-replicas` annotation.
pub fn targets(
    p: &Params,
    rolling: bool,
    new: Option<&RsView>,
    old: &[RsView],
    status_replicas: i32,
) -> Vec<(String, i32)> {
    if let Some(rs) = active_or_latest(new, old) {
        return vec![(rs.name.clone(), p.replicas)];
    }
    if is_saturated(p.replicas, new) {
        return old.iter().filter(|rs| rs.replicas > 0).map(|rs| (rs.name.clone(), 0)).collect();
    }
    if !rolling {
        return Vec::new();
    }
    let mut active: Vec<&RsView> = old.iter().chain(new).filter(|rs| rs.replicas > 0).collect();
    let current: i32 = active.iter().map(|rs| rs.replicas).sum();
    let allowed = if p.replicas > 0 { p.replicas + p.max_surge } else { 0 };
    let to_add = allowed - current;
    // the largest take (or give) first; ties to the newest when growing, the oldest when shrinking
    active.sort_by(|a, b| {
        b.replicas.cmp(&a.replicas).then_with(|| if to_add > 0 { RsView::older(b, a) } else { RsView::older(a, b) })
    });
    let mut added = 0;
    let mut sizes: Vec<i32> = active
        .iter()
        .map(|rs| {
            let share = proportion(rs, p, to_add, added, status_replicas);
            added += share;
            rs.replicas + share
        })
        .collect();
    // rounding leftovers go to the largest
    if let Some(first) = sizes.first_mut() {
        *first = (*first + to_add - added).max(0);
    }
    active.iter().zip(sizes).map(|(rs, size)| (rs.name.clone(), size)).collect()
}

/// The part of `to_add` (negative: to remove) that `rs` takes, with `added`
/// already handed out (Kubernetes' `GetProportion`).
fn proportion(rs: &RsView, p: &Params, to_add: i32, added: i32, status_replicas: i32) -> i32 {
    if rs.replicas == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = fraction(rs, p, status_replicas);
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// How many replicas `rs` gains (or loses) to keep its share of the
/// Deployment when its ceiling moves from `max-replicas` to the new one.
fn fraction(rs: &RsView, p: &Params, status_replicas: i32) -> i32 {
    if p.replicas == 0 {
        return -rs.replicas;
    }
    let ceiling = p.replicas + p.max_surge;
    let previous = rs.max_annotation.unwrap_or(status_replicas);
    if previous <= 0 {
        return 0;
    }
    let size = f64::from(rs.replicas) * f64::from(ceiling) / f64::from(previous);
    size.round() as i32 - rs.replicas
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::view::tests::rs;

    fn sized(name: &str, created: i64, replicas: i32, desired: i32, max: i32) -> RsView {
        RsView { desired_annotation: Some(desired), max_annotation: Some(max), ..rs(name, created, replicas, replicas) }
    }

    fn params(replicas: i32, max_surge: i32, max_unavailable: i32) -> Params {
        Params { replicas, max_surge, max_unavailable }
    }

    /// Sorted by name, with `&str` names, for comparing.
    fn named(v: Vec<(String, i32)>) -> Vec<(String, i32)> {
        let mut v = v;
        v.sort();
        v
    }

    fn pairs(v: &[(&str, i32)]) -> Vec<(String, i32)> {
        v.iter().map(|(n, s)| (n.to_string(), *s)).collect()
    }

    #[test]
    fn a_replica_set_sized_for_other_replicas_is_a_scaling_event() {
        let a = sized("a", 1, 3, 3, 4);
        let idle = RsView { replicas: 0, ..sized("b", 1, 0, 7, 8) };
        assert!(!is_scaling_event(3, &[&a, &idle]), "inactive sets don't count");
        assert!(is_scaling_event(10, &[&a]));
        assert!(!is_scaling_event(10, &[&rs("c", 1, 3, 3)]), "no annotation, no event");
    }

    #[test]
    fn one_active_replica_set_takes_everything() {
        let old = [sized("old", 1, 3, 3, 4)];
        assert_eq!(targets(&params(10, 3, 2), true, None, &old, 3), vec![("old".to_string(), 10)]);
        let new = sized("new", 2, 0, 3, 4);
        let idle_old = [RsView { replicas: 0, ..sized("old", 1, 0, 3, 4) }];
        assert_eq!(
            targets(&params(5, 1, 1), true, Some(&new), &idle_old, 0),
            vec![("new".to_string(), 5)],
            "none active: the new one"
        );
    }

    #[test]
    fn a_saturated_new_replica_set_retires_the_old_ones() {
        let new = sized("new", 2, 4, 4, 5);
        let old = [sized("old", 1, 1, 4, 5)];
        assert_eq!(targets(&params(4, 1, 1), true, Some(&new), &old, 5), vec![("old".to_string(), 0)]);
    }

    #[test]
    fn mid_rollout_scaling_is_proportional() {
        // 10 replicas, surge 3: old 8 + new 5 = 13 at the ceiling; scale to 20 (surge 5): ceiling 25
        let old = [sized("old", 1, 8, 10, 13)];
        let new = sized("new", 2, 5, 10, 13);
        let got = named(targets(&params(20, 5, 5), true, Some(&new), &old, 13));
        assert_eq!(got, pairs(&[("new", 10), ("old", 15)]), "8*25/13 = 15.4 -> 15, 5*25/13 = 9.6 -> 10");
        // and back down to 10: ceiling 13 again
        let old = [sized("old", 1, 15, 20, 25)];
        let new = sized("new", 2, 10, 20, 25);
        assert_eq!(named(targets(&params(10, 3, 2), true, Some(&new), &old, 25)), pairs(&[("new", 5), ("old", 8)]));
    }

    #[test]
    fn leftovers_go_to_the_largest_and_zero_empties_all() {
        let old = [sized("old", 1, 1, 3, 4)];
        let new = sized("new", 2, 2, 3, 4);
        // 3 active, ceiling 4 -> 9 (replicas 7, surge 2): 1*9/4 = 2.25 -> +1, 2*9/4 = 4.5 -> +3 (4.5 rounds away), leftover 2 to the largest
        assert_eq!(named(targets(&params(7, 2, 1), true, Some(&new), &old, 4)), pairs(&[("new", 7), ("old", 2)]));
        assert_eq!(named(targets(&params(0, 0, 0), true, Some(&new), &old, 4)), pairs(&[("new", 0), ("old", 0)]));
    }

    #[test]
    fn recreate_does_not_share() {
        let old = [sized("old", 1, 2, 3, 3)];
        let new = sized("new", 2, 1, 3, 3);
        assert!(targets(&params(6, 0, 0), false, Some(&new), &old, 3).is_empty());
    }
}
