//! Strategic merge patches, as `kubectl apply` computes them for a changed
//! manifest: maps merge and `null` deletes as in a JSON merge patch, but a
//! list of objects with a merge key (containers by `name`, container ports by
//! `containerPort`, volume mounts by `mountPath`…) is merged element by
//! element, `{"$patch": "delete", name: …}` removes one, and
//! `$setElementOrder/<list>` orders the result; `$retainKeys` and
//! `$deleteFromPrimitiveList/<list>` are honoured too. The face applies one by
//! turning it into the JSON merge patch it amounts to against the current
//! object (each patched list written whole), so the registry's one patch
//! path, with its admission and validation, applies it.
//!
//! The merge keys are Kubernetes' `patchMergeKey`s for the fields Capstan
//! serves; a list without one is replaced, as Kubernetes replaces it.

use serde_json::{Map, Value};

/// The merge key of list `field` whose elements look like `sample`, or
/// `None` for a list that is replaced whole.
pub(crate) fn merge_key(field: &str, sample: Option<&Value>) -> Option<&'static str> {
    let has = |key: &str| sample.and_then(|s| s.get(key)).is_some();
    match field {
        "containers" | "initContainers" | "ephemeralContainers" | "env" | "volumes" | "imagePullSecrets" => {
            Some("name")
        }
        "volumeMounts" => Some("mountPath"),
        // a container's ports merge by containerPort, a service's by port
        "ports" if has("containerPort") => Some("containerPort"),
        "ports" => Some("port"),
        "conditions" | "taints" => Some(if field == "taints" { "key" } else { "type" }),
        "ownerReferences" => Some("uid"),
        _ => None,
    }
}

/// The JSON merge patch that `patch`, a strategic merge patch, amounts to
/// against `current`: lists it touches are written whole, directives removed.
pub fn to_merge_patch(current: &Value, patch: &Value) -> Value {
    let (Some(patch), current) = (patch.as_object(), current.as_object()) else {
        return patch.clone();
    };
    let empty = Map::new();
    let current = current.unwrap_or(&empty);
    let mut out = Map::new();
    for (key, value) in patch {
        if key.starts_with('$') {
            continue;
        }
        let now = current.get(key).unwrap_or(&Value::Null);
        let order = patch.get(&format!("$setElementOrder/{key}")).and_then(Value::as_array);
        let merged = match value {
            Value::Object(_) if value.get("$patch").and_then(Value::as_str) == Some("replace") => {
                let mut replaced = value.clone();
                replaced.as_object_mut().map(|m| m.remove("$patch"));
                replaced
            }
            Value::Object(_) if value.get("$patch").and_then(Value::as_str) == Some("delete") => Value::Null,
            Value::Object(_) => to_merge_patch(now, value),
            Value::Array(items) => merge_list(key, now.as_array(), items, order),
            other => other.clone(),
        };
        out.insert(key.clone(), merged);
    }
    // `$retainKeys`: the map keeps only these keys (a deployment's strategy, a volume's source)
    if let Some(retain) = patch.get("$retainKeys").and_then(Value::as_array) {
        for key in current.keys() {
            if !out.contains_key(key) && !retain.iter().any(|r| r.as_str() == Some(key.as_str())) {
                out.insert(key.clone(), Value::Null);
            }
        }
    }
    // `$deleteFromPrimitiveList/<list>`: these values leave a list of strings or numbers
    for (key, gone) in
        patch.iter().filter_map(|(k, v)| Some((k.strip_prefix("$deleteFromPrimitiveList/")?, v.as_array()?)))
    {
        let base = out.get(key).or_else(|| current.get(key)).and_then(Value::as_array).cloned().unwrap_or_default();
        out.insert(key.to_string(), Value::Array(base.into_iter().filter(|v| !gone.contains(v)).collect()));
    }
    // a list named only in `$setElementOrder` (its elements unchanged) is reordered
    for (key, order) in patch.iter().filter_map(|(k, v)| Some((k.strip_prefix("$setElementOrder/")?, v.as_array()?))) {
        if !out.contains_key(key) {
            if let Some(now) = current.get(key).and_then(Value::as_array) {
                out.insert(key.to_string(), merge_list(key, Some(now), &[], Some(order)));
            }
        }
    }
    Value::Object(out)
}

/// The whole list after merging `patch`'s elements into `current`'s.
fn merge_list(field: &str, current: Option<&Vec<Value>>, patch: &[Value], order: Option<&Vec<Value>>) -> Value {
    let current = current.cloned().unwrap_or_default();
    let sample = patch.iter().chain(&current).find(|v| v.is_object());
    let Some(key) = merge_key(field, sample) else {
        return Value::Array(patch.to_vec());
    };
    let id = |v: &Value| v.get(key).cloned();
    let mut merged = current;
    for element in patch {
        let found = merged.iter().position(|m| id(m).is_some() && id(m) == id(element));
        if element.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(i) = found {
                merged.remove(i);
            }
            continue;
        }
        match found {
            Some(i) => {
                let mut base = merged[i].clone();
                json_patch::merge(&mut base, &to_merge_patch(&merged[i], element));
                merged[i] = base;
            }
            None => {
                let mut fresh = Value::Object(Map::new());
                json_patch::merge(&mut fresh, &to_merge_patch(&Value::Null, element));
                merged.push(fresh);
            }
        }
    }
    if let Some(order) = order {
        let rank = |v: &Value| order.iter().position(|o| id(o) == id(v)).unwrap_or(usize::MAX);
        merged.sort_by_key(rank);
    }
    Value::Array(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(containers: Value) -> Value {
        json!({"spec": {"replicas": 3, "template": {"spec": {"containers": containers}}}})
    }

    fn applied(current: &Value, patch: Value) -> Value {
        let mut result = current.clone();
        json_patch::merge(&mut result, &to_merge_patch(current, &patch));
        result
    }

    #[test]
    fn kubectl_applys_patches_merge_lists_by_key() {
        let live = deployment(json!([
            {"name": "web", "image": "web:1", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
            {"name": "sidecar", "image": "side:1"}
        ]));
        // a container removed from the manifest, another's image changed
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "web"}],
            "containers": [{"name": "web", "image": "web:2"}, {"$patch": "delete", "name": "sidecar"}]
        }}}});
        assert_eq!(
            applied(&live, patch),
            deployment(json!([{"name": "web", "image": "web:2", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]))
        );
        // a container added, and the order the manifest gives
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "init"}, {"name": "web"}, {"name": "sidecar"}],
            "containers": [{"name": "init", "image": "init:1"}]
        }}}});
        let names: Vec<Value> = applied(&live, patch)["spec"]["template"]["spec"]["containers"]
            .as_array()
            .expect("containers")
            .iter()
            .map(|c| c["name"].clone())
            .collect();
        assert_eq!(names, [json!("init"), json!("web"), json!("sidecar")]);
    }

    #[test]
    fn retain_keys_and_primitive_deletions() {
        let live = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}},
            "metadata": {"finalizers": ["a", "b"]}});
        let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}},
            "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}});
        assert_eq!(
            applied(&live, patch),
            json!({"spec": {"strategy": {"type": "Recreate"}}, "metadata": {"finalizers": ["b"]}})
        );
    }

    #[test]
    fn lists_without_a_merge_key_are_replaced_and_maps_merge() {
        let live = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "command": ["a", "b"]}]}}},
            "metadata": {"labels": {"a": "1", "b": "2"}}});
        let patch = json!({"metadata": {"labels": {"a": null, "c": "3"}},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "command": ["c"]}]}}}});
        assert_eq!(
            applied(&live, patch),
            json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "command": ["c"]}]}}},
                "metadata": {"labels": {"b": "2", "c": "3"}}})
        );
    }
}
