//! The authorization hook: the one place where every `ResourceService` and
//! `PodService` call is authorized, after authentication (the server stack put the caller's
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
//! names the object whether the call was allowed or not, and, as
//! kube-apiserver's metric labels, to the call's request metrics
//! (`apiserver_request_total` and the rest, for both faces).
//!
//! Attributes are derived by [`crate::authz::attributes_for`], a pure
//! function tested without a server; the refusal's words are
//! `capstan_auth::forbidden_message`.

use crate::authz::attributes::request_info;
use crate::authz::{attributes_for, Request as Asked};
use crate::error::ApiError;
use crate::grpc::ResourceApi;
use capstan_auth::{forbidden_message, Authorizer, Decision, UserInfo};
use capstan_proto::api::v1::resource_service_server::ResourceService;
use capstan_proto::api::v1::{
    CreateRequest, DeleteRequest, DeleteResponse, DiscoveryRequest, DiscoveryResponse, GetRequest, ListRequest, Object,
    ObjectList, PatchRequest, UpdateRequest, WatchRequest,
};
use capstan_proto::kinds;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The gRPC face behind the authorization hook.
pub struct Authorized {
    inner: ResourceApi,
    authorizer: Arc<dyn Authorizer>,
}

impl Authorized {
    pub fn new(inner: ResourceApi, authorizer: Arc<dyn Authorizer>) -> Authorized {
        Authorized { inner, authorizer }
    }

    /// The hook: `Ok` only when the authorizer allows, with the user the
    /// request acts as (see [`acting_as`]).
    fn admit<T>(&self, request: &Request<T>, asked: Asked<'_>) -> Result<Arc<UserInfo>, Status> {
        admit(self.authorizer.as_ref(), request, asked)
    }
}

/// The one authorization hook, for every service of the API server
/// (`ResourceService` here, `PodService` in [`crate::pods`]): finds the user
/// the request acts as (the authenticated one, or whom it may impersonate;
/// anonymous on a server that does not authenticate), derives the request's
/// attributes, asks `authorizer`, records both on the call's audit record,
/// and refuses in Kubernetes' words unless it allows.
pub(crate) fn admit<T>(
    authorizer: &dyn Authorizer,
    request: &Request<T>,
    asked: Asked<'_>,
) -> Result<Arc<UserInfo>, Status> {
    let acting = crate::impersonate::acting_user(authorizer, request)?;
    let user: &UserInfo = &acting;
    let attrs = attributes_for(asked)?;
    let api_version = kinds::lookup(&attrs.resource).map(|info| info.api_version).unwrap_or_default();
    let decision = authorizer.authorize(user, &attrs);
    let denied = match decision {
        Decision::Allow => None,
        Decision::Deny { reason } => Some(reason),
        Decision::NoOpinion => Some(String::new()),
    };
    if let Some(call) = request.extensions().get::<capstan_server::metrics::ApiRequest>() {
        call.set(request_info(asked, &attrs, api_version));
    }
    if let Some(record) = request.extensions().get::<capstan_server::AuditRecord>() {
        record.set_request(attrs.clone(), api_version);
    }
    match denied {
        None => Ok(acting),
        Some(reason) => Err(ApiError::PermissionDenied(forbidden_message(user, &attrs, &reason)).into()),
    }
}

/// The request with the user it acts as in place of the authenticated
/// one, so what runs behind the hook (admission's escalation and
/// NodeRestriction checks) judges the impersonated user, as Kubernetes'
/// impersonation filter replaces the request's user.
fn acting_as<T>(mut request: Request<T>, user: Arc<UserInfo>) -> Request<T> {
    request.extensions_mut().insert(user);
    request
}

#[tonic::async_trait]
impl ResourceService for Authorized {
    async fn create(&self, request: Request<CreateRequest>) -> Result<Response<Object>, Status> {
        let acting = self.admit(&request, Asked::Create(request.get_ref()))?;
        self.inner.create(acting_as(request, acting)).await
    }

    async fn get(&self, request: Request<GetRequest>) -> Result<Response<Object>, Status> {
        let acting = self.admit(&request, Asked::Get(request.get_ref()))?;
        self.inner.get(acting_as(request, acting)).await
    }

    async fn list(&self, request: Request<ListRequest>) -> Result<Response<ObjectList>, Status> {
        let acting = self.admit(&request, Asked::List(request.get_ref()))?;
        self.inner.list(acting_as(request, acting)).await
    }

    async fn update(&self, request: Request<UpdateRequest>) -> Result<Response<Object>, Status> {
        let acting = self.admit(&request, Asked::Update(request.get_ref()))?;
        self.inner.update(acting_as(request, acting)).await
    }

    async fn patch(&self, request: Request<PatchRequest>) -> Result<Response<Object>, Status> {
        let acting = self.admit(&request, Asked::Patch(request.get_ref()))?;
        self.inner.patch(acting_as(request, acting)).await
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        let acting = self.admit(&request, Asked::Delete(request.get_ref()))?;
        self.inner.delete(acting_as(request, acting)).await
    }

    type WatchStream = <ResourceApi as ResourceService>::WatchStream;

    async fn watch(&self, request: Request<WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let acting = self.admit(&request, Asked::Watch(request.get_ref()))?;
        self.inner.watch(acting_as(request, acting)).await
    }

    /// Discovery names the kinds, not objects: every caller the stack let in
    /// may read it (Kubernetes' `system:discovery` role grants it to all).
    async fn discover(&self, request: Request<DiscoveryRequest>) -> Result<Response<DiscoveryResponse>, Status> {
        self.inner.discover(request).await
    }
}
