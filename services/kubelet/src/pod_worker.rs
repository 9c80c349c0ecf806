//! One task per pod: the only place a pod is synced, so two syncs of one pod never
//! run at once. It wakes on a new version of the pod, a probe verdict, its back-off
//! deadline or the resync tick; reads the runtime, decides, acts, and writes the
//! status when it changed. A pod marked for deletion is terminated and the worker
//! ends.

use std::collections::HashSet;
use std::sync::Arc;

use capstan_client::Client;
use capstan_proto::core::v1::{Pod, PodStatus};
use capstan_proto::meta::v1::Time;
use capstan_telemetry::OpenTelemetrySpanExt;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::backoff::CrashBackoff;
use crate::config::Timings;
use crate::decide::{decide, Inputs};
use crate::model::{PodRuntime, RunState};
use crate::probes::{action::Target, Prober};
use crate::runtime::Runtime;
use crate::status::{pod_status, StatusInputs};
use crate::sync::{execute, pod_name};
use crate::terminate::terminate;
use crate::KubeletError;

/// What every worker shares.
pub struct WorkerContext {
    pub runtime: Runtime,
    pub client: Client,
    pub host_ip: String,
    pub timings: Timings,
}

/// The latest version of the pod, or `None` once it is gone from the API.
pub type PodUpdate = Option<Arc<Pod>>;

struct PodState {
    backoff: CrashBackoff,
    prober: Prober,
    last_status: Option<PodStatus>,
}

/// Runs the worker of one pod until it is terminated or `shutdown`.
pub async fn run(ctx: Arc<WorkerContext>, mut updates: watch::Receiver<PodUpdate>, shutdown: CancellationToken) {
    let t = &ctx.timings;
    let mut state = PodState {
        backoff: CrashBackoff::new(t.backoff_base, t.backoff_max, t.backoff_reset),
        prober: Prober::default(),
        last_status: None,
    };
    let probed = state.prober.changed();
    let mut pod = updates.borrow_and_update().clone();
    let mut last_seen = pod.clone();
    loop {
        let mut requeue = None;
        match &pod {
            None => match last_seen.as_deref() {
                Some(gone) => match terminate(&ctx, gone, 0, false).await {
                    Ok(()) => return,
                    Err(error) => tracing::warn!(%error, "cleaning up a deleted pod"),
                },
                None => return,
            },
            Some(current) if current.meta_deleting() => {
                let grace = current.metadata.as_ref().and_then(|m| m.deletion_grace_period_seconds).unwrap_or(30);
                match terminate(&ctx, current, grace, true).await {
                    Ok(()) => return,
                    Err(error) => tracing::warn!(pod = %pod_name(current), %error, "terminating"),
                }
            }
            Some(current) => {
                let span = tracing::info_span!("kubelet.sync_pod", pod = %pod_name(current));
                let annotations = current.metadata.as_ref().map(|m| m.annotations.clone()).unwrap_or_default();
                let _ = span.set_parent(capstan_telemetry::extract_from_map(&annotations));
                match sync_pod(&ctx, &mut state, current).instrument(span).await {
                    Ok(at) => requeue = at,
                    Err(error) => tracing::warn!(pod = %pod_name(current), %error, "sync failed"),
                }
            }
        }
        let resync = Instant::now() + ctx.timings.pod_resync;
        let deadline = requeue.map_or(resync, |at| at.min(resync));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = updates.changed() => match changed {
                Ok(()) => {
                    pod = updates.borrow_and_update().clone();
                    if pod.is_some() {
                        last_seen = pod.clone();
                    }
                }
                Err(_) => return,
            },
            _ = probed.notified() => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

trait Deleting {
    fn meta_deleting(&self) -> bool;
}

impl Deleting for Pod {
    fn meta_deleting(&self) -> bool {
        self.metadata.as_ref().is_some_and(|m| m.deletion_timestamp.is_some())
    }
}

/// One sync: returns when the worker must look again regardless of events.
async fn sync_pod(ctx: &WorkerContext, state: &mut PodState, pod: &Pod) -> Result<Option<Instant>, KubeletError> {
    let uid = pod.metadata.as_ref().map(|m| m.uid.clone()).unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let mut snapshot = ctx.runtime.snapshot(&uid).await?;
    state.prober.retain(&running_ids(&snapshot));
    let unhealthy = state.prober.unhealthy();
    let inputs =
        Inputs { spec: &spec, runtime: &snapshot, backoff: &state.backoff, unhealthy: &unhealthy, now: Instant::now() };
    let mut plan = decide(&inputs);
    if !plan.actions.is_empty() {
        execute(&ctx.runtime, pod, &snapshot, &mut plan, &mut state.backoff, &ctx.host_ip).await?;
        snapshot = ctx.runtime.snapshot(&uid).await?;
        state.prober.retain(&running_ids(&snapshot));
    }
    if let Some(sandbox) = snapshot.sandbox() {
        for container in &spec.containers {
            let Some(latest) = snapshot.latest(&container.name).filter(|c| c.state == RunState::Running) else {
                continue;
            };
            state.prober.ensure(Target {
                runtime: ctx.runtime.clients.clone(),
                container_id: latest.id.clone(),
                pod_ip: sandbox.ip.clone(),
                container: container.clone(),
            });
        }
    }
    prune(&ctx.runtime, &snapshot).await;
    let mut base = pod.clone();
    if state.last_status.is_some() {
        base.status = state.last_status.clone();
    }
    let probes = state.prober.views();
    let status = pod_status(&StatusInputs {
        pod: &base,
        runtime: &snapshot,
        plan: &plan,
        probes: &probes,
        runtime_name: &ctx.runtime.name,
        host_ip: &ctx.host_ip,
        now: Time::now(),
    });
    if state.last_status.as_ref() != Some(&status) && pod.status.as_ref() != Some(&status) {
        let mut write = pod.clone();
        write.status = Some(status.clone());
        if let Some(meta) = write.metadata.as_mut() {
            meta.resource_version.clear();
        }
        state.last_status = None;
        ctx.client
            .api::<Pod>(None)
            .update_status(&write)
            .await
            .map_err(KubeletError::api("UpdateStatus", pod_name(pod)))?;
        state.last_status = Some(status);
    }
    Ok(plan.requeue_at)
}

fn running_ids(snapshot: &PodRuntime) -> HashSet<String> {
    snapshot.containers.iter().filter(|c| c.state == RunState::Running).map(|c| c.id.clone()).collect()
}

/// Removes exited attempts older than the previous one of each container.
async fn prune(runtime: &Runtime, snapshot: &PodRuntime) {
    let names: HashSet<&str> = snapshot.containers.iter().map(|c| c.name.as_str()).collect();
    for name in names {
        for old in snapshot.attempts(name).skip(2).filter(|c| c.state == RunState::Exited) {
            if let Err(error) = runtime.remove_container(&old.id).await {
                tracing::warn!(container = %old.id, %error, "removing an old attempt");
            }
        }
    }
}
