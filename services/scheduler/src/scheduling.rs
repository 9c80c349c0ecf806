//! The scheduling loop: informer events keep the [`Cache`] and the
//! [`Queue`] current; each turn pops pods, decides, assumes, and starts
//! a bounded number of binds that run concurrently in a `JoinSet` owned
//! by the loop (so shutdown ends them too). Questions from the gRPC face
//! ([`ExplainCall`]) are answered between two turns, on the same state.

use crate::actions;
use crate::cache::Cache;
use crate::explain::explain;
use crate::loop_handle::{ExplainCall, ExplainError, ExplainTarget, PodExplanation};
use crate::metrics::{Attempt, Metrics, ProfileMetrics};
use crate::node_info::NodeInfo;
use crate::placement::{feasible_to_find, place_from};
use crate::profile::Profiles;
use crate::queue::{Queue, FLUSH_LEFTOVERS_EVERY, MAX_UNSCHEDULABLE_WAIT};
use crate::resources::PodRequest;
use capstan_client::Client;
use capstan_proto::core::v1::{Node, Pod, PodSpec};
use capstan_runtime::events::{NORMAL, WARNING};
use capstan_runtime::informer::{InformerEvent, Store, Subscription};
use capstan_runtime::EventRecorder;
use capstan_telemetry::Follow;
use std::sync::Arc;
use std::time::Instant as Clock;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

/// The span of one scheduling attempt: the next step of the write that made
/// the pod (its recorded trace context), so its filter, score and bind, and
/// the kubelet that follows the bind, join the trace of whoever created it.
fn schedule_span(pod: &Pod) -> tracing::Span {
    let meta = pod.metadata.clone().unwrap_or_default();
    let span = tracing::info_span!(
        "scheduler.schedule_one",
        k8s.namespace.name = meta.namespace.as_str(),
        k8s.pod.name = meta.name.as_str(),
        k8s.pod.uid = meta.uid.as_str(),
        k8s.node.name = tracing::field::Empty,
    );
    capstan_telemetry::follow_object(&span, "capstan-scheduler", &meta.annotations, Follow::Parent);
    span
}

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
    pub recorder: EventRecorder,
    pub metrics: Metrics,
    /// Each profile's metric handles, in the order of `profiles`.
    pub profile_metrics: Vec<ProfileMetrics>,
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
        let started = Clock::now();
        let (ns, name) = key.split_once('/').unwrap_or(("", &key));
        let Some(pod) = self.pods.get(ns, name).filter(|p| node_name(p).is_empty()) else {
            self.queue.remove(&key);
            return;
        };
        let no_spec = PodSpec::default();
        let spec = pod.spec.as_ref().unwrap_or(&no_spec);
        let profiles = self.profiles.clone();
        let position = profiles.position_for_pod(&spec.scheduler_name);
        let (Some(profile), Some(profile_metrics)) =
            (position.and_then(|i| profiles.profiles.get(i)), position.and_then(|i| self.profile_metrics.get(i)))
        else {
            self.queue.remove(&key);
            return;
        };
        let mut request = PodRequest::of(&pod);
        self.cache.identify(&mut request);
        let span = schedule_span(&pod);
        let nodes = self.cache.nodes();
        let limit = feasible_to_find(nodes.len());
        let (decision, next) =
            span.in_scope(|| place_from(spec, &request, nodes, &profile.weights, self.next_start, limit));
        self.next_start = next;
        self.metrics.algorithm(started.elapsed());
        let (client, recorder, metrics) = (self.client.clone(), self.recorder.clone(), self.metrics.clone());
        let profile_metrics = profile_metrics.clone();
        match decision {
            Ok(node) => {
                span.record("k8s.node.name", node.as_str());
                self.cache.assume(request, &node);
                tasks.spawn(
                    async move {
                        let binding = Clock::now();
                        let bind = tracing::info_span!("scheduler.bind", k8s.node.name = node.as_str());
                        let bound = actions::bind(&client, &pod, &node).instrument(bind).await;
                        metrics.binding(binding.elapsed());
                        match bound {
                            Ok(()) => {
                                profile_metrics.attempt(Attempt::Scheduled, started.elapsed());
                                let message = actions::scheduled_message(&pod, &node);
                                record_event(&recorder, &metrics, &pod, NORMAL, "Scheduled", &message).await;
                                Outcome::Bound(key)
                            }
                            Err(error) => {
                                profile_metrics.attempt(Attempt::Error, started.elapsed());
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
                profile_metrics.attempt(Attempt::Unschedulable, started.elapsed());
                let message = fit.to_string();
                tracing::info!(parent: &span, pod = %key, %message, "unschedulable");
                tasks.spawn(
                    async move {
                        if let Err(error) = actions::report_unschedulable(&client, &pod, &message).await {
                            tracing::warn!(%error, "reporting an unschedulable pod");
                        }
                        record_event(&recorder, &metrics, &pod, WARNING, "FailedScheduling", &message).await;
                        Outcome::Reported
                    }
                    .instrument(span),
                );
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

    /// Explain a pod against the cache as it is now (a bound pod as if it
    /// were not on its node yet).
    fn explain(&self, target: ExplainTarget) -> Result<PodExplanation, ExplainError> {
        let pod: Arc<Pod> = match target {
            ExplainTarget::Named { namespace, name } => {
                self.pods.get(&namespace, &name).ok_or(ExplainError::NotFound { namespace, name })?
            }
            ExplainTarget::Inline(pod) => Arc::new(*pod),
        };
        let meta = pod.metadata.clone().unwrap_or_default();
        let namespace = if meta.namespace.is_empty() { "default".to_string() } else { meta.namespace };
        let spec = pod.spec.clone().unwrap_or_default();
        let Some(profile) = self.profiles.for_pod(&spec.scheduler_name) else {
            return Err(ExplainError::OtherScheduler {
                namespace,
                name: meta.name,
                scheduler: spec.scheduler_name.clone(),
            });
        };
        let mut request = PodRequest::of(&pod);
        request.namespace = namespace.clone();
        self.cache.identify(&mut request);
        let key = format!("{namespace}/{}", meta.name);
        let own = self.cache.node_without(&key);
        let mut nodes: Vec<&NodeInfo> =
            self.cache.nodes().iter().map(|n| own.as_ref().filter(|o| o.name == n.name).unwrap_or(n)).collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(PodExplanation {
            namespace,
            name: meta.name,
            profile: profile.scheduler_name.clone(),
            bound_node: spec.node_name.clone(),
            explanation: explain(&spec, &request, &nodes, &profile.weights),
        })
    }

    /// Run until `shutdown` fires or an informer stops.
    pub async fn run(
        mut self,
        mut pods: Subscription<Pod>,
        mut nodes: Subscription<Node>,
        mut questions: mpsc::Receiver<ExplainCall>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut tasks: JoinSet<Outcome> = JoinSet::new();
        let mut next_flush = Instant::now() + FLUSH_LEFTOVERS_EVERY;
        loop {
            if Instant::now() >= next_flush {
                self.queue.flush_leftovers(Instant::now(), MAX_UNSCHEDULABLE_WAIT);
                next_flush = Instant::now() + FLUSH_LEFTOVERS_EVERY;
            }
            while tasks.len() < self.max_binds {
                match self.queue.pop(Instant::now()) {
                    Some(key) => self.schedule_one(key, &mut tasks),
                    None => break,
                }
            }
            self.metrics.pending(self.queue.lengths());
            let wake = self.queue.next_due().map_or(next_flush, |due| due.min(next_flush));
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
                Some(call) = questions.recv() => {
                    let _ = call.reply.send(self.explain(call.target));
                },
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
        tasks.shutdown().await;
    }
}

/// Write an Event; a failure is counted and logged, never fatal.
async fn record_event(recorder: &EventRecorder, metrics: &Metrics, pod: &Pod, kind: &str, reason: &str, message: &str) {
    if let Err(error) = recorder.record(pod, kind, reason, message).await {
        metrics.event_error();
        tracing::debug!(%error, reason, "writing an event");
    }
}
