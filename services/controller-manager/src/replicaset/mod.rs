//! The ReplicaSet controller: keeps `spec.replicas` active pods matching
//! each ReplicaSet's selector, as Kubernetes' ReplicaSet controller does.
//!
//! Events only queue keys: a pod event queues its controlling ReplicaSet
//! (or, for an orphan, every ReplicaSet whose selector matches it), and
//! also counts down that ReplicaSet's [`expectations`]. A reconcile
//! (`sync`) claims pods ([`claim`]), creates or deletes the difference
//! ([`manage`]; creates in [`slow_start`] batches, deletes in [`rank`]
//! order) unless its earlier writes are still unseen, and writes the
//! [`status`] when it changed.
//!
//! # Layout
//! - Pure: [`pods`] (active, ready, available), [`rank`], [`status`],
//!   [`claim::claim`], [`expectations`], [`slow_start`].
//! - Writes: [`claim::claim_all`], [`manage`], `sync`.

pub mod claim;
pub mod expectations;
pub mod manage;
pub mod pods;
pub mod rank;
pub mod slow_start;
pub mod status;
mod sync;

use crate::context::Context;
use crate::error::ControllerError;
use crate::ownership::controller_of;
use crate::trace;
use capstan_proto::apps::v1::ReplicaSet;
use capstan_proto::core::v1::Pod;
use capstan_proto::kinds::Resource;
use capstan_runtime::informer::InformerEvent;
use capstan_runtime::EventRecorder;
use capstan_runtime::{run_workers_in_spans, WorkQueue};
use capstan_selectors::LabelSelector;
use capstan_telemetry::Follow;
use expectations::Expectations;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The name Events and metrics know this controller by.
pub const COMPONENT: &str = "replicaset-controller";

/// What every reconcile of this controller shares.
pub(crate) struct Controller {
    ctx: Arc<Context>,
    expectations: Expectations,
    recorder: EventRecorder,
}

/// Run the controller until `stop`.
pub async fn run(ctx: Arc<Context>, stop: CancellationToken) {
    let controller = Arc::new(Controller {
        recorder: ctx.recorder(COMPONENT),
        expectations: Expectations::default(),
        ctx: ctx.clone(),
    });
    let queue = WorkQueue::<String>::new();
    let feed = feed(controller.clone(), queue.clone(), stop.clone());
    let span_of = {
        let ctx = ctx.clone();
        move |key: &String| {
            let cached =
                split_key(key).ok().and_then(|(namespace, name)| ctx.replica_sets.store().get(namespace, name));
            let how = cached.as_deref().map_or(Follow::Link, trace::follow_replica_set);
            trace::reconcile_span("replicaset", key, cached.as_deref(), how)
        }
    };
    let workers = run_workers_in_spans(ctx.workers("replicaset"), queue, stop, span_of, move |key: String| {
        let controller = controller.clone();
        async move { sync::reconcile(&controller, &key).await }
    });
    tokio::join!(feed, workers);
}

/// `namespace/name`, the queue's key for an object.
pub fn key_of(meta: &capstan_proto::meta::v1::ObjectMeta) -> String {
    format!("{}/{}", meta.namespace, meta.name)
}

/// Split a queue key into namespace and name.
pub fn split_key(key: &str) -> Result<(&str, &str), ControllerError> {
    key.split_once('/').ok_or_else(|| ControllerError::Invalid(format!("queue key {key:?} is not namespace/name")))
}

/// The selector of a workload; `None` (after logging) when it is missing,
/// empty or unparsable: such an object must not claim every pod.
pub fn selector_of<K: Resource>(
    object: &K,
    selector: Option<&capstan_proto::meta::v1::LabelSelector>,
) -> Option<LabelSelector> {
    let meta = object.meta();
    match selector.map(LabelSelector::from_proto) {
        Some(Ok(s)) if !s.is_empty() => Some(s),
        Some(Err(error)) => {
            tracing::warn!(kind = K::INFO.kind, namespace = %meta.namespace, name = %meta.name, %error, "invalid selector");
            None
        }
        _ => {
            tracing::warn!(kind = K::INFO.kind, namespace = %meta.namespace, name = %meta.name, "no selector: selects nothing");
            None
        }
    }
}

/// Turn informer events into queued keys until `stop` or the informers end.
async fn feed(controller: Arc<Controller>, queue: WorkQueue<String>, stop: CancellationToken) {
    let mut replica_sets = controller.ctx.replica_sets.subscribe();
    let mut pods = controller.ctx.pods.subscribe();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            event = replica_sets.recv() => match event {
                None => return,
                Some(event) => {
                    if let Some(rs) = event.object() {
                        queue.add(key_of(rs.meta()));
                    }
                }
            },
            event = pods.recv() => match event {
                None => return,
                Some(event) => controller.pod_event(&queue, event),
            },
        }
    }
}

impl Controller {
    /// The key of the cached ReplicaSet controlling `pod`.
    fn resolve(&self, pod: &Pod) -> Option<String> {
        claim::controller_in(&self.ctx.replica_sets.store(), pod.meta()).map(|rs| key_of(rs.meta()))
    }

    /// Keys of the ReplicaSets whose selector matches an orphan `pod`.
    fn matching(&self, pod: &Pod) -> Vec<String> {
        claim::matching_owners(&self.ctx.replica_sets.store(), pod.meta(), |rs: &ReplicaSet| {
            rs.spec.as_ref().and_then(|s| s.selector.as_ref())
        })
    }

    /// A pod is gone or going: count it against its ReplicaSet's expected
    /// deletions and queue that ReplicaSet.
    fn pod_deleted(&self, queue: &WorkQueue<String>, pod: &Pod) {
        if let Some(key) = self.resolve(pod) {
            self.expectations.deletion_observed(&key, &key_of(pod.meta()));
            queue.add(key);
        }
    }

    fn pod_event(&self, queue: &WorkQueue<String>, event: InformerEvent<Pod>) {
        match event {
            InformerEvent::Added(pod) => {
                if pods::is_terminating(&pod) {
                    // seen for the first time already going (e.g. after a relist)
                    return self.pod_deleted(queue, &pod);
                }
                match self.resolve(&pod) {
                    Some(key) => {
                        self.expectations.creation_observed(&key);
                        queue.add(key);
                    }
                    None if controller_of(pod.meta()).is_none() => {
                        self.matching(&pod).into_iter().for_each(|k| queue.add(k));
                    }
                    None => {}
                }
            }
            InformerEvent::Modified { old, new } => self.pod_modified(queue, &old, &new),
            InformerEvent::Deleted(pod) => self.pod_deleted(queue, &pod),
            InformerEvent::Resync(_) | InformerEvent::Synced => {}
        }
    }

    fn pod_modified(&self, queue: &WorkQueue<String>, old: &Pod, new: &Pod) {
        let (old_meta, new_meta) = (old.meta(), new.meta());
        let labels_changed = old_meta.labels != new_meta.labels;
        if pods::is_terminating(new) {
            // a graceful deletion starts: the ReplicaSet may replace the pod now
            if !pods::is_terminating(old) {
                self.pod_deleted(queue, new);
                if labels_changed {
                    self.pod_deleted(queue, old);
                }
            }
            return;
        }
        let controller_changed = controller_of(old_meta) != controller_of(new_meta);
        if controller_changed {
            if let Some(key) = self.resolve(old) {
                queue.add(key);
            }
        }
        match self.resolve(new) {
            Some(key) => queue.add(key),
            None if controller_of(new_meta).is_none() && (labels_changed || controller_changed) => {
                self.matching(new).into_iter().for_each(|k| queue.add(k));
            }
            None => {}
        }
    }
}
