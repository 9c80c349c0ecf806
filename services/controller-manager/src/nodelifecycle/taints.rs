//! The `NoExecute` taints that stand for a node's Ready condition, and
//! toleration matching.
//!
//! Kubernetes taints a node whose kubelet reports `Ready=False` with
//! `node.kubernetes.io/not-ready` and one whose Ready is `Unknown` (the
//! kubelet went silent) with `node.kubernetes.io/unreachable`, both
//! `NoExecute`, so that eviction is one rule: a pod leaves a node with a
//! `NoExecute` taint it does not tolerate. A node that is Ready again loses
//! both. Other taints are never touched.

use capstan_proto::core::v1::Taint;
use capstan_proto::meta::v1::Time;

pub const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
pub const NO_EXECUTE: &str = "NoExecute";

/// Whether `taint` is one this controller manages.
fn is_condition_taint(taint: &Taint) -> bool {
    taint.effect == NO_EXECUTE && (taint.key == NOT_READY_TAINT || taint.key == UNREACHABLE_TAINT)
}

/// The node's taints as its Ready condition (`ready`) calls for, or `None`
/// when they already agree. A taint kept keeps its `timeAdded`; a new one
/// is added at `now`. A node without a Ready condition keeps its taints
/// (it turns Unknown after the grace period).
pub fn desired(current: &[Taint], ready: Option<&str>, now: Time) -> Option<Vec<Taint>> {
    let wanted = match ready? {
        "True" => None,
        "False" => Some(NOT_READY_TAINT),
        "Unknown" => Some(UNREACHABLE_TAINT),
        _ => return None,
    };
    let mut next: Vec<Taint> =
        current.iter().filter(|t| !is_condition_taint(t) || Some(t.key.as_str()) == wanted).cloned().collect();
    if let Some(key) = wanted {
        if !next.iter().any(|t| t.key == key && t.effect == NO_EXECUTE) {
            next.push(Taint {
                key: key.to_string(),
                value: String::new(),
                effect: NO_EXECUTE.to_string(),
                time_added: Some(now),
            });
        }
    }
    (next != current).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, effect: &str, added: i64) -> Taint {
        Taint {
            key: key.into(),
            value: String::new(),
            effect: effect.into(),
            time_added: Some(Time { seconds: added, nanos: 0 }),
        }
    }

    #[test]
    fn taints_follow_the_ready_condition() {
        let now = Time { seconds: 50, nanos: 0 };
        let dedicated = taint("dedicated", "NoSchedule", 1);
        let unreachable = taint(UNREACHABLE_TAINT, NO_EXECUTE, 10);
        let not_ready = taint(NOT_READY_TAINT, NO_EXECUTE, 20);
        let fresh = |key: &str| taint(key, NO_EXECUTE, 50);
        /// (what, current taints, Ready, expected taints or None for "leave them")
        type Case = (&'static str, Vec<Taint>, Option<&'static str>, Option<Vec<Taint>>);
        let cases: Vec<Case> = vec![
            ("ready node, nothing to do", vec![dedicated.clone()], Some("True"), None),
            (
                "unknown adds unreachable",
                vec![dedicated.clone()],
                Some("Unknown"),
                Some(vec![dedicated.clone(), fresh(UNREACHABLE_TAINT)]),
            ),
            ("unknown keeps its timeAdded", vec![unreachable.clone()], Some("Unknown"), None),
            ("false adds not-ready", vec![], Some("False"), Some(vec![fresh(NOT_READY_TAINT)])),
            (
                "unknown replaces not-ready",
                vec![not_ready.clone()],
                Some("Unknown"),
                Some(vec![fresh(UNREACHABLE_TAINT)]),
            ),
            (
                "ready again removes both",
                vec![unreachable.clone(), dedicated.clone(), not_ready.clone()],
                Some("True"),
                Some(vec![dedicated.clone()]),
            ),
            ("no Ready condition: leave", vec![unreachable.clone()], None, None),
            (
                "a NoSchedule taint of the same key is not ours",
                vec![taint(UNREACHABLE_TAINT, "NoSchedule", 1)],
                Some("True"),
                None,
            ),
        ];
        for (what, current, ready, want) in cases {
            assert_eq!(desired(&current, ready, now), want, "{what}");
        }
    }
}
