//! The authorization hook: the one place where every `ResourceService` call
//! is authorized, after authentication (the server stack put the caller's
//! `UserInfo` on the request) and before any handler runs.
//!
//! [`Authorized`] wraps the gRPC face: each method derives the request's
//! [`Attributes`] (verb from the method, resource, API group and scope from
//! the kinds table, namespace and name from the request, the subresource),
//! asks the one `Arc<dyn Authorizer>` (a `capstan_auth::Chain` of the
//! `--authorization-mode` authorizers) and only on `Allow` hands the request
//! to [`ResourceApi`]. A refusal is `PERMISSION_DENIED` in Kubernetes' words
//! (`pods is forbidden: User "jane" cannot create resource "pods" in API
//! group "" in the namespace "shop"`, the authorizer's reason appended).
//! The attributes also go to the call's audit record, so the audit event
//! names the object whether the call was allowed or not.
//!
//! Deriving attributes reads only the decoded request, so it is a pure
//! function ([`attributes`]), tested without a server.

use crate::error::ApiError;
use crate::grpc::ResourceApi;
use capstan_auth::{Attributes, Authorizer, Decision, UserInfo, Verb};
use capstan_proto::api::v1::resource_service_server::ResourceService;
use capstan_proto::api::v1::{
    CreateRequest, DeleteRequest, DeleteResponse, DiscoveryRequest, DiscoveryResponse, GetRequest, ListRequest, Object,
    ObjectList, PatchRequest, ResourceRef, UpdateRequest, WatchRequest,
};
use capstan_proto::{kinds, ObjectExt};
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// What a request asks, in authorization's terms, and the API version of its
/// kind (for the audit event's objectRef).
pub fn attributes(verb: Verb, r: &ResourceRef, object: Option<&Object>) -> (Attributes, &'static str) {
    let info = kinds::lookup(&r.resource);
    let (group, resource, api_version) = match info {
        Some(info) => (info.group(), info.resource, info.api_version),
        // an unknown resource is authorized as named, as kube-apiserver does
        // (the handler then answers NotFound to whoever may ask)
        None => ("", r.resource.as_str(), ""),
    };
    let meta = object.filter(|o| o.kind.is_some()).map(|o| o.meta());
    let mut name = r.name.clone();
    let mut namespace = r.namespace.clone();
    if let Some(meta) = meta {
        // create names its object in the body; update may too
        if name.is_empty() && verb != Verb::Create {
            name = meta.name.clone();
        }
        if namespace.is_empty() {
            namespace = meta.namespace.clone();
        }
    }
    let namespaced = info.is_none_or(|i| i.namespaced);
    if !namespaced {
        namespace.clear();
    } else if namespace.is_empty() && !matches!(verb, Verb::List | Verb::Watch) {
        // one object of a namespaced kind: the registry's default namespace
        namespace = "default".to_string();
    }
    // a create's name is the new object's; Kubernetes authorizes creates
    // without one, except through a subresource (pods/binding names its pod)
    if verb == Verb::Create && r.subresource.is_empty() {
        name.clear();
    } else if verb == Verb::Create && name.is_empty() {
        name = meta.map(|m| m.name.clone()).unwrap_or_default();
    }
    let attrs = Attributes::new(verb, group, resource).subresource(&r.subresource).namespace(&namespace).name(&name);
    (attrs, api_version)
}

/// Kubernetes' refusal: `pods "web" is forbidden: User "jane" cannot get
/// resource "pods" in API group "" in the namespace "shop": REASON`.
pub fn forbidden_message(user: &UserInfo, a: &Attributes, reason: &str) -> String {
    let scope = match a.namespace.is_empty() {
        true => "at the cluster scope".to_string(),
        false => format!("in the namespace {:?}", a.namespace),
    };
    let mut detail = format!(
        "User {:?} cannot {} resource {:?} in API group {:?} {scope}",
        user.name,
        a.verb,
        a.resource_path(),
        a.api_group
    );
    if !reason.is_empty() {
        detail = format!("{detail}: {reason}");
    }
    let resource = match a.api_group.is_empty() {
        true => a.resource.clone(),
        false => format!("{}.{}", a.resource, a.api_group),
    };
    match a.name.is_empty() {
        true => format!("{resource} is forbidden: {detail}"),
        false => format!("{resource} {:?} is forbidden: {detail}", a.name),
    }
}

/// The gRPC face behind the authorization hook.
pub struct Authorized {
    inner: ResourceApi,
    authorizer: Arc<dyn Authorizer>,
}

impl Authorized {
    pub fn new(inner: ResourceApi, authorizer: Arc<dyn Authorizer>) -> Authorized {
        Authorized { inner, authorizer }
    }

    /// The hook: `Ok` only when the authorizer allows.
    fn admit<T>(
        &self,
        request: &Request<T>,
        verb: Verb,
        r: Option<&ResourceRef>,
        object: Option<&Object>,
    ) -> Result<(), Status> {
        let anonymous;
        let user = match request.extensions().get::<Arc<UserInfo>>() {
            Some(user) => user.as_ref(),
            // a server that does not authenticate: everyone is anonymous
            None => {
                anonymous = UserInfo::anonymous();
                &anonymous
            }
        };
        let empty = ResourceRef::default();
        let (attrs, api_version) = attributes(verb, r.unwrap_or(&empty), object);
        let decision = self.authorizer.authorize(user, &attrs);
        let denied = match decision {
            Decision::Allow => None,
            Decision::Deny { reason } => Some(reason),
            Decision::NoOpinion => Some(String::new()),
        };
        if let Some(record) = request.extensions().get::<capstan_server::AuditRecord>() {
            record.set_request(attrs.clone(), api_version);
        }
        match denied {
            None => Ok(()),
            Some(reason) => Err(ApiError::Denied(forbidden_message(user, &attrs, &reason)).into()),
        }
    }
}

#[tonic::async_trait]
impl ResourceService for Authorized {
    async fn create(&self, request: Request<CreateRequest>) -> Result<Response<Object>, Status> {
        let body = request.get_ref();
        self.admit(&request, Verb::Create, body.r#ref.as_ref(), body.object.as_ref())?;
        self.inner.create(request).await
    }

    async fn get(&self, request: Request<GetRequest>) -> Result<Response<Object>, Status> {
        self.admit(&request, Verb::Get, request.get_ref().r#ref.as_ref(), None)?;
        self.inner.get(request).await
    }

    async fn list(&self, request: Request<ListRequest>) -> Result<Response<ObjectList>, Status> {
        self.admit(&request, Verb::List, request.get_ref().r#ref.as_ref(), None)?;
        self.inner.list(request).await
    }

    async fn update(&self, request: Request<UpdateRequest>) -> Result<Response<Object>, Status> {
        let body = request.get_ref();
        self.admit(&request, Verb::Update, body.r#ref.as_ref(), body.object.as_ref())?;
        self.inner.update(request).await
    }

    async fn patch(&self, request: Request<PatchRequest>) -> Result<Response<Object>, Status> {
        self.admit(&request, Verb::Patch, request.get_ref().r#ref.as_ref(), None)?;
        self.inner.patch(request).await
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        self.admit(&request, Verb::Delete, request.get_ref().r#ref.as_ref(), None)?;
        self.inner.delete(request).await
    }

    type WatchStream = <ResourceApi as ResourceService>::WatchStream;

    async fn watch(&self, request: Request<WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        self.admit(&request, Verb::Watch, request.get_ref().r#ref.as_ref(), None)?;
        self.inner.watch(request).await
    }

    /// Discovery names the kinds, not objects: every caller the stack let in
    /// may read it (Kubernetes' `system:discovery` role grants it to all).
    async fn discover(&self, request: Request<DiscoveryRequest>) -> Result<Response<DiscoveryResponse>, Status> {
        self.inner.discover(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::api::v1::object::Kind;
    use capstan_proto::core::v1::{Binding, Pod};
    use capstan_proto::meta::v1::ObjectMeta;

    fn r(resource: &str, namespace: &str, name: &str, sub: &str) -> ResourceRef {
        ResourceRef {
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.into(),
            subresource: sub.into(),
        }
    }

    fn meta(namespace: &str, name: &str) -> Option<ObjectMeta> {
        Some(ObjectMeta { namespace: namespace.into(), name: name.into(), ..Default::default() })
    }

    #[test]
    fn attributes_follow_kubernetes_request_info() {
        let pod = Object { kind: Some(Kind::Pod(Pod { metadata: meta("shop", "web"), ..Default::default() })) };
        let binding =
            Object { kind: Some(Kind::Binding(Binding { metadata: meta("shop", "web"), ..Default::default() })) };
        let cases: Vec<(Verb, ResourceRef, Option<&Object>, Attributes, &str)> = vec![
            (
                Verb::Create,
                r("pods", "", "", ""),
                Some(&pod),
                Attributes::new(Verb::Create, "", "pods").namespace("shop"),
                "v1",
            ),
            (
                Verb::Create,
                r("pods", "shop", "", "binding"),
                Some(&binding),
                Attributes::new(Verb::Create, "", "pods").subresource("binding").namespace("shop").name("web"),
                "v1",
            ),
            (
                Verb::Get,
                r("po", "", "web", ""),
                None,
                Attributes::new(Verb::Get, "", "pods").namespace("default").name("web"),
                "v1",
            ),
            (
                Verb::List,
                r("deployments", "", "", ""),
                None,
                Attributes::new(Verb::List, "apps", "deployments"),
                "apps/v1",
            ),
            (Verb::Watch, r("nodes", "x", "n1", ""), None, Attributes::new(Verb::Watch, "", "nodes").name("n1"), "v1"),
            (
                Verb::Update,
                r("pods", "shop", "", "status"),
                Some(&pod),
                Attributes::new(Verb::Update, "", "pods").subresource("status").namespace("shop").name("web"),
                "v1",
            ),
            (
                Verb::Update,
                r("deployments", "shop", "api", "scale"),
                None,
                Attributes::new(Verb::Update, "apps", "deployments").subresource("scale").namespace("shop").name("api"),
                "apps/v1",
            ),
            (
                Verb::Delete,
                r("widgets", "shop", "w", ""),
                None,
                Attributes::new(Verb::Delete, "", "widgets").namespace("shop").name("w"),
                "",
            ),
        ];
        for (verb, r, object, want, version) in cases {
            assert_eq!(attributes(verb, &r, object), (want, version), "{verb} {r:?}");
        }
    }

    #[test]
    fn refusals_read_as_kubernetes_writes_them() {
        let jane = UserInfo::authenticated("jane", "", vec![]);
        let create = Attributes::new(Verb::Create, "", "pods").namespace("shop");
        assert_eq!(
            forbidden_message(&jane, &create, ""),
            r#"pods is forbidden: User "jane" cannot create resource "pods" in API group "" in the namespace "shop""#
        );
        let scale = Attributes::new(Verb::Update, "apps", "deployments").subresource("scale").namespace("a").name("d");
        assert_eq!(
            forbidden_message(&jane, &scale, "no RBAC policy matched"),
            r#"deployments.apps "d" is forbidden: User "jane" cannot update resource "deployments/scale" in API group "apps" in the namespace "a": no RBAC policy matched"#
        );
        let nodes = Attributes::new(Verb::List, "", "nodes");
        assert!(forbidden_message(&jane, &nodes, "").ends_with("at the cluster scope"));
    }
}
