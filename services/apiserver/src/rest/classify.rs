//! What a REST request is, for the server stack's layers (limits, timeout,
//! metrics): Kubernetes' verb and resource, as kube-apiserver's RequestInfo
//! reads them from the method, path and query, and whether the request is
//! long-running — a watch, `logs -f`, exec, attach, port-forward — which
//! kube-apiserver neither times nor counts against its in-flight limits.
//! Pure: a function of the method and URI.

use super::path::{self, Route};
use axum::http::{Method, Uri};
use capstan_server::{CallKind, HttpCall};

pub use capstan_server::http::NON_RESOURCE;

/// Subresources whose requests last as long as the user reads or types.
const LONG_RUNNING_SUBRESOURCES: [&str; 4] = ["exec", "attach", "portforward", "proxy"];

/// The request's verb, resource and kind (see the module docs).
pub fn classify(method: &Method, uri: &Uri) -> HttpCall {
    let path = uri.path();
    if matches!(path, "/healthz" | "/livez" | "/readyz") {
        return HttpCall { verb: "get", resource: NON_RESOURCE.into(), kind: CallKind::Probe };
    }
    let flag = |name: &str| query_flag(uri.query(), name);
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    // a subresource the face does not route (yet) still names its resource
    let (route, subresource) = match path::parse(path) {
        Some(route) => (Some(route), None),
        None => (path.trim_end_matches('/').rsplit_once('/').and_then(|(parent, _)| path::parse(parent)), Some(last)),
    };
    let (resource, collection) = match (&route, subresource) {
        (Some(Route::Object { info, subresource: parent, .. }), Some(sub)) if parent.is_empty() => {
            (resource_name(info.resource, info.api_version, sub), false)
        }
        (_, Some(_)) => (NON_RESOURCE.to_string(), false),
        (route, None) => match route {
            Some(Route::Collection { info, .. }) => (resource_name(info.resource, info.api_version, ""), true),
            Some(Route::Object { info, subresource, .. }) => {
                (resource_name(info.resource, info.api_version, subresource), false)
            }
            Some(Route::Review(review)) => (resource_name(review.resource, review.group_version, ""), true),
            _ => (NON_RESOURCE.to_string(), false),
        },
    };
    let verb = match *method {
        Method::GET | Method::HEAD if flag("watch") => "watch",
        Method::GET | Method::HEAD if collection => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if collection => "deletecollection",
        Method::DELETE => "delete",
        _ => "get",
    };
    let long_running = verb == "watch" || flag("follow") || LONG_RUNNING_SUBRESOURCES.contains(&last);
    let kind = if long_running { CallKind::LongRunning } else { CallKind::Request };
    HttpCall { verb, resource, kind }
}

/// `pods`, `deployments.apps`, `pods/log`: kube-apiserver's resource, its
/// group and subresource.
fn resource_name(resource: &str, api_version: &str, subresource: &str) -> String {
    let mut name = match api_version.split_once('/') {
        Some((group, _)) => format!("{resource}.{group}"),
        None => resource.to_string(),
    };
    if !subresource.is_empty() {
        name.push('/');
        name.push_str(subresource);
    }
    name
}

/// Whether the query sets `name` true, as Kubernetes parses a boolean
/// parameter (`true`, `1`).
fn query_flag(query: Option<&str>, name: &str) -> bool {
    query.unwrap_or_default().split('&').any(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        key == name && matches!(value, "true" | "1" | "True" | "TRUE")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: Method, uri: &str) -> (&'static str, String, CallKind) {
        let uri: Uri = uri.parse().expect("a URI");
        let call = classify(&method, &uri);
        (call.verb, call.resource, call.kind)
    }

    #[test]
    fn verbs_resources_and_long_running_requests_as_kube_apiserver_reads_them() {
        use CallKind::*;
        let cases = [
            (Method::GET, "/api/v1/namespaces/shop/pods", ("list", "pods", Request)),
            (Method::GET, "/api/v1/pods?watch=true&resourceVersion=5", ("watch", "pods", LongRunning)),
            (Method::GET, "/api/v1/pods?watch=1", ("watch", "pods", LongRunning)),
            (Method::GET, "/api/v1/pods?watch=false", ("list", "pods", Request)),
            (Method::GET, "/api/v1/namespaces/shop/pods/web", ("get", "pods", Request)),
            (Method::POST, "/apis/apps/v1/namespaces/shop/deployments", ("create", "deployments.apps", Request)),
            (
                Method::PUT,
                "/apis/apps/v1/namespaces/shop/deployments/web/status",
                ("update", "deployments.apps/status", Request),
            ),
            (
                Method::PATCH,
                "/apis/apps/v1/namespaces/shop/deployments/web/scale",
                ("patch", "deployments.apps/scale", Request),
            ),
            (Method::DELETE, "/api/v1/namespaces/shop/pods/web", ("delete", "pods", Request)),
            (Method::DELETE, "/api/v1/namespaces/shop/pods", ("deletecollection", "pods", Request)),
            (Method::GET, "/api/v1/namespaces/shop/pods/web/log?follow=true", ("get", "pods/log", LongRunning)),
            (Method::GET, "/api/v1/namespaces/shop/pods/web/log?tailLines=5", ("get", "pods/log", Request)),
            (Method::GET, "/api/v1/namespaces/shop/pods/web/exec?command=sh", ("get", "pods/exec", LongRunning)),
            (Method::POST, "/api/v1/namespaces/shop/pods/web/attach", ("create", "pods/attach", LongRunning)),
            (Method::GET, "/apis/apps/v1", ("get", "nonresource", Request)),
            (Method::GET, "/openapi/v3/apis/apps/v1", ("get", "nonresource", Request)),
            (Method::GET, "/readyz", ("get", "nonresource", Probe)),
        ];
        for (method, uri, (verb, resource, kind)) in cases {
            assert_eq!(call(method.clone(), uri), (verb, resource.to_string(), kind), "{method} {uri}");
        }
    }
}
