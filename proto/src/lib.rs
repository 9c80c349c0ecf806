//! Capstan's API contract, compiled from the `.proto` files under `capstan/`.
//!
//! Start with [`api::v1::Object`], the envelope every kind travels in, and
//! [`Resource`], which ties each kind to its REST name and metadata. The
//! generated messages are the API objects themselves (as `k8s-openapi`'s types
//! are for kube-rs); their JSON and YAML forms are Kubernetes' own, derived
//! from the protos' `json_name`s, with the special forms (times, quantities,
//! int-or-string) written by hand in [`json`].
//!
//! # Layout
//! - [`meta`], [`core`], [`apps`], [`coordination`], [`autoscaling`], [`rbac`]: the API
//!   groups' types; [`authentication`], [`authorization`]: the review objects
//!   (answered, never stored); [`api`]: the generic resource service and the
//!   review service; [`runtime`]: the
//!   CRI-like interface of the runtime shims.
//! - [`kinds`]: the table of kinds (resource names, short names, scope) and
//!   the [`Resource`] trait.
//! - [`object`]: the `Object` envelope's helpers and manifest decoding that
//!   names the path of a bad or unknown field.
//! - [`quantity`], [`time`]: Kubernetes' quantity notation and timestamps.
//! - [`descriptors`]: the API types as protoc describes them (comments
//!   included), for the OpenAPI schemas and the strategic merge;
//!   [`merge_keys`]: how each list merges (merge key, list type), one table
//!   for both.

#![allow(clippy::large_enum_variant, clippy::doc_lazy_continuation)]

pub mod descriptors;
pub mod json;
pub mod kinds;
pub mod merge_keys;
pub mod object;
pub mod quantity;
pub mod taints;
pub mod time;

pub use kinds::{KindInfo, Resource};
pub use object::{DecodeError, ObjectExt};

/// Kubernetes' object metadata and shared machinery types (meta/v1).
pub mod meta {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/capstan.meta.v1.rs"));
    }
}

/// The core group: pods, nodes, namespaces, services, endpoints, events.
pub mod core {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/capstan.core.v1.rs"));
    }
}

/// The apps group: replica sets and deployments.
pub mod apps {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/capstan.apps.v1.rs"));
    }
}

/// The coordination group: leases.
pub mod coordination {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/capstan.coordination.v1.rs"));
    }
}

/// The autoscaling group: the scale subresource (v1) and the
/// HorizontalPodAutoscaler (v2).
pub mod autoscaling {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/capstan.autoscaling.v1.rs"));
    }
    pub mod v2 {
        include!(concat!(env!("OUT_DIR"), "/capstan.autoscaling.v2.rs"));
    }
}

/// The RBAC group (rbac.authorization.k8s.io): roles, cluster roles and their
/// bindings.
pub mod rbac {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/capstan.rbac.v1.rs"));
    }
}

/// The authentication group (authentication.k8s.io): `SelfSubjectReview`,
/// who the API server takes the caller to be (answered, never stored).
pub mod authentication {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/capstan.authentication.v1.rs"));
    }
}

/// The authorization group (authorization.k8s.io): `SelfSubjectAccessReview`,
/// whether the caller may do something (answered, never stored).
pub mod authorization {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/capstan.authorization.v1.rs"));
    }
}

/// The CRI-like runtime interface between the kubelet and its runtime shim.
pub mod runtime {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/capstan.runtime.v1.rs"));
    }
}

/// The kubelet's own service: logs, exec and usage for one node's pods.
pub mod kubelet {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/capstan.kubelet.v1.rs"));
    }
}

/// The service proxy's admin service.
pub mod proxy {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/capstan.proxy.v1.rs"));
    }
}

/// The scheduler's own service: why a pod is or is not schedulable.
pub mod scheduler {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/capstan.scheduler.v1.rs"));
    }
}

/// The generic resource service every component talks to.
pub mod api {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/capstan.api.v1.rs"));
    }
}
