//! Discovery as kubectl reads it: `/version`, `/api` (`APIVersions`), `/apis`
//! (`APIGroupList`), `/apis/{group}` (`APIGroup`) and each group version's
//! `APIResourceList`, all generated from the kinds table so that a kind added
//! there is discovered with its short names, categories and subresources.
//!
//! Only the plain (v1) documents are served: kubectl asks for aggregated
//! discovery first and, given `application/json`, falls back to these.

use capstan_proto::kinds::{self, KindInfo, STORED_KINDS};
use serde_json::{json, Value};

/// The Kubernetes minor version whose API Capstan serves; kubectl warns when
/// its own minor is more than one away.
pub const KUBERNETES_MINOR: &str = "32";

/// `/version`: `version.Info`, every field written as Kubernetes does.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": KUBERNETES_MINOR,
        "gitVersion": format!("v1.{KUBERNETES_MINOR}.0-capstan.{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    })
}

/// Go's names for the architectures Capstan builds on.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The group versions served, in discovery order: the core group's `v1`
/// first, then the named groups as the kinds table lists them.
fn group_versions() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    let reviews = super::review::REVIEWS.iter().map(|r| r.group_version);
    for group_version in STORED_KINDS.iter().map(|info| info.api_version).chain(reviews) {
        if !out.contains(&group_version) {
            out.push(group_version);
        }
    }
    out
}

/// `/api`. `server_address` is where the client reached this server.
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group(name: &str) -> Option<Value> {
    let versions: Vec<Value> = group_versions()
        .into_iter()
        .filter_map(|gv| gv.split_once('/').filter(|(g, _)| *g == name))
        .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first()?.clone();
    Some(json!({"name": name, "versions": versions, "preferredVersion": preferred}))
}

/// `/apis/{name}`: `APIGroup`, or `None` for a group not served.
pub fn api_group(name: &str) -> Option<Value> {
    let mut group = group(name)?;
    group["kind"] = json!("APIGroup");
    group["apiVersion"] = json!("v1");
    Some(group)
}

/// `/apis`.
pub fn groups() -> Value {
    let mut names: Vec<&str> = Vec::new();
    for gv in group_versions() {
        if let Some((g, _)) = gv.split_once('/') {
            if !names.contains(&g) {
                names.push(g);
            }
        }
    }
    let groups: Vec<Value> = names.into_iter().filter_map(group).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn resource(info: &KindInfo) -> Value {
    let mut r = json!({
        "name": info.resource,
        "singularName": info.singular,
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": strings(kinds::VERBS),
    });
    if !info.short_names.is_empty() {
        r["shortNames"] = json!(strings(info.short_names));
    }
    if !info.categories.is_empty() {
        r["categories"] = json!(strings(info.categories));
    }
    r
}

/// A subresource's entry (`pods/status`); its kind is the parent's, but for
/// a subresource with a body of its own (`scale`, `binding`), which also
/// names that body's group and version.
fn subresource(info: &KindInfo, sub: &str) -> Value {
    let mut r = json!({
        "name": format!("{}/{sub}", info.resource),
        "singularName": "",
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": strings(kinds::subresource_verbs(sub)),
    });
    let body = match sub {
        "scale" => Some(&kinds::SCALE),
        "binding" => Some(&kinds::BINDING),
        _ => None,
    };
    if let Some(body) = body {
        r["kind"] = json!(body.kind);
        let (group, version) = body.api_version.split_once('/').unwrap_or(("", body.api_version));
        if body.api_version != info.api_version {
            r["group"] = json!(group);
            r["version"] = json!(version);
        }
    }
    r
}

/// `pods/log` and `pods/exec` as kube-apiserver lists them: served by the
/// REST face's streams, not stored, so not in the kinds table.
fn pod_stream(sub: &str) -> Value {
    let (kind, verbs) = match sub {
        "exec" => ("PodExecOptions", json!(["create", "get"])),
        _ => ("Pod", json!(["get"])),
    };
    json!({"name": format!("pods/{sub}"), "singularName": "", "namespaced": true, "kind": kind, "verbs": verbs})
}

/// `/api/v1` or `/apis/{group}/{version}`: `APIResourceList`, or `None`
/// for a group version not served.
pub fn resources(group_version: &str) -> Option<Value> {
    let kinds: Vec<&KindInfo> = STORED_KINDS.iter().filter(|k| k.api_version == group_version).collect();
    let reviews = super::review::discovered(group_version);
    if kinds.is_empty() && reviews.is_empty() {
        return None;
    }
    let mut list = Vec::new();
    for info in kinds {
        list.push(resource(info));
        list.extend(info.subresources.iter().map(|sub| subresource(info, sub)));
        if info.resource == "pods" {
            list.extend(super::path::POD_STREAMS.iter().map(|sub| pod_stream(sub)));
        }
    }
    list.extend(reviews);
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_group_lists_pods_with_short_names_and_subresources() {
        let list = resources("v1").expect("v1 is served");
        let resources = list["resources"].as_array().expect("resources");
        let pods = resources.iter().find(|r| r["name"] == "pods").expect("pods");
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        assert_eq!(pods["kind"], "Pod");
        assert_eq!(pods["namespaced"], true);
        let status = resources.iter().find(|r| r["name"] == "pods/status").expect("pods/status");
        assert_eq!(status["verbs"], json!(["get", "patch", "update"]));
        let binding = resources.iter().find(|r| r["name"] == "pods/binding").expect("pods/binding");
        assert_eq!((binding["kind"].as_str(), binding.get("group")), (Some("Binding"), None));
        let exec = resources.iter().find(|r| r["name"] == "pods/exec").expect("pods/exec");
        assert_eq!((&exec["kind"], &exec["verbs"]), (&json!("PodExecOptions"), &json!(["create", "get"])));
        let log = resources.iter().find(|r| r["name"] == "pods/log").expect("pods/log");
        assert_eq!(log["verbs"], json!(["get"]));
        let nodes = resources.iter().find(|r| r["name"] == "nodes").expect("nodes");
        assert_eq!(nodes["namespaced"], false);
        assert!(resources.iter().all(|r| r["name"] != "deployments"), "deployments are in apps/v1");
    }

    #[test]
    fn scale_names_its_own_group_and_version() {
        let list = resources("apps/v1").expect("apps/v1 is served");
        let scale = list["resources"].as_array().and_then(|r| r.iter().find(|r| r["name"] == "deployments/scale"));
        assert_eq!(
            scale,
            Some(&json!({"name": "deployments/scale", "singularName": "", "namespaced": true, "kind": "Scale",
                "group": "autoscaling", "version": "v1", "verbs": ["get", "patch", "update"]}))
        );
    }

    #[test]
    fn every_named_group_is_listed_with_its_preferred_version() {
        let list = groups();
        let names: Vec<&str> =
            list["groups"].as_array().expect("groups").iter().filter_map(|g| g["name"].as_str()).collect();
        assert_eq!(
            names,
            [
                "apps",
                "coordination.k8s.io",
                "autoscaling",
                "rbac.authorization.k8s.io",
                "discovery.k8s.io",
                "authentication.k8s.io",
                "authorization.k8s.io"
            ]
        );
        assert_eq!(api_group("autoscaling").expect("served")["preferredVersion"]["groupVersion"], "autoscaling/v2");
        let slices = resources("discovery.k8s.io/v1").expect("discovery.k8s.io/v1 is served");
        assert_eq!(slices["resources"][0]["name"], "endpointslices");
        assert_eq!(slices["resources"][0]["kind"], "EndpointSlice");
        assert_eq!(api_group("batch"), None);
        assert_eq!(resources("batch/v1"), None);
    }
}
