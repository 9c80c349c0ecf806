//! One reconcile of one Deployment (Kubernetes' `syncDeployment`): claim
//! its ReplicaSets, then — deleting, paused, rescaled or rolling out —
//! take the one step the state calls for, and report status.

use super::rollout::Rollout;
use super::view::RsView;
use super::{conditions, fenceposts::Params, history, rolling, scale, status, Controller};
use crate::error::ControllerError;
use crate::ownership::{controller_of, is_deleting};
use crate::replicaset::claim::claim_all;
use crate::replicaset::pods;
use crate::replicaset::{selector_of, split_key};
use capstan_proto::apps::v1::{Deployment, ReplicaSet};
use capstan_proto::core::v1::Pod;
use capstan_proto::kinds::Resource;
use capstan_runtime::Requeue;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub(super) async fn reconcile(controller: &Controller, key: &str) -> Result<Requeue, ControllerError> {
    let Some(mut rollout) = load(controller, key).await? else { return Ok(Requeue::No) };
    let paused = rollout.d.spec.as_ref().is_some_and(|s| s.paused);
    if is_deleting(rollout.d.meta()) {
        rollout.sync_revision(false).await?;
        sync_status(&mut rollout).await?;
        return Ok(Requeue::No);
    }
    let mut status = rollout.d.status.clone().unwrap_or_default();
    if conditions::paused(&rollout.d, &mut status, rollout.now) {
        rollout.write_status(status).await?;
    }
    rollout.sync_revision(false).await?;
    let new = rollout.new_view();
    let old = rollout.old_views();
    let all: Vec<&RsView> = old.iter().chain(new.as_ref()).collect();
    // A scaling event that Recreate cannot share out (two active
    // ReplicaSets) is left to the rollout, which empties the old ones anyway.
    let scaling = scale::is_scaling_event(rollout.params.replicas, &all);
    if paused {
        rescale(&mut rollout).await?;
        cleanup(&mut rollout).await?;
        sync_status(&mut rollout).await?;
    } else if scaling && rescale(&mut rollout).await? {
        sync_status(&mut rollout).await?;
    } else if rollout.is_recreate() {
        recreate(&mut rollout).await?;
    } else {
        rolling_update(&mut rollout).await?;
    }
    Ok(requeue(&rollout))
}

/// The Deployment `key` from the cache with the ReplicaSets it claims and
/// their pods; `None` when it is gone or cannot be acted on.
async fn load<'a>(controller: &'a Controller, key: &'a str) -> Result<Option<Rollout<'a>>, ControllerError> {
    let (namespace, name) = split_key(key)?;
    let ctx = &controller.ctx;
    let Some(cached) = ctx.deployments.store().get(namespace, name) else { return Ok(None) };
    let d = (*cached).clone();
    let spec = d.spec.clone().unwrap_or_default();
    let Some(selector) = selector_of(&d, spec.selector.as_ref()) else { return Ok(None) };
    let params = match Params::of(&d) {
        Ok(params) => params,
        Err(error) => {
            // validation refuses such budgets; nothing to do until the spec changes
            tracing::warn!(key, %error, "cannot roll out");
            return Ok(None);
        }
    };
    let rs_api = ctx.client.api::<ReplicaSet>(Some(namespace));
    let d_api = ctx.client.api::<Deployment>(Some(namespace));
    let candidates = ctx.replica_sets.store().list_namespace(namespace);
    let sets: Vec<ReplicaSet> =
        claim_all(&d, &selector, candidates, &rs_api, &d_api).await?.iter().map(|rs| (**rs).clone()).collect();
    let uids: HashSet<&str> = sets.iter().map(|rs| rs.meta().uid.as_str()).collect();
    let mut pods: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
    for pod in ctx.pods.store().list_namespace(namespace) {
        if let Some(owner) = controller_of(pod.meta()).filter(|r| uids.contains(r.uid.as_str())) {
            pods.entry(owner.uid.clone()).or_default().push(pod);
        }
    }
    Ok(Some(Rollout { controller, key, d, params, sets, pods, new: None, now: pods::now() }))
}

/// One RollingUpdate step: create or grow the new ReplicaSet, else shrink
/// old ones, else (complete) clean up history.
async fn rolling_update(r: &mut Rollout<'_>) -> Result<(), ControllerError> {
    if r.new.is_none() {
        r.sync_revision(true).await?;
    }
    if let Some(new) = r.new_view() {
        let mut all = r.old_views();
        all.push(new.clone());
        if let Some(target) = rolling::new_rs_target(&r.params, &all, &new) {
            r.scale(&new.name, target).await?;
            return sync_rollout_status(r).await;
        }
    }
    let mut scaled = false;
    for (name, size) in rolling::old_rs_targets(&r.params, &r.old_views(), r.new_view().as_ref()) {
        scaled |= r.scale(&name, size).await?;
    }
    if !scaled && conditions::complete(&r.d, &current_status(r)) {
        cleanup(r).await?;
    }
    sync_rollout_status(r).await
}

/// One Recreate step: empty the old ReplicaSets, wait until their pods are
/// gone, then create the new ReplicaSet at full size.
async fn recreate(r: &mut Rollout<'_>) -> Result<(), ControllerError> {
    let shrinking: Vec<String> = r.old_views().into_iter().filter(|rs| rs.replicas > 0).map(|rs| rs.name).collect();
    if !shrinking.is_empty() {
        for name in shrinking {
            r.scale(&name, 0).await?;
        }
        return sync_rollout_status(r).await;
    }
    // Terminating pods still run, and a ReplicaSet whose controller has not
    // reported on its new size may still be creating some.
    if r.old_views().iter().any(|rs| rs.existing > 0 || !rs.emptied) {
        return sync_rollout_status(r).await;
    }
    if r.new.is_none() {
        r.sync_revision(true).await?;
    }
    if let Some(new) = r.new_view() {
        r.scale(&new.name, r.params.replicas).await?;
    }
    if conditions::complete(&r.d, &current_status(r)) {
        cleanup(r).await?;
    }
    sync_rollout_status(r).await
}

/// Share a changed `spec.replicas` among the active ReplicaSets; false
/// when there was no way to.
async fn rescale(r: &mut Rollout<'_>) -> Result<bool, ControllerError> {
    let status_replicas = r.d.status.as_ref().map(|s| s.replicas).unwrap_or(0);
    let targets = scale::targets(&r.params, !r.is_recreate(), r.new_view().as_ref(), &r.old_views(), status_replicas);
    let shared = !targets.is_empty();
    for (name, size) in targets {
        r.scale(&name, size).await?;
    }
    Ok(shared)
}

/// Delete old ReplicaSets beyond `revisionHistoryLimit`.
async fn cleanup(r: &mut Rollout<'_>) -> Result<(), ControllerError> {
    let Some(limit) = r.d.spec.as_ref().and_then(|s| s.revision_history_limit) else { return Ok(()) };
    for name in history::to_delete(&r.old_views(), limit) {
        r.delete(&name).await?;
    }
    Ok(())
}

/// The counts and `Available` condition as the ReplicaSets stand now.
fn current_status(r: &Rollout<'_>) -> capstan_proto::apps::v1::DeploymentStatus {
    let new = r.new_view();
    let old = r.old_views();
    let all: Vec<&RsView> = old.iter().chain(new.as_ref()).collect();
    status::calculate(&r.d, &r.params, &all, new.as_ref(), r.now)
}

async fn sync_status(r: &mut Rollout<'_>) -> Result<(), ControllerError> {
    let status = current_status(r);
    r.write_status(status).await
}

async fn sync_rollout_status(r: &mut Rollout<'_>) -> Result<(), ControllerError> {
    let new_name = r.new_view().map(|v| v.name);
    let status = conditions::rollout(&r.d, current_status(r), new_name.as_deref(), r.now);
    r.write_status(status).await
}

/// When to look again without an event: a pod turning available after
/// `minReadySeconds`, or the progress deadline passing.
fn requeue(r: &Rollout<'_>) -> Requeue {
    let status = r.d.status.clone().unwrap_or_default();
    let deadline = conditions::deadline_check(&r.d, &status, r.now);
    let all_pods = r.pods.values().flatten().map(|p| &**p);
    let available = pods::next_available(all_pods, r.min_ready_seconds(), r.now);
    match deadline.into_iter().chain(available).min() {
        Some(after) => Requeue::After(after),
        None => Requeue::No,
    }
}
