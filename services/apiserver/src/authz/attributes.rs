//! A `ResourceService` request in the terms authorizers judge, derived as
//! kube-apiserver's `RequestInfo` derives them from a REST path: the verb
//! from the method, group and plural resource from the kinds table, the
//! subresource, the namespace (as the registry will default it) and the name.
//!
//! The node-reaching pod subresources (`capstan.api.v1.PodService`) are
//! judged as kube-apiserver judges `GET pods/NAME/log` and `POST
//! pods/NAME/exec`: get `pods/log`, create `pods/exec`, in the pod's
//! namespace (`default` when none is named), on the pod's name.
//!
//! Kubernetes' special cases are kept: a create has no name (the object's
//! name is judged by admission, not by `resourceNames`); a namespace's
//! requests are in that namespace, so a RoleBinding there can grant reading
//! it; a list or watch with `metadata.name=X` is about `X`.

use crate::error::ApiError;
use capstan_auth::{Attributes, Verb};
use capstan_proto::api::v1::{
    CreateRequest, DeleteRequest, GetRequest, ListOptions, ListRequest, PatchRequest, ResourceRef, UpdateRequest,
    WatchRequest,
};
use capstan_proto::kinds::{self, KindInfo};
use capstan_proto::kubelet::v1::{exec_request, LogsRequest};
use capstan_proto::ObjectExt;
use capstan_server::metrics::{self, RequestInfo};

/// One decoded request of the resource service.
#[derive(Clone, Copy, Debug)]
pub enum Request<'a> {
    Create(&'a CreateRequest),
    Get(&'a GetRequest),
    List(&'a ListRequest),
    Watch(&'a WatchRequest),
    Update(&'a UpdateRequest),
    Patch(&'a PatchRequest),
    Delete(&'a DeleteRequest),
    /// `PodService/Logs`
    Logs(&'a LogsRequest),
    /// `PodService/Exec`, by the target its first message names
    Exec(&'a exec_request::Target),
}

/// The attributes `request` is authorized by; an error for a request that
/// names no resource or one the API does not serve (the handler would refuse
/// it the same way).
pub fn attributes_for(request: Request<'_>) -> Result<Attributes, ApiError> {
    let no_ref = || ApiError::BadRequest("the request names no resource (ref is missing)".into());
    let (verb, r, options) = match request {
        Request::Logs(q) => return Ok(pod_subresource(Verb::Get, "log", &q.namespace, &q.pod)),
        Request::Exec(q) => return Ok(pod_subresource(Verb::Create, "exec", &q.namespace, &q.pod)),
        Request::Create(q) => (Verb::Create, q.r#ref.as_ref(), None),
        Request::Get(q) => (Verb::Get, q.r#ref.as_ref(), None),
        Request::List(q) => (Verb::List, q.r#ref.as_ref(), q.options.as_ref()),
        Request::Watch(q) => (Verb::Watch, q.r#ref.as_ref(), q.options.as_ref()),
        Request::Update(q) => (Verb::Update, q.r#ref.as_ref(), None),
        Request::Patch(q) => (Verb::Patch, q.r#ref.as_ref(), None),
        Request::Delete(q) => (Verb::Delete, q.r#ref.as_ref(), None),
    };
    let r = r.ok_or_else(no_ref)?;
    let info = kinds::lookup(&r.resource).ok_or_else(|| ApiError::UnknownResource(r.resource.clone()))?;
    let mut attributes = Attributes::new(verb, info.group(), info.resource).subresource(&r.subresource);
    attributes.name = name(request, r);
    attributes.namespace = namespace(request, info, r, &attributes.name);
    if let Some(options) = options {
        collection(&mut attributes, options);
    }
    Ok(attributes)
}

/// `verb pods/<subresource>` on pod `name` in `namespace` (`default` when empty).
fn pod_subresource(verb: Verb, subresource: &str, namespace: &str, name: &str) -> Attributes {
    let namespace = if namespace.is_empty() { "default" } else { namespace };
    Attributes::new(verb, "", "pods").subresource(subresource).namespace(namespace).name(name)
}

/// The object's name, as the handler resolves it; none for a create of the
/// object itself.
fn name(request: Request<'_>, r: &ResourceRef) -> String {
    if !r.name.is_empty() {
        return r.name.clone();
    }
    match request {
        // `binding` names its pod in the body when the ref does not
        Request::Create(q) if !r.subresource.is_empty() => {
            q.object.as_ref().map(|o| o.meta().name.clone()).unwrap_or_default()
        }
        Request::Update(q) => q.object.as_ref().map(|o| o.meta().name.clone()).unwrap_or_default(),
        _ => String::new(),
    }
}

/// The namespace the request acts in: the registry's default (`default`)
/// for one object of a namespaced kind, none for a cluster-scoped kind or
/// an all-namespace list, and the namespace itself for a namespace.
fn namespace(request: Request<'_>, info: &KindInfo, r: &ResourceRef, name: &str) -> String {
    if info.kind == kinds::NAMESPACE.kind {
        return name.to_string();
    }
    if !info.namespaced {
        return String::new();
    }
    let collection = matches!(request, Request::List(_) | Request::Watch(_));
    let from_object = match request {
        Request::Create(q) => q.object.as_ref().map(|o| o.meta().namespace.clone()).unwrap_or_default(),
        _ => String::new(),
    };
    match (r.namespace.is_empty(), from_object.is_empty(), collection) {
        (false, _, _) => r.namespace.clone(),
        (true, _, true) => String::new(),
        (true, false, false) => from_object,
        (true, true, false) => "default".to_string(),
    }
}

/// The request as kube-apiserver's metrics label it
/// (`capstan_server::metrics`), from the `attributes` it is authorized by
/// and its kind's `api_version` (`v1`, `apps/v1`): verb, group, version,
/// resource, subresource and scope as its `RequestInfo` gives them, a
/// dry run, and whether it is long-running (a watch, `logs -f`, exec).
pub fn request_info(request: Request<'_>, attributes: &Attributes, api_version: &str) -> RequestInfo {
    let (apply, dry_run, long_running) = match request {
        Request::Create(q) => (false, q.dry_run, false),
        Request::Update(q) => (false, q.dry_run, false),
        Request::Patch(q) => (q.patch_type == crate::grpc::APPLY_PATCH, q.dry_run, false),
        Request::Delete(q) => (false, q.dry_run, false),
        Request::Watch(_) | Request::Exec(_) => (false, false, true),
        Request::Logs(q) => (false, false, q.follow),
        Request::Get(_) | Request::List(_) => (false, false, false),
    };
    let verb = attributes.verb.as_str();
    RequestInfo {
        verb: metrics::reported_verb(verb, apply),
        dry_run,
        group: attributes.api_group.clone(),
        version: api_version.rsplit('/').next().unwrap_or_default().to_string(),
        resource: attributes.resource.clone(),
        subresource: attributes.subresource.clone(),
        scope: metrics::scope(verb, &attributes.namespace, &attributes.name),
        long_running,
    }
}

/// A list or watch carries its field selector; one naming an object makes
/// the request about that object.
fn collection(attributes: &mut Attributes, options: &ListOptions) {
    attributes.field_selector = options.field_selector.clone();
    if attributes.name.is_empty() {
        if let Some(name) = attributes.required_field("metadata.name") {
            attributes.name = name.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::api::v1::Object;
    use capstan_proto::object::parse_manifests;

    fn at(resource: &str, namespace: &str, name: &str, subresource: &str) -> Option<ResourceRef> {
        Some(ResourceRef {
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.into(),
            subresource: subresource.into(),
        })
    }

    fn object(yaml: &str) -> Option<Object> {
        parse_manifests("t", yaml).ok().map(|mut o| o.remove(0))
    }

    fn listing(selector: &str) -> Option<ListOptions> {
        Some(ListOptions { field_selector: selector.into(), ..Default::default() })
    }

    /// verb group resource/sub namespace name fieldSelector, `-` for empty
    fn shown(a: &Attributes) -> String {
        let dash = |s: &str| if s.is_empty() { "-".to_string() } else { s.to_string() };
        format!(
            "{} {} {} {} {} {}",
            a.verb,
            dash(&a.api_group),
            a.resource_path(),
            dash(&a.namespace),
            dash(&a.name),
            dash(&a.field_selector)
        )
    }

    #[test]
    fn every_method_maps_to_kubernetes_attributes() {
        let pod = object("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}");
        let binding = object("apiVersion: v1\nkind: Binding\nmetadata: {name: web}\ntarget: {kind: Node, name: n1}");
        let create = |r, object| CreateRequest { r#ref: r, object, dry_run: false, ..Default::default() };
        let update = |r, object| UpdateRequest { r#ref: r, object, dry_run: false, ..Default::default() };
        let list = |r, options| ListRequest { r#ref: r, options };
        let watch = |r, options| WatchRequest { r#ref: r, options };
        let cases: Vec<(Owned, &str)> = vec![
            (Owned::Create(create(at("pods", "shop", "", ""), pod.clone())), "create - pods shop - -"),
            (Owned::Create(create(at("po", "", "", ""), pod.clone())), "create - pods shop - -"),
            (Owned::Create(create(at("pods", "", "", ""), None)), "create - pods default - -"),
            (Owned::Create(create(at("pods", "shop", "", "binding"), binding)), "create - pods/binding shop web -"),
            (
                Owned::Get(GetRequest { r#ref: at("deploy", "shop", "web", "scale") }),
                "get apps deployments/scale shop web -",
            ),
            (Owned::Get(GetRequest { r#ref: at("nodes", "", "n1", "") }), "get - nodes - n1 -"),
            (Owned::Get(GetRequest { r#ref: at("namespaces", "", "shop", "") }), "get - namespaces shop shop -"),
            (
                Owned::List(list(at("pods", "", "", ""), listing("spec.nodeName=n1"))),
                "list - pods - - spec.nodeName=n1",
            ),
            (
                Owned::List(list(at("leases", "kube-node-lease", "", ""), None)),
                "list coordination.k8s.io leases kube-node-lease - -",
            ),
            (
                Owned::Watch(watch(at("nodes", "", "", ""), listing("metadata.name=n1"))),
                "watch - nodes - n1 metadata.name=n1",
            ),
            (
                Owned::Watch(watch(at("clusterroles", "", "view", ""), None)),
                "watch rbac.authorization.k8s.io clusterroles - view -",
            ),
            (Owned::Update(update(at("pods", "shop", "", "status"), pod)), "update - pods/status shop web -"),
            (
                Owned::Logs(LogsRequest { namespace: "shop".into(), pod: "web".into(), ..Default::default() }),
                "get - pods/log shop web -",
            ),
            (
                Owned::Exec(exec_request::Target { pod: "web".into(), cmd: vec!["sh".into()], ..Default::default() }),
                "create - pods/exec default web -",
            ),
            (
                Owned::Patch(PatchRequest { r#ref: at("rolebindings", "shop", "b", ""), ..Default::default() }),
                "patch rbac.authorization.k8s.io rolebindings shop b -",
            ),
            (
                Owned::Delete(DeleteRequest { r#ref: at("hpa", "", "web", ""), ..Default::default() }),
                "delete autoscaling horizontalpodautoscalers default web -",
            ),
        ];
        for (request, want) in &cases {
            let got = attributes_for(request.as_request()).map(|a| shown(&a));
            assert_eq!(got.as_deref().map_err(ToString::to_string), Ok(*want), "{request:?}");
        }
    }

    /// verb dry_run group version resource/sub scope long-running, `-` for empty
    fn labelled(info: &RequestInfo) -> String {
        let dash = |s: &str| if s.is_empty() { "-".to_string() } else { s.to_string() };
        let resource = if info.subresource.is_empty() {
            info.resource.clone()
        } else {
            format!("{}/{}", info.resource, info.subresource)
        };
        format!(
            "{} {} {} {} {} {} {}",
            info.verb,
            if info.dry_run { "All" } else { "-" },
            dash(&info.group),
            info.version,
            resource,
            info.scope,
            if info.long_running { "long" } else { "-" }
        )
    }

    #[test]
    fn every_method_maps_to_kube_apiservers_metric_labels() {
        let pod = object("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}");
        let create = |r, dry_run| CreateRequest { r#ref: r, object: pod.clone(), dry_run, ..Default::default() };
        let patch = |patch_type: &str| PatchRequest {
            r#ref: at("deploy", "shop", "web", ""),
            patch_type: patch_type.into(),
            ..Default::default()
        };
        let list = |r, options| ListRequest { r#ref: r, options };
        let cases: Vec<(Owned, &str)> = vec![
            (Owned::Create(create(at("pods", "shop", "", ""), false)), "POST - - v1 pods resource -"),
            (Owned::Create(create(at("pods", "shop", "", ""), true)), "POST All - v1 pods resource -"),
            (Owned::Get(GetRequest { r#ref: at("pods", "shop", "web", "") }), "GET - - v1 pods resource -"),
            (Owned::Get(GetRequest { r#ref: at("nodes", "", "n1", "") }), "GET - - v1 nodes resource -"),
            (
                Owned::Get(GetRequest { r#ref: at("deploy", "shop", "web", "scale") }),
                "GET - apps v1 deployments/scale resource -",
            ),
            (Owned::List(list(at("pods", "shop", "", ""), None)), "LIST - - v1 pods namespace -"),
            (Owned::List(list(at("pods", "", "", ""), None)), "LIST - - v1 pods cluster -"),
            (Owned::List(list(at("nodes", "", "", ""), None)), "LIST - - v1 nodes cluster -"),
            (Owned::List(list(at("namespaces", "", "", ""), None)), "LIST - - v1 namespaces cluster -"),
            // kube-apiserver's RequestInfo names the object a field selector names
            (Owned::List(list(at("nodes", "", "", ""), listing("metadata.name=n1"))), "LIST - - v1 nodes resource -"),
            (
                Owned::Watch(WatchRequest { r#ref: at("leases", "kube-node-lease", "", ""), options: None }),
                "WATCH - coordination.k8s.io v1 leases namespace long",
            ),
            (
                Owned::Update(UpdateRequest { r#ref: at("pods", "shop", "web", "status"), ..Default::default() }),
                "PUT - - v1 pods/status resource -",
            ),
            (Owned::Patch(patch(crate::grpc::APPLY_PATCH)), "APPLY - apps v1 deployments resource -"),
            (Owned::Patch(patch("application/merge-patch+json")), "PATCH - apps v1 deployments resource -"),
            (
                Owned::Delete(DeleteRequest {
                    r#ref: at("hpa", "shop", "web", ""),
                    dry_run: true,
                    ..Default::default()
                }),
                "DELETE All autoscaling v2 horizontalpodautoscalers resource -",
            ),
            (
                Owned::Logs(LogsRequest { namespace: "shop".into(), pod: "web".into(), ..Default::default() }),
                "GET - - v1 pods/log resource -",
            ),
            (
                Owned::Logs(LogsRequest {
                    namespace: "shop".into(),
                    pod: "web".into(),
                    follow: true,
                    ..Default::default()
                }),
                "GET - - v1 pods/log resource long",
            ),
            (
                Owned::Exec(exec_request::Target { pod: "web".into(), cmd: vec!["sh".into()], ..Default::default() }),
                "POST - - v1 pods/exec resource long",
            ),
        ];
        for (request, want) in &cases {
            let attributes = attributes_for(request.as_request()).expect("attributes");
            let api_version = kinds::lookup(&attributes.resource).map(|info| info.api_version).unwrap_or_default();
            let got = labelled(&request_info(request.as_request(), &attributes, api_version));
            assert_eq!(got, *want, "{request:?}");
        }
    }

    #[test]
    fn requests_without_a_known_resource_are_refused() {
        let none = GetRequest { r#ref: None };
        assert!(matches!(attributes_for(Request::Get(&none)), Err(ApiError::BadRequest(_))));
        let widgets = GetRequest { r#ref: at("widgets", "", "w", "") };
        assert!(matches!(attributes_for(Request::Get(&widgets)), Err(ApiError::UnknownResource(_))));
    }

    /// Owns a request of any method, so one table holds them all.
    #[derive(Debug)]
    enum Owned {
        Create(CreateRequest),
        Get(GetRequest),
        List(ListRequest),
        Watch(WatchRequest),
        Update(UpdateRequest),
        Patch(PatchRequest),
        Delete(DeleteRequest),
        Logs(LogsRequest),
        Exec(exec_request::Target),
    }

    impl Owned {
        fn as_request(&self) -> Request<'_> {
            match self {
                Owned::Create(q) => Request::Create(q),
                Owned::Get(q) => Request::Get(q),
                Owned::List(q) => Request::List(q),
                Owned::Watch(q) => Request::Watch(q),
                Owned::Update(q) => Request::Update(q),
                Owned::Patch(q) => Request::Patch(q),
                Owned::Delete(q) => Request::Delete(q),
                Owned::Logs(q) => Request::Logs(q),
                Owned::Exec(q) => Request::Exec(q),
            }
        }
    }
}
