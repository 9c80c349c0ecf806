//! ObjectMeta rules, exercised through ConfigMap-less kinds (Pod, Namespace).

use super::*;
use crate::errs;

fn pod_meta(meta: &str) -> String {
    format!("apiVersion: v1\nkind: Pod\nmetadata: {meta}\nspec: {{containers: [{{name: c, image: busybox}}]}}")
}

#[test]
fn object_meta_create() {
    let long_value = "v".repeat(64);
    let big = "x".repeat(300 * 1024);
    let cases = [
        ("valid", pod_meta("{name: web-1, namespace: default, labels: {app: web}}"), errs![]),
        (
            "missing name and namespace",
            pod_meta("{}"),
            errs![
                "metadata.name: Required value: name or generateName is required",
                "metadata.namespace: Required value"
            ],
        ),
        (
            "bad name and namespace",
            pod_meta("{name: Bad_Name, namespace: My.NS}"),
            errs![
                format!("metadata.name: Invalid value: \"Bad_Name\": {SUBDOMAIN}"),
                format!("metadata.namespace: Invalid value: \"My.NS\": {LABEL}"),
            ],
        ),
        (
            "bad generateName",
            pod_meta("{name: ok, generateName: Web-, namespace: d}"),
            errs![format!("metadata.generateName: Invalid value: \"Web-\": {SUBDOMAIN}")],
        ),
        (
            "labels",
            pod_meta(&format!("{{name: a, namespace: d, labels: {{'bad key': x, ok: '-v', long: {long_value}}}}}")),
            errs![
                format!("metadata.labels: Invalid value: \"bad key\": {NAME_PART}"),
                format!("metadata.labels: Invalid value: \"-v\": {LABEL_VALUE}"),
                format!("metadata.labels: Invalid value: \"{long_value}\": must be no more than 63 characters"),
            ],
        ),
        (
            "annotations",
            pod_meta(&format!("{{name: a, namespace: d, annotations: {{Example.COM/Key: ok, '/x': y, big: {big}}}}}")),
            errs![
                "metadata.annotations: Invalid value: \"/x\": prefix part must be non-empty",
                "metadata.annotations: Too long: may not be more than 262144 bytes",
            ],
        ),
        (
            "owner references",
            pod_meta(
                "{name: a, namespace: d, ownerReferences: [
                  {apiVersion: apps/v1, kind: ReplicaSet, name: r1, uid: u1, controller: true},
                  {kind: ReplicaSet, name: r2, controller: true},
                  {apiVersion: v1, kind: Node, name: n, uid: u3, controller: false}]}",
            ),
            errs![
                "metadata.ownerReferences[1].apiVersion: Required value",
                "metadata.ownerReferences[1].uid: Required value",
                "metadata.ownerReferences: Invalid value: [\"ReplicaSet/r1\", \"ReplicaSet/r2\"]: only one reference \
                 can have controller set to true, found in ReplicaSet/r1 and ReplicaSet/r2",
            ],
        ),
        (
            "finalizers",
            pod_meta("{name: a, namespace: d, finalizers: [kubernetes, example.com/cleanup, 'bad finalizer']}"),
            errs![format!("metadata.finalizers[2]: Invalid value: \"bad finalizer\": {NAME_PART}")],
        ),
        (
            "cluster-scoped kinds take no namespace; namespaces and services need label names",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b, namespace: default}".to_string(),
            errs![
                format!("metadata.name: Invalid value: \"a.b\": {LABEL}"),
                "metadata.namespace: Forbidden: not allowed on this type",
            ],
        ),
    ];
    run_create(&cases);
}

#[test]
fn object_meta_update() {
    let old = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, uid: u1}";
    let cases = [
        ("unchanged", old.to_string(), errs![]),
        ("uid left out", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}".to_string(), errs![]),
        (
            "renamed and new uid",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop2, uid: u2}".to_string(),
            errs![
                "metadata.name: Invalid value: \"shop2\": field is immutable",
                "metadata.uid: Invalid value: \"u2\": field is immutable",
            ],
        ),
        (
            "kind changed",
            "apiVersion: v1\nkind: Node\nmetadata: {name: shop, uid: u1}".to_string(),
            errs!["kind: Invalid value: \"Node\": may not change the kind of an object"],
        ),
    ];
    run_update(old, &cases);
}
