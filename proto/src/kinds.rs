//! The table of kinds the API serves, and the [`Resource`] trait that ties a
//! generated message to its entry.
//!
//! The API server, the CLI and every controller resolve names through this
//! one table, so `po`, `pod`, `pods` and `Pod` mean the same thing everywhere.

use crate::api::v1::{object::Kind, Object};
use crate::meta::v1::ObjectMeta;
use serde::{de::DeserializeOwned, Serialize};
use std::sync::LazyLock;

/// What the API knows about one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    pub kind: &'static str,
    /// the lower-case plural used in requests and store keys ("pods")
    pub resource: &'static str,
    pub singular: &'static str,
    pub short_names: &'static [&'static str],
    /// "v1", "apps/v1", "coordination.k8s.io/v1"
    pub api_version: &'static str,
    pub namespaced: bool,
    pub subresources: &'static [&'static str],
    /// the groups of resources kubectl expands (`all` in `kubectl get all`),
    /// as Kubernetes' discovery names them
    pub categories: &'static [&'static str],
}

/// The verbs every stored kind serves, as discovery lists them.
pub const VERBS: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];

/// The verbs of a subresource (`pods/status`, `deployments/scale`), as
/// Kubernetes' discovery lists them.
pub fn subresource_verbs(subresource: &str) -> &'static [&'static str] {
    match subresource {
        "binding" => &["create"],
        _ => &["get", "patch", "update"],
    }
}

impl KindInfo {
    /// The API group ("" for the core group).
    pub fn group(&self) -> &'static str {
        self.api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
    }

    /// True when `name` names this kind: plural, singular, short name or kind,
    /// in any case, optionally qualified by its group (`deployments.apps`).
    pub fn matches(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let (base, group) = match name.split_once('.') {
            Some((b, g)) => (b.to_string(), Some(g.to_string())),
            None => (name.clone(), None),
        };
        if let Some(g) = group {
            if g != self.group() {
                return false;
            }
        }
        base == self.resource
            || base == self.singular
            || base == self.kind.to_ascii_lowercase()
            || self.short_names.contains(&base.as_str())
    }
}

pub const POD: KindInfo = KindInfo {
    kind: "Pod",
    resource: "pods",
    singular: "pod",
    short_names: &["po"],
    api_version: "v1",
    namespaced: true,
    subresources: &["status", "binding"],
    categories: &["all"],
};
pub const NAMESPACE: KindInfo = KindInfo {
    kind: "Namespace",
    resource: "namespaces",
    singular: "namespace",
    short_names: &["ns"],
    api_version: "v1",
    namespaced: false,
    subresources: &["status"],
    categories: &[],
};
pub const NODE: KindInfo = KindInfo {
    kind: "Node",
    resource: "nodes",
    singular: "node",
    short_names: &["no"],
    api_version: "v1",
    namespaced: false,
    subresources: &["status"],
    categories: &[],
};
pub const SERVICE: KindInfo = KindInfo {
    kind: "Service",
    resource: "services",
    singular: "service",
    short_names: &["svc"],
    api_version: "v1",
    namespaced: true,
    subresources: &["status"],
    categories: &["all"],
};
pub const ENDPOINTS: KindInfo = KindInfo {
    kind: "Endpoints",
    resource: "endpoints",
    singular: "endpoints",
    short_names: &["ep"],
    api_version: "v1",
    namespaced: true,
    subresources: &[],
    categories: &[],
};
pub const EVENT: KindInfo = KindInfo {
    kind: "Event",
    resource: "events",
    singular: "event",
    short_names: &["ev"],
    api_version: "v1",
    namespaced: true,
    subresources: &[],
    categories: &[],
};
pub const REPLICA_SET: KindInfo = KindInfo {
    kind: "ReplicaSet",
    resource: "replicasets",
    singular: "replicaset",
    short_names: &["rs"],
    api_version: "apps/v1",
    namespaced: true,
    subresources: &["status", "scale"],
    categories: &["all"],
};
pub const DEPLOYMENT: KindInfo = KindInfo {
    kind: "Deployment",
    resource: "deployments",
    singular: "deployment",
    short_names: &["deploy"],
    api_version: "apps/v1",
    namespaced: true,
    subresources: &["status", "scale"],
    categories: &["all"],
};
pub const LEASE: KindInfo = KindInfo {
    kind: "Lease",
    resource: "leases",
    singular: "lease",
    short_names: &[],
    api_version: "coordination.k8s.io/v1",
    namespaced: true,
    subresources: &[],
    categories: &[],
};
pub const HORIZONTAL_POD_AUTOSCALER: KindInfo = KindInfo {
    kind: "HorizontalPodAutoscaler",
    resource: "horizontalpodautoscalers",
    singular: "horizontalpodautoscaler",
    short_names: &["hpa"],
    api_version: "autoscaling/v2",
    namespaced: true,
    subresources: &["status"],
    categories: &["all"],
};
pub const ROLE: KindInfo = KindInfo {
    kind: "Role",
    resource: "roles",
    singular: "role",
    short_names: &[],
    api_version: "rbac.authorization.k8s.io/v1",
    namespaced: true,
    subresources: &[],
    categories: &[],
};
pub const CLUSTER_ROLE: KindInfo = KindInfo {
    kind: "ClusterRole",
    resource: "clusterroles",
    singular: "clusterrole",
    short_names: &[],
    api_version: "rbac.authorization.k8s.io/v1",
    namespaced: false,
    subresources: &[],
    categories: &[],
};
pub const ROLE_BINDING: KindInfo = KindInfo {
    kind: "RoleBinding",
    resource: "rolebindings",
    singular: "rolebinding",
    short_names: &[],
    api_version: "rbac.authorization.k8s.io/v1",
    namespaced: true,
    subresources: &[],
    categories: &[],
};
pub const CLUSTER_ROLE_BINDING: KindInfo = KindInfo {
    kind: "ClusterRoleBinding",
    resource: "clusterrolebindings",
    singular: "clusterrolebinding",
    short_names: &[],
    api_version: "rbac.authorization.k8s.io/v1",
    namespaced: false,
    subresources: &[],
    categories: &[],
};
pub const ENDPOINT_SLICE: KindInfo = KindInfo {
    kind: "EndpointSlice",
    resource: "endpointslices",
    singular: "endpointslice",
    short_names: &[],
    api_version: "discovery.k8s.io/v1",
    namespaced: true,
    subresources: &[],
    categories: &[],
};
/// Subresource bodies: they travel in `Object` but are not stored.
pub const SCALE: KindInfo = KindInfo {
    kind: "Scale",
    resource: "scale",
    singular: "scale",
    short_names: &[],
    api_version: "autoscaling/v1",
    namespaced: true,
    subresources: &[],
    categories: &[],
};
pub const BINDING: KindInfo = KindInfo {
    kind: "Binding",
    resource: "bindings",
    singular: "binding",
    short_names: &[],
    api_version: "v1",
    namespaced: true,
    subresources: &[],
    categories: &[],
};

/// Every stored kind, in the order `api-resources` lists them.
pub const STORED_KINDS: &[KindInfo] = &[
    POD,
    NAMESPACE,
    NODE,
    SERVICE,
    ENDPOINTS,
    EVENT,
    REPLICA_SET,
    DEPLOYMENT,
    LEASE,
    HORIZONTAL_POD_AUTOSCALER,
    ROLE,
    CLUSTER_ROLE,
    ROLE_BINDING,
    CLUSTER_ROLE_BINDING,
    ENDPOINT_SLICE,
];

/// The stored kind that `name` names (plural, singular, short name or kind).
pub fn lookup(name: &str) -> Option<&'static KindInfo> {
    STORED_KINDS.iter().find(|k| k.matches(name))
}

/// The kind whose manifests say `apiVersion: api_version` and `kind: kind`
/// (subresource bodies included).
pub fn by_api_version_kind(api_version: &str, kind: &str) -> Option<&'static KindInfo> {
    STORED_KINDS.iter().chain([&SCALE, &BINDING]).find(|k| k.api_version == api_version && k.kind == kind)
}

static EMPTY_META: LazyLock<ObjectMeta> = LazyLock::new(ObjectMeta::default);

/// A generated message that is an API object.
pub trait Resource:
    prost::Message + Default + Clone + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    const INFO: KindInfo;

    fn metadata_opt(&self) -> Option<&ObjectMeta>;
    fn metadata_mut(&mut self) -> &mut ObjectMeta;
    fn into_object(self) -> Object;
    fn try_from_object(object: Object) -> Option<Self>;
    fn from_object_ref(object: &Object) -> Option<&Self>;
    /// sets `apiVersion` and `kind` as Kubernetes prints them
    fn set_type_meta(&mut self);

    /// The metadata, or an empty one when the object has none.
    fn meta(&self) -> &ObjectMeta {
        self.metadata_opt().unwrap_or(&EMPTY_META)
    }
}

/// Runs `$body` with `$v` bound to the typed message inside an `Object`'s
/// `kind`, whatever the kind.
#[macro_export]
macro_rules! with_kind {
    ($obj:expr, $v:ident => $body:expr, none => $none:expr) => {{
        use $crate::api::v1::object::Kind as __K;
        match $obj {
            Some(__K::Pod($v)) => $body,
            Some(__K::Namespace($v)) => $body,
            Some(__K::Node($v)) => $body,
            Some(__K::Service($v)) => $body,
            Some(__K::Endpoints($v)) => $body,
            Some(__K::Event($v)) => $body,
            Some(__K::ReplicaSet($v)) => $body,
            Some(__K::Deployment($v)) => $body,
            Some(__K::Lease($v)) => $body,
            Some(__K::HorizontalPodAutoscaler($v)) => $body,
            Some(__K::Role($v)) => $body,
            Some(__K::ClusterRole($v)) => $body,
            Some(__K::RoleBinding($v)) => $body,
            Some(__K::ClusterRoleBinding($v)) => $body,
            Some(__K::EndpointSlice($v)) => $body,
            Some(__K::Scale($v)) => $body,
            Some(__K::Binding($v)) => $body,
            None => $none,
        }
    }};
}

macro_rules! resources {
    ($($ty:ty => $variant:ident, $info:ident;)*) => {
        $(
            impl Resource for $ty {
                const INFO: KindInfo = $info;
                fn metadata_opt(&self) -> Option<&ObjectMeta> {
                    self.metadata.as_ref()
                }
                fn metadata_mut(&mut self) -> &mut ObjectMeta {
                    self.metadata.get_or_insert_with(Default::default)
                }
                fn into_object(self) -> Object {
                    Object { kind: Some(Kind::$variant(self)) }
                }
                fn try_from_object(object: Object) -> Option<Self> {
                    match object.kind {
                        Some(Kind::$variant(v)) => Some(v),
                        _ => None,
                    }
                }
                fn from_object_ref(object: &Object) -> Option<&Self> {
                    match &object.kind {
                        Some(Kind::$variant(v)) => Some(v),
                        _ => None,
                    }
                }
                fn set_type_meta(&mut self) {
                    self.api_version = $info.api_version.to_string();
                    self.kind = $info.kind.to_string();
                }
            }
        )*

    };
}

resources! {
    crate::core::v1::Pod => Pod, POD;
    crate::core::v1::Namespace => Namespace, NAMESPACE;
    crate::core::v1::Node => Node, NODE;
    crate::core::v1::Service => Service, SERVICE;
    crate::core::v1::Endpoints => Endpoints, ENDPOINTS;
    crate::core::v1::Event => Event, EVENT;
    crate::apps::v1::ReplicaSet => ReplicaSet, REPLICA_SET;
    crate::apps::v1::Deployment => Deployment, DEPLOYMENT;
    crate::coordination::v1::Lease => Lease, LEASE;
    crate::autoscaling::v2::HorizontalPodAutoscaler => HorizontalPodAutoscaler, HORIZONTAL_POD_AUTOSCALER;
    crate::rbac::v1::Role => Role, ROLE;
    crate::rbac::v1::ClusterRole => ClusterRole, CLUSTER_ROLE;
    crate::rbac::v1::RoleBinding => RoleBinding, ROLE_BINDING;
    crate::rbac::v1::ClusterRoleBinding => ClusterRoleBinding, CLUSTER_ROLE_BINDING;
    crate::discovery::v1::EndpointSlice => EndpointSlice, ENDPOINT_SLICE;
    crate::autoscaling::v1::Scale => Scale, SCALE;
    crate::core::v1::Binding => Binding, BINDING;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_like_kubectl() {
        for (name, kind) in [
            ("po", "Pod"),
            ("pods", "Pod"),
            ("Pod", "Pod"),
            ("deploy", "Deployment"),
            ("deployments.apps", "Deployment"),
            ("rs", "ReplicaSet"),
            ("svc", "Service"),
            ("ep", "Endpoints"),
            ("ns", "Namespace"),
            ("no", "Node"),
            ("ev", "Event"),
            ("lease", "Lease"),
            ("hpa", "HorizontalPodAutoscaler"),
            ("horizontalpodautoscalers.autoscaling", "HorizontalPodAutoscaler"),
            ("role", "Role"),
            ("clusterroles", "ClusterRole"),
            ("rolebindings.rbac.authorization.k8s.io", "RoleBinding"),
            ("ClusterRoleBinding", "ClusterRoleBinding"),
            ("endpointslices", "EndpointSlice"),
            ("endpointslice", "EndpointSlice"),
            ("endpointslices.discovery.k8s.io", "EndpointSlice"),
        ] {
            assert_eq!(lookup(name).map(|k| k.kind), Some(kind), "{name}");
        }
        assert_eq!(lookup("deployments.core"), None);
        assert_eq!(lookup("widgets"), None);
    }
}
