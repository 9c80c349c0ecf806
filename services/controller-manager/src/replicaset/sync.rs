//! One reconcile of one ReplicaSet: claim its pods, create or delete the
//! difference unless earlier writes are still unseen, and report status.

use super::manage::{self, Plan};
use super::{claim, pods, selector_of, split_key, status, Controller};
use crate::error::ControllerError;
use crate::ownership::{controller_of, is_deleting};
use capstan_proto::apps::v1::ReplicaSet;
use capstan_proto::core::v1::Pod;
use capstan_proto::kinds::Resource;
use capstan_runtime::Requeue;
use std::collections::HashSet;
use std::sync::Arc;

pub(super) async fn reconcile(controller: &Controller, key: &str) -> Result<Requeue, ControllerError> {
    let (namespace, name) = split_key(key)?;
    let ctx = &controller.ctx;
    let Some(rs) = ctx.replica_sets.store().get(namespace, name) else {
        controller.expectations.forget(key);
        return Ok(Requeue::No);
    };
    // Read before listing pods: every pod the expectations have counted
    // is then already in the cache.
    let needs_sync = controller.expectations.satisfied(key);
    let spec = rs.spec.clone().unwrap_or_default();
    let Some(selector) = selector_of(&*rs, spec.selector.as_ref()) else { return Ok(Requeue::No) };
    let candidates: Vec<Arc<Pod>> =
        ctx.pods.store().list_namespace(namespace).into_iter().filter(|p| pods::is_active(p)).collect();
    let pod_api = ctx.client.api::<Pod>(Some(namespace));
    let rs_api = ctx.client.api::<ReplicaSet>(Some(namespace));
    let owned = claim::claim_all(&*rs, &selector, candidates.iter().cloned(), &pod_api, &rs_api).await?;

    let desired = spec.replicas.unwrap_or(1).max(0) as usize;
    let plan = manage::plan(desired, owned.len(), needs_sync && !is_deleting(rs.meta()));
    let mut failed = None;
    if plan != Plan::Nothing {
        let related = related_pods(controller, &rs, &candidates);
        failed = manage::manage(controller, &rs, plan, &owned, &related).await.err();
    }

    let now = pods::now();
    let status = status::compute(&rs, &owned, failed.as_ref().map(|f| &f.failure), now);
    if rs.status.as_ref() != Some(&status) {
        let mut updated = (*rs).clone();
        updated.status = Some(status);
        rs_api
            .update_status(&updated)
            .await
            .map_err(ControllerError::api(format!("update status of ReplicaSet {key}")))?;
    }
    if let Some(failed) = failed {
        return Err(failed.error);
    }
    let available = pods::next_available(owned.iter().map(|p| &**p), spec.min_ready_seconds, now);
    let expiring = controller.expectations.time_left(key);
    Ok(match available.into_iter().chain(expiring).min() {
        Some(after) => Requeue::After(after),
        None => Requeue::No,
    })
}

/// The active pods of `rs` and of its siblings (the ReplicaSets with the
/// same controller, e.g. one Deployment's), for ranking scale-down victims.
fn related_pods(controller: &Controller, rs: &ReplicaSet, candidates: &[Arc<Pod>]) -> Vec<Arc<Pod>> {
    let meta = rs.meta();
    let mut family: HashSet<String> = HashSet::from([meta.uid.clone()]);
    if let Some(owner) = controller_of(meta) {
        for sibling in controller.ctx.replica_sets.store().list_namespace(&meta.namespace) {
            if controller_of(sibling.meta()).is_some_and(|r| r.uid == owner.uid) {
                family.insert(sibling.meta().uid.clone());
            }
        }
    }
    candidates.iter().filter(|p| controller_of(p.meta()).is_some_and(|r| family.contains(&r.uid))).cloned().collect()
}
