//! The API server's one error type and its one mapping onto gRPC status codes.
//!
//! Every failure a client can see is a variant here; `into_status` attaches a
//! `meta.v1.Status` body (with each field error as a cause) so the CLI can
//! print errors the way kubectl does.

use crate::validation::FieldError;
use capstan_proto::meta::v1::{Status, StatusCause, StatusDetails};
use capstan_store::StoreError;
use prost::Message;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{resource} \"{name}\" not found")]
    NotFound { resource: String, name: String },
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists { resource: String, name: String },
    #[error("Operation cannot be fulfilled on {resource} \"{name}\": {reason}")]
    Conflict { resource: String, name: String, reason: String },
    /// A server-side apply would change fields other managers own (409,
    /// each field a `FieldManagerConflict` cause).
    #[error("{}", crate::managed_fields::conflict_message(.0))]
    ApplyConflict(Vec<crate::managed_fields::Conflict>),
    /// A JSON patch did not apply (a failing `test`, a path that is not
    /// there): 422 in kube-apiserver's words, which leave the cause out.
    #[error("the server rejected our request due to an error in our request")]
    PatchNotApplied(String),
    #[error("{kind} \"{name}\" is invalid: {}", join_errors(.errors))]
    Invalid { kind: String, name: String, errors: Vec<FieldError> },
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

fn join_errors(errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

impl ApiError {
    pub fn not_found(resource: &str, name: &str) -> Self {
        ApiError::NotFound { resource: resource.to_string(), name: name.to_string() }
    }

    pub fn conflict_modified(resource: &str, name: &str) -> Self {
        ApiError::Conflict {
            resource: resource.to_string(),
            name: name.to_string(),
            reason: "the object has been modified; please apply your changes to the latest version and try again"
                .to_string(),
        }
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
        let (kind, name) = match &self {
            ApiError::Invalid { kind, name, .. } => (kind.clone(), name.clone()),
            ApiError::NotFound { resource, name }
            | ApiError::AlreadyExists { resource, name }
            | ApiError::Conflict { resource, name, .. } => (resource.clone(), name.clone()),
            _ => (String::new(), String::new()),
        };
        let body = Status {
            api_version: "v1".into(),
            kind: "Status".into(),
            status: "Failure".into(),
            message: self.to_string(),
            reason: self.reason().into(),
            details: Some(StatusDetails { name, kind, causes, ..Default::default() }),
            code: http,
            ..Default::default()
        };
        tonic::Status::with_details(code, body.message.clone(), body.encode_to_vec().into())
    }

    /// Maps a store failure on `resource`/`name` to what the client should see.
    pub fn from_store(err: StoreError, resource: &str, name: &str) -> Self {
        match err {
            StoreError::NotFound { .. } => ApiError::not_found(resource, name),
            StoreError::AlreadyExists { .. } => {
                ApiError::AlreadyExists { resource: resource.to_string(), name: name.to_string() }
            }
            StoreError::Conflict { .. } => ApiError::conflict_modified(resource, name),
            StoreError::Compacted { requested, compacted } => ApiError::Expired { requested, oldest: compacted },
            StoreError::Unavailable(what) => ApiError::Unavailable(what),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<capstan_rbac::RbacError> for ApiError {
    fn from(err: capstan_rbac::RbacError) -> Self {
        match err {
            capstan_rbac::RbacError::RoleNotFound { resource, name } => ApiError::NotFound { resource, name },
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
