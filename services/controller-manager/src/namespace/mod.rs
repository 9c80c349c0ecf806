//! The namespace controller: empties a namespace that is being deleted,
//! then lets it go.
//!
//! Deleting a namespace only marks it (the API server sets its
//! `deletionTimestamp` and phase `Terminating`, and refuses new content);
//! the `kubernetes` entry in `spec.finalizers` keeps it until this
//! controller has deleted every object of every namespaced kind in it and
//! seen them gone — pods terminate gracefully through their kubelets, so
//! it looks again while some remain — reporting progress in the
//! namespace's conditions. Then it removes the `kubernetes` finalizer and
//! the API server removes the namespace.

mod conditions;

use crate::context::Context;
use crate::error::ControllerError;
use capstan_client::{resource_ref, DeleteParams, ListParams};
use capstan_proto::core::v1::Namespace;
use capstan_proto::kinds::{KindInfo, Resource, STORED_KINDS};
use capstan_proto::meta::v1::Time;
use capstan_proto::ObjectExt;
use capstan_runtime::informer::InformerEvent;
use capstan_runtime::{run_workers, Requeue, WorkQueue};
use conditions::Content;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The finalizer this controller owns on every namespace.
pub const FINALIZER: &str = "kubernetes";

/// How soon a namespace with content left (terminating pods, objects with
/// finalizers) is looked at again when no pod deletion says so first.
const RECHECK: Duration = Duration::from_secs(2);

pub async fn run(ctx: Arc<Context>, stop: CancellationToken) {
    let queue = WorkQueue::<String>::new();
    let feed = feed(ctx.clone(), queue.clone(), stop.clone());
    let workers = run_workers(ctx.workers("namespace"), queue, stop, move |name: String| {
        let ctx = ctx.clone();
        async move { reconcile(&ctx, &name).await }
    });
    tokio::join!(feed, workers);
}

fn is_terminating(namespace: &Namespace) -> bool {
    namespace.meta().deletion_timestamp.is_some()
}

/// Queues terminating namespaces, and a terminating namespace again when
/// one of its pods is gone (the usual last thing to leave).
async fn feed(ctx: Arc<Context>, queue: WorkQueue<String>, stop: CancellationToken) {
    let mut namespaces = ctx.namespaces.subscribe();
    let mut pods = ctx.pods.subscribe();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            event = namespaces.recv() => match event {
                None => return,
                Some(InformerEvent::Deleted(_)) => {}
                Some(event) => {
                    if let Some(namespace) = event.object().filter(|n| is_terminating(n)) {
                        queue.add(namespace.meta().name.clone());
                    }
                }
            },
            event = pods.recv() => match event {
                None => return,
                Some(InformerEvent::Deleted(pod)) => {
                    let namespace = &pod.meta().namespace;
                    if ctx.namespaces.store().get("", namespace).is_some_and(|n| is_terminating(&n)) {
                        queue.add(namespace.clone());
                    }
                }
                Some(_) => {}
            },
        }
    }
}

async fn reconcile(ctx: &Context, name: &str) -> Result<Requeue, ControllerError> {
    let Some(namespace) = ctx.namespaces.store().get("", name) else { return Ok(Requeue::No) };
    let finalizing = namespace.spec.as_ref().is_some_and(|s| s.finalizers.iter().any(|f| f == FINALIZER));
    if !is_terminating(&namespace) || !finalizing {
        return Ok(Requeue::No);
    }
    let content = delete_content(ctx, name).await;
    let old = namespace.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    if let Some(conditions) = conditions::update(old, &content, Time::now()) {
        let mut next = (*namespace).clone();
        next.status.get_or_insert_with(Default::default).conditions = conditions;
        ctx.client
            .api::<Namespace>(None)
            .update_status(&next)
            .await
            .map_err(ControllerError::api(format!("update the conditions of namespace {name}")))?;
    }
    if !content.is_done() {
        tracing::debug!(namespace = name, remaining = ?content.remaining, failures = ?content.failures, "namespace not empty yet");
        return Ok(Requeue::After(RECHECK));
    }
    finalize(ctx, name).await
}

/// Deletes every object of every namespaced kind in `namespace` and counts
/// what is still there afterwards.
async fn delete_content(ctx: &Context, namespace: &str) -> Content {
    let mut content = Content::default();
    for info in STORED_KINDS.iter().filter(|k| k.namespaced) {
        let resource = format!("{}.{}", info.resource, info.group());
        match delete_kind(ctx, info, namespace, &mut content).await {
            Ok(remaining) => {
                content.remaining.insert(resource, remaining);
            }
            Err(error) => content.failures.push(format!("{resource}: {error}")),
        }
    }
    content
}

/// Deletes the objects of one kind in `namespace`; answers how many are
/// still there (terminating or held by finalizers, whose counts go into
/// `content`).
async fn delete_kind(
    ctx: &Context,
    info: &'static KindInfo,
    namespace: &str,
    content: &mut Content,
) -> Result<usize, capstan_client::ClientError> {
    let list = ctx.client.list(resource_ref(info, namespace, ""), ListParams::default().to_options("")).await?;
    let mut remaining = 0;
    for object in list.items {
        let meta = object.meta();
        let mut left = Some(meta.clone());
        if meta.deletion_timestamp.is_none() {
            let params = DeleteParams { precondition_uid: Some(meta.uid.clone()), ..Default::default() };
            left = match ctx.client.delete(resource_ref(info, namespace, &meta.name), &params).await {
                Ok(response) if response.deleted => None,
                Ok(response) => Some(response.object.map(|o| o.meta().clone()).unwrap_or_else(|| meta.clone())),
                // gone already, or replaced by a newer object the next pass sees
                Err(error) if error.is_not_found() || error.is_conflict() => None,
                Err(error) => return Err(error),
            };
        }
        if let Some(meta) = left {
            remaining += 1;
            for finalizer in &meta.finalizers {
                *content.finalizers.entry(finalizer.clone()).or_default() += 1;
            }
        }
    }
    Ok(remaining)
}

/// Removes this controller's finalizer; the API server then removes the
/// namespace, as nothing else holds it.
async fn finalize(ctx: &Context, name: &str) -> Result<Requeue, ControllerError> {
    let api = ctx.client.api::<Namespace>(None);
    let mut namespace = match api.get(name).await {
        Ok(namespace) => namespace,
        Err(error) if error.is_not_found() => return Ok(Requeue::No),
        Err(error) => return Err(ControllerError::api(format!("get namespace {name}"))(error)),
    };
    let spec = namespace.spec.get_or_insert_with(Default::default);
    if !spec.finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(Requeue::No);
    }
    spec.finalizers.retain(|f| f != FINALIZER);
    match api.update(&namespace).await {
        Ok(_) => {
            tracing::info!(namespace = name, "namespace emptied and finalized");
            Ok(Requeue::No)
        }
        Err(error) if error.is_not_found() => Ok(Requeue::No),
        Err(error) => Err(ControllerError::api(format!("finalize namespace {name}"))(error)),
    }
}
