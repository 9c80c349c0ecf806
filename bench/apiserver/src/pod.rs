//! The pod every create sends: shaped like a small Deployment's pod.
//!
//! Request size and the work of defaulting and validation scale with the object, so an
//! empty pod would flatter the API server. This one has what a typical web workload's pod
//! has — labels and an owner-style hash label, annotations, one container with an image,
//! named ports, env, resource requests and limits, a readiness probe — and is written as
//! a manifest, decoded once, then cloned with a distinct name per create.

use bytes::Bytes;
use capstan_proto::api::v1::{CreateRequest, Object, ResourceRef};
use capstan_proto::object::parse_manifests;
use capstan_proto::ObjectExt;

use crate::BenchError;

/// The namespace every benchmark pod lives in; the API server creates it at start.
pub const NAMESPACE: &str = "default";

const MANIFEST: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: template
  namespace: default
  labels:
    app: web
    tier: frontend
    pod-template-hash: 7d9f8c6b5
  annotations:
    capstan.io/owner: deployment/web
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 30
  containers:
    - name: web
      image: registry.local/web:1.4.2
      imagePullPolicy: IfNotPresent
      args: ["--listen=:8080", "--metrics=:9090"]
      ports:
        - {name: http, containerPort: 8080, protocol: TCP}
        - {name: metrics, containerPort: 9090, protocol: TCP}
      env:
        - {name: MODE, value: production}
        - {name: LOG_LEVEL, value: info}
      resources:
        requests: {cpu: 100m, memory: 128Mi}
        limits: {cpu: 500m, memory: 256Mi}
      readinessProbe:
        httpGet: {path: /healthz, port: http}
        periodSeconds: 5
"#;

/// The decoded template pod.
pub fn template() -> Result<Object, BenchError> {
    let objects = parse_manifests("bench pod template", MANIFEST).map_err(|e| BenchError::Template(e.to_string()))?;
    objects.into_iter().next().ok_or_else(|| BenchError::Template("the manifest holds no object".into()))
}

/// A copy of `template` called `name`.
pub fn named(template: &Object, name: &str) -> Object {
    let mut pod = template.clone();
    if let Some(meta) = pod.meta_mut() {
        meta.name = name.to_string();
    }
    pod
}

/// The request that creates `pod` in [`NAMESPACE`].
pub fn create_request(pod: Object) -> CreateRequest {
    CreateRequest { r#ref: Some(pods_ref()), object: Some(pod), dry_run: false, ..Default::default() }
}

/// `pods` in [`NAMESPACE`], for creates and watches.
pub fn pods_ref() -> ResourceRef {
    ResourceRef { resource: "pods".into(), namespace: NAMESPACE.into(), ..ResourceRef::default() }
}

/// The template's protobuf body, as the store would keep it: the raw puts' value, so the
/// baseline writes bytes of the same size as the API server does.
pub fn stored_body(template: &Object) -> Bytes {
    Bytes::from(template.encode_body())
}
