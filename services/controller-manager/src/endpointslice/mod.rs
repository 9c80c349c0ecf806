//! The EndpointSlice controller: for every Service with a selector, the
//! `discovery.k8s.io/v1` EndpointSlices listing the pods it selects, as
//! Kubernetes' endpointslice controller keeps them. kubectl's `describe
//! service` and DNS read these; the proxy still reads core/v1 Endpoints
//! (the [`crate::endpoints`] controller), from the same pod caches and the
//! same port resolution.
//!
//! - The slices carry `kubernetes.io/service-name=<svc>` and
//!   `endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io`,
//!   are named from `generateName: <svc>-`, and are controlled by the
//!   Service (ownerReferences), so the garbage collector removes them with
//!   it. Slices without the managed-by label are the user's and never
//!   touched.
//! - A Service without a selector gets slices mirrored from the Endpoints
//!   its user wrote ([`slices::mirrored`], labelled
//!   `endpointslicemirroring-controller.k8s.io` as Kubernetes'
//!   endpointslicemirroring controller does; skipped when the Endpoints say
//!   `endpointslice.kubernetes.io/skip-mirror: "true"`), so DNS and
//!   `describe` see its addresses too; one that loses its selector keeps
//!   only what its Endpoints say.
//! - Writes are planned by [`slices::plan`] so that an unchanged Service
//!   writes nothing. The cache may lag this controller's own writes (a
//!   slice just created is not listed yet): until it shows them, the
//!   Service is looked at again later rather than planned from stale state,
//!   which would create a second copy.

pub mod slices;

use crate::context::Context;
use crate::endpoints::{feed_service_keys, pods_selected};
use crate::trace::Causes;

use crate::error::ControllerError;
use crate::ownership::controller_reference;
use capstan_client::DeleteParams;
use capstan_proto::core::v1::Service;
use capstan_proto::discovery::v1::EndpointSlice;
use capstan_proto::kinds::Resource;
use capstan_proto::meta::v1::ObjectMeta;
use capstan_runtime::events::WARNING;
use capstan_runtime::informer::InformerEvent;
use capstan_runtime::EventRecorder;
use capstan_runtime::{run_workers_in_spans, Requeue, WorkQueue};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How soon to look again at a Service whose slices the cache has not caught up with.
const STALE_RETRY: Duration = Duration::from_millis(100);
/// How long a write may stay unseen before it is forgotten: someone else
/// may have deleted or replaced the slice since, and the cache will never
/// show this write.
const STALE_LIMIT: Duration = Duration::from_secs(30);

/// What this controller last wrote per Service ("namespace/name"): each
/// slice's name, the resourceVersion written (`None` once deleted), and when.
#[derive(Default)]
struct Tracker(Mutex<HashMap<String, Writes>>);

/// One Service's recorded writes: slice name -> (resourceVersion written, when).
type Writes = BTreeMap<String, (Option<u64>, Instant)>;

impl Tracker {
    fn record(&self, key: &str, name: &str, version: Option<u64>) {
        if let Ok(mut map) = self.0.lock() {
            map.entry(key.to_string()).or_default().insert(name.to_string(), (version, Instant::now()));
        }
    }

    /// True when `cached` (the Service's managed slices in the cache) shows
    /// every write recorded for `key`; forgets the writes it shows.
    fn caught_up(&self, key: &str, cached: &[Arc<EndpointSlice>]) -> bool {
        let Ok(mut map) = self.0.lock() else { return true };
        let Some(writes) = map.get_mut(key) else { return true };
        writes.retain(|name, (version, at)| {
            if at.elapsed() > STALE_LIMIT {
                return false;
            }
            let seen = cached.iter().find(|s| &s.meta().name == name).map(|s| rv(s.meta()));
            match (version, seen) {
                (Some(written), Some(seen)) => seen < *written,
                (Some(_), None) => true,
                (None, seen) => seen.is_some(),
            }
        });
        let done = writes.is_empty();
        if done {
            map.remove(key);
        }
        done
    }

    fn forget(&self, key: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(key);
        }
    }
}

fn rv(meta: &ObjectMeta) -> u64 {
    meta.resource_version.parse().unwrap_or(0)
}

pub async fn run(ctx: Arc<Context>, stop: CancellationToken) {
    let queue = WorkQueue::<String>::new();
    let recorder = ctx.recorder("endpoint-slice-controller");
    let tracker = Arc::new(Tracker::default());
    let causes = Arc::new(Causes::default());
    let feed = feed(ctx.clone(), queue.clone(), causes.clone(), stop.clone());
    let span_of = move |key: &String| causes.reconcile_span("endpointslice", key);
    let workers = run_workers_in_spans(ctx.workers("endpointslice"), queue, stop, span_of, move |key: String| {
        let (ctx, recorder, tracker) = (ctx.clone(), recorder.clone(), tracker.clone());
        async move { reconcile(&ctx, &recorder, &tracker, &key).await }
    });
    tokio::join!(feed, workers);
}

/// Turns informer events into queued Service keys until `stop` or the
/// informers end.
async fn feed(ctx: Arc<Context>, queue: WorkQueue<String>, causes: Arc<Causes>, stop: CancellationToken) {
    let owned = ctx.endpoint_slices.subscribe();
    // a managed slice changed (this controller's write arriving, or someone
    // else's): its Service decides whether it stays so
    let owned_key = |_: &Context, event: InformerEvent<EndpointSlice>| {
        let slice = event.object().filter(|s| slices::is_managed(s))?;
        slices::service_name(slice).map(|service| format!("{}/{service}", slice.meta().namespace))
    };
    let mirrored = mirror_feed(ctx.clone(), queue.clone(), stop.clone());
    tokio::join!(feed_service_keys(ctx, queue, &causes, stop, owned, owned_key), mirrored);
}

/// Queues the Service of every Endpoints change, for the Services without a
/// selector whose slices mirror their Endpoints (the reconcile decides: a
/// Service with a selector plans from its pods and writes nothing new).
async fn mirror_feed(ctx: Arc<Context>, queue: WorkQueue<String>, stop: CancellationToken) {
    let mut endpoints = ctx.endpoints.subscribe();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            event = endpoints.recv() => match event {
                None => return,
                Some(event) => {
                    let Some(endpoints) = event.object() else { continue };
                    let meta = endpoints.meta();
                    let selects = ctx.services.store().get(&meta.namespace, &meta.name)
                        .is_some_and(|s| s.spec.as_ref().is_some_and(|s| !s.selector.is_empty()));
                    if !selects {
                        queue.add(format!("{}/{}", meta.namespace, meta.name));
                    }
                }
            },
        }
    }
}

/// The slices the cache holds that this controller keeps for `name`.
fn managed_slices(ctx: &Context, namespace: &str, name: &str) -> Vec<Arc<EndpointSlice>> {
    ctx.endpoint_slices
        .store()
        .list_namespace(namespace)
        .into_iter()
        .filter(|s| slices::is_managed(s) && slices::service_name(s) == Some(name))
        .collect()
}

/// Brings the slices of the Service named `key` ("namespace/name") in line
/// with its pods.
async fn reconcile(
    ctx: &Context,
    recorder: &EventRecorder,
    tracker: &Tracker,
    key: &str,
) -> Result<Requeue, ControllerError> {
    let Some((namespace, name)) = key.split_once('/') else {
        return Err(ControllerError::Invalid(format!("service key {key:?} is not namespace/name")));
    };
    let existing = managed_slices(ctx, namespace, name);
    if !tracker.caught_up(key, &existing) {
        return Ok(Requeue::After(STALE_RETRY));
    }
    let Some(service) = ctx.services.store().get(namespace, name) else {
        // the garbage collector removes the slices of a deleted Service (ownerReferences)
        tracker.forget(key);
        return Ok(Requeue::No);
    };
    let desired = match service.spec.as_ref().map(|s| &s.selector).filter(|s| !s.is_empty()) {
        // without a selector the user writes the Endpoints: they are mirrored
        None => match ctx.endpoints.store().get(namespace, name) {
            Some(endpoints)
                if endpoints.meta().labels.get(slices::SKIP_MIRROR_LABEL).map(String::as_str) != Some("true") =>
            {
                slices::mirrored(&endpoints)
            }
            _ => Vec::new(),
        },
        Some(selector) => {
            let pods = pods_selected(ctx, namespace, selector);
            let zone_of = |node: &str| {
                ctx.nodes.store().get("", node).and_then(|n| n.meta().labels.get(slices::ZONE_LABEL).cloned())
            };
            slices::desired(&service, &pods, zone_of)
        }
    };
    let plan = slices::plan(&existing, desired);
    if plan.is_empty() {
        return Ok(Requeue::No);
    }
    let result = write(ctx, tracker, &service, &existing, plan, key).await;
    if let Err(error) = &result {
        if !error.is_conflict() {
            let message = format!("Error updating Endpoint Slices for Service {key}: {error}");
            if let Err(e) = recorder.record(service.as_ref(), WARNING, "FailedToUpdateEndpointSlices", &message).await {
                tracing::debug!(error = %e, "recording FailedToUpdateEndpointSlices");
            }
        }
    }
    result.map(|()| Requeue::No)
}

/// Carries out `plan`, recording each write in `tracker`.
async fn write(
    ctx: &Context,
    tracker: &Tracker,
    service: &Service,
    existing: &[Arc<EndpointSlice>],
    plan: slices::Plan,
    key: &str,
) -> Result<(), ControllerError> {
    let namespace = &service.meta().namespace;
    let api = ctx.client.api::<EndpointSlice>(Some(namespace));
    let labels = slices::slice_labels(service);
    let owner = controller_reference(service);
    let (created, updated, deleted) = (plan.create.len(), plan.update.len(), plan.delete.len());
    for (name, want) in plan.update {
        let Some(current) = existing.iter().find(|s| s.meta().name == name) else { continue };
        let mut next = (**current).clone();
        let meta = next.metadata_mut();
        meta.labels = labels.clone();
        if !meta.owner_references.iter().any(|r| r.uid == owner.uid) {
            meta.owner_references.push(owner.clone());
        }
        next.address_type = want.address_type;
        next.ports = want.ports;
        next.endpoints = want.endpoints;
        // pinned to the cached resourceVersion: a conflict re-reads the cache
        let written = api
            .update(&next)
            .await
            .map_err(ControllerError::api(format!("update endpointslice {namespace}/{name}")))?;
        tracker.record(key, &name, Some(rv(written.meta())));
    }
    for want in plan.create {
        let meta = ObjectMeta {
            generate_name: format!("{}-", service.meta().name),
            namespace: namespace.clone(),
            labels: labels.clone(),
            owner_references: vec![owner.clone()],
            ..Default::default()
        };
        let slice = EndpointSlice {
            metadata: Some(meta),
            address_type: want.address_type,
            ports: want.ports,
            endpoints: want.endpoints,
            ..Default::default()
        };
        let written =
            api.create(&slice).await.map_err(ControllerError::api(format!("create endpointslice for {key}")))?;
        tracker.record(key, &written.meta().name, Some(rv(written.meta())));
    }
    for name in plan.delete {
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(ControllerError::api(format!("delete endpointslice {namespace}/{name}"))(error)),
        }
        tracker.record(key, &name, None);
    }
    tracing::debug!(service = key, created, updated, deleted, "wrote EndpointSlices");
    Ok(())
}
