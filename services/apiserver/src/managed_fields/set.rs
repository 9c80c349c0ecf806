//! Field sets: which fields of an object a manager owns, as paths, in
//! Kubernetes' FieldsV1 encoding (`{"f:spec":{"f:replicas":{}}}`) and its
//! printed form (`.spec.template.spec.containers[name="web"].image`).
//!
//! An object's fields are found without schemas, from the JSON itself and a
//! few names: a list whose elements carry the strategic-merge key is
//! associative (an element per key, `k:{"name":"web"}`), `finalizers` is a
//! set (`v:"x"`), every other list is atomic (one leaf); the maps that merge
//! key by key (labels, annotations, data, resource amounts, node selectors)
//! own themselves and their keys (`.`), every other object is a struct whose
//! fields are owned one by one; `selector`s are atomic, as Kubernetes marks
//! them.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One step of a path: a struct field or map key, a list element by its
/// merge key (`{"name":"web"}` as compact JSON), or a set's value (JSON).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Element {
    Field(String),
    Key(String),
    Value(String),
}

pub type Path = Vec<Element>;

/// The leaves and owned nodes of an object, each with its value (`None`
/// for a node whose children carry the values: a granular map, a list element).
pub type Values = BTreeMap<Path, Option<Value>>;

/// A set of owned paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet(pub BTreeSet<Path>);

/// Maps that merge key by key: they own themselves and each of their keys.
const GRANULAR_MAPS: &[&str] = &[
    "labels",
    "annotations",
    "data",
    "binaryData",
    "stringData",
    "nodeSelector",
    "limits",
    "requests",
    "capacity",
    "allocatable",
    "hard",
];
/// Objects replaced whole.
const ATOMIC: &[&str] = &["selector"];
/// Lists of scalars whose values are owned one by one.
const SETS: &[&str] = &["finalizers"];

/// Metadata the server owns: in no manager's set.
const SERVER_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "managedFields",
];

/// How a value found under `name` is owned.
pub(crate) enum Shape<'a> {
    /// replaced whole: a scalar, an atomic list or object, an empty object
    Leaf,
    /// a struct (`owned: false`) or a granular map (`owned: true`)
    Fields { map: &'a Map<String, Value>, owned: bool },
    /// a list merged element by element on `key`
    Keyed { items: &'a [Value], key: &'static str },
    /// a list of scalars merged value by value
    Set { items: &'a [Value] },
}

pub(crate) fn shape<'a>(name: &str, value: &'a Value) -> Shape<'a> {
    match value {
        Value::Object(map) if !map.is_empty() && !ATOMIC.contains(&name) => {
            Shape::Fields { map, owned: GRANULAR_MAPS.contains(&name) }
        }
        Value::Array(items) if SETS.contains(&name) && items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            Shape::Set { items }
        }
        Value::Array(items) => {
            let sample = items.iter().find(|v| v.is_object());
            match sample.and_then(|sample| capstan_proto::merge_keys::merge_key_by_name(name, sample)) {
                Some(key) if !items.is_empty() && items.iter().all(|v| v.get(key).is_some()) => {
                    Shape::Keyed { items, key }
                }
                _ => Shape::Leaf,
            }
        }
        _ => Shape::Leaf,
    }
}

/// The element naming `item` of a list keyed on `key`.
pub(crate) fn key_element(item: &Value, key: &str) -> Element {
    let mut id = Map::new();
    id.insert(key.to_string(), item.get(key).cloned().unwrap_or(Value::Null));
    Element::Key(Value::Object(id).to_string())
}

/// Every owned path of `object` (its Kubernetes JSON), server-owned
/// metadata left out; `status_only` takes the status (a `status` subresource
/// write), otherwise everything but the status.
pub fn values_of(object: &Value, status_only: bool) -> Values {
    let mut out = Values::new();
    let Some(top) = object.as_object() else {
        return out;
    };
    for (name, value) in top {
        if matches!(name.as_str(), "apiVersion" | "kind") || (name == "status") != status_only {
            continue;
        }
        let mut path = vec![Element::Field(name.clone())];
        if name == "metadata" {
            for (field, value) in value.as_object().into_iter().flatten() {
                if !SERVER_META.contains(&field.as_str()) {
                    path.push(Element::Field(field.clone()));
                    walk(field, value, &mut path, &mut out);
                    path.pop();
                }
            }
            continue;
        }
        walk(name, value, &mut path, &mut out);
    }
    out
}

fn walk(name: &str, value: &Value, path: &mut Path, out: &mut Values) {
    if value.is_null() {
        return;
    }
    match shape(name, value) {
        Shape::Leaf => {
            out.insert(path.clone(), Some(value.clone()));
        }
        Shape::Fields { map, owned } => {
            if owned {
                out.insert(path.clone(), None);
            }
            for (field, child) in map {
                path.push(Element::Field(field.clone()));
                walk(field, child, path, out);
                path.pop();
            }
        }
        Shape::Keyed { items, key } => {
            for item in items {
                path.push(key_element(item, key));
                out.insert(path.clone(), None);
                for (field, child) in item.as_object().into_iter().flatten() {
                    path.push(Element::Field(field.clone()));
                    walk(field, child, path, out);
                    path.pop();
                }
                path.pop();
            }
        }
        Shape::Set { items } => {
            for item in items {
                path.push(Element::Value(item.to_string()));
                out.insert(path.clone(), Some(item.clone()));
                path.pop();
            }
        }
    }
}

/// What changed from `old` to `new`: paths added or given another value,
/// and paths gone.
pub fn compare(old: &Values, new: &Values) -> (FieldSet, FieldSet) {
    let changed = new.iter().filter(|(path, value)| old.get(*path) != Some(value)).map(|(p, _)| p.clone()).collect();
    let removed = old.keys().filter(|path| !new.contains_key(*path)).cloned().collect();
    (FieldSet(changed), FieldSet(removed))
}

impl FieldSet {
    pub fn of(values: &Values) -> FieldSet {
        FieldSet(values.keys().cloned().collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, path: &Path) -> bool {
        self.0.contains(path)
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.union(&other.0).cloned().collect())
    }

    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }

    /// The set with every path's ancestors in it too.
    pub fn with_prefixes(&self) -> FieldSet {
        FieldSet(self.0.iter().flat_map(|p| (1..=p.len()).map(move |n| p[..n].to_vec())).collect())
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// The FieldsV1 form: a tree of `f:`/`k:`/`v:` keys, `{}` for a leaf,
    /// `".": {}` where a node with children is itself owned.
    pub fn encode(&self) -> Value {
        #[derive(Default)]
        struct Node {
            member: bool,
            children: BTreeMap<String, Node>,
        }
        fn json(node: &Node) -> Value {
            let mut map: Map<String, Value> = node.children.iter().map(|(k, child)| (k.clone(), json(child))).collect();
            if node.member && !map.is_empty() {
                map.insert(".".into(), Value::Object(Map::new()));
            }
            Value::Object(map)
        }
        let mut root = Node::default();
        for path in &self.0 {
            let node =
                path.iter().fold(&mut root, |node, element| node.children.entry(encode_element(element)).or_default());
            node.member = true;
        }
        json(&root)
    }

    /// Reads the FieldsV1 form back; an unknown prefix is an error naming it.
    pub fn decode(fields: &Value) -> Result<FieldSet, String> {
        let mut set = BTreeSet::new();
        let mut path = Vec::new();
        decode_into(fields, &mut path, &mut set)?;
        Ok(FieldSet(set))
    }
}

fn encode_element(element: &Element) -> String {
    match element {
        Element::Field(name) => format!("f:{name}"),
        Element::Key(key) => format!("k:{key}"),
        Element::Value(value) => format!("v:{value}"),
    }
}

fn decode_into(node: &Value, path: &mut Path, set: &mut BTreeSet<Path>) -> Result<(), String> {
    let Some(map) = node.as_object() else {
        return Err(format!("fieldsV1: {} is not an object", print(path)));
    };
    if !path.is_empty() && (map.is_empty() || map.contains_key(".")) {
        set.insert(path.clone());
    }
    for (key, child) in map {
        let element = match key.split_at_checked(2) {
            _ if key == "." => continue,
            Some(("f:", name)) => Element::Field(name.to_string()),
            Some(("k:", id)) => Element::Key(canonical(id, key)?),
            Some(("v:", value)) => Element::Value(canonical(value, key)?),
            _ => return Err(format!("fieldsV1: {key:?} at {} is not an f:, k: or v: key", print(path))),
        };
        path.push(element);
        decode_into(child, path, set)?;
        path.pop();
    }
    Ok(())
}

/// JSON text in the one spelling [`key_element`] and [`walk`] produce.
fn canonical(text: &str, key: &str) -> Result<String, String> {
    serde_json::from_str::<Value>(text).map(|v| v.to_string()).map_err(|e| format!("fieldsV1: {key:?}: {e}"))
}

/// A path as Kubernetes prints it in a conflict: `.spec.replicas`,
/// `.spec.containers[name="web"].image`, `.metadata.finalizers[="x"]`.
pub fn print(path: &Path) -> String {
    let mut out = String::new();
    for element in path {
        match element {
            Element::Field(name) => {
                out.push('.');
                out.push_str(name);
            }
            Element::Key(key) => {
                let fields: Vec<String> = serde_json::from_str::<Map<String, Value>>(key)
                    .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                    .unwrap_or_default();
                out.push_str(&format!("[{}]", fields.join(",")));
            }
            Element::Value(value) => out.push_str(&format!("[={value}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u", "labels": {"app": "web"}, "finalizers": ["a"]},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "web", "image": "web:1", "command": ["sh"]}]}}},
            "status": {"replicas": 3}})
    }

    #[test]
    fn the_fields_of_an_object_follow_kubernetes_shapes() {
        let printed: Vec<String> = values_of(&deployment(), false).keys().map(print).collect();
        assert_eq!(
            printed,
            [
                ".metadata.finalizers[=\"a\"]",
                ".metadata.labels",
                ".metadata.labels.app",
                ".spec.replicas",
                ".spec.selector",
                ".spec.template.spec.containers[name=\"web\"]",
                ".spec.template.spec.containers[name=\"web\"].command",
                ".spec.template.spec.containers[name=\"web\"].image",
                ".spec.template.spec.containers[name=\"web\"].name",
            ]
        );
        let status: Vec<String> = values_of(&deployment(), true).keys().map(print).collect();
        assert_eq!(status, [".status.replicas"]);
    }

    #[test]
    fn fields_v1_encodes_and_decodes_both_ways() {
        let set = FieldSet::of(&values_of(&deployment(), false));
        let encoded = set.encode();
        assert_eq!(
            encoded,
            json!({
                "f:metadata": {"f:finalizers": {"v:\"a\"": {}}, "f:labels": {".": {}, "f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"web\"}": {".": {}, "f:command": {}, "f:image": {}, "f:name": {}}}}}}
            })
        );
        assert_eq!(FieldSet::decode(&encoded), Ok(set));
        // Kubernetes' own spelling, spaces and all, reads the same
        let spaced = json!({"f:spec": {"f:containers": {"k:{\"name\": \"web\"}": {".": {}}}}});
        let decoded = FieldSet::decode(&spaced).expect("decodes");
        assert_eq!(decoded.0.iter().map(print).collect::<Vec<_>>(), [".spec.containers[name=\"web\"]"]);
        for bad in [json!({"x:spec": {}}), json!({"f:spec": 1}), json!({"k:{nope": {}})] {
            assert!(FieldSet::decode(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn compare_finds_changed_and_removed_paths() {
        let old = values_of(&json!({"spec": {"replicas": 3, "paused": true}}), false);
        let new = values_of(&json!({"spec": {"replicas": 4, "minReadySeconds": 1}}), false);
        let (changed, removed) = compare(&old, &new);
        assert_eq!(changed.0.iter().map(print).collect::<Vec<_>>(), [".spec.minReadySeconds", ".spec.replicas"]);
        assert_eq!(removed.0.iter().map(print).collect::<Vec<_>>(), [".spec.paused"]);
    }
}
