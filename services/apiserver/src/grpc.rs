//! The gRPC face of the registry: translates `ResourceService` requests into
//! registry calls and errors into status codes. No rule about objects lives
//! here.

use crate::authz::Admission;
use crate::error::ApiError;
use crate::registry::Part;
use crate::registry::{DeleteOptions, ListParams, Registry, WatchParams, Write};
use capstan_auth::UserInfo;
use capstan_proto::api::v1::resource_service_server::ResourceService;
use capstan_proto::api::v1::{
    object::Kind, ApiResource, CreateRequest, DeleteRequest, DeleteResponse, DiscoveryRequest, DiscoveryResponse,
    GetRequest, ListOptions, ListRequest, Object, ObjectList, PatchRequest, ResourceRef, UpdateRequest, WatchEvent,
    WatchRequest,
};
use capstan_proto::kinds::{self, STORED_KINDS};
use capstan_proto::Resource;
use futures::stream::BoxStream;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tonic::{Request, Response, Status};

/// The patch type of a server-side apply.
pub const APPLY_PATCH: &str = "application/apply-patch+yaml";

pub struct ResourceApi {
    registry: Arc<Registry>,
    admission: Admission,
}

impl ResourceApi {
    pub fn new(registry: Arc<Registry>, admission: Admission) -> Self {
        ResourceApi { registry, admission }
    }
}

/// Who makes a request: the server stack's authenticated user, or
/// anonymous on a server that does not authenticate.
fn caller<T>(request: &Request<T>) -> Arc<UserInfo> {
    request.extensions().get::<Arc<UserInfo>>().cloned().unwrap_or_else(|| Arc::new(UserInfo::anonymous()))
}

/// The manager a write records in managedFields: the one the request names,
/// else the caller's user name (`system:kube-scheduler`), so each component
/// owns what it writes.
fn manager<'a>(named: &'a str, user: &'a UserInfo) -> &'a str {
    if named.is_empty() {
        &user.name
    } else {
        named
    }
}

/// Response metadata saying an apply created its object (the REST face
/// answers 201 then).
pub const CREATED: &str = "capstan-created";

fn reference(r: Option<ResourceRef>) -> Result<ResourceRef, ApiError> {
    r.ok_or_else(|| ApiError::BadRequest("the request names no resource (ref is missing)".into()))
}

fn object(o: Option<Object>) -> Result<Object, ApiError> {
    o.filter(|o| o.kind.is_some()).ok_or_else(|| ApiError::BadRequest("the request carries no object".into()))
}

fn options(o: Option<ListOptions>) -> ListOptions {
    o.unwrap_or_default()
}

#[tonic::async_trait]
impl ResourceService for ResourceApi {
    async fn create(&self, request: Request<CreateRequest>) -> Result<Response<Object>, Status> {
        let user = caller(&request);
        let request = request.into_inner();
        let r = reference(request.r#ref)?;
        let obj = object(request.object)?;
        let admit = |new: &Object, old: Option<&Object>| self.admission.admit(&user, new, old);
        let write = Write { dry_run: request.dry_run, admit: &admit, manager: manager(&request.field_manager, &user) };
        let created = match r.subresource.as_str() {
            "" => self.registry.create(&r.resource, &r.namespace, obj, write).await?,
            "binding" => {
                let Some(Kind::Binding(binding)) = obj.kind else {
                    return Err(ApiError::BadRequest("the binding subresource takes a Binding".into()).into());
                };
                let name = if r.name.is_empty() { binding.meta().name.clone() } else { r.name.clone() };
                let target = self.registry.target(&r.resource, &r.namespace, &name)?;
                self.registry.bind(&target, &binding, write).await?
            }
            other => return Err(ApiError::BadRequest(format!("subresource {other:?} cannot be created")).into()),
        };
        Ok(Response::new(created))
    }

    async fn get(&self, request: Request<GetRequest>) -> Result<Response<Object>, Status> {
        let r = reference(request.into_inner().r#ref)?;
        let target = self.registry.target(&r.resource, &r.namespace, &r.name)?;
        let got = match r.subresource.as_str() {
            "" | "status" => self.registry.get(&target).await?,
            "scale" => self.registry.get_scale(&target).await?.into_object(),
            other => return Err(ApiError::BadRequest(format!("subresource {other:?} cannot be read")).into()),
        };
        Ok(Response::new(got))
    }

    async fn list(&self, request: Request<ListRequest>) -> Result<Response<ObjectList>, Status> {
        let request = request.into_inner();
        let r = reference(request.r#ref)?;
        let info = self.registry.resolve(&r.resource)?;
        let o = options(request.options);
        let params = ListParams {
            label_selector: o.label_selector,
            field_selector: o.field_selector,
            limit: o.limit,
            continue_token: o.r#continue,
        };
        let (items, metadata) = self.registry.list(info, &r.namespace, &params).await?;
        Ok(Response::new(ObjectList { metadata: Some(metadata), items }))
    }

    async fn update(&self, request: Request<UpdateRequest>) -> Result<Response<Object>, Status> {
        let user = caller(&request);
        let request = request.into_inner();
        let admit = |new: &Object, old: Option<&Object>| self.admission.admit(&user, new, old);
        let write = Write { dry_run: request.dry_run, admit: &admit, manager: manager(&request.field_manager, &user) };
        let r = reference(request.r#ref)?;
        let obj = object(request.object)?;
        let name = if r.name.is_empty() { capstan_proto::ObjectExt::meta(&obj).name.clone() } else { r.name.clone() };
        let target = self.registry.target(&r.resource, &r.namespace, &name)?;
        let updated = match r.subresource.as_str() {
            "scale" => {
                let Some(Kind::Scale(scale)) = obj.kind else {
                    return Err(ApiError::BadRequest("the scale subresource takes a Scale".into()).into());
                };
                self.registry.update_scale(&target, &scale, write).await?.into_object()
            }
            sub => self.registry.update(&target, Part::parse(sub)?, obj, write).await?,
        };
        Ok(Response::new(updated))
    }

    async fn patch(&self, request: Request<PatchRequest>) -> Result<Response<Object>, Status> {
        let user = caller(&request);
        let request = request.into_inner();
        let admit = |new: &Object, old: Option<&Object>| self.admission.admit(&user, new, old);
        let write = Write { dry_run: request.dry_run, admit: &admit, manager: manager(&request.field_manager, &user) };
        let r = reference(request.r#ref)?;
        let target = self.registry.target(&r.resource, &r.namespace, &r.name)?;
        if request.force && request.patch_type != APPLY_PATCH {
            return Err(ApiError::BadRequest("force may not be specified for non-apply patch".into()).into());
        }
        if request.patch_type == APPLY_PATCH {
            if request.field_manager.is_empty() {
                return Err(ApiError::BadRequest("fieldManager is required for apply patch".into()).into());
            }
            let part = Part::parse(&r.subresource)?;
            let (applied, created) = self.registry.apply(&target, part, &request.patch, request.force, write).await?;
            let mut response = Response::new(applied);
            if created {
                response.metadata_mut().insert(CREATED, tonic::metadata::MetadataValue::from_static("true"));
            }
            return Ok(response);
        }
        if r.subresource == "scale" {
            let scale = self.registry.patch_scale(&target, &request.patch_type, &request.patch, write).await?;
            return Ok(Response::new(scale.into_object()));
        }
        let part = Part::parse(&r.subresource)?;
        let patched = self.registry.patch(&target, part, &request.patch_type, &request.patch, write).await?;
        Ok(Response::new(patched))
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        let request = request.into_inner();
        let r = reference(request.r#ref)?;
        let target = self.registry.target(&r.resource, &r.namespace, &r.name)?;
        let preconditions = request.preconditions.unwrap_or_default();
        let options = DeleteOptions {
            grace_period_seconds: request.grace_period_seconds,
            propagation_policy: request.propagation_policy,
            precondition_uid: preconditions.uid,
            precondition_resource_version: preconditions.resource_version,
            dry_run: request.dry_run,
        };
        let (object, deleted) = self.registry.delete(&target, &options).await?;
        Ok(Response::new(DeleteResponse { object: Some(object), deleted }))
    }

    type WatchStream = BoxStream<'static, Result<WatchEvent, Status>>;

    async fn watch(&self, request: Request<WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let request = request.into_inner();
        let r = reference(request.r#ref)?;
        let info = self.registry.resolve(&r.resource)?;
        let o = options(request.options);
        let mut field_selector = o.field_selector;
        if !r.name.is_empty() {
            let by_name = format!("metadata.name={}", r.name);
            field_selector = if field_selector.is_empty() { by_name } else { format!("{field_selector},{by_name}") };
        }
        let params = WatchParams {
            label_selector: o.label_selector,
            field_selector,
            resource_version: o.resource_version,
            allow_bookmarks: o.allow_bookmarks,
            timeout: (o.timeout_seconds > 0).then(|| Duration::from_secs(o.timeout_seconds as u64)),
        };
        let stream = self.registry.watch(info, &r.namespace, &params)?;
        Ok(Response::new(stream.map(|item| item.map_err(Status::from)).boxed()))
    }

    async fn discover(&self, _: Request<DiscoveryRequest>) -> Result<Response<DiscoveryResponse>, Status> {
        let resources = STORED_KINDS
            .iter()
            .map(|k| ApiResource {
                name: k.resource.into(),
                singular_name: k.singular.into(),
                short_names: k.short_names.iter().map(|s| s.to_string()).collect(),
                kind: k.kind.into(),
                api_version: k.api_version.into(),
                namespaced: k.namespaced,
                verbs: kinds::VERBS.iter().map(|v| v.to_string()).collect(),
                subresources: k.subresources.iter().map(|s| s.to_string()).collect(),
            })
            .collect();
        Ok(Response::new(DiscoveryResponse { resources }))
    }
}
