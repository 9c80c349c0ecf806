//! The Endpoints controller: for every Service with a selector, an
//! Endpoints object of the same name listing the addresses of the pods it
//! selects (ready ones under `addresses`, the rest under
//! `notReadyAddresses`) with the ports its `targetPort`s resolve to. The
//! proxy balances over `addresses`, so readiness reaches traffic through
//! here.
//!
//! - A Service without a selector is never touched: its Endpoints are the
//!   user's.
//! - When a Service is deleted its Endpoints go with it (as in Kubernetes);
//!   Endpoints that never had a Service are left alone.
//! - The object is written only when what it says changes (`subsets`
//!   builds it deterministically).

pub(crate) mod subsets;

use subsets::selects;

use crate::context::Context;
use crate::error::ControllerError;
use crate::trace::Causes;
use capstan_client::DeleteParams;
use capstan_proto::core::v1::{Endpoints, Pod, Service};
use capstan_proto::kinds::Resource;
use capstan_proto::meta::v1::ObjectMeta;
use capstan_runtime::events::WARNING;
use capstan_runtime::informer::{InformerEvent, Subscription};
use capstan_runtime::EventRecorder;
use capstan_runtime::{run_workers_in_spans, Requeue, WorkQueue};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub async fn run(ctx: Arc<Context>, stop: CancellationToken) {
    let queue = WorkQueue::<String>::new();
    let recorder = ctx.recorder("endpoint-controller");
    let causes = Arc::new(Causes::default());
    let feed = feed(ctx.clone(), queue.clone(), causes.clone(), stop.clone());
    let span_of = move |key: &String| causes.reconcile_span("endpoints", key);
    let workers = run_workers_in_spans(ctx.workers("endpoints"), queue, stop, span_of, move |key: String| {
        let (ctx, recorder) = (ctx.clone(), recorder.clone());
        async move { reconcile(&ctx, &recorder, &key).await }
    });
    tokio::join!(feed, workers);
}

pub(crate) fn key_of(meta: &ObjectMeta) -> String {
    format!("{}/{}", meta.namespace, meta.name)
}

/// Turns informer events into queued Service keys until `stop` or the
/// informers end.
async fn feed(ctx: Arc<Context>, queue: WorkQueue<String>, causes: Arc<Causes>, stop: CancellationToken) {
    let endpoints = ctx.endpoints.subscribe();
    // someone changed or deleted Endpoints this controller keeps: put them back
    let owned_key = |ctx: &Context, event: InformerEvent<Endpoints>| match event {
        InformerEvent::Modified { new: ep, .. } | InformerEvent::Deleted(ep) => {
            let meta = ep.meta();
            ctx.services
                .store()
                .get(&meta.namespace, &meta.name)
                .is_some_and(|s| has_selector(&s))
                .then(|| key_of(meta))
        }
        _ => None,
    };
    feed_service_keys(ctx, queue, &causes, stop, endpoints, owned_key).await;
}

/// The feed of a controller that keeps objects per Service (Endpoints,
/// EndpointSlices): every Service event queues its key, a pod change that
/// matters queues the Services that select the pod (before and after), and an
/// event of the controller's own objects queues what `owned_key` says. Each
/// pod change queuing a Service is one of the [`Causes`] of its next reconcile.
pub(crate) async fn feed_service_keys<K>(
    ctx: Arc<Context>,
    queue: WorkQueue<String>,
    causes: &Causes,
    stop: CancellationToken,
    mut owned: Subscription<K>,
    owned_key: impl Fn(&Context, InformerEvent<K>) -> Option<String>,
) {
    let mut services = ctx.services.subscribe();
    let mut pods = ctx.pods.subscribe();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            event = services.recv() => match event {
                None => return,
                Some(event) => {
                    if let Some(service) = event.object() {
                        queue.add(key_of(service.meta()));
                    }
                }
            },
            event = pods.recv() => match event {
                None => return,
                Some(InformerEvent::Modified { old, new }) => {
                    if subsets::relevant_change(&old, &new) {
                        queue_selecting(&ctx, &old, &new, &queue, causes);
                        queue_selecting(&ctx, &new, &new, &queue, causes);
                    }
                }
                Some(event) => {
                    if let Some(pod) = event.object() {
                        queue_selecting(&ctx, pod, pod, &queue, causes);
                    }
                }
            },
            event = owned.recv() => match event {
                None => return,
                Some(event) => {
                    if let Some(key) = owned_key(&ctx, event) {
                        queue.add(key);
                    }
                }
            },
        }
    }
}

/// The pods of `namespace` that `selector` (a Service's) selects, from the cache.
pub(crate) fn pods_selected(
    ctx: &Context,
    namespace: &str,
    selector: &std::collections::BTreeMap<String, String>,
) -> Vec<Arc<Pod>> {
    ctx.pods.store().list_namespace(namespace).into_iter().filter(|p| selects(selector, &p.meta().labels)).collect()
}

fn has_selector(service: &Service) -> bool {
    service.spec.as_ref().is_some_and(|s| !s.selector.is_empty())
}

/// Queues the Services that select `pod` (the EndpointSlice controller's too).
pub(crate) fn queue_selecting(ctx: &Context, pod: &Pod, changed: &Pod, queue: &WorkQueue<String>, causes: &Causes) {
    let meta = pod.meta();
    for service in ctx.services.store().list_namespace(&meta.namespace) {
        if service.spec.as_ref().is_some_and(|s| selects(&s.selector, &meta.labels)) {
            let key = key_of(service.meta());
            causes.add(&key, changed);
            queue.add(key);
        }
    }
}

/// Brings the Endpoints named `key` ("namespace/name") in line with its Service.
async fn reconcile(ctx: &Context, recorder: &EventRecorder, key: &str) -> Result<Requeue, ControllerError> {
    let Some((namespace, name)) = key.split_once('/') else {
        return Err(ControllerError::Invalid(format!("service key {key:?} is not namespace/name")));
    };
    let api = ctx.client.api::<Endpoints>(Some(namespace));
    let current = ctx.endpoints.store().get(namespace, name);
    let Some(service) = ctx.services.store().get(namespace, name) else {
        if current.is_some() {
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => tracing::info!(endpoints = key, "deleted the Endpoints of a deleted Service"),
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(ControllerError::api(format!("delete endpoints {key}"))(error)),
            }
        }
        return Ok(Requeue::No);
    };
    let Some(selector) = service.spec.as_ref().map(|s| &s.selector).filter(|s| !s.is_empty()) else {
        return Ok(Requeue::No);
    };
    let pods = pods_selected(ctx, namespace, selector);
    let subsets = subsets::subsets(&service, &pods);
    let labels = subsets::labels(&service);
    let result = match current {
        Some(current) if current.subsets == subsets && current.meta().labels == labels => return Ok(Requeue::No),
        Some(current) => {
            let mut next = (*current).clone();
            next.subsets = subsets;
            next.metadata.get_or_insert_with(Default::default).labels = labels;
            // pinned to the cached resourceVersion: a conflict re-reads the cache
            api.update(&next).await.map_err(ControllerError::api(format!("update endpoints {key}")))
        }
        None => {
            let meta = ObjectMeta { name: name.into(), namespace: namespace.into(), labels, ..Default::default() };
            let endpoints = Endpoints { metadata: Some(meta), subsets, ..Default::default() };
            api.create(&endpoints).await.map_err(ControllerError::api(format!("create endpoints {key}")))
        }
    };
    match result {
        Ok(written) => {
            let (ready, not_ready) = written
                .subsets
                .iter()
                .fold((0, 0), |(r, n), s| (r + s.addresses.len(), n + s.not_ready_addresses.len()));
            tracing::debug!(endpoints = key, ready, not_ready, "wrote Endpoints");
            Ok(Requeue::No)
        }
        Err(error) => {
            if !error.is_conflict() {
                let message = format!("Failed to update endpoint {key}: {error}");
                if let Err(e) = recorder.record(service.as_ref(), WARNING, "FailedToUpdateEndpoint", &message).await {
                    tracing::debug!(error = %e, "recording FailedToUpdateEndpoint");
                }
            }
            Err(error)
        }
    }
}
