//! How `apply` lays a manifest over the live object.
//!
//! A plain JSON merge patch (RFC 7386) replaces lists whole, which would
//! drop what the server filled into list items the manifest leaves out — a
//! service port's allocated `nodePort`, a container's defaulted
//! `imagePullPolicy` — and make every re-apply a write. So lists of objects
//! are merged item by item, matched on a key (`name`, `containerPort`,
//! `port`, ...), the way Kubernetes' strategic merge does for its lists; the
//! manifest still decides which items exist and in what order. The result
//! is sent as an ordinary merge patch whose lists are the merged ones.

use serde_json::{Map, Value};

/// Keys that identify an item in the lists Kubernetes objects carry, tried
/// in order; the first one present and unique on both sides is used.
const MERGE_KEYS: &[&str] = &["name", "containerPort", "port", "mountPath", "ip", "key"];

/// `live` with `manifest` laid over it: objects merge key by key, lists of
/// objects item by item, anything else takes the manifest's value.
pub fn overlay(live: &Value, manifest: &Value) -> Value {
    match (live, manifest) {
        (Value::Object(l), Value::Object(m)) => {
            let mut out = l.clone();
            for (key, value) in m {
                let merged = match l.get(key) {
                    Some(old) => overlay(old, value),
                    None => value.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(m)) => match merge_key(l, m) {
            Some(key) => Value::Array(
                m.iter()
                    .map(|item| match l.iter().find(|old| old.get(key) == item.get(key)) {
                        Some(old) => overlay(old, item),
                        None => item.clone(),
                    })
                    .collect(),
            ),
            None => manifest.clone(),
        },
        _ => manifest.clone(),
    }
}

/// The key that identifies items of both lists, if there is one.
fn merge_key(live: &[Value], manifest: &[Value]) -> Option<&'static str> {
    let objects = |items: &[Value]| items.iter().all(Value::is_object);
    if manifest.is_empty() || !objects(live) || !objects(manifest) {
        return None;
    }
    MERGE_KEYS.iter().copied().find(|key| unique_on(live, key) && unique_on(manifest, key))
}

fn unique_on(items: &[Value], key: &str) -> bool {
    let mut seen = Vec::new();
    for item in items {
        match item.get(key) {
            Some(v) if !seen.contains(&v) => seen.push(v),
            _ => return false,
        }
    }
    true
}

/// The patch to send: the manifest, with every list replaced by the merged
/// list from `desired` (the overlay), so list items keep the server's fields.
pub fn patch_with_merged_lists(manifest: &Value, desired: &Value) -> Value {
    match (manifest, desired) {
        (Value::Object(m), Value::Object(d)) => {
            let mut out = Map::new();
            for (key, value) in m {
                let filled = match d.get(key) {
                    Some(Value::Array(merged)) if value.is_array() => Value::Array(merged.clone()),
                    Some(inner) => patch_with_merged_lists(value, inner),
                    None => value.clone(),
                };
                out.insert(key.clone(), filled);
            }
            Value::Object(out)
        }
        _ => manifest.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_items_keep_server_fields() {
        let live = json!({"spec": {"clusterIP": "10.96.0.10", "ports": [
            {"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"},
            {"name": "https", "port": 443, "nodePort": 30443, "protocol": "TCP"}]}});
        let manifest = json!({"spec": {"ports": [{"name": "http", "port": 8080}]}});
        let desired = overlay(&live, &manifest);
        assert_eq!(
            desired,
            json!({"spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "http", "port": 8080, "nodePort": 30080, "protocol": "TCP"}]}})
        );
        assert_eq!(
            patch_with_merged_lists(&manifest, &desired),
            json!({"spec": {"ports": [{"name": "http", "port": 8080, "nodePort": 30080, "protocol": "TCP"}]}})
        );
    }

    #[test]
    fn lists_without_a_unique_key_are_replaced() {
        let cases = [
            (json!({"a": [1, 2]}), json!({"a": [3]}), json!({"a": [3]})),
            (
                json!({"t": [{"key": "x", "v": 1}, {"key": "x", "v": 2}]}),
                json!({"t": [{"key": "x"}]}),
                json!({"t": [{"key": "x"}]}),
            ),
            (
                json!({"c": [{"name": "a", "image": "x", "pull": "Always"}]}),
                json!({"c": [{"name": "a", "image": "y"}]}),
                json!({"c": [{"name": "a", "image": "y", "pull": "Always"}]}),
            ),
            (json!({"c": [{"name": "a"}]}), json!({"c": []}), json!({"c": []})),
        ];
        for (live, manifest, want) in cases {
            assert_eq!(overlay(&live, &manifest), want, "{manifest}");
        }
    }

    #[test]
    fn container_ports_match_on_container_port_when_unnamed() {
        let live = json!([{"containerPort": 80, "protocol": "TCP"}]);
        let manifest = json!([{"containerPort": 80}]);
        assert_eq!(overlay(&live, &manifest), live);
    }
}
