//! The spans of the controllers' reconciles. A user's write is one trace
//! through the controllers it sets to work: the API server records each
//! write's trace context on the object, a reconcile continues that trace
//! (`capstan_telemetry::follow_object`), and what the reconcile writes (a
//! ReplicaSet, a pod) records the same trace for the next component.
//!
//! The span is made by the worker loop (`capstan_runtime::run_workers_in_spans`)
//! just before a reconcile, from the object as cached. It is the *next step*
//! (a child) of the recorded write while the object is still converging on
//! it, and only linked to it otherwise (a resync, a late event). The
//! per-Service controllers (Endpoints, EndpointSlices) act on pod changes
//! rather than on their own object, so [`Causes`] keeps, per queued key, the
//! contexts of the pods whose change queued it.

use capstan_proto::apps::v1::{Deployment, ReplicaSet};
use capstan_proto::core::v1::Pod;
use capstan_proto::kinds::Resource;
use capstan_telemetry::{Follow, TRACE_CONTEXT_ANNOTATION, TRACE_STATE_ANNOTATION};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use tracing::field::Empty;

/// The service name of the controller-manager's spans.
pub const COMPONENT: &str = "capstan-controller-manager";

/// The span of one reconcile of `key` by `controller`. `object` is the
/// reconciled object as cached (`None` once deleted): its namespace and name
/// become the span's `k8s.*` attributes and its recorded trace is followed
/// as `how` says.
pub(crate) fn reconcile_span<K: Resource>(
    controller: &'static str,
    key: &str,
    object: Option<&K>,
    how: Follow,
) -> tracing::Span {
    let span = tracing::info_span!(
        "reconcile",
        controller,
        key,
        k8s.namespace.name = Empty,
        k8s.deployment.name = Empty,
        k8s.replicaset.name = Empty,
    );
    capstan_telemetry::mark_component(&span, COMPONENT);
    let Some(object) = object else { return span };
    let meta = object.meta();
    span.record("k8s.namespace.name", meta.namespace.as_str());
    match K::INFO.kind {
        "Deployment" => span.record("k8s.deployment.name", meta.name.as_str()),
        "ReplicaSet" => span.record("k8s.replicaset.name", meta.name.as_str()),
        _ => &span,
    };
    capstan_telemetry::follow_object(&span, COMPONENT, &meta.annotations, how);
    span
}

/// Parent while the reconcile acts on the recorded write: a generation the
/// status has not observed (no status at all: just created), or a change of
/// replicas the write started and that is still under way (`settled` false).
/// Link once the object has settled: the reconcile then runs for reasons of
/// its own.
pub(crate) fn follow_for(generation: i64, observed: Option<i64>, settled: bool) -> Follow {
    match observed {
        Some(observed) if observed >= generation && settled => Follow::Link,
        _ => Follow::Parent,
    }
}

/// How a reconcile of `deployment` follows its recorded write: settled once
/// every desired replica is updated and available (or it is paused).
pub(crate) fn follow_deployment(deployment: &Deployment) -> Follow {
    let spec = deployment.spec.clone().unwrap_or_default();
    let desired = spec.replicas.unwrap_or(1);
    let status = deployment.status.as_ref();
    let settled = spec.paused
        || status
            .is_some_and(|s| s.replicas == desired && s.updated_replicas == desired && s.available_replicas == desired);
    follow_for(deployment.meta().generation, status.map(|s| s.observed_generation), settled)
}

/// How a reconcile of `rs` follows its recorded write: settled once it has
/// as many pods as it wants.
pub(crate) fn follow_replica_set(rs: &ReplicaSet) -> Follow {
    let desired = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let status = rs.status.as_ref();
    let settled = status.is_some_and(|s| s.replicas == desired);
    follow_for(rs.meta().generation, status.map(|s| s.observed_generation), settled)
}

/// The recorded trace contexts of the pods whose changes queued each key,
/// taken by the span of the key's next reconcile: a child of that pod's
/// trace when one pod caused it, linked to each when several did.
#[derive(Default)]
pub(crate) struct Causes(Mutex<HashMap<String, BTreeMap<String, Recorded>>>);

/// One pod's trace annotations, as [`capstan_telemetry::follow_object`] reads them.
type Recorded = BTreeMap<String, String>;

impl Causes {
    /// `pod`'s change queued `key`.
    pub(crate) fn add(&self, key: &str, pod: &Pod) {
        let annotations = &pod.meta().annotations;
        let Some(parent) = annotations.get(TRACE_CONTEXT_ANNOTATION) else { return };
        let recorded: Recorded = [TRACE_CONTEXT_ANNOTATION, TRACE_STATE_ANNOTATION]
            .into_iter()
            .filter_map(|k| annotations.get(k).map(|v| (k.to_owned(), v.clone())))
            .collect();
        if let Ok(mut causes) = self.0.lock() {
            causes.entry(key.to_owned()).or_default().insert(parent.clone(), recorded);
        }
    }

    /// The span of a reconcile of `key` by `controller`, following (and
    /// forgetting) what queued it.
    pub(crate) fn reconcile_span(&self, controller: &'static str, key: &str) -> tracing::Span {
        let causes = self.0.lock().ok().and_then(|mut causes| causes.remove(key)).unwrap_or_default();
        let span = reconcile_span::<Pod>(controller, key, None, Follow::Link);
        if let Some((namespace, _)) = key.split_once('/') {
            span.record("k8s.namespace.name", namespace);
        }
        let how = if causes.len() == 1 { Follow::Parent } else { Follow::Link };
        for recorded in causes.values() {
            capstan_telemetry::follow_object(&span, COMPONENT, recorded, how);
        }
        span
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::apps::v1::{DeploymentSpec, DeploymentStatus, ReplicaSetSpec, ReplicaSetStatus};
    use capstan_proto::meta::v1::ObjectMeta;

    fn deployment(generation: i64, replicas: i32, status: Option<(i64, i32, i32, i32)>) -> Deployment {
        Deployment {
            metadata: Some(ObjectMeta { generation, ..Default::default() }),
            spec: Some(DeploymentSpec { replicas: Some(replicas), ..Default::default() }),
            status: status.map(|(observed_generation, replicas, updated_replicas, available_replicas)| {
                DeploymentStatus {
                    observed_generation,
                    replicas,
                    updated_replicas,
                    available_replicas,
                    ..Default::default()
                }
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_reconcile_is_the_next_step_of_a_write_until_the_object_settles() {
        use Follow::{Link, Parent};
        // (generation, replicas, status (observed, replicas, updated, available), expected)
        let table = [
            (1, 2, None, Parent),               // just created
            (2, 2, Some((1, 2, 2, 2)), Parent), // a change not yet observed
            (2, 2, Some((2, 3, 1, 2)), Parent), // observed, the rollout under way
            (2, 2, Some((2, 2, 2, 1)), Parent), // observed, a pod not yet available
            (2, 2, Some((2, 2, 2, 2)), Link),   // settled: a resync
        ];
        for (generation, replicas, status, expected) in table {
            let d = deployment(generation, replicas, status);
            assert_eq!(follow_deployment(&d), expected, "{generation} {replicas} {status:?}");
        }
        let mut paused = deployment(2, 2, Some((2, 0, 0, 0)));
        if let Some(spec) = paused.spec.as_mut() {
            spec.paused = true;
        }
        assert_eq!(follow_deployment(&paused), Link, "a paused Deployment is not converging");

        let rs = |replicas, status: Option<(i64, i32)>| ReplicaSet {
            metadata: Some(ObjectMeta { generation: 1, ..Default::default() }),
            spec: Some(ReplicaSetSpec { replicas: Some(replicas), ..Default::default() }),
            status: status.map(|(observed_generation, replicas)| ReplicaSetStatus {
                observed_generation,
                replicas,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(follow_replica_set(&rs(2, None)), Parent);
        assert_eq!(follow_replica_set(&rs(2, Some((1, 1)))), Parent, "pods still to create");
        assert_eq!(follow_replica_set(&rs(2, Some((1, 2)))), Link);
    }

    #[test]
    fn causes_are_taken_once_and_pods_without_a_record_are_none() {
        let causes = Causes::default();
        let mut pod = Pod::default();
        pod.metadata_mut()
            .annotations
            .insert(TRACE_CONTEXT_ANNOTATION.into(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into());
        causes.add("default/web", &pod);
        causes.add("default/web", &pod);
        causes.add("default/other", &Pod::default());
        let held = |key: &str| causes.0.lock().expect("lock").get(key).map(BTreeMap::len);
        assert_eq!(held("default/web"), Some(1), "one pod's changes are one cause");
        assert_eq!(held("default/other"), None, "a pod without a record is no cause");
        let _span = causes.reconcile_span("endpoints", "default/web");
        assert_eq!(held("default/web"), None, "a reconcile takes its causes");
    }
}
