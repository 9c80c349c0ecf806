//! The `Object` envelope: metadata access for any kind, the protobuf bodies
//! the store keeps, and decoding manifests (JSON or multi-document YAML) with
//! errors that name the document and the path of the offending field.

use crate::api::v1::{object::Kind, Object};
use crate::kinds::{self, KindInfo, Resource};
use crate::meta::v1::ObjectMeta;
use crate::with_kind;
use prost::Message as _;
use serde::Deserialize;

/// Why a manifest or stored body could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("{doc}: {path}: {message}")]
    Field { doc: String, path: String, message: String },
    #[error("{doc}: unknown field \"{path}\"")]
    UnknownField { doc: String, path: String },
    #[error("{doc}: {missing} is required (every object names its apiVersion and kind)")]
    MissingTypeMeta { doc: String, missing: &'static str },
    #[error("{doc}: no kind \"{kind}\" is registered for version \"{api_version}\"")]
    UnknownKind { doc: String, api_version: String, kind: String },
    #[error("{doc}: not valid YAML or JSON: {message}")]
    Syntax { doc: String, message: String },
    #[error("stored {kind} is not valid protobuf: {message}")]
    Body { kind: &'static str, message: String },
}

/// Helpers every component uses on the `Object` envelope.
pub trait ObjectExt {
    fn info(&self) -> Option<&'static KindInfo>;
    fn meta(&self) -> &ObjectMeta;
    fn meta_mut(&mut self) -> Option<&mut ObjectMeta>;
    /// The Kubernetes JSON form, with apiVersion and kind filled in: fields
    /// Kubernetes writes even when zero are written (see `always-written.txt`).
    fn to_json(&self) -> serde_json::Value;
    /// Only the fields that are set, as the author of a manifest wrote them;
    /// for merge patches built on the client from a typed manifest.
    fn to_sparse_json(&self) -> serde_json::Value {
        crate::json::sparse(|| self.to_json())
    }
    /// The kind's own protobuf bytes, as the store keeps them.
    fn encode_body(&self) -> Vec<u8>;
    /// "namespace/name", or "name" for cluster-scoped kinds.
    fn key_name(&self) -> String;
}

static EMPTY_META: std::sync::LazyLock<ObjectMeta> = std::sync::LazyLock::new(ObjectMeta::default);

impl ObjectExt for Object {
    fn info(&self) -> Option<&'static KindInfo> {
        with_kind!(&self.kind, v => Some(info_of(v)), none => None)
    }

    fn meta(&self) -> &ObjectMeta {
        with_kind!(&self.kind, v => v.meta(), none => &EMPTY_META)
    }

    fn meta_mut(&mut self) -> Option<&mut ObjectMeta> {
        with_kind!(&mut self.kind, v => Some(v.metadata_mut()), none => None)
    }

    fn to_json(&self) -> serde_json::Value {
        with_kind!(&self.kind, v => {
            let mut v = v.clone();
            v.set_type_meta();
            serde_json::to_value(&v).unwrap_or(serde_json::Value::Null)
        }, none => serde_json::Value::Null)
    }

    fn encode_body(&self) -> Vec<u8> {
        with_kind!(&self.kind, v => v.encode_to_vec(), none => Vec::new())
    }

    fn key_name(&self) -> String {
        let meta = self.meta();
        if meta.namespace.is_empty() {
            meta.name.clone()
        } else {
            format!("{}/{}", meta.namespace, meta.name)
        }
    }
}

fn info_of<R: Resource>(_: &R) -> &'static KindInfo {
    // every implementor's INFO is one of the consts in `kinds`
    kinds::by_api_version_kind(R::INFO.api_version, R::INFO.kind).unwrap_or(&kinds::POD)
}

/// Decodes a stored body of the kind `info` names.
pub fn decode_body(info: &KindInfo, bytes: &[u8]) -> Result<Object, DecodeError> {
    fn body<R: Resource>(bytes: &[u8]) -> Result<Object, DecodeError> {
        let mut value =
            R::decode(bytes).map_err(|e| DecodeError::Body { kind: R::INFO.kind, message: e.to_string() })?;
        value.set_type_meta();
        Ok(value.into_object())
    }
    use crate::rbac::v1 as rbac;
    use crate::{apps::v1 as apps, autoscaling::v2 as autoscaling, coordination::v1 as coord, core::v1 as core};
    match info.kind {
        "Pod" => body::<core::Pod>(bytes),
        "Namespace" => body::<core::Namespace>(bytes),
        "Node" => body::<core::Node>(bytes),
        "Service" => body::<core::Service>(bytes),
        "Endpoints" => body::<core::Endpoints>(bytes),
        "Event" => body::<core::Event>(bytes),
        "ReplicaSet" => body::<apps::ReplicaSet>(bytes),
        "Deployment" => body::<apps::Deployment>(bytes),
        "Lease" => body::<coord::Lease>(bytes),
        "HorizontalPodAutoscaler" => body::<autoscaling::HorizontalPodAutoscaler>(bytes),
        "Role" => body::<rbac::Role>(bytes),
        "ClusterRole" => body::<rbac::ClusterRole>(bytes),
        "RoleBinding" => body::<rbac::RoleBinding>(bytes),
        "ClusterRoleBinding" => body::<rbac::ClusterRoleBinding>(bytes),
        "EndpointSlice" => body::<crate::discovery::v1::EndpointSlice>(bytes),
        other => Err(DecodeError::Body { kind: info.kind, message: format!("{other} is not a stored kind") }),
    }
}

fn typed<R: Resource>(doc: &str, value: serde_json::Value) -> Result<Object, DecodeError> {
    let mut typed: R = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        if message.starts_with("unknown field") {
            DecodeError::UnknownField { doc: doc.to_string(), path }
        } else {
            DecodeError::Field { doc: doc.to_string(), path, message }
        }
    })?;
    typed.set_type_meta();
    Ok(typed.into_object())
}

/// Decodes one object from its Kubernetes JSON form. `doc` names where it came
/// from in error messages (a file name and document index).
pub fn from_json(doc: &str, value: serde_json::Value) -> Result<Object, DecodeError> {
    let field = |name: &'static str| -> Result<String, DecodeError> {
        match value.get(name).and_then(|v| v.as_str()) {
            Some(s) if !s.is_empty() => Ok(s.to_string()),
            _ => Err(DecodeError::MissingTypeMeta { doc: doc.to_string(), missing: name }),
        }
    };
    let api_version = field("apiVersion")?;
    let kind = field("kind")?;
    let Some(info) = kinds::by_api_version_kind(&api_version, &kind) else {
        return Err(DecodeError::UnknownKind { doc: doc.to_string(), api_version, kind });
    };
    use crate::autoscaling::{v1 as autoscaling, v2 as autoscaling_v2};
    use crate::{apps::v1 as apps, coordination::v1 as coord, core::v1 as core, rbac::v1 as rbac};
    match info.kind {
        "Pod" => typed::<core::Pod>(doc, value),
        "Namespace" => typed::<core::Namespace>(doc, value),
        "Node" => typed::<core::Node>(doc, value),
        "Service" => typed::<core::Service>(doc, value),
        "Endpoints" => typed::<core::Endpoints>(doc, value),
        "Event" => typed::<core::Event>(doc, value),
        "ReplicaSet" => typed::<apps::ReplicaSet>(doc, value),
        "Deployment" => typed::<apps::Deployment>(doc, value),
        "Lease" => typed::<coord::Lease>(doc, value),
        "HorizontalPodAutoscaler" => typed::<autoscaling_v2::HorizontalPodAutoscaler>(doc, value),
        "Role" => typed::<rbac::Role>(doc, value),
        "ClusterRole" => typed::<rbac::ClusterRole>(doc, value),
        "RoleBinding" => typed::<rbac::RoleBinding>(doc, value),
        "ClusterRoleBinding" => typed::<rbac::ClusterRoleBinding>(doc, value),
        "EndpointSlice" => typed::<crate::discovery::v1::EndpointSlice>(doc, value),
        "Scale" => typed::<autoscaling::Scale>(doc, value),
        _ => typed::<core::Binding>(doc, value),
    }
}

/// Decodes every object in a manifest: JSON, or YAML with `---` between
/// documents; a `kind: List` contributes its `items`. `source` names the file
/// in error messages.
pub fn parse_manifests(source: &str, text: &str) -> Result<Vec<Object>, DecodeError> {
    let mut objects = Vec::new();
    for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let doc = format!("{source} (document {})", index + 1);
        let value = serde_json::Value::deserialize(document)
            .map_err(|e| DecodeError::Syntax { doc: doc.clone(), message: e.to_string() })?;
        if value.is_null() {
            continue;
        }
        if value.get("kind").and_then(|k| k.as_str()).is_some_and(|k| k == "List" || k.ends_with("List")) {
            let items = value.get("items").and_then(|i| i.as_array()).cloned().unwrap_or_default();
            for (i, item) in items.into_iter().enumerate() {
                objects.push(from_json(&format!("{doc} items[{i}]"), item)?);
            }
            continue;
        }
        objects.push(from_json(&doc, value)?);
    }
    Ok(objects)
}

impl Object {
    /// The `Kind` variant's name for messages ("Pod"), or "object".
    pub fn kind_name(&self) -> &'static str {
        self.info().map(|i| i.kind).unwrap_or("object")
    }
}

/// Wraps a typed message in the envelope.
pub fn wrap<R: Resource>(value: R) -> Object {
    value.into_object()
}

impl From<Kind> for Object {
    fn from(kind: Kind) -> Self {
        Object { kind: Some(kind) }
    }
}
