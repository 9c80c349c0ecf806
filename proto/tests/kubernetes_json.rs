//! Capstan writes an object's JSON field for field as Kubernetes does: a
//! field Kubernetes' Go types write without `omitempty` is present even when
//! zero (`restartCount: 0`, `ready: false`, `lastState: {}`), and a field they
//! omit when empty is absent.
//!
//! The fixtures under `tests/kubernetes/` are a pod, a deployment and a
//! service as a Kubernetes API server returns them. Fields Capstan does not
//! model (`preemptionPolicy`, `clusterIPs`, ...) are removed first, one at a
//! time as the decoder names them; what remains must come back identical,
//! with the same fields present.

use capstan_proto::object::{from_json, DecodeError};
use capstan_proto::ObjectExt;
use serde_json::Value;
use std::collections::BTreeSet;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/kubernetes/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Splits `spec.containers[0].name` into its steps.
fn steps(path: &str) -> Vec<String> {
    path.split(['.', '[']).filter(|s| !s.is_empty()).map(|s| s.trim_end_matches(']').to_string()).collect()
}

fn remove(value: &mut Value, path: &str) -> bool {
    let steps = steps(path);
    let Some((last, parents)) = steps.split_last() else { return false };
    let mut at = value;
    for step in parents {
        at = match at {
            Value::Object(map) => match map.get_mut(step) {
                Some(v) => v,
                None => return false,
            },
            Value::Array(items) => match step.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    at.as_object_mut().is_some_and(|map| map.remove(last).is_some())
}

/// Decodes `value`, dropping each field Capstan does not model; returns the
/// object and the dropped paths.
fn decode_known(name: &str, mut value: Value) -> (capstan_proto::api::v1::Object, Vec<String>) {
    let mut dropped = Vec::new();
    loop {
        match from_json(name, value.clone()) {
            Ok(object) => return (object, dropped),
            Err(DecodeError::UnknownField { path, .. }) => {
                assert!(remove(&mut value, &path), "{name}: cannot remove unknown field {path}");
                dropped.push(path);
            }
            Err(other) => panic!("{other}"),
        }
    }
}

/// Every path in `value`, objects and arrays included, so that an empty
/// `{}` or `[]` counts as present.
fn paths(value: &Value, at: String, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{at}.{k}");
                out.insert(here.clone());
                paths(v, here, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let here = format!("{at}[{i}]");
                out.insert(here.clone());
                paths(v, here, out);
            }
        }
        _ => {}
    }
}

fn field_set(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    paths(value, String::new(), &mut out);
    out
}

fn assert_kubernetes_shape(name: &str, expect_dropped: &[&str]) {
    let kubernetes = fixture(name);
    let (object, dropped) = decode_known(name, kubernetes.clone());
    let mut expected = kubernetes;
    for path in &dropped {
        remove(&mut expected, path);
    }
    let written = object.to_json();

    let want = field_set(&expected);
    let got = field_set(&written);
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{name}: fields Kubernetes writes that Capstan left out: {missing:?}; fields Capstan wrote that Kubernetes does not: {extra:?}"
    );
    assert_eq!(written, expected, "{name}: same fields, different values");

    // the fields Capstan does not model yet, so that the list is seen when it changes
    let mut dropped = dropped;
    dropped.sort();
    assert_eq!(dropped, expect_dropped, "{name}: fields Capstan does not model");
}

#[test]
fn running_pod_is_written_as_kubernetes_writes_it() {
    assert_kubernetes_shape("pod.json", &["spec.preemptionPolicy", "status.hostIPs"]);
}

#[test]
fn deployment_scaled_to_zero_is_written_as_kubernetes_writes_it() {
    assert_kubernetes_shape("deployment.json", &[]);
}

#[test]
fn service_is_written_as_kubernetes_writes_it() {
    assert_kubernetes_shape("service.json", &[]);
}

/// Objects built in code (as the kubelet builds a status) leave messages unset
/// rather than empty; they are written as Kubernetes writes a zero struct.
#[test]
fn unset_fields_built_in_code_are_written_as_kubernetes_zero_values() {
    use capstan_proto::core::v1::{Container, ContainerStatus, Pod, PodSpec, PodStatus, Service};
    use capstan_proto::Resource;
    let pod = Pod {
        spec: Some(PodSpec {
            containers: vec![Container { name: "web".into(), image: "nginx".into(), ..Default::default() }],
            ..Default::default()
        }),
        status: Some(PodStatus {
            container_statuses: vec![ContainerStatus { name: "web".into(), ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let pod = pod.into_object();
    let sparse = pod.to_sparse_json();
    assert_eq!(
        sparse["status"]["containerStatuses"][0],
        serde_json::json!({"name": "web"}),
        "a patch says only what is set"
    );
    let json = pod.to_json();
    assert_eq!(json["spec"]["containers"][0]["resources"], serde_json::json!({}));
    assert_eq!(
        json["status"]["containerStatuses"][0],
        serde_json::json!({
            "name": "web", "image": "", "imageID": "", "ready": false, "restartCount": 0,
            "state": {}, "lastState": {}
        })
    );
    assert_eq!(json["metadata"], serde_json::json!({}), "Go writes an embedded ObjectMeta even when empty");

    let service = Service::default().into_object().to_json();
    assert_eq!(service["status"], serde_json::json!({"loadBalancer": {}}));
    assert_eq!(service["spec"], serde_json::json!({}));
}
