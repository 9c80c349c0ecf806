//! How each list of the API merges: Kubernetes' `patchMergeKey`,
//! `patchStrategy`, `listType` and `listMapKeys` for the lists Capstan
//! serves, in one table.
//!
//! The strategic merge of `kubectl apply` and the OpenAPI schemas
//! (`x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`, …) both read
//! it, so what the schema promises is what the server does. Messages are
//! protobuf's fully qualified names ([`descriptors`](crate::descriptors)),
//! fields their JSON names; the tests check every row against the
//! descriptors. A list with no row is atomic: replaced whole.

/// One list field and how it merges, as Kubernetes 1.32 tags it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListField {
    /// the message holding the list (`.capstan.core.v1.PodSpec`)
    pub message: &'static str,
    /// the field's JSON name (`containers`)
    pub field: &'static str,
    /// the element field a strategic merge matches elements by
    pub merge_key: Option<&'static str>,
    /// `merge`, or `merge,retainKeys`; `None`: the list is replaced
    pub patch_strategy: Option<&'static str>,
    /// `map`, `set` or `atomic`
    pub list_type: &'static str,
    /// the element fields that identify an element of a `map` list
    pub map_keys: &'static [&'static str],
}

const fn merged(
    message: &'static str,
    field: &'static str,
    key: &'static str,
    map_keys: &'static [&'static str],
) -> ListField {
    ListField { message, field, merge_key: Some(key), patch_strategy: Some("merge"), list_type: "map", map_keys }
}

const fn atomic(message: &'static str, field: &'static str) -> ListField {
    ListField { message, field, merge_key: None, patch_strategy: None, list_type: "atomic", map_keys: &[] }
}

const fn set(message: &'static str, field: &'static str, patch_strategy: Option<&'static str>) -> ListField {
    ListField { message, field, merge_key: None, patch_strategy, list_type: "set", map_keys: &[] }
}

/// Every list of the API that is not a plain atomic list of scalars, and
/// the atomic lists of objects (which Kubernetes tags too).
pub const LIST_FIELDS: &[ListField] = &[
    merged(".capstan.meta.v1.ObjectMeta", "ownerReferences", "uid", &["uid"]),
    set(".capstan.meta.v1.ObjectMeta", "finalizers", Some("merge")),
    atomic(".capstan.meta.v1.LabelSelector", "matchExpressions"),
    atomic(".capstan.meta.v1.LabelSelectorRequirement", "values"),
    atomic(".capstan.meta.v1.StatusDetails", "causes"),
    // pods
    merged(".capstan.core.v1.PodSpec", "containers", "name", &["name"]),
    merged(".capstan.core.v1.PodSpec", "initContainers", "name", &["name"]),
    ListField {
        message: ".capstan.core.v1.PodSpec",
        field: "volumes",
        merge_key: Some("name"),
        patch_strategy: Some("merge,retainKeys"),
        list_type: "map",
        map_keys: &["name"],
    },
    merged(".capstan.core.v1.PodSpec", "imagePullSecrets", "name", &["name"]),
    atomic(".capstan.core.v1.PodSpec", "tolerations"),
    merged(".capstan.core.v1.Container", "ports", "containerPort", &["containerPort", "protocol"]),
    merged(".capstan.core.v1.Container", "env", "name", &["name"]),
    merged(".capstan.core.v1.Container", "volumeMounts", "mountPath", &["mountPath"]),
    atomic(".capstan.core.v1.Container", "command"),
    atomic(".capstan.core.v1.Container", "args"),
    atomic(".capstan.core.v1.ExecAction", "command"),
    atomic(".capstan.core.v1.HTTPGetAction", "httpHeaders"),
    atomic(".capstan.core.v1.Capabilities", "add"),
    atomic(".capstan.core.v1.Capabilities", "drop"),
    atomic(".capstan.core.v1.ConfigMapVolumeSource", "items"),
    atomic(".capstan.core.v1.SecretVolumeSource", "items"),
    atomic(".capstan.core.v1.NodeSelector", "nodeSelectorTerms"),
    atomic(".capstan.core.v1.NodeSelectorTerm", "matchExpressions"),
    atomic(".capstan.core.v1.NodeSelectorTerm", "matchFields"),
    atomic(".capstan.core.v1.NodeSelectorRequirement", "values"),
    atomic(".capstan.core.v1.NodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution"),
    atomic(".capstan.core.v1.PodAffinity", "requiredDuringSchedulingIgnoredDuringExecution"),
    atomic(".capstan.core.v1.PodAffinity", "preferredDuringSchedulingIgnoredDuringExecution"),
    atomic(".capstan.core.v1.PodAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution"),
    atomic(".capstan.core.v1.PodAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution"),
    atomic(".capstan.core.v1.PodAffinityTerm", "namespaces"),
    atomic(".capstan.core.v1.PodSecurityContext", "supplementalGroups"),
    merged(".capstan.core.v1.PodStatus", "conditions", "type", &["type"]),
    merged(".capstan.core.v1.PodStatus", "podIPs", "ip", &["ip"]),
    atomic(".capstan.core.v1.PodStatus", "initContainerStatuses"),
    atomic(".capstan.core.v1.PodStatus", "containerStatuses"),
    // namespaces, nodes, services, endpoints
    atomic(".capstan.core.v1.NamespaceSpec", "finalizers"),
    merged(".capstan.core.v1.NamespaceStatus", "conditions", "type", &["type"]),
    atomic(".capstan.core.v1.NodeSpec", "taints"),
    set(".capstan.core.v1.NodeSpec", "podCIDRs", Some("merge")),
    merged(".capstan.core.v1.NodeStatus", "conditions", "type", &["type"]),
    merged(".capstan.core.v1.NodeStatus", "addresses", "type", &["type"]),
    merged(".capstan.core.v1.ServiceSpec", "ports", "port", &["port", "protocol"]),
    atomic(".capstan.core.v1.ServiceSpec", "clusterIPs"),
    atomic(".capstan.core.v1.ServiceSpec", "externalIPs"),
    atomic(".capstan.core.v1.ServiceSpec", "loadBalancerSourceRanges"),
    atomic(".capstan.core.v1.ServiceSpec", "ipFamilies"),
    merged(".capstan.core.v1.ServiceStatus", "conditions", "type", &["type"]),
    atomic(".capstan.core.v1.LoadBalancerStatus", "ingress"),
    atomic(".capstan.core.v1.Endpoints", "subsets"),
    atomic(".capstan.core.v1.EndpointSubset", "addresses"),
    atomic(".capstan.core.v1.EndpointSubset", "notReadyAddresses"),
    atomic(".capstan.core.v1.EndpointSubset", "ports"),
    // apps, autoscaling
    merged(".capstan.apps.v1.ReplicaSetStatus", "conditions", "type", &["type"]),
    merged(".capstan.apps.v1.DeploymentStatus", "conditions", "type", &["type"]),
    atomic(".capstan.autoscaling.v2.HPAScalingRules", "policies"),
    atomic(".capstan.autoscaling.v2.HorizontalPodAutoscalerSpec", "metrics"),
    atomic(".capstan.autoscaling.v2.HorizontalPodAutoscalerStatus", "currentMetrics"),
    merged(".capstan.autoscaling.v2.HorizontalPodAutoscalerStatus", "conditions", "type", &["type"]),
    // rbac
    atomic(".capstan.rbac.v1.PolicyRule", "verbs"),
    atomic(".capstan.rbac.v1.PolicyRule", "apiGroups"),
    atomic(".capstan.rbac.v1.PolicyRule", "resources"),
    atomic(".capstan.rbac.v1.PolicyRule", "resourceNames"),
    atomic(".capstan.rbac.v1.PolicyRule", "nonResourceURLs"),
    atomic(".capstan.rbac.v1.AggregationRule", "clusterRoleSelectors"),
    atomic(".capstan.rbac.v1.Role", "rules"),
    atomic(".capstan.rbac.v1.ClusterRole", "rules"),
    atomic(".capstan.rbac.v1.RoleBinding", "subjects"),
    atomic(".capstan.rbac.v1.ClusterRoleBinding", "subjects"),
    atomic(".capstan.authentication.v1.UserInfo", "groups"),
];

/// How list `field` (a JSON name) of `message` (a fully qualified protobuf
/// name) merges, or `None` for a field with no row (an atomic list, or no
/// list at all).
pub fn list_field(message: &str, field: &str) -> Option<&'static ListField> {
    LIST_FIELDS.iter().find(|l| l.message == message && l.field == field)
}

/// The merge key of list `field` of `message`: the element field a strategic
/// merge patch matches elements by (`name` for a pod's containers), or
/// `None` for a list that is replaced whole.
pub fn merge_key(message: &str, field: &str) -> Option<&'static str> {
    list_field(message, field).and_then(|l| l.merge_key)
}

/// The merge key of a list named `field` whose elements carry it, for a
/// walk that knows field names but not messages (the field sets of
/// managedFields): the first row of that name whose merge key `sample`, an
/// element of the list, has. Names shared by lists that merge differently
/// (a container's `ports` by `containerPort`, a Service's by `port`) are told
/// apart by what the elements carry.
pub fn merge_key_by_name(field: &str, sample: &serde_json::Value) -> Option<&'static str> {
    LIST_FIELDS.iter().filter(|l| l.field == field).filter_map(|l| l.merge_key).find(|key| sample.get(key).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptors::{field_shape, message, Shape};

    #[test]
    fn a_list_is_keyed_by_name_on_what_its_elements_carry() {
        let container_port = serde_json::json!({"containerPort": 80, "name": "http"});
        let service_port = serde_json::json!({"port": 80, "name": "http"});
        assert_eq!(merge_key_by_name("ports", &container_port), Some("containerPort"));
        assert_eq!(merge_key_by_name("ports", &service_port), Some("port"));
        assert_eq!(merge_key_by_name("containers", &serde_json::json!({"name": "web"})), Some("name"));
        assert_eq!(merge_key_by_name("containers", &serde_json::json!({"image": "x"})), None);
        assert_eq!(merge_key_by_name("args", &serde_json::json!("x")), None);
    }

    #[test]
    fn every_row_names_a_list_of_the_api_and_its_keys_name_element_fields() {
        for row in LIST_FIELDS {
            let shape = field_shape(row.message, row.field);
            let Some(Shape::List(element)) = shape else {
                panic!("{}.{} is not a list: {shape:?}", row.message, row.field);
            };
            for key in row.merge_key.iter().chain(row.map_keys) {
                let element = element.and_then(message).unwrap_or_else(|| panic!("{}.{}", row.message, row.field));
                assert!(element.field(key).is_some(), "{}.{}: elements have no {key}", row.message, row.field);
            }
            assert_eq!(row.list_type == "map", !row.map_keys.is_empty(), "{}.{}", row.message, row.field);
            assert_eq!(LIST_FIELDS.iter().filter(|r| (r.message, r.field) == (row.message, row.field)).count(), 1);
        }
    }

    #[test]
    fn merge_keys_are_kubernetes() {
        assert_eq!(merge_key(".capstan.core.v1.PodSpec", "containers"), Some("name"));
        assert_eq!(merge_key(".capstan.core.v1.Container", "ports"), Some("containerPort"));
        assert_eq!(merge_key(".capstan.core.v1.ServiceSpec", "ports"), Some("port"));
        assert_eq!(merge_key(".capstan.core.v1.EndpointSubset", "ports"), None);
        assert_eq!(merge_key(".capstan.core.v1.NodeSpec", "taints"), None);
        assert_eq!(merge_key(".capstan.core.v1.Container", "command"), None);
    }
}
