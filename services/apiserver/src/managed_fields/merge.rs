//! Merging an applied configuration into the live object, and taking out
//! the fields a manager stopped applying: structs and granular maps merge
//! field by field, keyed lists element by element (new elements appended in
//! the applied order), sets value by value, everything else is replaced.

use super::set::{key_element, shape, Element, Path, Shape};
use serde_json::{Map, Value};

/// `live` with `applied` merged in (`live` is `Null` for a create).
pub fn merge(live: &Value, applied: &Value) -> Value {
    merge_named("", live, applied)
}

fn merge_named(name: &str, live: &Value, applied: &Value) -> Value {
    match (shape(name, applied), live) {
        (Shape::Fields { map, .. }, Value::Object(current)) => {
            let mut out = current.clone();
            for (field, value) in map {
                let merged = merge_named(field, current.get(field).unwrap_or(&Value::Null), value);
                out.insert(field.clone(), merged);
            }
            Value::Object(out)
        }
        (Shape::Keyed { items, key }, Value::Array(current)) => {
            let mut out = current.clone();
            for item in items {
                let id = key_element(item, key);
                match out.iter().position(|c| c.get(key).is_some() && key_element(c, key) == id) {
                    Some(i) => out[i] = merge_named("", &out[i], item),
                    None => out.push(item.clone()),
                }
            }
            Value::Array(out)
        }
        (Shape::Set { items }, Value::Array(current)) => {
            let mut out = current.clone();
            out.extend(items.iter().filter(|v| !current.contains(v)).cloned());
            Value::Array(out)
        }
        _ => applied.clone(),
    }
}

/// Takes the field at `path` out of `object` (a missing one is no error).
pub fn remove(object: &mut Value, path: &Path) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = object;
    for element in parents {
        let Some(next) = step(node, element) else {
            return;
        };
        node = next;
    }
    match (last, node) {
        (Element::Field(name), Value::Object(map)) => {
            map.remove(name);
        }
        (Element::Key(_), Value::Array(items)) => items.retain(|item| !is_element(item, last)),
        (Element::Value(text), Value::Array(items)) => items.retain(|item| &item.to_string() != text),
        _ => {}
    }
}

fn step<'a>(node: &'a mut Value, element: &Element) -> Option<&'a mut Value> {
    match (element, node) {
        (Element::Field(name), Value::Object(map)) => map.get_mut(name),
        (Element::Key(_), Value::Array(items)) => items.iter_mut().find(|item| is_element(item, element)),
        _ => None,
    }
}

/// Whether `item` is the keyed list element `element` names.
fn is_element(item: &Value, element: &Element) -> bool {
    let Element::Key(text) = element else {
        return false;
    };
    let Ok(id) = serde_json::from_str::<Map<String, Value>>(text) else {
        return false;
    };
    id.iter().all(|(k, v)| item.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applied_configurations_merge_by_shape() {
        let live = json!({"metadata": {"labels": {"a": "1"}, "finalizers": ["x"]},
            "spec": {"replicas": 3, "paused": true, "template": {"spec": {"containers": [
                {"name": "web", "image": "web:1", "command": ["a", "b"]}, {"name": "side", "image": "s:1"}]}}}});
        let applied = json!({"metadata": {"labels": {"b": "2"}, "finalizers": ["y"]},
            "spec": {"replicas": 5, "template": {"spec": {"containers": [
                {"name": "web", "command": ["c"]}, {"name": "new", "image": "n:1"}]}}}});
        assert_eq!(
            merge(&live, &applied),
            json!({"metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x", "y"]},
                "spec": {"replicas": 5, "paused": true, "template": {"spec": {"containers": [
                    {"name": "web", "image": "web:1", "command": ["c"]}, {"name": "side", "image": "s:1"},
                    {"name": "new", "image": "n:1"}]}}}})
        );
        assert_eq!(merge(&Value::Null, &applied), applied, "a create is the applied configuration");
    }

    #[test]
    fn removal_takes_fields_elements_and_values() {
        let mut object = json!({"metadata": {"finalizers": ["x", "y"]},
            "spec": {"paused": true, "containers": [{"name": "web", "image": "w"}, {"name": "side"}]}});
        let field = |n: &str| Element::Field(n.into());
        remove(&mut object, &vec![field("spec"), field("paused")]);
        remove(&mut object, &vec![field("spec"), field("containers"), Element::Key(r#"{"name":"side"}"#.into())]);
        remove(
            &mut object,
            &vec![field("spec"), field("containers"), Element::Key(r#"{"name":"web"}"#.into()), field("image")],
        );
        remove(&mut object, &vec![field("metadata"), field("finalizers"), Element::Value("\"x\"".into())]);
        remove(&mut object, &vec![field("nothing"), field("here")]);
        assert_eq!(object, json!({"metadata": {"finalizers": ["y"]}, "spec": {"containers": [{"name": "web"}]}}));
    }
}
