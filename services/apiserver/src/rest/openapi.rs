//! OpenAPI v3, as kube-apiserver serves it: `/openapi/v3` lists each group
//! version, and each group version's document has, for every kind, a `patch`
//! operation carrying `x-kubernetes-group-version-kind` and the
//! `fieldValidation` parameter, and in `components.schemas` the schema of
//! each kind and of every type it reaches ([`schema`], made from the
//! protobuf descriptors).
//!
//! The operation is what keeps kubectl from validating on its own: seeing
//! `fieldValidation` it sends `fieldValidation=Strict` and leaves validation
//! to the server (without these documents it refuses to create anything
//! unless told `--validate=false`). The schemas are what `kubectl explain`
//! reads: it finds a kind's path by its group version and resource, and the
//! kind's schema by the same group-version-kind.
//!
//! The documents depend only on the compiled-in types, so they are built and
//! serialized once, on first request, and served as bytes.

pub mod schema;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use capstan_proto::kinds::{SCALE, STORED_KINDS};
use capstan_proto::KindInfo;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The path of a group version: `api/v1`, `apis/apps/v1`.
fn path_of(group_version: &str) -> String {
    if group_version.contains('/') {
        format!("apis/{group_version}")
    } else {
        format!("api/{group_version}")
    }
}

/// `/openapi/v3`.
pub fn root() -> Value {
    let mut paths = Map::new();
    for info in STORED_KINDS {
        let path = path_of(info.api_version);
        paths.entry(path.clone()).or_insert_with(|| json!({"serverRelativeURL": format!("/openapi/v3/{path}")}));
    }
    json!({"paths": paths})
}

/// `/openapi/v3/{api/v1|apis/{group}/{version}}`, or `None` for a group
/// version not served.
pub fn group_version(path: &str) -> Option<Value> {
    let kinds: Vec<&KindInfo> = STORED_KINDS.iter().filter(|k| path_of(k.api_version) == path).collect();
    let mut paths = Map::new();
    for info in &kinds {
        let (group, version) = info.api_version.rsplit_once('/').unwrap_or(("", info.api_version));
        let scope = if info.namespaced { "namespaces/{namespace}/" } else { "" };
        let operation = json!({
            "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": info.kind},
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}},
        });
        paths.insert(format!("/{path}/{scope}{}/{{name}}", info.resource), json!({"patch": operation}));
    }
    if kinds.is_empty() {
        return None;
    }
    // a kind with a scale subresource brings autoscaling/v1 Scale, as in Kubernetes' documents
    let mut schema_kinds = kinds.clone();
    if kinds.iter().any(|k| k.subresources.contains(&"scale")) {
        schema_kinds.push(&SCALE);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Capstan", "version": super::discovery::version()["gitVersion"].clone()},
        "paths": paths,
        "components": {"schemas": schema::components(&schema_kinds)},
    }))
}

/// Every document, serialized once: `""` is the root, else the group
/// version's path (`apis/apps/v1`).
static DOCUMENTS: LazyLock<BTreeMap<String, Bytes>> = LazyLock::new(|| {
    let mut documents = BTreeMap::from([(String::new(), Bytes::from(root().to_string()))]);
    for info in STORED_KINDS {
        let path = path_of(info.api_version);
        if let std::collections::btree_map::Entry::Vacant(entry) = documents.entry(path) {
            let document = group_version(entry.key()).unwrap_or_default();
            entry.insert(Bytes::from(document.to_string()));
        }
    }
    documents
});

/// The answer to `GET /openapi/v3` (`path` empty) or
/// `/openapi/v3/{path}`: the document, or 404 for a group version not served.
pub fn respond(path: &str) -> Response {
    let Some(document) = DOCUMENTS.get(path) else {
        return super::status::respond(&super::status::no_such_path());
    };
    let mut response = Response::new(Body::from(document.clone()));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_patch_with_field_validation() {
        let root = root();
        assert_eq!(root["paths"]["apis/apps/v1"]["serverRelativeURL"], "/openapi/v3/apis/apps/v1");
        let apps = group_version("apis/apps/v1").expect("apps/v1 is served");
        let patch = &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "version": "v1", "kind": "Deployment"})
        );
        assert_eq!(patch["parameters"][0]["name"], "fieldValidation");
        let core = group_version("api/v1").expect("v1 is served");
        assert!(core["paths"].get("/api/v1/nodes/{name}").is_some(), "cluster-scoped kinds have no namespace");
        assert_eq!(group_version("apis/batch/v1"), None);
    }

    #[test]
    fn each_document_holds_the_schemas_of_its_kinds() {
        let apps = group_version("apis/apps/v1").expect("apps/v1 is served");
        let schemas = apps["components"]["schemas"].as_object().expect("schemas");
        for name in
            ["io.k8s.api.apps.v1.Deployment", "io.k8s.api.apps.v1.ReplicaSet", "io.k8s.api.autoscaling.v1.Scale"]
        {
            assert!(schemas[name].get("x-kubernetes-group-version-kind").is_some(), "{name}");
        }
        assert!(!schemas.contains_key("io.k8s.api.core.v1.Service"), "services are another group version's");
        let rbac = group_version("apis/rbac.authorization.k8s.io/v1").expect("rbac is served");
        assert!(rbac["components"]["schemas"]["io.k8s.api.rbac.v1.ClusterRole"].is_object());
        assert_eq!(DOCUMENTS.len(), 1 + 6, "the root and a document per group version: {:?}", DOCUMENTS.keys());
    }
}
