//! The scheduling loop: informer events keep the [`Cache`] and the
//! [`Queue`] current; each turn pops pods, decides, assumes, and starts
//! a bounded number of binds that run concurrently in a `JoinSet` owned
//! by the loop (so shutdown ends them too).

use crate::actions;
use crate::cache::Cache;
use crate::placement::{feasible_to_find, place_from};
use crate::profile::Profiles;
use crate::queue::Queue;
use crate::resources::PodRequest;
use capstan_client::informer::{InformerEvent, Store, Subscription};
use capstan_client::Client;
use capstan_proto::core::v1::{Node, Pod};
use capstan_telemetry::OpenTelemetrySpanExt;
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

/// How a bind in flight ended.
enum Outcome {
    Bound(String),
    Failed { key: String, conflict: bool },
    Reported,
}

/// The loop's state; one per leadership term.
pub struct Loop {
    pub client: Client,
    pub profiles: Arc<Profiles>,
    pub pods: Store<Pod>,
    pub max_binds: usize,
    pub cache: Cache,
    pub queue: Queue,
    /// Where the next search for feasible nodes starts.
    pub next_start: usize,
}

fn pod_key(pod: &Pod) -> String {
    let meta = pod.metadata.as_ref();
    format!("{}/{}", meta.map(|m| m.namespace.as_str()).unwrap_or(""), meta.map(|m| m.name.as_str()).unwrap_or(""))
}

fn node_name(pod: &Pod) -> &str {
    pod.spec.as_ref().map(|s| s.node_name.as_str()).unwrap_or("")
}

fn finished(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().map(|s| s.phase.as_str()).unwrap_or("");
    phase == "Succeeded" || phase == "Failed"
}

impl Loop {
    fn on_pod(&mut self, event: InformerEvent<Pod>) {
        let (pod, deleted) = match event {
            InformerEvent::Added(p) | InformerEvent::Resync(p) | InformerEvent::Modified { new: p, .. } => (p, false),
            InformerEvent::Deleted(p) => (p, true),
            InformerEvent::Synced => return,
        };
        let key = pod_key(&pod);
        let node = node_name(&pod);
        if deleted || (finished(&pod) && !node.is_empty()) {
            self.queue.remove(&key);
            if self.cache.is_placed(&key) {
                self.cache.remove_pod(&key);
                self.queue.move_all_to_active();
            }
        } else if !node.is_empty() {
            self.queue.remove(&key);
            self.cache.add_bound(PodRequest::of(&pod), node);
        } else if !self.cache.is_placed(&key) && !finished(&pod) {
            let spec = pod.spec.as_ref();
            if self.profiles.for_pod(spec.map(|s| s.scheduler_name.as_str()).unwrap_or("")).is_some() {
                let priority = spec.and_then(|s| s.priority).unwrap_or(0);
                let created = pod.metadata.as_ref().and_then(|m| m.creation_timestamp).unwrap_or_default();
                self.queue.add(&key, priority, (created.seconds, created.nanos));
            }
        }
    }

    fn on_node(&mut self, event: InformerEvent<Node>) {
        match event {
            InformerEvent::Added(n) | InformerEvent::Modified { new: n, .. } => {
                self.cache.set_node(&n);
                self.queue.move_all_to_active();
            }
            InformerEvent::Resync(n) => self.cache.set_node(&n),
            InformerEvent::Deleted(n) => self.cache.remove_node(n.metadata.as_ref().map_or("", |m| m.name.as_str())),
            InformerEvent::Synced => {}
        }
    }

    /// Decide for one pod; start its bind or its unschedulable report.
    fn schedule_one(&mut self, key: String, tasks: &mut JoinSet<Outcome>) {
        let (ns, name) = key.split_once('/').unwrap_or(("", &key));
        let Some(pod) = self.pods.get(ns, name).filter(|p| node_name(p).is_empty()) else {
            self.queue.remove(&key);
            return;
        };
        let spec = pod.spec.clone().unwrap_or_default();
        let Some(profile) = self.profiles.for_pod(&spec.scheduler_name) else {
            self.queue.remove(&key);
            return;
        };
        let request = PodRequest::of(&pod);
        let span = tracing::info_span!("scheduler.schedule_one", pod = %key, node = tracing::field::Empty);
        let annotations = pod.metadata.as_ref().map(|m| m.annotations.clone()).unwrap_or_default();
        let _ = span.set_parent(capstan_telemetry::extract_from_map(&annotations));
        let client = self.client.clone();
        let nodes = self.cache.nodes();
        let limit = feasible_to_find(nodes.len());
        let (decision, next) = place_from(&spec, &request, &nodes, &profile.weights, self.next_start, limit);
        self.next_start = next;
        match decision {
            Ok(node) => {
                span.record("node", node.as_str());
                self.cache.assume(request, &node);
                tasks.spawn(
                    async move {
                        match actions::bind(&client, &pod, &node).await {
                            Ok(()) => Outcome::Bound(key),
                            Err(error) => {
                                tracing::warn!(%error, "bind failed");
                                let conflict =
                                    matches!(&error, crate::SchedulerError::Api { source, .. } if source.is_conflict());
                                Outcome::Failed { key, conflict }
                            }
                        }
                    }
                    .instrument(span),
                );
            }
            Err(fit) => {
                self.queue.park(&key, Instant::now());
                let message = fit.to_string();
                tracing::info!(parent: &span, pod = %key, %message, "unschedulable");
                tasks.spawn(async move {
                    if let Err(error) = actions::report_unschedulable(&client, &pod, &message).await {
                        tracing::warn!(%error, "reporting an unschedulable pod");
                    }
                    Outcome::Reported
                });
            }
        }
    }

    fn on_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Bound(key) => self.queue.remove(&key),
            Outcome::Failed { key, conflict } => {
                self.cache.forget(&key);
                if conflict {
                    // already bound by someone else: the informer will tell us where
                    self.queue.remove(&key);
                } else {
                    self.queue.retry(&key, Instant::now());
                }
            }
            Outcome::Reported => {}
        }
    }

    /// Run until `shutdown` fires or an informer stops.
    pub async fn run(
        mut self,
        mut pods: Subscription<Pod>,
        mut nodes: Subscription<Node>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut tasks: JoinSet<Outcome> = JoinSet::new();
        loop {
            while tasks.len() < self.max_binds {
                match self.queue.pop(Instant::now()) {
                    Some(key) => self.schedule_one(key, &mut tasks),
                    None => break,
                }
            }
            let due = self.queue.next_due();
            let wake = due.unwrap_or_else(|| Instant::now() + std::time::Duration::from_secs(3600));
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                Some(done) = tasks.join_next(), if !tasks.is_empty() => match done {
                    Ok(outcome) => self.on_outcome(outcome),
                    Err(error) => tracing::warn!(%error, "a bind task ended abnormally"),
                },
                event = nodes.recv() => match event {
                    Some(e) => self.on_node(e),
                    None => break,
                },
                event = pods.recv() => match event {
                    Some(e) => {
                        self.on_pod(e);
                        while let Some(e) = pods.try_recv() {
                            self.on_pod(e);
                        }
                    }
                    None => break,
                },
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
        tasks.shutdown().await;
    }
}
