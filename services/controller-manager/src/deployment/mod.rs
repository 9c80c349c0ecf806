//! The Deployment controller: rolls a Deployment's pod template out
//! through ReplicaSets, as Kubernetes' Deployment controller does.
//!
//! Each template version gets a ReplicaSet named `<deployment>-<hash>`
//! ([`hash`]); RollingUpdate shifts replicas from old ReplicaSets to the
//! new one within `maxSurge`/`maxUnavailable` ([`fenceposts`],
//! [`rolling`]), Recreate empties the old ones before the new one starts.
//! Changing `spec.replicas` rescales without a rollout ([`scale`]). The
//! status and the `Progressing`/`Available` conditions report the rollout
//! ([`status`], [`conditions`]); revisions live in annotations
//! ([`revision`]), and old ReplicaSets beyond `revisionHistoryLimit` go
//! ([`history`]). A rollback (`capstan rollout undo`) copies an old
//! template back into the Deployment, whose ReplicaSet is then reused with
//! a new revision.
//!
//! Events queue the Deployment's key: its own, its ReplicaSets' (or, for
//! an orphan ReplicaSet, every Deployment whose selector matches it) and
//! its pods' (through their ReplicaSet). A reconcile (`sync`) reads the
//! caches, decides with the pure modules and writes.
//!
//! # Layout
//! - Pure: [`view`] (a ReplicaSet and its pods as numbers), [`fenceposts`],
//!   [`rolling`], [`scale`], [`hash`], [`revision`], [`conditions`],
//!   [`status`], [`history`].
//! - Writes: `sync` (one reconcile), `rollout` (creating and
//!   scaling ReplicaSets, writing the Deployment).

pub mod conditions;
pub mod fenceposts;
pub mod hash;
pub mod history;
pub mod revision;
pub mod rolling;
mod rollout;
pub mod scale;
pub mod status;
mod sync;
pub mod view;

use crate::context::Context;
use crate::ownership::controller_of;
use crate::replicaset::{claim, key_of, split_key};
use crate::trace;
use capstan_proto::apps::v1::{Deployment, ReplicaSet};
use capstan_proto::core::v1::Pod;
use capstan_proto::kinds::Resource;
use capstan_runtime::informer::InformerEvent;
use capstan_runtime::EventRecorder;
use capstan_runtime::{run_workers_in_spans, WorkQueue};
use capstan_telemetry::Follow;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The name Events know this controller by.
pub const COMPONENT: &str = "deployment-controller";

/// What every reconcile of this controller shares.
pub(crate) struct Controller {
    ctx: Arc<Context>,
    recorder: EventRecorder,
}

/// Run the controller until `stop`.
pub async fn run(ctx: Arc<Context>, stop: CancellationToken) {
    let controller = Arc::new(Controller { recorder: ctx.recorder(COMPONENT), ctx: ctx.clone() });
    let queue = WorkQueue::<String>::new();
    let feed = feed(controller.clone(), queue.clone(), stop.clone());
    let span_of = {
        let ctx = ctx.clone();
        move |key: &String| {
            let cached = split_key(key).ok().and_then(|(namespace, name)| ctx.deployments.store().get(namespace, name));
            let how = cached.as_deref().map_or(Follow::Link, trace::follow_deployment);
            trace::reconcile_span("deployment", key, cached.as_deref(), how)
        }
    };
    let workers = run_workers_in_spans(ctx.workers("deployment"), queue, stop, span_of, move |key: String| {
        let controller = controller.clone();
        async move { sync::reconcile(&controller, &key).await }
    });
    tokio::join!(feed, workers);
}

/// Turn informer events into queued keys until `stop` or the informers end.
async fn feed(controller: Arc<Controller>, queue: WorkQueue<String>, stop: CancellationToken) {
    let mut deployments = controller.ctx.deployments.subscribe();
    let mut replica_sets = controller.ctx.replica_sets.subscribe();
    let mut pods = controller.ctx.pods.subscribe();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            event = deployments.recv() => match event {
                None => return,
                Some(event) => {
                    if let Some(d) = event.object() {
                        queue.add(key_of(d.meta()));
                    }
                }
            },
            event = replica_sets.recv() => match event {
                None => return,
                Some(event) => controller.replica_set_event(&queue, event),
            },
            event = pods.recv() => match event {
                None => return,
                Some(event) => controller.pod_event(&queue, event),
            },
        }
    }
}

impl Controller {
    /// The key of the cached Deployment controlling `rs`.
    fn owner_of(&self, rs: &ReplicaSet) -> Option<String> {
        claim::controller_in(&self.ctx.deployments.store(), rs.meta()).map(|d| key_of(d.meta()))
    }

    /// Keys of the Deployments whose selector matches an orphan `rs`.
    fn matching(&self, rs: &ReplicaSet) -> Vec<String> {
        claim::matching_owners(&self.ctx.deployments.store(), rs.meta(), |d: &Deployment| {
            d.spec.as_ref().and_then(|s| s.selector.as_ref())
        })
    }

    fn queue_for(&self, queue: &WorkQueue<String>, rs: &ReplicaSet, orphan_too: bool) {
        match self.owner_of(rs) {
            Some(key) => queue.add(key),
            None if orphan_too && controller_of(rs.meta()).is_none() => {
                self.matching(rs).into_iter().for_each(|k| queue.add(k))
            }
            None => {}
        }
    }

    fn replica_set_event(&self, queue: &WorkQueue<String>, event: InformerEvent<ReplicaSet>) {
        match event {
            InformerEvent::Added(rs) | InformerEvent::Deleted(rs) => self.queue_for(queue, &rs, true),
            InformerEvent::Modified { old, new } => {
                let controller_changed = controller_of(old.meta()) != controller_of(new.meta());
                if controller_changed {
                    self.queue_for(queue, &old, false);
                }
                let labels_changed = old.meta().labels != new.meta().labels;
                self.queue_for(queue, &new, controller_changed || labels_changed);
            }
            InformerEvent::Resync(_) | InformerEvent::Synced => {}
        }
    }

    /// A pod changed: its ReplicaSet's Deployment may have progressed (and
    /// a pod moving between ReplicaSets concerns both).
    fn pod_event(&self, queue: &WorkQueue<String>, event: InformerEvent<Pod>) {
        match event {
            InformerEvent::Added(pod) | InformerEvent::Deleted(pod) => self.queue_for_pod(queue, &pod),
            InformerEvent::Modified { old, new } => {
                if controller_of(old.meta()) != controller_of(new.meta()) {
                    self.queue_for_pod(queue, &old);
                }
                self.queue_for_pod(queue, &new);
            }
            InformerEvent::Resync(_) | InformerEvent::Synced => {}
        }
    }

    fn queue_for_pod(&self, queue: &WorkQueue<String>, pod: &Pod) {
        if let Some(rs) = claim::controller_in(&self.ctx.replica_sets.store(), pod.meta()) {
            self.queue_for(queue, &rs, false);
        }
    }
}
