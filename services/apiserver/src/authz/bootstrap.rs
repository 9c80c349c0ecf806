//! Writes `capstan_rbac::bootstrap`'s roles and bindings at start, as
//! kube-apiserver's RBAC post-start hook does: what is missing is created,
//! missing rules and subjects are added, nothing an operator added is taken
//! away (the decision is `capstan_rbac::reconcile`'s; this module only
//! carries it out through the registry, so the writes are validated and
//! reach the watch caches like any other).
//!
//! Several API servers may start at once over one store: a create that
//! finds the object already there, or an update that lost a race, means
//! another server did the same work, and is not an error.

use crate::error::ApiError;
use crate::registry::{DeleteOptions, Part, Registry, Write};
use capstan_proto::api::v1::Object;
use capstan_proto::rbac::v1::{ClusterRole, ClusterRoleBinding};
use capstan_proto::Resource;
use capstan_rbac::bootstrap;
use capstan_rbac::reconcile::{self, Plan};

/// Reconciles every bootstrap ClusterRole, then every ClusterRoleBinding.
pub async fn reconcile_bootstrap_policy(registry: &Registry) -> Result<(), ApiError> {
    for wanted in bootstrap::cluster_roles() {
        let existing = current::<ClusterRole>(registry, "clusterroles", &wanted.meta().name).await?;
        let plan = reconcile::cluster_role(existing.as_ref(), &wanted);
        carry_out(registry, "clusterroles", &wanted.meta().name, plan.map(Resource::into_object)).await?;
    }
    for wanted in bootstrap::cluster_role_bindings() {
        let existing = current::<ClusterRoleBinding>(registry, "clusterrolebindings", &wanted.meta().name).await?;
        let plan = reconcile::cluster_role_binding(existing.as_ref(), &wanted);
        carry_out(registry, "clusterrolebindings", &wanted.meta().name, plan.map(Resource::into_object)).await?;
    }
    Ok(())
}

async fn current<R: Resource>(registry: &Registry, resource: &str, name: &str) -> Result<Option<R>, ApiError> {
    let target = registry.target(resource, "", name)?;
    match registry.get(&target).await {
        Ok(object) => Ok(R::try_from_object(object)),
        Err(ApiError::NotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

async fn carry_out(registry: &Registry, resource: &str, name: &str, plan: Plan<Object>) -> Result<(), ApiError> {
    let target = registry.target(resource, "", name)?;
    let done = match plan {
        Plan::Keep => return Ok(()),
        Plan::Create(object) => registry.create(resource, "", object, Write::SERVER).await.map(drop),
        Plan::Update(object) => registry.update(&target, Part::Main, object, Write::SERVER).await.map(drop),
        Plan::Recreate(object) => {
            tracing::warn!(resource, name, "a bootstrap binding names another role; recreating it");
            match registry.delete(&target, &DeleteOptions::default()).await {
                Ok(_) | Err(ApiError::NotFound { .. }) => {}
                Err(err) => return Err(err),
            }
            registry.create(resource, "", object, Write::SERVER).await.map(drop)
        }
    };
    match done {
        Ok(()) => {
            tracing::info!(resource, name, "reconciled a bootstrap RBAC object");
            Ok(())
        }
        Err(ApiError::AlreadyExists { .. } | ApiError::Conflict { .. }) => Ok(()),
        Err(err) => Err(err),
    }
}
