//! The Kubernetes REST face: the API as kubectl and every Kubernetes client
//! speak it (JSON over HTTP), beside the gRPC face on the same port.
//!
//! It is a second protocol over the same service, not a second server: each
//! request passes the server stack's layers as a gRPC call does — audit,
//! authentication (the caller's `UserInfo` arrives on the request), the
//! in-flight limits, the timeout, the metrics — read by [`classify`] into
//! Kubernetes' verb and resource; then it is turned into the gRPC face's
//! request message and handed to
//! [`Authorized`], so the same authorizer judges the same
//! [`Attributes`](capstan_auth::Attributes) and the same registry answers.
//! Errors come back as the `metav1.Status` the gRPC face already carries.
//!
//! # Layout
//! - [`Rest`]: the service ([`Rest::router`] is what the server mounts) and
//!   its dispatch; start here.
//! - [`path`]: a request path parsed into a [`Route`] (pure, table-tested).
//! - [`classify`]: the verb, resource and long-running-ness the stack's
//!   layers read (pure, table-tested).
//! - [`discovery`]: `/version`, `/api`, `/apis` and the resource lists.
//! - [`objects`]: GET of one object, LIST and WATCH as Kubernetes JSON.
//! - [`delete`]: DELETE of one object with Kubernetes' `DeleteOptions`.
//! - [`patch`]: PATCH (JSON merge, strategic merge and JSON patches) of an
//!   object, its status or scale; [`strategic`] turns a strategic merge patch
//!   into the merge patch it amounts to; [`apply`]: server-side apply, and
//!   the manager every write records in managedFields.
//! - [`write`]: POST (create) and PUT (replace), decoded strictly.
//! - [`openapi`]: the OpenAPI v3 documents: what kubectl needs to leave
//!   validation to the server, and the schemas `kubectl explain` reads.
//! - [`status`]: errors as `metav1.Status`.
//! - [`logs`], [`exec`]: `pods/log` (plain text, streamed) and `pods/exec`
//!   (a WebSocket, `v5.channel.k8s.io`), handed to the gRPC face's `PodService`.
//!
//! # Not yet served
//! `pods/attach` and `pods/portforward`: a request for them is answered 405
//! `MethodNotAllowed` (or 404), never silently.

pub mod apply;
pub mod classify;
pub mod delete;
pub mod discovery;
pub mod exec;
pub mod logs;
pub mod objects;
pub mod openapi;
pub mod patch;
pub mod path;
pub mod review;
pub mod status;
pub mod strategic;
pub mod table;
pub mod write;

use crate::authorize::Authorized;
use crate::pods::PodApi;
use crate::review::Reviews;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use capstan_auth::UserInfo;
use capstan_server::metrics::ApiRequest;
use capstan_server::AuditRecord;
use path::Route;
use std::sync::Arc;

/// The REST face over one API server's authorized gRPC face.
#[derive(Clone)]
pub struct Rest {
    api: Arc<Authorized>,
    reviews: Arc<Reviews>,
    /// `pods/log` and `pods/exec`, when the server reaches kubelets
    pods: Option<Arc<PodApi>>,
}

impl Rest {
    /// `reviews` answers `auth whoami` and `auth can-i`.
    pub fn new(api: Arc<Authorized>, reviews: Arc<Reviews>) -> Rest {
        Rest { api, reviews, pods: None }
    }

    /// Serves `pods/log` and `pods/exec` through `pods`, the gRPC face's `PodService`.
    pub fn with_pods(self, pods: Arc<PodApi>) -> Rest {
        Rest { pods: Some(pods), ..self }
    }

    /// The face for `Server::serve_http`: every request no gRPC service
    /// claims comes here, read by [`classify::classify`] for the stack.
    pub fn face(self) -> capstan_server::HttpFace {
        let router = axum::Router::new().fallback(move |request: Request| {
            let rest = self.clone();
            async move { rest.handle(request).await }
        });
        capstan_server::HttpFace { router, classify: Arc::new(classify::classify) }
    }

    async fn handle(&self, request: Request) -> Response {
        let path = request.uri().path().to_string();
        // kube-apiserver answers health to anyone (system:public-info-viewer)
        if matches!(path.as_str(), "/healthz" | "/livez" | "/readyz") {
            let mut ok = Response::new("ok".into());
            ok.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain"));
            return ok;
        }
        // the stack's authentication layer put the caller here, or refused
        // it; none on a server that does not authenticate: anonymous
        let user = request.extensions().get::<Arc<UserInfo>>().cloned();
        let record = request.extensions().get::<AuditRecord>().cloned();
        let call = request.extensions().get::<ApiRequest>().cloned();
        // kubectl's `Impersonate-User`/`-Group` headers are the gRPC face's metadata
        let mut impersonation = axum::http::HeaderMap::new();
        for name in [capstan_auth::impersonate::USER, capstan_auth::impersonate::GROUP] {
            for value in request.headers().get_all(name) {
                impersonation.append(name, value.clone());
            }
        }
        let query_manager = request.uri().query().and_then(|q| apply::query_value(q, "fieldManager"));
        let agent =
            request.headers().get(header::USER_AGENT).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let field_manager = apply::manager(query_manager.as_deref(), agent.as_deref().unwrap_or_default());
        let user = Caller { user, record, call, impersonation, field_manager };
        if request.method() == Method::GET {
            if path == "/openapi/v3" {
                return openapi::respond("");
            }
            if let Some(group_version) = path.strip_prefix("/openapi/v3/") {
                return openapi::respond(group_version);
            }
        }
        let Some(route) = path::parse(&path) else {
            return status::respond(&status::no_such_path());
        };
        if let (Some(pods), Route::Object { info, namespace: Some(ns), name, subresource }) = (&self.pods, &route) {
            match (info.resource, subresource.as_str(), request.method()) {
                ("pods", "log", &Method::GET) => return logs::serve(pods, user, ns, name, request.uri().query()).await,
                ("pods", "exec", &Method::GET | &Method::POST) => {
                    return exec::serve(pods, user, ns, name, request).await
                }
                _ => {}
            }
        }
        if request.method() == Method::GET {
            // no reference to the request crosses an await: its body is not Sync
            let (query, authority) = (request.uri().query().map(String::from), authority(&request));
            let accept = request.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
            let as_table = table::wanted(accept);
            return self.read(route, query.as_deref(), &authority, user, as_table).await;
        }
        let method = request.method().clone();
        let query = request.uri().query().map(String::from);
        let query = query.as_deref();
        let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(String::from);
        let Some(body) = read_body(request).await else {
            return status::respond(&status::failure(
                413,
                "RequestEntityTooLarge",
                "the request body is larger than 3 MiB",
            ));
        };
        let api = &self.api;
        match (&method, route) {
            (&Method::POST, Route::Review(which)) => review::create(&self.reviews, user, which, &body).await,
            (&Method::POST, Route::Collection { info, namespace }) => {
                let target = write::Target { info, namespace: namespace.as_deref(), name: "", subresource: "" };
                write::create(api, user, target, &body, query).await
            }
            (&Method::POST, Route::Object { info, namespace, name, subresource }) if subresource == "binding" => {
                let target =
                    write::Target { info, namespace: namespace.as_deref(), name: &name, subresource: &subresource };
                write::create(api, user, target, &body, query).await
            }
            (&Method::PUT, Route::Object { info, namespace, name, subresource }) => {
                let target =
                    write::Target { info, namespace: namespace.as_deref(), name: &name, subresource: &subresource };
                write::replace(api, user, target, &body, query).await
            }
            (&Method::DELETE, Route::Object { info, namespace, name, subresource }) if subresource.is_empty() => {
                delete::delete(api, user, info, namespace.as_deref(), &name, &body, query).await
            }
            (&Method::PATCH, Route::Object { info, namespace, name, subresource }) => {
                let target =
                    patch::Patch { info, namespace: namespace.as_deref(), name: &name, subresource: &subresource };
                patch::serve(api, user, target, content_type.as_deref(), &body, query).await
            }
            (method, _) => status::respond(&status::method_not_allowed(method.as_str(), &path)),
        }
    }

    /// GET: discovery, one object, or a collection (a list or a watch).
    async fn read(&self, route: Route, query: Option<&str>, authority: &str, user: Caller, as_table: bool) -> Response {
        match route {
            Route::Version => status::json_response(StatusCode::OK, &discovery::version()),
            Route::CoreVersions => status::json_response(StatusCode::OK, &discovery::core_versions(authority)),
            Route::Groups => status::json_response(StatusCode::OK, &discovery::groups()),
            Route::Group(name) => found(discovery::api_group(&name)),
            Route::Resources { group_version } => found(discovery::resources(&group_version)),
            Route::Collection { info, namespace } => {
                objects::list(&self.api, user, info, namespace.as_deref(), query, as_table).await
            }
            Route::Object { info, namespace, name, subresource } => {
                objects::get(&self.api, user, info, namespace.as_deref(), &name, &subresource, as_table).await
            }
            Route::Review(which) => status::respond(&status::method_not_allowed("GET", which.resource)),
        }
    }
}

/// The request's body, up to the gRPC face's limit on a message (3 MiB,
/// kube-apiserver's); `None` when it is larger or could not be read.
async fn read_body(request: Request) -> Option<axum::body::Bytes> {
    axum::body::to_bytes(request.into_body(), crate::door::MAX_REQUEST_BYTES).await.ok()
}

/// Who calls (`None`: anonymous, on a server that does not authenticate),
/// whom they ask to act as, and the audit record the stack opened for the
/// request, if it audits: all travel with every gRPC request the face hands on.
#[derive(Clone, Default)]
pub struct Caller {
    pub user: Option<Arc<UserInfo>>,
    pub record: Option<AuditRecord>,
    /// which API request the call is, for the request metrics: the hook says
    pub call: Option<ApiRequest>,
    /// the request's impersonation headers, judged by the hook as on gRPC
    pub impersonation: axum::http::HeaderMap,
    /// who writes, for managedFields: the `fieldManager` query, else the
    /// User-Agent's product (`kubectl`), as kube-apiserver derives it
    pub field_manager: String,
}

fn found(document: Option<serde_json::Value>) -> Response {
    match document {
        Some(body) => status::json_response(StatusCode::OK, &body),
        None => status::respond(&status::no_such_path()),
    }
}

/// Where the client reached the server: the URI's authority (HTTP/2) or the
/// `Host` header (HTTP/1.1).
fn authority(request: &Request) -> String {
    request
        .uri()
        .authority()
        .map(|a| a.to_string())
        .or_else(|| request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(String::from))
        .unwrap_or_default()
}
