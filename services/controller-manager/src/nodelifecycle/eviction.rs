//! Taint-based eviction (Kubernetes' taint manager), as pure decisions: when
//! a pod must leave its node, and how a pod on a silent node is marked.
//!
//! A pod on a node with a `NoExecute` taint it does not tolerate goes at
//! once; one that tolerates every such taint stays until the shortest
//! `tolerationSeconds` among the tolerations it uses has run out, counted
//! from the taint's `timeAdded` (or from when the controller first saw a
//! taint that carries none); a toleration without seconds is forever.

use super::taints::NO_EXECUTE;
use capstan_proto::core::v1::{PodCondition, Taint, Toleration};
use capstan_proto::meta::v1::Time;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What to do with a pod on a tainted node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eviction {
    /// It tolerates every `NoExecute` taint for good (or there is none).
    Never,
    /// Delete it now.
    Now,
    /// Delete it at this time unless the taints go first.
    At(SystemTime),
}

pub fn system_time(time: Time) -> SystemTime {
    let seconds = u64::try_from(time.seconds).unwrap_or(0);
    let nanos = u32::try_from(time.nanos).unwrap_or(0).min(999_999_999);
    UNIX_EPOCH + Duration::new(seconds, nanos)
}

/// The eviction of a pod with `tolerations` on a node with `taints`, where
/// `since[i]` is when `taints[i]` was put on the node.
pub fn decide(taints: &[Taint], since: &[SystemTime], tolerations: &[Toleration], now: SystemTime) -> Eviction {
    let mut deadline: Option<SystemTime> = None;
    for (taint, added) in taints.iter().zip(since).filter(|(t, _)| t.effect == NO_EXECUTE) {
        let mut used = tolerations.iter().filter(|t| t.tolerates(taint)).peekable();
        if used.peek().is_none() {
            return Eviction::Now;
        }
        // the shortest tolerationSeconds of the tolerations this taint uses; none = forever
        let Some(seconds) = used.filter_map(|t| t.toleration_seconds).min() else { continue };
        let at = *added + Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
        deadline = Some(deadline.map_or(at, |d| d.min(at)));
    }
    match deadline {
        None => Eviction::Never,
        Some(at) if at <= now => Eviction::Now,
        Some(at) => Eviction::At(at),
    }
}

/// When each node's taints that carry no `timeAdded` were first seen.
#[derive(Debug, Default)]
pub struct Sightings {
    seen: HashMap<String, Vec<(Taint, SystemTime)>>,
}

impl Sightings {
    /// When each of `node`'s `taints` was added: its `timeAdded`, or when
    /// this controller first saw it. Forgets taints the node no longer has.
    pub fn since(&mut self, node: &str, taints: &[Taint], now: SystemTime) -> Vec<SystemTime> {
        let untimed: Vec<&Taint> = taints.iter().filter(|t| t.time_added.is_none()).collect();
        if untimed.is_empty() {
            self.seen.remove(node);
            return taints.iter().map(|t| t.time_added.map(system_time).unwrap_or(now)).collect();
        }
        let seen = self.seen.entry(node.to_string()).or_default();
        seen.retain(|(t, _)| untimed.contains(&t));
        taints
            .iter()
            .map(|taint| match taint.time_added {
                Some(added) => system_time(added),
                None => match seen.iter().find(|(t, _)| t == taint) {
                    Some((_, first)) => *first,
                    None => {
                        seen.push((taint.clone(), now));
                        now
                    }
                },
            })
            .collect()
    }

    pub fn forget(&mut self, node: &str) {
        self.seen.remove(node);
    }
}

/// The pod's conditions with `Ready` turned `False`, as Kubernetes marks the
/// pods of a node whose kubelet went silent (nobody else will say they are
/// not serving). `None` when already so, or when the pod has no Ready
/// condition to turn.
pub fn not_ready_conditions(conditions: &[PodCondition], now: Time) -> Option<Vec<PodCondition>> {
    let ready = conditions.iter().position(|c| c.r#type == "Ready" && c.status != "False")?;
    let mut next = conditions.to_vec();
    next[ready].status = "False".into();
    next[ready].last_transition_time = Some(now);
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::super::taints::{NOT_READY_TAINT, UNREACHABLE_TAINT};
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn taint(key: &str, effect: &str) -> Taint {
        Taint { key: key.into(), value: String::new(), effect: effect.into(), time_added: None }
    }

    fn tolerate(key: &str, seconds: Option<i64>) -> Toleration {
        Toleration {
            key: key.into(),
            operator: "Exists".into(),
            value: String::new(),
            effect: NO_EXECUTE.into(),
            toleration_seconds: seconds,
        }
    }

    #[test]
    fn which_pods_go_and_when() {
        let unreachable = taint(UNREACHABLE_TAINT, NO_EXECUTE);
        let not_ready = taint(NOT_READY_TAINT, NO_EXECUTE);
        let no_schedule = taint("dedicated", "NoSchedule");
        let default_tolerations = vec![tolerate(NOT_READY_TAINT, Some(300)), tolerate(UNREACHABLE_TAINT, Some(300))];
        /// (what, taints with the second they were added, tolerations, now, expected)
        type Case = (&'static str, Vec<(Taint, u64)>, Vec<Toleration>, u64, Eviction);
        let cases: Vec<Case> = vec![
            ("no taints", vec![], vec![], 100, Eviction::Never),
            ("only NoSchedule", vec![(no_schedule.clone(), 0)], vec![], 100, Eviction::Never),
            ("untolerated NoExecute goes at once", vec![(unreachable.clone(), 100)], vec![], 100, Eviction::Now),
            (
                "tolerated for 300s",
                vec![(unreachable.clone(), 100)],
                default_tolerations.clone(),
                150,
                Eviction::At(at(400)),
            ),
            ("toleration ran out", vec![(unreachable.clone(), 100)], default_tolerations.clone(), 400, Eviction::Now),
            (
                "own short toleration",
                vec![(unreachable.clone(), 100)],
                vec![tolerate(UNREACHABLE_TAINT, Some(2))],
                101,
                Eviction::At(at(102)),
            ),
            (
                "forever",
                vec![(unreachable.clone(), 100)],
                vec![tolerate(UNREACHABLE_TAINT, None)],
                10_000,
                Eviction::Never,
            ),
            (
                "the shortest matching toleration wins",
                vec![(unreachable.clone(), 100)],
                vec![tolerate(UNREACHABLE_TAINT, None), tolerate("", Some(30))],
                101,
                Eviction::At(at(130)),
            ),
            (
                "zero seconds is now",
                vec![(unreachable.clone(), 100)],
                vec![tolerate(UNREACHABLE_TAINT, Some(0))],
                100,
                Eviction::Now,
            ),
            (
                "one untolerated taint among tolerated ones",
                vec![(unreachable.clone(), 100), (not_ready.clone(), 100)],
                vec![tolerate(UNREACHABLE_TAINT, None)],
                100,
                Eviction::Now,
            ),
            (
                "the earliest deadline over taints",
                vec![(unreachable.clone(), 100), (not_ready.clone(), 50)],
                default_tolerations.clone(),
                120,
                Eviction::At(at(350)),
            ),
            ("tolerate everything", vec![(unreachable.clone(), 100)], vec![tolerate("", None)], 100, Eviction::Never),
        ];
        for (what, taints, tolerations, now, want) in cases {
            let since: Vec<SystemTime> = taints.iter().map(|(_, s)| at(*s)).collect();
            let taints: Vec<Taint> = taints.into_iter().map(|(t, _)| t).collect();
            assert_eq!(decide(&taints, &since, &tolerations, at(now)), want, "{what}");
        }
    }

    #[test]
    fn untimed_taints_count_from_first_sight() {
        let mut sightings = Sightings::default();
        let timed = Taint { time_added: Some(Time { seconds: 7, nanos: 0 }), ..taint(UNREACHABLE_TAINT, NO_EXECUTE) };
        let untimed = taint("custom", NO_EXECUTE);
        let both = [timed.clone(), untimed.clone()];
        assert_eq!(sightings.since("n1", &both, at(10)), vec![at(7), at(10)]);
        assert_eq!(sightings.since("n1", &both, at(20)), vec![at(7), at(10)], "first sight is kept");
        assert_eq!(sightings.since("n1", std::slice::from_ref(&timed), at(30)), vec![at(7)]);
        assert_eq!(sightings.since("n1", &both, at(40)), vec![at(7), at(40)], "removed and re-added starts again");
        sightings.forget("n1");
        assert_eq!(sightings.since("n1", &both, at(50)), vec![at(7), at(50)]);
    }

    #[test]
    fn pods_on_a_silent_node_are_marked_not_ready() {
        let condition = |kind: &str, status: &str| PodCondition {
            r#type: kind.into(),
            status: status.into(),
            last_transition_time: Some(Time { seconds: 1, nanos: 0 }),
            ..Default::default()
        };
        let now = Time { seconds: 9, nanos: 0 };
        let ready = vec![condition("PodScheduled", "True"), condition("Ready", "True")];
        let marked = not_ready_conditions(&ready, now).expect("changes");
        assert_eq!(marked[1].status, "False");
        assert_eq!(marked[1].last_transition_time, Some(now));
        assert_eq!(marked[0], ready[0], "other conditions untouched");
        assert_eq!(not_ready_conditions(&marked, now), None, "already not ready");
        assert_eq!(not_ready_conditions(&[condition("PodScheduled", "True")], now), None, "no Ready condition");
    }
}
