//! One ReplicaSet of a Deployment as the rollout arithmetic sees it: its
//! size, annotations and the state of its pods.
//!
//! Pod counts come from the shared pod cache rather than the ReplicaSet's
//! status. The status lags the pods (the ReplicaSet controller writes it
//! after its own reconcile), and a lagging `availableReplicas` would let a
//! rollout scale down more than `maxUnavailable` allows; the cache is at
//! least as fresh as any status written from it.

use super::revision;
use crate::replicaset::pods;
use crate::replicaset::status::REPLICA_FAILURE;
use capstan_proto::apps::v1::ReplicaSet;
use capstan_proto::core::v1::Pod;
use capstan_proto::meta::v1::Time;
use std::sync::Arc;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RsView {
    pub name: String,
    pub created: Time,
    pub revision: i64,
    /// `spec.replicas`
    pub replicas: i32,
    pub desired_annotation: Option<i32>,
    pub max_annotation: Option<i32>,
    /// pods that count (not terminating, not finished)
    pub active: i32,
    pub ready: i32,
    /// ready for the Deployment's `minReadySeconds`
    pub available: i32,
    /// pods that may still run, terminating ones included
    pub existing: i32,
    /// the ReplicaSet controller has seen the current spec and reports no pods
    pub emptied: bool,
    pub deleting: bool,
    /// the ReplicaSet's `ReplicaFailure` condition: (reason, message)
    pub failure: Option<(String, String)>,
}

impl RsView {
    /// `rs` with `pods` (those it controls), availability judged with
    /// `min_ready_seconds` at `now`.
    pub fn new(rs: &ReplicaSet, pods: &[Arc<Pod>], min_ready_seconds: i32, now: Time) -> RsView {
        let meta = rs.metadata.clone().unwrap_or_default();
        let status = rs.status.clone().unwrap_or_default();
        let active: Vec<&Arc<Pod>> = pods.iter().filter(|p| pods::is_active(p)).collect();
        let count = |f: &dyn Fn(&Pod) -> bool| active.iter().filter(|p| f(p)).count() as i32;
        RsView {
            name: meta.name.clone(),
            created: meta.creation_timestamp.unwrap_or_default(),
            revision: revision::revision(&meta),
            replicas: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            desired_annotation: revision::desired_replicas(&meta),
            max_annotation: revision::max_replicas(&meta),
            active: active.len() as i32,
            ready: count(&|p| pods::is_ready(p)),
            available: count(&|p| pods::is_available(p, min_ready_seconds, now)),
            existing: pods.iter().filter(|p| !matches!(pods::phase(p), "Succeeded" | "Failed")).count() as i32,
            emptied: status.observed_generation >= meta.generation && status.replicas == 0,
            deleting: meta.deletion_timestamp.is_some(),
            failure: status
                .conditions
                .iter()
                .find(|c| c.r#type == REPLICA_FAILURE && c.status == "True")
                .map(|c| (c.reason.clone(), c.message.clone())),
        }
    }

    /// The available pods that will survive the ReplicaSet reaching its
    /// size: it deletes unavailable pods first, so at most `replicas`.
    pub fn effective_available(&self) -> i32 {
        self.available.min(self.replicas)
    }

    /// Pods the ReplicaSet has or may soon have: its size, or more while it
    /// has yet to delete the excess.
    pub fn footprint(&self) -> i32 {
        self.replicas.max(self.active)
    }

    /// Oldest first, by creation then name (Kubernetes'
    /// `ReplicaSetsByCreationTimestamp`).
    pub fn older(a: &RsView, b: &RsView) -> std::cmp::Ordering {
        (a.created.seconds, a.created.nanos, &a.name).cmp(&(b.created.seconds, b.created.nanos, &b.name))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A view for tests: `replicas` wanted, `available` of them available
    /// (and as many active and ready), created at `created`.
    pub(crate) fn rs(name: &str, created: i64, replicas: i32, available: i32) -> RsView {
        RsView {
            name: name.into(),
            created: Time { seconds: created, nanos: 0 },
            replicas,
            active: available,
            ready: available,
            available,
            existing: available,
            ..Default::default()
        }
    }

    #[test]
    fn effective_availability_and_footprint() {
        let mut shrinking = rs("a", 1, 2, 3);
        assert_eq!(shrinking.effective_available(), 2, "one of three goes");
        assert_eq!(shrinking.footprint(), 3, "until it is gone");
        shrinking.active = 1;
        assert_eq!(shrinking.footprint(), 2);
    }

    #[test]
    fn counts_come_from_pods() {
        use crate::replicaset::pods::tests::pod;
        let set = ReplicaSet {
            metadata: Some(capstan_proto::meta::v1::ObjectMeta {
                name: "web-1".into(),
                generation: 2,
                annotations: [(revision::REVISION.to_string(), "4".to_string())].into_iter().collect(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut terminating = pod("t", "Running", Some(1), "n");
        terminating.metadata.get_or_insert_with(Default::default).deletion_timestamp = Some(Time::default());
        let pods: Vec<Arc<Pod>> = vec![
            Arc::new(pod("a", "Running", Some(1), "n")),
            Arc::new(pod("b", "Running", Some(99), "n")),
            Arc::new(pod("c", "Pending", None, "")),
            Arc::new(pod("d", "Failed", None, "n")),
            Arc::new(terminating),
        ];
        let view = RsView::new(&set, &pods, 10, Time { seconds: 100, nanos: 0 });
        assert_eq!((view.active, view.ready, view.available, view.existing), (3, 2, 1, 4));
        assert_eq!((view.revision, view.replicas), (4, 1));
        assert!(!view.emptied, "status has not caught up with generation 2");
    }
}
