//! Kubernetes' REST paths, parsed into what they ask for. A pure function of
//! the path and the kinds table, so every shape kubectl sends is tested
//! without a server.

use super::review::ReviewResource;
use capstan_proto::kinds::{KindInfo, STORED_KINDS};

/// What a request path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/version`
    Version,
    /// `/api`: the core group's versions
    CoreVersions,
    /// `/apis`: every other group
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1`, `/apis/{group}/{version}`: the resources of one group version
    Resources { group_version: String },
    /// a kind's collection: in one namespace, or across all of them (and for
    /// a cluster-scoped kind) when `namespace` is `None`
    Collection { info: &'static KindInfo, namespace: Option<String> },
    /// one object, or its subresource (`status`, `scale`, `binding`)
    Object { info: &'static KindInfo, namespace: Option<String>, name: String, subresource: String },
    /// a review (`selfsubjectaccessreviews`…): created, answered, never stored
    Review(&'static ReviewResource),
}

/// The pod subresources the REST face streams itself (`rest::logs`,
/// `rest::exec`): they reach into a node, not into the registry.
pub const POD_STREAMS: [&str; 2] = ["log", "exec"];

/// The route `path` names, or `None` when it names nothing served (404).
pub fn parse(path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group_version, rest) = match segments.as_slice() {
        ["version"] => return Some(Route::Version),
        ["api"] => return Some(Route::CoreVersions),
        ["apis"] => return Some(Route::Groups),
        ["apis", group] => return Some(Route::Group(group.to_string())),
        ["api", version, rest @ ..] => (version.to_string(), rest),
        ["apis", group, version, rest @ ..] => (format!("{group}/{version}"), rest),
        _ => return None,
    };
    if let [resource] = rest {
        if let Some(review) = super::review::find(&group_version, resource) {
            return Some(Route::Review(review));
        }
    }
    if super::review::REVIEWS.iter().any(|r| r.group_version == group_version) && rest.is_empty() {
        return Some(Route::Resources { group_version });
    }
    if !STORED_KINDS.iter().any(|k| k.api_version == group_version) {
        return None;
    }
    let kind = |resource: &str| STORED_KINDS.iter().find(|k| k.api_version == group_version && k.resource == resource);
    let (namespace, rest) = match rest {
        // `namespaces/{name}/status` is the namespace's own subresource, not a collection in it
        ["namespaces", ns, resource, ..] if kind(resource).is_some_and(|k| k.namespaced) => {
            (Some(ns.to_string()), &rest[2..])
        }
        _ => (None, rest),
    };
    let route = match rest {
        [] => Route::Resources { group_version },
        [resource] => Route::Collection { info: kind(resource)?, namespace },
        [resource, name, subresource @ ..] if subresource.len() <= 1 => {
            let info = kind(resource)?;
            // a namespaced object is named inside its namespace
            if info.namespaced != namespace.is_some() || name.is_empty() {
                return None;
            }
            let subresource = subresource.first().map(|s| s.to_string()).unwrap_or_default();
            let streamed = info.resource == "pods" && POD_STREAMS.contains(&subresource.as_str());
            if !subresource.is_empty() && !info.subresources.contains(&subresource.as_str()) && !streamed {
                return None;
            }
            Route::Object { info, namespace, name: name.to_string(), subresource }
        }
        _ => return None,
    };
    Some(route)
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::kinds::{DEPLOYMENT, NAMESPACE, NODE, POD};

    fn object(info: &'static KindInfo, namespace: Option<&str>, name: &str, sub: &str) -> Route {
        Route::Object {
            info,
            namespace: namespace.map(String::from),
            name: name.to_string(),
            subresource: sub.to_string(),
        }
    }

    #[test]
    fn kubectl_paths_parse() {
        let cases = [
            ("/version", Some(Route::Version)),
            ("/api", Some(Route::CoreVersions)),
            ("/apis", Some(Route::Groups)),
            ("/apis/apps", Some(Route::Group("apps".into()))),
            ("/api/v1", Some(Route::Resources { group_version: "v1".into() })),
            ("/apis/apps/v1", Some(Route::Resources { group_version: "apps/v1".into() })),
            (
                "/apis/rbac.authorization.k8s.io/v1",
                Some(Route::Resources { group_version: "rbac.authorization.k8s.io/v1".into() }),
            ),
            ("/api/v1/pods", Some(Route::Collection { info: &POD, namespace: None })),
            ("/api/v1/namespaces/shop/pods", Some(Route::Collection { info: &POD, namespace: Some("shop".into()) })),
            ("/api/v1/namespaces", Some(Route::Collection { info: &NAMESPACE, namespace: None })),
            ("/api/v1/namespaces/shop", Some(object(&NAMESPACE, None, "shop", ""))),
            ("/api/v1/namespaces/shop/status", Some(object(&NAMESPACE, None, "shop", "status"))),
            ("/api/v1/namespaces/shop/pods/web", Some(object(&POD, Some("shop"), "web", ""))),
            ("/api/v1/namespaces/shop/pods/web/status", Some(object(&POD, Some("shop"), "web", "status"))),
            (
                "/apis/apps/v1/namespaces/shop/deployments/web/scale",
                Some(object(&DEPLOYMENT, Some("shop"), "web", "scale")),
            ),
            ("/api/v1/nodes/node-1", Some(object(&NODE, None, "node-1", ""))),
            ("/api/v1/namespaces/shop/pods/web/log", Some(object(&POD, Some("shop"), "web", "log"))),
            ("/api/v1/namespaces/shop/pods/web/exec", Some(object(&POD, Some("shop"), "web", "exec"))),
        ];
        for (path, want) in cases {
            assert_eq!(parse(path), want, "{path}");
        }
    }

    #[test]
    fn paths_that_name_nothing_are_not_found() {
        for path in [
            "/",
            "/healthz/etcd",
            "/api/v2",
            "/apis/apps/v2",
            "/apis/batch/v1/jobs",
            "/api/v1/widgets",
            "/api/v1/deployments",
            "/api/v1/pods/web",
            "/api/v1/namespaces/shop/nodes/node-1",
            "/api/v1/namespaces/shop/pods/web/attach",
            "/apis/apps/v1/namespaces/shop/deployments/web/exec",
            "/api/v1/namespaces/shop/pods/web/status/extra",
        ] {
            assert_eq!(parse(path), None, "{path}");
        }
    }
}
