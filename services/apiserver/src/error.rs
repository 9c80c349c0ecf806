//! The API server's one error type and its one mapping onto gRPC status codes.
//!
//! Every failure a client can see is a variant here; `into_status` attaches a
//! `meta.v1.Status` body (with each field error as a cause) so the CLI can
//! print errors the way kubectl does.

use crate::validation::FieldError;
use capstan_proto::meta::v1::{Status, StatusCause, StatusDetails};
use capstan_proto::KindInfo;
use capstan_store::StoreError;
use prost::Message;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `resource` is the plural (`deployments`), `group` its API group
    /// (`apps`, "" for the core group): the message names both, as
    /// kube-apiserver's does (`deployments.apps "web" not found`).
    #[error("{} \"{name}\" not found", qualified(resource, group))]
    NotFound { resource: String, group: String, name: String },
    #[error("{} \"{name}\" already exists", qualified(resource, group))]
    AlreadyExists { resource: String, group: String, name: String },
    #[error("Operation cannot be fulfilled on {} \"{name}\": {reason}", qualified(resource, group))]
    Conflict { resource: String, group: String, name: String, reason: String },
    /// A server-side apply would change fields other managers own (409,
    /// each field a `FieldManagerConflict` cause).
    #[error("{}", crate::managed_fields::conflict_message(.0))]
    ApplyConflict(Vec<crate::managed_fields::Conflict>),
    /// A JSON patch did not apply (a failing `test`, a path that is not
    /// there): 422 in kube-apiserver's words, which leave the cause out.
    #[error("the server rejected our request due to an error in our request")]
    PatchNotApplied(String),
    /// `kind` is the kind (`Deployment`): `Deployment.apps "web" is invalid`.
    #[error("{} \"{name}\" is invalid: {}", qualified(kind, group), join_errors(.errors))]
    Invalid { kind: String, group: String, name: String, errors: Vec<FieldError> },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    /// Authorization or an admission check refused the request (403), with
    /// Kubernetes' message (`capstan_auth::forbidden_message`).
    #[error("{0}")]
    PermissionDenied(String),
    #[error("the server could not find the requested resource {0:?}")]
    UnknownResource(String),
    #[error("too old resource version: {requested} (oldest available is {oldest}): expired, relist")]
    Expired { requested: i64, oldest: i64 },
    #[error("the API server's store is unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// A pod's kubelet answered with a refusal or failure: its own code and
    /// words, passed on (`pods/log`, `pods/exec`).
    #[error("{message}")]
    FromKubelet { code: tonic::Code, message: String },
    /// A pod's kubelet cannot be reached: the node, where its kubelet should
    /// be, and why not (kube-apiserver's "error dialing backend").
    #[error("error dialing backend: {}", kubelet_unreachable(node, address, cause))]
    KubeletUnreachable { node: String, address: String, cause: String },
}

fn kubelet_unreachable(node: &str, address: &str, cause: &str) -> String {
    if address.is_empty() {
        cause.to_string()
    } else {
        format!("the kubelet of node {node} at {address} does not answer: {cause}")
    }
}

/// `deployments.apps`, or `pods` for the core group: how Kubernetes names
/// a resource or kind in its messages.
fn qualified(name: &str, group: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{group}")
    }
}

fn join_errors(errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

impl ApiError {
    /// `name` of kind `info` does not exist.
    pub fn not_found(info: &KindInfo, name: &str) -> Self {
        ApiError::NotFound { resource: info.resource.into(), group: info.group().into(), name: name.into() }
    }

    /// `name` of kind `info` exists already.
    pub fn already_exists(info: &KindInfo, name: &str) -> Self {
        ApiError::AlreadyExists { resource: info.resource.into(), group: info.group().into(), name: name.into() }
    }

    /// A write to `name` of kind `info` cannot be done, for `reason`.
    pub fn conflict(info: &KindInfo, name: &str, reason: impl Into<String>) -> Self {
        ApiError::Conflict {
            resource: info.resource.into(),
            group: info.group().into(),
            name: name.into(),
            reason: reason.into(),
        }
    }

    pub fn conflict_modified(info: &KindInfo, name: &str) -> Self {
        ApiError::conflict(
            info,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// `name` of kind `info` fails validation with `errors`.
    pub fn invalid(info: &KindInfo, name: &str, errors: Vec<FieldError>) -> Self {
        ApiError::Invalid { kind: info.kind.into(), group: info.group().into(), name: name.into(), errors }
    }

    fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownResource(_) => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } | ApiError::ApplyConflict(_) => "Conflict",
            ApiError::Invalid { .. } | ApiError::PatchNotApplied(_) => "Invalid",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Forbidden(_) | ApiError::PermissionDenied(_) => "Forbidden",
            ApiError::Expired { .. } => "Expired",
            ApiError::Unavailable(_) => "ServiceUnavailable",
            ApiError::Internal(_) => "InternalError",
            ApiError::FromKubelet { code, .. } => match code {
                tonic::Code::NotFound => "NotFound",
                tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition => "BadRequest",
                tonic::Code::PermissionDenied => "Forbidden",
                tonic::Code::Unavailable => "ServiceUnavailable",
                tonic::Code::DeadlineExceeded => "Timeout",
                _ => "InternalError",
            },
            ApiError::KubeletUnreachable { .. } => "ServiceUnavailable",
        }
    }

    fn code(&self) -> (tonic::Code, i32) {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownResource(_) => (tonic::Code::NotFound, 404),
            ApiError::AlreadyExists { .. } => (tonic::Code::AlreadyExists, 409),
            ApiError::Conflict { .. } => (tonic::Code::Aborted, 409),
            // not Aborted: trying the same apply again cannot succeed
            ApiError::ApplyConflict(_) => (tonic::Code::FailedPrecondition, 409),
            ApiError::Invalid { .. } | ApiError::PatchNotApplied(_) => (tonic::Code::InvalidArgument, 422),
            ApiError::BadRequest(_) => (tonic::Code::InvalidArgument, 400),
            ApiError::Forbidden(_) => (tonic::Code::FailedPrecondition, 403),
            ApiError::PermissionDenied(_) => (tonic::Code::PermissionDenied, 403),
            ApiError::Expired { .. } => (tonic::Code::OutOfRange, 410),
            ApiError::Unavailable(_) => (tonic::Code::Unavailable, 503),
            ApiError::Internal(_) => (tonic::Code::Internal, 500),
            ApiError::FromKubelet { code, .. } => {
                let http = match code {
                    tonic::Code::NotFound => 404,
                    tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition => 400,
                    tonic::Code::PermissionDenied => 403,
                    tonic::Code::Unavailable => 503,
                    tonic::Code::DeadlineExceeded => 504,
                    _ => 500,
                };
                (*code, http)
            }
            ApiError::KubeletUnreachable { .. } => (tonic::Code::Unavailable, 503),
        }
    }

    /// The gRPC status, with a `meta.v1.Status` body as its details.
    pub fn into_status(self) -> tonic::Status {
        let (code, http) = self.code();
        let causes = match &self {
            ApiError::Invalid { errors, .. } => errors
                .iter()
                .map(|e| StatusCause { reason: e.reason().to_string(), message: e.to_string(), field: e.path.clone() })
                .collect(),
            ApiError::ApplyConflict(conflicts) => conflicts
                .iter()
                .map(|c| StatusCause {
                    reason: "FieldManagerConflict".into(),
                    message: format!("conflict with {}", c.manager),
                    field: c.path.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        // kube-apiserver's details: the kind for Invalid, the resource otherwise
        let (kind, group, name) = match &self {
            ApiError::Invalid { kind, group, name, .. } => (kind.clone(), group.clone(), name.clone()),
            ApiError::NotFound { resource, group, name }
            | ApiError::AlreadyExists { resource, group, name }
            | ApiError::Conflict { resource, group, name, .. } => (resource.clone(), group.clone(), name.clone()),
            _ => (String::new(), String::new(), String::new()),
        };
        let body = Status {
            api_version: "v1".into(),
            kind: "Status".into(),
            status: "Failure".into(),
            message: self.to_string(),
            reason: self.reason().into(),
            details: Some(StatusDetails { name, group, kind, causes, ..Default::default() }),
            code: http,
            ..Default::default()
        };
        tonic::Status::with_details(code, body.message.clone(), body.encode_to_vec().into())
    }

    /// Maps a store failure on `name` of kind `info` to what the client should see.
    pub fn from_store(err: StoreError, info: &KindInfo, name: &str) -> Self {
        match err {
            StoreError::NotFound { .. } => ApiError::not_found(info, name),
            StoreError::AlreadyExists { .. } => ApiError::already_exists(info, name),
            StoreError::Conflict { .. } => ApiError::conflict_modified(info, name),
            StoreError::Compacted { requested, compacted } => ApiError::Expired { requested, oldest: compacted },
            StoreError::Unavailable(what) => ApiError::Unavailable(what),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<capstan_rbac::RbacError> for ApiError {
    fn from(err: capstan_rbac::RbacError) -> Self {
        match err {
            capstan_rbac::RbacError::RoleNotFound { resource, name } => {
                let group = capstan_proto::kinds::lookup(&resource).map(|k| k.group()).unwrap_or_default();
                ApiError::NotFound { resource, group: group.into(), name }
            }
            escalation => ApiError::PermissionDenied(escalation.to_string()),
        }
    }
}

impl From<capstan_node_authorizer::NodeRestrictionError> for ApiError {
    fn from(err: capstan_node_authorizer::NodeRestrictionError) -> Self {
        ApiError::PermissionDenied(err.to_string())
    }
}

impl From<ApiError> for tonic::Status {
    fn from(err: ApiError) -> Self {
        err.into_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::kinds::{DEPLOYMENT, POD};

    /// The message and the details' (group, kind, name), as the gRPC status carries them.
    fn said(err: ApiError) -> (String, (String, String, String)) {
        let status = err.into_status();
        let body = Status::decode(status.details()).unwrap_or_default();
        let details = body.details.unwrap_or_default();
        (body.message, (details.group, details.kind, details.name))
    }

    fn details(group: &str, kind: &str, name: &str) -> (String, String, String) {
        (group.into(), kind.into(), name.into())
    }

    #[test]
    fn messages_and_details_name_the_group_as_kube_apiserver_does() {
        let invalid = vec![FieldError::invalid("spec.replicas", "-1", "must be greater than or equal to 0")];
        for (err, message, want) in [
            (
                ApiError::not_found(&DEPLOYMENT, "web"),
                r#"deployments.apps "web" not found"#,
                details("apps", "deployments", "web"),
            ),
            (ApiError::not_found(&POD, "web"), r#"pods "web" not found"#, details("", "pods", "web")),
            (
                ApiError::already_exists(&DEPLOYMENT, "web"),
                r#"deployments.apps "web" already exists"#,
                details("apps", "deployments", "web"),
            ),
            (
                ApiError::conflict_modified(&DEPLOYMENT, "web"),
                "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                details("apps", "deployments", "web"),
            ),
            (
                ApiError::invalid(&DEPLOYMENT, "web", invalid),
                r#"Deployment.apps "web" is invalid: [spec.replicas: Invalid value: "-1": must be greater than or equal to 0]"#,
                details("apps", "Deployment", "web"),
            ),
        ] {
            assert_eq!(said(err), (message.to_string(), want));
        }
    }
}
