//! The smallest OpenAPI v3 kubectl needs to leave validation to the server:
//! `/openapi/v3` lists each group version, and each group version's document
//! has, for every kind, a `patch` operation carrying
//! `x-kubernetes-group-version-kind` and the `fieldValidation` parameter.
//! kubectl then sends `fieldValidation=Strict` and validates nothing itself
//! (without these documents it refuses to create anything unless told
//! `--validate=false`). Schemas are not served yet, so `kubectl explain` and
//! the strategic merge of `kubectl apply` on an existing object are not.

use capstan_proto::kinds::STORED_KINDS;
use serde_json::{json, Map, Value};

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
    let mut paths = Map::new();
    for info in STORED_KINDS.iter().filter(|k| path_of(k.api_version) == path) {
        let (group, version) = info.api_version.rsplit_once('/').unwrap_or(("", info.api_version));
        let scope = if info.namespaced { "namespaces/{namespace}/" } else { "" };
        let operation = json!({
            "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": info.kind},
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}},
        });
        paths.insert(format!("/{path}/{scope}{}/{{name}}", info.resource), json!({"patch": operation}));
    }
    (!paths.is_empty()).then(|| {
        json!({
            "openapi": "3.0.0",
            "info": {"title": "Capstan", "version": super::discovery::version()["gitVersion"].clone()},
            "paths": paths,
            "components": {"schemas": {}},
        })
    })
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
}
