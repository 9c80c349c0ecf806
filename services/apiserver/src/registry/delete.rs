//! Delete: preconditions, graceful deletion (pods on a node get their grace
//! period; the kubelet finishes the delete), finalizers (an object with
//! finalizers stays, marked, until they are removed), propagation policies
//! (recorded as the `foregroundDeletion` / `orphan` finalizers the garbage
//! collector acts on), and namespaces, which turn `Terminating` first.

use super::update::ready_to_remove;
use super::{parse_revision, set_revision, store_body, Registry, Target, CACHE_CATCH_UP, UNCONDITIONAL_RETRIES};
use crate::error::ApiError;
use capstan_proto::api::v1::{object::Kind, Object};
use capstan_proto::meta::v1::Time;
use capstan_proto::{kinds, ObjectExt};
use capstan_store::StoreError;

pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
pub const ORPHAN_FINALIZER: &str = "orphan";
const DEFAULT_POD_GRACE_SECONDS: i64 = 30;
/// How long a namespace delete waits for the watch cache to see it.

#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    /// Background (default), Foreground or Orphan
    pub propagation_policy: String,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
    pub dry_run: bool,
}

impl Registry {
    /// Returns the object as it stands afterwards and whether it is gone.
    #[tracing::instrument(name = "registry.delete", skip_all, fields(resource = target.info.resource, name = %target.name))]
    pub async fn delete(&self, target: &Target, options: &DeleteOptions) -> Result<(Object, bool), ApiError> {
        let finalizer = match options.propagation_policy.as_str() {
            "" | "Background" => None,
            "Foreground" => Some(FOREGROUND_FINALIZER),
            "Orphan" => Some(ORPHAN_FINALIZER),
            other => {
                return Err(ApiError::BadRequest(format!(
                    "propagationPolicy {other:?} is not supported: use Background, Foreground or Orphan"
                )))
            }
        };
        if options.grace_period_seconds.is_some_and(|g| g < 0) {
            return Err(ApiError::BadRequest("gracePeriodSeconds must not be negative".into()));
        }
        let pinned = parse_revision(options.precondition_resource_version.as_deref().unwrap_or(""))?;
        for _ in 0..UNCONDITIONAL_RETRIES {
            let (current, revision) = self.load(target).await?;
            self.check_preconditions(target, &current, revision, options, pinned)?;
            let mut next = current.clone();
            if let Some(Kind::Namespace(ns)) = &mut next.kind {
                if ns.metadata.as_ref().is_some_and(|m| m.deletion_timestamp.is_some()) {
                    return Err(ApiError::conflict(
                        target.info,
                        &target.name,
                        "The system is ensuring all content is removed from this namespace. Upon completion, this namespace will automatically be purged by the system.",
                    ));
                }
                ns.status.get_or_insert_with(Default::default).phase = "Terminating".into();
            }
            let grace = grace_period(&current, options.grace_period_seconds);
            let meta = next.meta_mut().ok_or_else(|| ApiError::Internal("stored object has no kind".into()))?;
            if let Some(f) = finalizer {
                if !meta.finalizers.iter().any(|x| x == f) {
                    meta.finalizers.push(f.to_string());
                }
            }
            let already = meta.deletion_grace_period_seconds;
            if meta.deletion_timestamp.is_none() || already.is_some_and(|a| grace < a) {
                let mut at = Time::now();
                at.seconds += grace;
                meta.deletion_timestamp = Some(at);
                meta.deletion_grace_period_seconds = Some(grace);
            }
            if options.dry_run {
                return Ok((next, false));
            }
            if ready_to_remove(&next) {
                return match self.remove(target, next, revision).await {
                    Ok(object) => Ok((object, true)),
                    Err(ApiError::Conflict { .. }) if pinned.is_none() => continue,
                    Err(err) => Err(err),
                };
            }
            if store_body(&next) == store_body(&current) {
                return Ok((current, false));
            }
            match self.store.update(&target.key(), store_body(&next), revision).await {
                Ok(new_revision) => {
                    set_revision(&mut next, new_revision);
                    if target.info.kind == kinds::NAMESPACE.kind {
                        // creates check namespaces in the watch cache: let it see
                        // Terminating before the caller can send the next create
                        self.cache(&kinds::NAMESPACE)?.wait_for_revision(new_revision, CACHE_CATCH_UP).await;
                    }
                    return Ok((next, false));
                }
                Err(StoreError::Conflict { .. }) if pinned.is_none() => continue,
                Err(err) => return Err(ApiError::from_store(err, target.info, &target.name)),
            }
        }
        Err(ApiError::conflict_modified(target.info, &target.name))
    }

    fn check_preconditions(
        &self,
        target: &Target,
        current: &Object,
        revision: i64,
        options: &DeleteOptions,
        pinned: Option<i64>,
    ) -> Result<(), ApiError> {
        let conflict = |reason: String| ApiError::conflict(target.info, &target.name, reason);
        if let Some(uid) = &options.precondition_uid {
            if *uid != current.meta().uid {
                return Err(conflict(format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    current.meta().uid
                )));
            }
        }
        if let Some(p) = pinned {
            if p != revision {
                return Err(conflict(format!("Precondition failed: ResourceVersion in precondition: {p}, ResourceVersion in object meta: {revision}")));
            }
        }
        Ok(())
    }
}

/// Pods bound to a node get a grace period for the kubelet to stop them;
/// unscheduled or finished pods, and every other kind, go at once.
fn grace_period(object: &Object, requested: Option<i64>) -> i64 {
    let Some(Kind::Pod(pod)) = &object.kind else { return 0 };
    let spec = pod.spec.as_ref();
    let scheduled = spec.is_some_and(|s| !s.node_name.is_empty());
    let finished = pod.status.as_ref().is_some_and(|s| s.phase == "Succeeded" || s.phase == "Failed");
    if !scheduled || finished {
        return 0;
    }
    requested.or_else(|| spec.and_then(|s| s.termination_grace_period_seconds)).unwrap_or(DEFAULT_POD_GRACE_SECONDS)
}
