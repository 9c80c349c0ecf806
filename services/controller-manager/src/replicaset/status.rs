//! A ReplicaSet's status, computed from the pods it owns.
//!
//! `replicas` counts active pods (terminating ones no longer count),
//! `fullyLabeledReplicas` those carrying every label of the template,
//! `readyReplicas` the ready ones and `availableReplicas` those ready for
//! `minReadySeconds`. A failed create or delete shows as the
//! `ReplicaFailure` condition until a reconcile manages without error.

use super::pods;
use capstan_proto::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use capstan_proto::core::v1::Pod;
use capstan_proto::meta::v1::Time;
use std::sync::Arc;

pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// Why managing the pods failed, for the `ReplicaFailure` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `FailedCreate` or `FailedDelete`
    pub reason: &'static str,
    pub message: String,
}

/// The status `rs` should have, given its active owned pods and how the
/// last attempt to manage them went (`None`: not attempted or fine).
pub fn compute(rs: &ReplicaSet, owned: &[Arc<Pod>], failure: Option<&Failure>, now: Time) -> ReplicaSetStatus {
    let spec = rs.spec.clone().unwrap_or_default();
    let template_labels = spec.template.as_ref().and_then(|t| t.metadata.as_ref()).map(|m| &m.labels);
    let fully_labeled = |pod: &Pod| {
        let labels = &pod.metadata.as_ref().map(|m| &m.labels);
        template_labels.is_none_or(|want| want.iter().all(|(k, v)| labels.is_some_and(|have| have.get(k) == Some(v))))
    };
    let count = |f: &dyn Fn(&Pod) -> bool| owned.iter().filter(|p| f(p)).count() as i32;
    let old = rs.status.clone().unwrap_or_default();
    ReplicaSetStatus {
        replicas: owned.len() as i32,
        fully_labeled_replicas: count(&fully_labeled),
        ready_replicas: count(&|p| pods::is_ready(p)),
        available_replicas: count(&|p| pods::is_available(p, spec.min_ready_seconds, now)),
        observed_generation: rs.metadata.as_ref().map(|m| m.generation).unwrap_or(0),
        conditions: conditions(old.conditions, failure, now),
    }
}

/// Kubernetes sets `ReplicaFailure` when managing fails and there is none
/// yet, and removes it after a clean reconcile.
fn conditions(
    mut conditions: Vec<ReplicaSetCondition>,
    failure: Option<&Failure>,
    now: Time,
) -> Vec<ReplicaSetCondition> {
    let existing = conditions.iter().any(|c| c.r#type == REPLICA_FAILURE);
    match failure {
        Some(f) if !existing => conditions.push(ReplicaSetCondition {
            r#type: REPLICA_FAILURE.into(),
            status: "True".into(),
            last_transition_time: Some(Time { seconds: now.seconds, nanos: 0 }),
            reason: f.reason.into(),
            message: f.message.clone(),
        }),
        Some(_) => {}
        None => conditions.retain(|c| c.r#type != REPLICA_FAILURE),
    }
    conditions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replicaset::pods::tests::pod;
    use capstan_proto::apps::v1::ReplicaSetSpec;
    use capstan_proto::core::v1::PodTemplateSpec;
    use capstan_proto::meta::v1::ObjectMeta;

    fn rs(min_ready: i32, generation: i64) -> ReplicaSet {
        let labels = [("app".to_string(), "web".to_string()), ("tier".to_string(), "front".to_string())];
        ReplicaSet {
            metadata: Some(ObjectMeta { name: "web".into(), generation, ..Default::default() }),
            spec: Some(ReplicaSetSpec {
                replicas: Some(3),
                min_ready_seconds: min_ready,
                template: Some(PodTemplateSpec {
                    metadata: Some(ObjectMeta { labels: labels.into_iter().collect(), ..Default::default() }),
                    spec: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn labelled(mut p: Pod, labels: &[(&str, &str)]) -> Arc<Pod> {
        p.metadata.get_or_insert_with(Default::default).labels =
            labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Arc::new(p)
    }

    #[test]
    fn counts_each_kind_of_replica() {
        let full = [("app", "web"), ("tier", "front")];
        let owned = vec![
            labelled(pod("a", "Running", Some(100), "n"), &full),
            labelled(pod("b", "Running", Some(108), "n"), &full),
            labelled(pod("c", "Pending", None, ""), &[("app", "web")]),
        ];
        let now = Time { seconds: 110, nanos: 0 };
        let status = compute(&rs(5, 7), &owned, None, now);
        assert_eq!(
            (status.replicas, status.fully_labeled_replicas, status.ready_replicas, status.available_replicas),
            (3, 2, 2, 1),
            "b is ready but not for 5 s yet; c lacks a template label"
        );
        assert_eq!(status.observed_generation, 7);
        assert!(status.conditions.is_empty());
    }

    #[test]
    fn replica_failure_appears_once_and_clears_after_success() {
        let failure = Failure { reason: "FailedCreate", message: "quota".into() };
        let mut set = rs(0, 1);
        let failed = compute(&set, &[], Some(&failure), Time { seconds: 10, nanos: 5 });
        assert_eq!(failed.conditions.len(), 1);
        assert_eq!(failed.conditions[0].reason, "FailedCreate");
        set.status = Some(failed.clone());
        let again = compute(
            &set,
            &[],
            Some(&Failure { reason: "FailedCreate", message: "other".into() }),
            Time { seconds: 99, nanos: 0 },
        );
        assert_eq!(again.conditions, failed.conditions, "kept as first reported");
        set.status = Some(again);
        assert!(compute(&set, &[], None, Time::default()).conditions.is_empty());
    }
}
