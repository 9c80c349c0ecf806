//! The OpenAPI v3 schemas of the API's types, made from the protobuf
//! descriptors (the one source of truth for both wire forms), in the shape
//! kube-apiserver publishes them, so `kubectl explain` reads them as it
//! reads Kubernetes': each message a component named as Kubernetes names it
//! (`io.k8s.api.apps.v1.Deployment`), a kind's carrying
//! `x-kubernetes-group-version-kind`; a field referring to a message with
//! `$ref` (in `allOf` beside its description, as Kubernetes does); property
//! names the JSON names; descriptions the `.proto` comments; lists with the
//! merge keys and list types of [`capstan_proto::merge_keys`].

use capstan_proto::descriptors::{self, shape, MessageRef, Shape};
use capstan_proto::merge_keys::list_field;
use capstan_proto::KindInfo;
use prost_types::field_descriptor_proto::Type;
use prost_types::FieldDescriptorProto;
use serde_json::{json, Map, Value};

/// The fields Kubernetes marks required, per message (its `+required`
/// markers and non-`omitempty` fields that validation insists on), for the
/// messages Capstan has. The tests check each against the descriptors.
const REQUIRED: &[(&str, &[&str])] = &[
    (".capstan.meta.v1.OwnerReference", &["apiVersion", "kind", "name", "uid"]),
    (".capstan.meta.v1.LabelSelectorRequirement", &["key", "operator"]),
    (".capstan.meta.v1.Condition", &["type", "status", "lastTransitionTime", "reason", "message"]),
    (".capstan.core.v1.Container", &["name"]),
    (".capstan.core.v1.ContainerPort", &["containerPort"]),
    (".capstan.core.v1.EnvVar", &["name"]),
    (".capstan.core.v1.VolumeMount", &["name", "mountPath"]),
    (".capstan.core.v1.Volume", &["name"]),
    (".capstan.core.v1.KeyToPath", &["key", "path"]),
    (".capstan.core.v1.HostPathVolumeSource", &["path"]),
    (".capstan.core.v1.ObjectFieldSelector", &["fieldPath"]),
    (".capstan.core.v1.ResourceFieldSelector", &["resource"]),
    (".capstan.core.v1.KeySelector", &["key"]),
    (".capstan.core.v1.HTTPGetAction", &["port"]),
    (".capstan.core.v1.HTTPHeader", &["name", "value"]),
    (".capstan.core.v1.TCPSocketAction", &["port"]),
    (".capstan.core.v1.PodSpec", &["containers"]),
    (".capstan.core.v1.NodeSelector", &["nodeSelectorTerms"]),
    (".capstan.core.v1.NodeSelectorRequirement", &["key", "operator"]),
    (".capstan.core.v1.PreferredSchedulingTerm", &["weight", "preference"]),
    (".capstan.core.v1.WeightedPodAffinityTerm", &["weight", "podAffinityTerm"]),
    (".capstan.core.v1.PodAffinityTerm", &["topologyKey"]),
    (".capstan.core.v1.Taint", &["key", "effect"]),
    (".capstan.core.v1.PodCondition", &["type", "status"]),
    (".capstan.core.v1.NodeCondition", &["type", "status"]),
    (".capstan.core.v1.NodeAddress", &["type", "address"]),
    (".capstan.core.v1.ServicePort", &["port"]),
    (".capstan.core.v1.EndpointAddress", &["ip"]),
    (".capstan.core.v1.EndpointPort", &["port"]),
    (".capstan.core.v1.Binding", &["target"]),
    (".capstan.apps.v1.ReplicaSetSpec", &["selector"]),
    (".capstan.apps.v1.ReplicaSetCondition", &["type", "status"]),
    (".capstan.apps.v1.DeploymentSpec", &["selector", "template"]),
    (".capstan.apps.v1.DeploymentCondition", &["type", "status"]),
    (".capstan.autoscaling.v2.HorizontalPodAutoscalerSpec", &["scaleTargetRef", "maxReplicas"]),
    (".capstan.autoscaling.v2.CrossVersionObjectReference", &["kind", "name"]),
    (".capstan.autoscaling.v2.MetricSpec", &["type"]),
    (".capstan.autoscaling.v2.MetricTarget", &["type"]),
    (".capstan.autoscaling.v2.HPAScalingPolicy", &["type", "value", "periodSeconds"]),
    (".capstan.autoscaling.v2.HorizontalPodAutoscalerCondition", &["type", "status"]),
    (".capstan.rbac.v1.PolicyRule", &["verbs"]),
    (".capstan.rbac.v1.Subject", &["kind", "name"]),
    (".capstan.rbac.v1.RoleRef", &["apiGroup", "kind", "name"]),
    (".capstan.rbac.v1.RoleBinding", &["roleRef"]),
    (".capstan.rbac.v1.ClusterRoleBinding", &["roleRef"]),
];

/// The component name Kubernetes gives message `message`
/// (`.capstan.apps.v1.Deployment` is `io.k8s.api.apps.v1.Deployment`).
pub fn schema_name(message: &str) -> String {
    let path = message.trim_start_matches('.').strip_prefix("capstan.").unwrap_or(message);
    match path.rsplit_once('.') {
        Some(("meta.v1", "Quantity")) => "io.k8s.apimachinery.pkg.api.resource.Quantity".into(),
        Some(("meta.v1", "IntOrString")) => "io.k8s.apimachinery.pkg.util.intstr.IntOrString".into(),
        Some(("meta.v1", name)) => format!("io.k8s.apimachinery.pkg.apis.meta.v1.{name}"),
        _ => format!("io.k8s.api.{path}"),
    }
}

fn reference(message: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{}", schema_name(message))})
}

/// The components of a group version's document: each kind in `kinds` and
/// every message it reaches, by Kubernetes' names.
pub fn components(kinds: &[&KindInfo]) -> Map<String, Value> {
    let mut schemas = Map::new();
    let mut pending: Vec<(String, Option<&KindInfo>)> =
        kinds.iter().map(|info| (descriptors::message_of(info), Some(*info))).collect();
    while let Some((name, kind)) = pending.pop() {
        let key = schema_name(&name);
        if schemas.contains_key(&key) {
            continue;
        }
        let Some(message) = descriptors::message(&name) else { continue };
        let mut schema = message_schema(&name, message);
        if let (Some(info), Some(map)) = (kind, schema.as_object_mut()) {
            let (group, version) = info.api_version.rsplit_once('/').unwrap_or(("", info.api_version));
            map.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": group, "kind": info.kind, "version": version}]),
            );
        }
        for field in &message.message.field {
            if let Shape::Message(m) | Shape::List(Some(m)) | Shape::Map(Some(m)) = shape(field) {
                pending.push((m.to_string(), None));
            }
        }
        schemas.insert(key, schema);
    }
    schemas
}

/// One message's component.
fn message_schema(name: &str, message: MessageRef) -> Value {
    let mut schema = match name {
        ".capstan.meta.v1.Time" | ".capstan.meta.v1.MicroTime" => json!({"type": "string", "format": "date-time"}),
        ".capstan.meta.v1.IntOrString" => json!({
            "format": "int-or-string",
            "oneOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": true,
        }),
        ".capstan.meta.v1.Quantity" => json!({"oneOf": [{"type": "string"}, {"type": "number"}]}),
        _ => {
            let mut properties = Map::new();
            for (i, field) in message.message.field.iter().enumerate() {
                properties.insert(field.json_name().to_string(), field_schema(name, field, message.field_comment(i)));
            }
            let mut schema = json!({"type": "object", "properties": properties});
            if let Some((_, required)) = REQUIRED.iter().find(|(m, _)| *m == name) {
                schema["required"] = json!(required);
            }
            schema
        }
    };
    if let (Some(description), Some(map)) = (message.comment(), schema.as_object_mut()) {
        map.insert("description".into(), description.into());
    }
    schema
}

/// The schema of a scalar field's values.
fn scalar(field: &FieldDescriptorProto) -> Value {
    match field.r#type() {
        Type::Bool => json!({"type": "boolean"}),
        Type::Int32 | Type::Sint32 | Type::Sfixed32 | Type::Uint32 | Type::Fixed32 => {
            json!({"type": "integer", "format": "int32"})
        }
        Type::Int64 | Type::Sint64 | Type::Sfixed64 | Type::Uint64 | Type::Fixed64 => {
            json!({"type": "integer", "format": "int64"})
        }
        Type::Double => json!({"type": "number", "format": "double"}),
        Type::Float => json!({"type": "number", "format": "float"}),
        Type::Bytes => json!({"type": "string", "format": "byte"}),
        Type::String | Type::Enum | Type::Message | Type::Group => json!({"type": "string"}),
    }
}

/// The schema of field `field` of message `owner`.
fn field_schema(owner: &str, field: &'static FieldDescriptorProto, description: Option<String>) -> Value {
    let mut schema = match shape(field) {
        Shape::Scalar => scalar(field),
        // a description cannot sit beside `$ref`: Kubernetes wraps the reference in `allOf`
        Shape::Message(m) if description.is_some() => json!({"allOf": [reference(m)]}),
        Shape::Message(m) => reference(m),
        Shape::List(element) => {
            json!({"type": "array", "items": element.map_or_else(|| scalar(field), reference)})
        }
        Shape::Map(value) => {
            let value = value.map(reference).unwrap_or_else(|| {
                let entry = descriptors::message(field.type_name());
                let value = entry.and_then(|e| e.message.field.iter().find(|f| f.number() == 2));
                value.map_or_else(|| json!({"type": "string"}), scalar)
            });
            json!({"type": "object", "additionalProperties": value})
        }
    };
    if let (Some(list), Some(map)) = (list_field(owner, field.json_name()), schema.as_object_mut()) {
        if let Some(key) = list.merge_key {
            map.insert("x-kubernetes-patch-merge-key".into(), key.into());
        }
        if let Some(strategy) = list.patch_strategy {
            map.insert("x-kubernetes-patch-strategy".into(), strategy.into());
        }
        map.insert("x-kubernetes-list-type".into(), list.list_type.into());
        if !list.map_keys.is_empty() {
            map.insert("x-kubernetes-list-map-keys".into(), json!(list.map_keys));
        }
    }
    if let (Some(description), Some(map)) = (description, schema.as_object_mut()) {
        map.insert("description".into(), description.into());
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::kinds::{DEPLOYMENT, NODE, POD};

    fn property<'a>(schemas: &'a Map<String, Value>, message: &str, field: &str) -> &'a Value {
        &schemas[message]["properties"][field]
    }

    #[test]
    fn names_are_kubernetes() {
        assert_eq!(schema_name(".capstan.apps.v1.Deployment"), "io.k8s.api.apps.v1.Deployment");
        assert_eq!(schema_name(".capstan.meta.v1.ObjectMeta"), "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
        assert_eq!(schema_name(".capstan.meta.v1.Quantity"), "io.k8s.apimachinery.pkg.api.resource.Quantity");
        assert_eq!(schema_name(".capstan.meta.v1.IntOrString"), "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
        assert_eq!(schema_name(".capstan.rbac.v1.Role"), "io.k8s.api.rbac.v1.Role");
    }

    #[test]
    fn a_deployment_reaches_its_strategy_and_the_pod_template() {
        let schemas = components(&[&DEPLOYMENT]);
        let deployment = &schemas["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        assert_eq!(deployment["type"], "object");
        let strategy = property(&schemas, "io.k8s.api.apps.v1.DeploymentSpec", "strategy");
        assert_eq!(strategy["allOf"], json!([{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy"}]));
        assert!(strategy["description"].as_str().is_some_and(|d| !d.is_empty()), "{strategy}");
        let fields = &schemas["io.k8s.api.apps.v1.DeploymentStrategy"]["properties"];
        assert_eq!(fields["type"]["type"], "string");
        assert!(fields["rollingUpdate"].to_string().contains("io.k8s.api.apps.v1.RollingUpdateDeployment"));
        assert_eq!(schemas["io.k8s.api.apps.v1.DeploymentSpec"]["required"], json!(["selector", "template"]));
        assert_eq!(property(&schemas, "io.k8s.api.apps.v1.DeploymentSpec", "replicas")["format"], "int32");
        assert_eq!(property(&schemas, "io.k8s.api.apps.v1.DeploymentSpec", "paused")["type"], "boolean");
        for reached in ["io.k8s.api.core.v1.PodSpec", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"] {
            assert!(schemas.contains_key(reached), "{reached}");
        }
        // only the kind carries a group-version-kind: kubectl explain finds the kind by it
        let marked: Vec<&String> = schemas
            .iter()
            .filter(|(_, s)| s.get("x-kubernetes-group-version-kind").is_some())
            .map(|(k, _)| k)
            .collect();
        assert_eq!(marked, ["io.k8s.api.apps.v1.Deployment"]);
        // every $ref names a component of the same document
        let text = Value::Object(schemas.clone()).to_string();
        for reference in text.split("#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap_or_default();
            assert!(schemas.contains_key(name), "dangling $ref {name}");
        }
    }

    #[test]
    fn a_pods_containers_carry_their_merge_key_and_list_type() {
        let schemas = components(&[&POD]);
        let containers = property(&schemas, "io.k8s.api.core.v1.PodSpec", "containers");
        assert_eq!(containers["type"], "array");
        assert_eq!(containers["items"], json!({"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}));
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(containers["x-kubernetes-list-type"], "map");
        assert_eq!(containers["x-kubernetes-list-map-keys"], json!(["name"]));
        let ports = property(&schemas, "io.k8s.api.core.v1.Container", "ports");
        assert_eq!(ports["x-kubernetes-list-map-keys"], json!(["containerPort", "protocol"]));
        assert_eq!(property(&schemas, "io.k8s.api.core.v1.Container", "command")["x-kubernetes-list-type"], "atomic");
        assert_eq!(property(&schemas, "io.k8s.api.core.v1.Container", "command")["items"], json!({"type": "string"}));
        assert_eq!(schemas["io.k8s.api.core.v1.Container"]["required"], json!(["name"]));
        assert_eq!(
            property(&schemas, "io.k8s.api.core.v1.PodSpec", "volumes")["x-kubernetes-patch-strategy"],
            "merge,retainKeys"
        );
    }

    #[test]
    fn special_forms_int_or_string_quantity_time_and_maps() {
        let schemas = components(&[&POD]);
        let int_or_string = &schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
        assert_eq!(int_or_string["x-kubernetes-int-or-string"], true);
        assert_eq!(int_or_string["format"], "int-or-string");
        assert_eq!(int_or_string["oneOf"], json!([{"type": "integer"}, {"type": "string"}]));
        assert!(int_or_string.get("properties").is_none(), "IntOrString is not an object in JSON");
        assert_eq!(
            property(&schemas, "io.k8s.api.core.v1.TCPSocketAction", "port"),
            &json!({"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"})
        );
        let quantity = &schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"];
        assert_eq!(quantity["oneOf"], json!([{"type": "string"}, {"type": "number"}]));
        let limits = property(&schemas, "io.k8s.api.core.v1.ResourceRequirements", "limits");
        assert_eq!(
            limits,
            &json!({"type": "object", "additionalProperties": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"}})
        );
        let time = &schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"];
        assert_eq!((&time["type"], &time["format"]), (&json!("string"), &json!("date-time")));
        let labels = property(&schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels");
        assert_eq!(labels, &json!({"type": "object", "additionalProperties": {"type": "string"}}));
        let owners = property(&schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences");
        assert_eq!(owners["x-kubernetes-patch-merge-key"], "uid");
        assert_eq!(property(&schemas, "io.k8s.api.core.v1.PodSpec", "activeDeadlineSeconds")["format"], "int64");
    }

    #[test]
    fn a_cluster_scoped_kind() {
        let schemas = components(&[&NODE]);
        assert_eq!(
            schemas["io.k8s.api.core.v1.Node"]["x-kubernetes-group-version-kind"],
            json!([{"group": "", "kind": "Node", "version": "v1"}])
        );
        assert_eq!(
            property(&schemas, "io.k8s.api.core.v1.NodeSpec", "taints")["items"],
            json!({"$ref": "#/components/schemas/io.k8s.api.core.v1.Taint"})
        );
        assert_eq!(schemas["io.k8s.api.core.v1.Taint"]["required"], json!(["key", "effect"]));
    }

    #[test]
    fn every_required_field_exists() {
        for (message, fields) in REQUIRED {
            let found = descriptors::message(message).unwrap_or_else(|| panic!("no message {message}"));
            for field in *fields {
                assert!(found.field(field).is_some(), "{message} has no field {field}");
            }
        }
    }
}
