//! Validation of API objects, with every field error listed by its path.
//!
//! The registry calls [`validate_create`] on a new object (after defaulting
//! and after filling the name from `generateName`) and [`validate_update`]
//! on a replacement; a non-empty result becomes an `InvalidArgument` whose
//! status details carry one cause per [`FieldError`] (`reason()`, `path`,
//! `body()`). Store-dependent checks (does the namespace exist, is a node
//! port free) are the registry's, not these pure functions'.

mod common;
mod container;
mod deployment;
mod endpoints;
mod endpointslice;
mod env;
mod error;
mod event;
mod hpa;
mod lease;
mod meta;
mod namespace;
mod node;
mod pod;
mod probe;
mod rbac;
mod replicaset;
mod scheduling;
mod selector;
mod service;
mod subresources;

#[cfg(test)]
mod tests;

pub use error::{FieldError, FieldErrorKind, Path, Render};
pub use meta::{NameRule, TOTAL_ANNOTATION_SIZE_LIMIT};

use capstan_proto::api::v1::{object::Kind, Object};
use capstan_proto::ObjectExt;

/// Every problem with a new object, per Kubernetes' rules for its kind.
pub fn validate_create(obj: &Object) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match &obj.kind {
        Some(Kind::Pod(v)) => pod::pod(&mut errs, v),
        Some(Kind::Namespace(v)) => namespace::namespace(&mut errs, v),
        Some(Kind::Node(v)) => node::node(&mut errs, v),
        Some(Kind::Service(v)) => service::service(&mut errs, v),
        Some(Kind::Endpoints(v)) => endpoints::endpoints(&mut errs, v),
        Some(Kind::Event(v)) => event::event(&mut errs, v),
        Some(Kind::ReplicaSet(v)) => replicaset::replica_set(&mut errs, v),
        Some(Kind::Deployment(v)) => deployment::deployment(&mut errs, v),
        Some(Kind::Lease(v)) => lease::lease(&mut errs, v),
        Some(Kind::HorizontalPodAutoscaler(v)) => hpa::hpa(&mut errs, v),
        Some(Kind::Role(v)) => rbac::role(&mut errs, v),
        Some(Kind::ClusterRole(v)) => rbac::cluster_role(&mut errs, v),
        Some(Kind::RoleBinding(v)) => rbac::role_binding(&mut errs, v),
        Some(Kind::ClusterRoleBinding(v)) => rbac::cluster_role_binding(&mut errs, v),
        Some(Kind::EndpointSlice(v)) => endpointslice::endpoint_slice(&mut errs, v),
        Some(Kind::Scale(v)) => subresources::scale(&mut errs, v),
        Some(Kind::Binding(v)) => subresources::binding(&mut errs, v),
        None => errs.push(FieldError::required("kind", "the object names no kind")),
    }
    errs
}

/// The create rules on `new`, plus what may not change from `old`.
pub fn validate_update(new: &Object, old: &Object) -> Vec<FieldError> {
    let mut errs = validate_create(new);
    if !matches!(new.kind, Some(Kind::Scale(_)) | Some(Kind::Binding(_))) {
        meta::object_meta_update(&mut errs, Some(new.meta()), Some(old.meta()));
    }
    match (&new.kind, &old.kind) {
        (Some(Kind::Pod(n)), Some(Kind::Pod(o))) => pod::pod_update(&mut errs, n, o),
        (Some(Kind::Service(n)), Some(Kind::Service(o))) => service::service_update(&mut errs, n, o),
        (Some(Kind::ReplicaSet(n)), Some(Kind::ReplicaSet(o))) => replicaset::replica_set_update(&mut errs, n, o),
        (Some(Kind::Deployment(n)), Some(Kind::Deployment(o))) => deployment::deployment_update(&mut errs, n, o),
        (Some(Kind::Node(n)), Some(Kind::Node(o))) => node::node_update(&mut errs, n, o),
        (Some(Kind::EndpointSlice(n)), Some(Kind::EndpointSlice(o))) => {
            endpointslice::endpoint_slice_update(&mut errs, n, o)
        }
        (Some(Kind::RoleBinding(n)), Some(Kind::RoleBinding(o))) => {
            rbac::role_ref_update(&mut errs, n.role_ref.as_ref(), o.role_ref.as_ref())
        }
        (Some(Kind::ClusterRoleBinding(n)), Some(Kind::ClusterRoleBinding(o))) => {
            rbac::role_ref_update(&mut errs, n.role_ref.as_ref(), o.role_ref.as_ref())
        }
        (Some(n), Some(o)) if std::mem::discriminant(n) != std::mem::discriminant(o) => {
            errs.push(FieldError::invalid("kind", new.kind_name(), "may not change the kind of an object"));
        }
        _ => {}
    }
    errs
}
