//! One task per pod: the only place a pod is synced, so two syncs of one pod never
//! run at once. It wakes on a new version of the pod, a change the relist found in
//! its runtime records, a probe verdict, its back-off deadline or the (long) resync
//! tick; reads its records from the [`RuntimeCache`], decides, acts, re-reads what
//! it acted on, and writes the status when it changed. A pod marked for deletion
//! is terminated and the worker ends.
//!
//! A new sandbox is followed by the pod's containers in the same sync: they need
//! only the sandbox's id and IP, which the re-read after RunPodSandbox gives, so a
//! pod goes from nothing to Running in one sync and one status write.
//!
//! Each sync is a `kubelet.sync_pod` span, and every runtime call and the status
//! write it makes are its children. A sync that starts a pod (no sandbox yet) is the
//! next step of the write the pod records (`capstan.io/trace-context`: the
//! scheduler's bind) and joins that trace as its child; a resync of a running pod
//! runs for the kubelet's own reasons and only links to it, so the periodic resyncs
//! never pile into the user's trace.

use std::collections::HashSet;
use std::sync::Arc;

use capstan_client::Client;
use capstan_proto::core::v1::{Pod, PodStatus};
use capstan_proto::meta::v1::Time;
use capstan_runtime::EventRecorder;
use capstan_telemetry::Follow;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::backoff::CrashBackoff;
use crate::cache::{Cached, RuntimeCache};
use crate::config::Timings;
use crate::decide::{decide, Action, Inputs, Plan};
use crate::metrics::KubeletMetrics;
use crate::model::{PodRuntime, RunState, Touched};
use crate::probes::{action::Target, Prober};
use crate::runtime::Runtime;
use crate::status::{pod_status, StatusInputs};
use crate::sync::{pod_name, Book, Executor};
use crate::terminate::terminate;
use crate::KubeletError;

/// What every worker shares.
pub struct WorkerContext {
    pub runtime: Runtime,
    pub client: Client,
    pub events: EventRecorder,
    /// the node's runtime records, kept by the relist
    pub cache: Arc<RuntimeCache>,
    pub host_ip: String,
    /// the pods' resolver configuration and Service variables
    pub discovery: crate::discovery::Discovery,
    pub timings: Timings,
    pub metrics: KubeletMetrics,
}

/// The latest version of the pod, or `None` once it is gone from the API.
pub type PodUpdate = Option<Arc<Pod>>;

struct PodState {
    book: Book,
    prober: Prober,
    last_status: Option<PodStatus>,
    /// the newest view of the pod's runtime records this worker has: the cache's,
    /// or its own re-read after acting, whichever read began later
    known: Option<Cached>,
    /// when this kubelet first saw the pod: where its start duration begins
    first_seen: Instant,
    /// whether the pod's start was counted (or found done: an adopted pod)
    start_counted: bool,
}

/// Runs the worker of one pod until it is terminated or `shutdown`.
pub async fn run(ctx: Arc<WorkerContext>, updates: watch::Receiver<PodUpdate>, shutdown: CancellationToken) {
    let uid = updates.borrow().as_ref().and_then(|p| p.metadata.as_ref()).map(|m| m.uid.clone()).unwrap_or_default();
    work(&ctx, &uid, updates, shutdown).await;
    ctx.cache.forget(&uid);
}

async fn work(ctx: &WorkerContext, uid: &str, mut updates: watch::Receiver<PodUpdate>, shutdown: CancellationToken) {
    let t = &ctx.timings;
    let mut state = PodState {
        book: Book::new(CrashBackoff::new(t.backoff_base, t.backoff_max, t.backoff_reset)),
        prober: Prober::default(),
        last_status: None,
        known: None,
        first_seen: Instant::now(),
        start_counted: false,
    };
    let probed = state.prober.changed();
    let mut records = ctx.cache.subscribe(uid);
    records.borrow_and_update();
    let mut pod = updates.borrow_and_update().clone();
    let mut last_seen = pod.clone();
    loop {
        let mut requeue = None;
        match &pod {
            None => match last_seen.as_deref() {
                Some(gone) => match terminate(ctx, gone, 0, false).await {
                    Ok(()) => return,
                    Err(error) => tracing::warn!(%error, "cleaning up a deleted pod"),
                },
                None => return,
            },
            Some(current) if current.meta_deleting() => {
                let grace = current.metadata.as_ref().and_then(|m| m.deletion_grace_period_seconds).unwrap_or(30);
                match terminate(ctx, current, grace, true).await {
                    Ok(()) => return,
                    Err(error) => tracing::warn!(pod = %pod_name(current), %error, "terminating"),
                }
            }
            Some(current) => {
                let span = sync_span(current, &ctx.runtime.node);
                let annotations = current.metadata.as_ref().map(|m| m.annotations.clone()).unwrap_or_default();
                let how = if has_sandbox(ctx, &state, uid) { Follow::Link } else { Follow::Parent };
                capstan_telemetry::follow_object(&span, "capstan-kubelet", &annotations, how);
                match sync_pod(ctx, &mut state, current).instrument(span).await {
                    Ok(at) => requeue = at,
                    Err(error) => {
                        tracing::warn!(pod = %pod_name(current), %error, "sync failed");
                        requeue = Some(Instant::now() + ctx.timings.relist);
                    }
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
            changed = records.changed() => {
                if changed.is_err() {
                    records = ctx.cache.subscribe(uid);
                }
                records.borrow_and_update();
            }
            _ = probed.notified() => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// The span of one sync of `pod`, with OpenTelemetry's Kubernetes attributes.
fn sync_span(pod: &Pod, node: &str) -> tracing::Span {
    let meta = pod.metadata.clone().unwrap_or_default();
    tracing::info_span!(
        "kubelet.sync_pod",
        pod = %pod_name(pod),
        k8s.pod.name = %meta.name,
        k8s.namespace.name = %meta.namespace,
        k8s.pod.uid = %meta.uid,
        k8s.node.name = %node,
    )
}

/// Whether the pod has a sandbox as far as the worker or the relist last saw:
/// a sync of such a pod is a resync, not its start.
fn has_sandbox(ctx: &WorkerContext, state: &PodState, uid: &str) -> bool {
    let known = state.known.as_ref().is_some_and(|known| known.runtime.sandbox().is_some());
    known || ctx.cache.get(uid).is_some_and(|cached| cached.runtime.sandbox().is_some())
}

/// Whether every container of `spec` runs (its newest attempt).
fn all_running(spec: &capstan_proto::core::v1::PodSpec, snapshot: &PodRuntime) -> bool {
    !spec.containers.is_empty()
        && spec
            .containers
            .iter()
            .all(|c| snapshot.latest(&c.name).is_some_and(|latest| latest.state == RunState::Running))
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
    state.book.images_present.clear();
    let mut snapshot = records(ctx, state, &uid).await?;
    if !state.start_counted && all_running(&spec, &snapshot) {
        // running before this kubelet acted on it: adopted, not started here
        state.start_counted = true;
    }
    state.prober.retain(&running_ids(&snapshot));
    let plan_for = |snapshot: &PodRuntime, state: &PodState| {
        let unhealthy = state.prober.unhealthy();
        decide(&Inputs {
            spec: &spec,
            runtime: snapshot,
            backoff: &state.book.backoff,
            unhealthy: &unhealthy,
            now: Instant::now(),
        })
    };
    let mut plan = plan_for(&snapshot, state);
    let executor =
        Executor { runtime: &ctx.runtime, events: &ctx.events, pod, host_ip: &ctx.host_ip, discovery: &ctx.discovery };
    // at most twice: a plan that ran a sandbox is followed at once by the plan
    // that starts its containers
    for _ in 0..2 {
        if plan.actions.is_empty() {
            break;
        }
        let touched = executor.execute(&snapshot, &mut plan, &mut state.book).await?;
        snapshot = reread(ctx, state, &uid, snapshot, &touched).await?;
        state.prober.retain(&running_ids(&snapshot));
        if !plan.actions.iter().any(|a| matches!(a, Action::RunSandbox { .. })) {
            break;
        }
        plan = plan_for(&snapshot, state);
    }
    if !state.start_counted && all_running(&spec, &snapshot) {
        state.start_counted = true;
        ctx.metrics.pod_started(state.first_seen.elapsed());
    }
    let unstarted: Vec<String> = state.book.precreated.drain().map(|(_, id)| id).collect();
    executor.remove_unstarted(unstarted).await;
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
    let pruned = prune(&ctx.runtime, &snapshot).await;
    if !pruned.is_empty() {
        for id in &pruned {
            snapshot.put_container(id, None);
        }
        remember(ctx, state, &uid, snapshot.clone(), Instant::now());
    }
    state.book.kill_notes.retain(|id, _| snapshot.containers.iter().any(|c| &c.id == id));
    write_status(ctx, state, pod, &snapshot, &plan).await?;
    Ok(plan.requeue_at)
}

/// The pod's records: the newest of the worker's own view and the cache's; read
/// from the runtime only when neither exists (no relist has completed yet).
async fn records(ctx: &WorkerContext, state: &mut PodState, uid: &str) -> Result<PodRuntime, KubeletError> {
    let newest = match (state.known.take(), ctx.cache.get(uid)) {
        // on a tie the worker's own re-read wins: it saw its own actions
        (Some(own), Some(cached)) => Some(if cached.read_at > own.read_at { cached } else { own }),
        (own, cached) => own.or(cached),
    };
    let newest = match newest {
        Some(newest) => newest,
        None => {
            let read_at = Instant::now();
            Cached { runtime: ctx.runtime.snapshot(uid).await?, read_at }
        }
    };
    state.known = Some(newest.clone());
    Ok(newest.runtime)
}

/// Re-reads what a sync acted on, keeps it as the worker's view and offers it to
/// the cache. Records it did not touch keep their older read: a change to them in
/// the meantime reaches the worker with the next relist.
async fn reread(
    ctx: &WorkerContext,
    state: &mut PodState,
    uid: &str,
    snapshot: PodRuntime,
    touched: &[Touched],
) -> Result<PodRuntime, KubeletError> {
    let read_at = Instant::now();
    let fresh = ctx.runtime.refresh(snapshot, touched).await?;
    remember(ctx, state, uid, fresh.clone(), read_at);
    Ok(fresh)
}

fn remember(ctx: &WorkerContext, state: &mut PodState, uid: &str, runtime: PodRuntime, read_at: Instant) {
    let cached = Cached { runtime, read_at };
    ctx.cache.offer(uid, cached.clone());
    state.known = Some(cached);
}

/// Computes the pod's status and writes it when it changed.
async fn write_status(
    ctx: &WorkerContext,
    state: &mut PodState,
    pod: &Pod,
    snapshot: &PodRuntime,
    plan: &Plan,
) -> Result<(), KubeletError> {
    let mut base = pod.clone();
    if state.last_status.is_some() {
        base.status = state.last_status.clone();
    }
    let probes = state.prober.views();
    let status = pod_status(&StatusInputs {
        pod: &base,
        runtime: snapshot,
        plan,
        probes: &probes,
        runtime_name: &ctx.runtime.name,
        host_ip: &ctx.host_ip,
        kill_notes: &state.book.kill_notes,
        now: Time::now(),
    });
    if state.last_status.as_ref() == Some(&status) || pod.status.as_ref() == Some(&status) {
        return Ok(());
    }
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
    Ok(())
}

fn running_ids(snapshot: &PodRuntime) -> HashSet<String> {
    snapshot.containers.iter().filter(|c| c.state == RunState::Running).map(|c| c.id.clone()).collect()
}

/// Removes exited attempts older than the previous one of each container, and
/// created-but-never-started ones that a newer attempt replaced (left by a sync
/// cut short, e.g. a kubelet restart right after an early create); returns the
/// ids it removed.
async fn prune(runtime: &Runtime, snapshot: &PodRuntime) -> Vec<String> {
    let names: HashSet<&str> = snapshot.containers.iter().map(|c| c.name.as_str()).collect();
    let mut removed = Vec::new();
    for name in names {
        let old_exited = snapshot.attempts(name).skip(2).filter(|c| c.state == RunState::Exited);
        let never_started = snapshot.attempts(name).skip(1).filter(|c| c.state == RunState::Created);
        for old in old_exited.chain(never_started) {
            match runtime.remove_container(&old.id).await {
                Ok(()) => removed.push(old.id.clone()),
                Err(error) => tracing::warn!(container = %old.id, %error, "removing an old attempt"),
            }
        }
    }
    removed
}
