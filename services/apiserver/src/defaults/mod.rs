//! Defaulting, as Kubernetes does it, so a stored object says what it means.
//!
//! Controllers, the scheduler and the kubelet read stored objects and must
//! not each guess that a missing `restartPolicy` means `Always`; the API
//! server writes the defaults in once, before validation. Only pure defaults
//! live here; those that need the store (namespace, uid, cluster IP and node
//! port allocation) are the registry's.
//!
//! # Layout
//! One file per kind or family, as `validation/` is: [`pod`] (pods and pod
//! templates, QoS), [`workloads`] (Deployment, ReplicaSet), [`service`],
//! [`namespace`], [`hpa`], [`rbac`]; [`tolerations`] is the create-only admission.

use capstan_proto::api::v1::{object::Kind, Object};

mod hpa;
mod namespace;
mod pod;
mod rbac;
mod service;
#[cfg(test)]
mod tests;
mod tolerations;
mod workloads;

pub use hpa::DEFAULT_CPU_UTILIZATION;
pub use pod::{image_pull_policy, pod_spec, qos_class};
pub use service::DEFAULT_CLIENT_IP_TIMEOUT;
pub use tolerations::{
    default_tolerations, TolerationSeconds, DEFAULT_TOLERATION_SECONDS, NOT_READY_TAINT, UNREACHABLE_TAINT,
};

/// Fills every unset field that Kubernetes defaults, for any kind.
pub fn apply_defaults(obj: &mut Object) {
    match &mut obj.kind {
        Some(Kind::Pod(p)) => pod::pod_defaults(p),
        Some(Kind::Deployment(d)) => workloads::deployment(d),
        Some(Kind::ReplicaSet(rs)) => workloads::replica_set(rs),
        Some(Kind::Service(svc)) => service::service(svc),
        Some(Kind::HorizontalPodAutoscaler(h)) => hpa::hpa(h),
        Some(Kind::Namespace(ns)) => namespace::namespace(ns),
        Some(Kind::RoleBinding(b)) => rbac::subjects(&mut b.subjects),
        Some(Kind::ClusterRoleBinding(b)) => rbac::subjects(&mut b.subjects),
        Some(Kind::Endpoints(ep)) => {
            for port in ep.subsets.iter_mut().flat_map(|s| s.ports.iter_mut()) {
                set_if_empty(&mut port.protocol, "TCP");
            }
        }
        Some(Kind::EndpointSlice(slice)) => {
            for port in &mut slice.ports {
                port.name.get_or_insert_with(String::new);
                port.protocol.get_or_insert_with(|| "TCP".to_string());
            }
        }
        Some(Kind::Node(node)) => {
            if let Some(status) = node.status.as_mut().filter(|s| s.allocatable.is_empty()) {
                status.allocatable = status.capacity.clone();
            }
        }
        _ => {}
    }
}

fn set_if_empty(field: &mut String, value: &str) {
    if field.is_empty() {
        *field = value.to_string();
    }
}
