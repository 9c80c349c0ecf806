//! The horizontal pod autoscaler: every `hpa_sync_period`, each
//! HorizontalPodAutoscaler reads its target's scale subresource, the CPU
//! (or memory) its pods use from their kubelets, and sets the replica count
//! Kubernetes' HPA would set, through the scale subresource.
//!
//! # Layout
//! - [`replicas`]: one metric's count (tolerance, missing metrics, unready
//!   pods); [`normalize`]: stabilization windows, rate limits, min/max. Both
//!   pure, with each HPA's recent recommendations in a [`normalize::History`].
//! - [`spec`]: the HPA and its pods as plain values, and the status' parts.
//! - [`metrics`]: usage from the kubelets and CPU rates from their counters.
//! - This file: the periodic queueing, the reads and writes, status and Events.
//!
//! Simplification: a pod counts as unready for CPU while its Ready condition
//! is not True (Kubernetes also looks at how recently it became ready).

pub mod metrics;
pub mod normalize;
pub mod replicas;
pub mod spec;

use crate::context::Context;
use crate::error::ControllerError;
use capstan_client::nodes::kubelet_address;
use capstan_client::resource_ref;
use capstan_proto::autoscaling::v1::Scale;
use capstan_proto::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, HorizontalPodAutoscalerStatus,
    MetricStatus,
};
use capstan_proto::core::v1::Pod;
use capstan_proto::kinds::{self, KindInfo, Resource};
use capstan_proto::meta::v1::Time;
use capstan_runtime::events::{NORMAL, WARNING};
use capstan_runtime::informer::InformerEvent;
use capstan_runtime::EventRecorder;
use capstan_runtime::{run_workers, Requeue, WorkQueue};
use capstan_selectors::LabelSelector;
use metrics::{PodUsage, UsageReader};
use normalize::History;
use spec::{set_condition, Goal};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const CONTROLLER: &str = "horizontalpodautoscaling";

pub async fn run(ctx: Arc<Context>, stop: CancellationToken) {
    let autoscaler = Arc::new(Autoscaler {
        recorder: ctx.recorder("horizontal-pod-autoscaler"),
        ctx: ctx.clone(),
        usage: UsageReader::new(&ctx.config.credentials),
        histories: Mutex::new(HashMap::new()),
    });
    let queue = WorkQueue::new();
    let mut tasks = JoinSet::new();
    tasks.spawn(queue_changes(autoscaler.clone(), queue.clone()));
    tasks.spawn(queue_every_period(ctx.clone(), queue.clone()));
    run_workers(ctx.workers(CONTROLLER), queue, stop, move |key: String| {
        let autoscaler = autoscaler.clone();
        async move { autoscaler.reconcile(&key).await }
    })
    .await;
}

fn key_of(hpa: &HorizontalPodAutoscaler) -> String {
    format!("{}/{}", hpa.meta().namespace, hpa.meta().name)
}

/// A new HPA, or a changed spec, is evaluated at once; a deleted one's
/// history is dropped.
async fn queue_changes(autoscaler: Arc<Autoscaler>, queue: WorkQueue<String>) {
    let mut events = autoscaler.ctx.hpas.subscribe();
    while let Some(event) = events.recv().await {
        match event {
            InformerEvent::Added(hpa) => queue.add(key_of(&hpa)),
            InformerEvent::Modified { old, new } if old.meta().generation != new.meta().generation => {
                queue.add(key_of(&new))
            }
            InformerEvent::Deleted(hpa) => autoscaler.forget(&key_of(&hpa)),
            _ => {}
        }
    }
}

/// Every HPA is evaluated once per sync period, as Kubernetes' resync does.
async fn queue_every_period(ctx: Arc<Context>, queue: WorkQueue<String>) {
    let period = ctx.config.hpa_sync_period.max(std::time::Duration::from_millis(100));
    let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for hpa in ctx.hpas.store().list() {
            queue.add(key_of(&hpa));
        }
    }
}

struct Autoscaler {
    ctx: Arc<Context>,
    recorder: EventRecorder,
    usage: UsageReader,
    /// per HPA key: its uid (a re-created HPA starts afresh) and history
    histories: Mutex<HashMap<String, (String, History)>>,
}

/// What the metrics asked for.
struct Proposal {
    replicas: i32,
    metric: String,
    statuses: Vec<MetricStatus>,
}

impl Autoscaler {
    fn forget(&self, key: &str) {
        self.histories.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    async fn reconcile(&self, key: &str) -> Result<Requeue, ControllerError> {
        let Some((namespace, name)) = key.split_once('/') else { return Ok(Requeue::No) };
        let Some(hpa) = self.ctx.hpas.store().get(namespace, name) else {
            self.forget(key);
            return Ok(Requeue::No);
        };
        if hpa.meta().deletion_timestamp.is_some() {
            return Ok(Requeue::No);
        }
        // a key is never reconciled twice at once, so the history can be lent out
        let uid = hpa.meta().uid.clone();
        let mut history = {
            let mut histories = self.histories.lock().unwrap_or_else(|p| p.into_inner());
            match histories.remove(key) {
                Some((known, history)) if known == uid => history,
                _ => History::default(),
            }
        };
        let result = self.evaluate(&hpa, &mut history).await;
        self.histories.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string(), (uid, history));
        result
    }

    /// One evaluation of `hpa`: read, decide, scale, write the status.
    async fn evaluate(&self, hpa: &HorizontalPodAutoscaler, history: &mut History) -> Result<Requeue, ControllerError> {
        let namespace = hpa.meta().namespace.clone();
        let spec = hpa.spec.clone().unwrap_or_default();
        let old = hpa.status.clone().unwrap_or_default();
        let mut status = HorizontalPodAutoscalerStatus {
            observed_generation: Some(hpa.meta().generation),
            current_metrics: Vec::new(),
            ..old.clone()
        };
        let now = Time::now();
        let instant = Instant::now();
        let target = spec.scale_target_ref.clone().unwrap_or_default();

        let (kind, scale) = match self.get_scale(&namespace, &target).await {
            Ok(found) => found,
            Err(message) => {
                let message = format!("the HPA controller was unable to get the target's current scale: {message}");
                set_condition(&mut status.conditions, "AbleToScale", false, "FailedGetScale", &message, now);
                self.recorder.emit(hpa, WARNING, "FailedGetScale", &message).await;
                self.write_status(hpa, &old, status).await?;
                return Ok(Requeue::No);
            }
        };
        set_condition(
            &mut status.conditions,
            "AbleToScale",
            true,
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale",
            now,
        );
        let current = scale.spec.as_ref().map(|s| s.replicas).unwrap_or(0);
        history.record_initial(current, instant);
        let bounds = spec::bounds(&spec, self.ctx.config.hpa_downscale_stabilization);
        status.current_replicas = current;
        status.desired_replicas = current;

        let mut reason = String::new();
        let desired = if current == 0 && bounds.min != 0 {
            set_condition(
                &mut status.conditions,
                "ScalingActive",
                false,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
                now,
            );
            current
        } else if current > bounds.max {
            reason = "Current number of replicas above Spec.MaxReplicas".into();
            bounds.max
        } else if current < bounds.min {
            reason = "Current number of replicas below Spec.MinReplicas".into();
            bounds.min
        } else {
            match self.propose(&namespace, &spec, &scale, current).await {
                Err(message) => {
                    let condition = format!("the HPA was unable to compute the replica count: {message}");
                    set_condition(
                        &mut status.conditions,
                        "ScalingActive",
                        false,
                        "FailedGetResourceMetric",
                        &condition,
                        now,
                    );
                    self.recorder.emit(hpa, WARNING, "FailedComputeMetricsReplicas", &message).await;
                    self.write_status(hpa, &old, status).await?;
                    return Ok(Requeue::No);
                }
                Ok(proposal) => {
                    let message =
                        format!("the HPA was able to successfully calculate a replica count from {}", proposal.metric);
                    set_condition(&mut status.conditions, "ScalingActive", true, "ValidMetricFound", &message, now);
                    status.current_metrics = proposal.statuses;
                    if proposal.replicas > current {
                        reason = format!("{} above target", proposal.metric);
                    } else if proposal.replicas < current {
                        reason = "All metrics below target".into();
                    }
                    let normalized = history.normalize(current, proposal.replicas, &bounds, instant);
                    let (able, limit) = (&normalized.able, &normalized.limit);
                    set_condition(&mut status.conditions, "AbleToScale", true, able.reason, able.message, now);
                    set_condition(
                        &mut status.conditions,
                        "ScalingLimited",
                        normalized.limited,
                        limit.reason,
                        limit.message,
                        now,
                    );
                    normalized.replicas
                }
            }
        };

        if desired != current {
            let mut resized = scale.clone();
            resized.spec.get_or_insert_with(Default::default).replicas = desired;
            if let Err(error) = self.update_scale(kind, &namespace, &target.name, resized).await {
                if error.is_conflict() {
                    return Err(error); // the target moved on: evaluate again from fresh state
                }
                let message = format!("the HPA controller was unable to update the target scale: {error}");
                set_condition(&mut status.conditions, "AbleToScale", false, "FailedUpdateScale", &message, now);
                let event = format!("New size: {desired}; reason: {reason}; error: {error}");
                self.recorder.emit(hpa, WARNING, "FailedRescale", &event).await;
                self.write_status(hpa, &old, status).await?;
                return Err(error);
            }
            let message = format!("the HPA controller was able to update the target scale to {desired}");
            set_condition(&mut status.conditions, "AbleToScale", true, "SucceededRescale", &message, now);
            let event = format!("New size: {desired}; reason: {reason}");
            tracing::info!(hpa = %key_of(hpa), from = current, to = desired, %reason, "rescaled");
            self.recorder.emit(hpa, NORMAL, "SuccessfulRescale", &event).await;
            history.record_scale(current, desired, instant, &bounds);
            status.desired_replicas = desired;
            status.last_scale_time = Some(now);
        }
        self.write_status(hpa, &old, status).await?;
        Ok(Requeue::No)
    }

    /// The count the metrics ask for: the highest of the usable metrics. If
    /// some metric cannot be computed, a scale-down is not trusted.
    async fn propose(
        &self,
        namespace: &str,
        spec: &HorizontalPodAutoscalerSpec,
        scale: &Scale,
        current: i32,
    ) -> Result<Proposal, String> {
        let selector = scale.status.as_ref().map(|s| s.selector.as_str()).unwrap_or("");
        if selector.is_empty() {
            return Err("the target's scale has no selector".into());
        }
        let selector = LabelSelector::parse(selector).map_err(|e| format!("the target's selector: {e}"))?;
        let all = self.ctx.pods.store().list_namespace(namespace);
        let pods: Vec<&Pod> = all.iter().map(|p| p.as_ref()).filter(|p| selector.matches(&p.meta().labels)).collect();
        let usage = self.read_usage(&pods).await;
        let goals = spec::goals(spec);
        let total = goals.len();
        let mut best: Option<(i32, String)> = None;
        let mut statuses = Vec::new();
        let mut invalid = Vec::new();
        for goal in goals {
            let computed = goal.and_then(|goal: Goal| {
                let samples = spec::samples(&pods, &usage, &goal.resource);
                let recommendation = replicas::desired_replicas(&goal.resource, current, &samples, goal.target)
                    .map_err(|e| e.to_string())?;
                Ok((goal, recommendation))
            });
            match computed {
                Ok((goal, recommendation)) => {
                    statuses.push(goal.status(&recommendation));
                    if best.as_ref().is_none_or(|(r, _)| recommendation.replicas > *r) {
                        best = Some((recommendation.replicas, goal.name()));
                    }
                }
                Err(error) => invalid.push(error),
            }
        }
        if total == 0 {
            return Err("the HPA names no metric".into());
        }
        match best {
            Some((replicas, metric)) if invalid.is_empty() || replicas >= current => {
                Ok(Proposal { replicas, metric, statuses })
            }
            _ => Err(format!(
                "invalid metrics ({} invalid out of {total}), first error is: {}",
                invalid.len(),
                invalid.first().map(String::as_str).unwrap_or_default()
            )),
        }
    }

    /// Usage of every pod that can have any, read from the kubelets at once;
    /// a pod whose kubelet does not answer simply has no figures.
    async fn read_usage(&self, pods: &[&Pod]) -> HashMap<String, PodUsage> {
        let nodes = self.ctx.nodes.store();
        let reads = pods.iter().filter_map(|pod| {
            let phase = pod.status.as_ref().map(|s| s.phase.as_str()).unwrap_or("");
            let node_name = pod.spec.as_ref().map(|s| s.node_name.as_str()).unwrap_or("");
            if node_name.is_empty() || phase != "Running" || pod.meta().deletion_timestamp.is_some() {
                return None;
            }
            let node = nodes.get("", node_name)?;
            let address = kubelet_address(node.status.as_ref(), Some(self.ctx.config.kubelet_port))?;
            Some(async move {
                match self.usage.read(node_name, &address, pod).await {
                    Ok(usage) => Some((pod.meta().name.clone(), usage)),
                    Err(error) => {
                        tracing::debug!(%error, "no usage for a pod");
                        None
                    }
                }
            })
        });
        futures::future::join_all(reads).await.into_iter().flatten().collect()
    }

    async fn get_scale(
        &self,
        namespace: &str,
        target: &CrossVersionObjectReference,
    ) -> Result<(&'static KindInfo, Scale), String> {
        let kind = scalable_kind(target)?;
        let mut at = resource_ref(kind, namespace, &target.name);
        at.subresource = "scale".into();
        let object = self.ctx.client.get(at).await.map_err(|e| e.to_string())?;
        let scale = Scale::try_from_object(object)
            .ok_or_else(|| format!("the {} {} answered its scale with another kind", kind.kind, target.name))?;
        Ok((kind, scale))
    }

    async fn update_scale(
        &self,
        kind: &'static KindInfo,
        namespace: &str,
        name: &str,
        scale: Scale,
    ) -> Result<(), ControllerError> {
        let mut at = resource_ref(kind, namespace, name);
        at.subresource = "scale".into();
        self.ctx
            .client
            .update(at, scale.into_object())
            .await
            .map_err(ControllerError::api(format!("update the scale of {} {namespace}/{name}", kind.kind)))?;
        Ok(())
    }

    /// Writes the status when it changed.
    async fn write_status(
        &self,
        hpa: &HorizontalPodAutoscaler,
        old: &HorizontalPodAutoscalerStatus,
        status: HorizontalPodAutoscalerStatus,
    ) -> Result<(), ControllerError> {
        if *old == status {
            return Ok(());
        }
        let mut updated = hpa.clone();
        updated.status = Some(status);
        let namespace = hpa.meta().namespace.clone();
        self.ctx
            .client
            .api::<HorizontalPodAutoscaler>(Some(&namespace))
            .update_status(&updated)
            .await
            .map_err(ControllerError::api(format!("update the status of HPA {}", key_of(hpa))))?;
        Ok(())
    }
}

/// The stored kind the HPA's target names, if it has a scale subresource.
fn scalable_kind(target: &CrossVersionObjectReference) -> Result<&'static KindInfo, String> {
    let kind = if target.api_version.is_empty() {
        kinds::lookup(&target.kind)
    } else {
        kinds::by_api_version_kind(&target.api_version, &target.kind)
    };
    kind.filter(|k| k.subresources.contains(&"scale")).ok_or_else(|| {
        format!("{} {:?} has no scale subresource (Deployments and ReplicaSets do)", target.api_version, target.kind)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_to_kinds_with_a_scale() {
        let target = |api_version: &str, kind: &str| CrossVersionObjectReference {
            kind: kind.into(),
            name: "web".into(),
            api_version: api_version.into(),
        };
        assert_eq!(scalable_kind(&target("apps/v1", "Deployment")).map(|k| k.kind), Ok("Deployment"));
        assert_eq!(scalable_kind(&target("", "ReplicaSet")).map(|k| k.kind), Ok("ReplicaSet"));
        assert!(scalable_kind(&target("v1", "Pod")).is_err(), "pods have no scale");
        assert!(scalable_kind(&target("apps/v1", "StatefulSet")).is_err());
    }
}
