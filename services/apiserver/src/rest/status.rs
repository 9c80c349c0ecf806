//! Errors as Kubernetes' `metav1.Status`, with its reasons and HTTP codes.
//!
//! The gRPC face already attaches a `meta.v1.Status` to every error it
//! returns ([`ApiError::into_status`](crate::ApiError::into_status)); the REST
//! face answers with that same body, so both protocols say the same words.

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use capstan_proto::meta::v1::{Status, StatusDetails};
use prost::Message;
use serde_json::Value;

/// A `Status` body with `code`, `reason` and `message`.
pub fn failure(code: u16, reason: &str, message: impl Into<String>) -> Status {
    Status {
        api_version: "v1".into(),
        kind: "Status".into(),
        status: "Failure".into(),
        message: message.into(),
        reason: reason.into(),
        code: i32::from(code),
        ..Default::default()
    }
}

/// 404 for a path that names nothing served, as kube-apiserver words it.
pub fn no_such_path() -> Status {
    let mut status = failure(404, "NotFound", "the server could not find the requested resource");
    status.details = Some(StatusDetails::default());
    status
}

/// 405 for a verb this face does not serve on a path.
pub fn method_not_allowed(method: &str, what: &str) -> Status {
    failure(
        405,
        "MethodNotAllowed",
        format!("the server does not allow this method on the requested resource: {method} {what}"),
    )
}

/// The `Status` the gRPC face attached to `status`, or one made from its
/// code and message when there is none (a refusal from outside the registry).
pub fn from_grpc(status: &tonic::Status) -> Status {
    if let Ok(body) = Status::decode(status.details()) {
        if body.code != 0 {
            return body;
        }
    }
    use tonic::Code;
    let (code, reason) = match status.code() {
        Code::Unauthenticated => (401, "Unauthorized"),
        Code::PermissionDenied => (403, "Forbidden"),
        Code::NotFound => (404, "NotFound"),
        Code::AlreadyExists => (409, "AlreadyExists"),
        Code::Aborted => (409, "Conflict"),
        Code::InvalidArgument | Code::FailedPrecondition => (400, "BadRequest"),
        Code::OutOfRange => (410, "Expired"),
        Code::ResourceExhausted => (429, "TooManyRequests"),
        Code::DeadlineExceeded => (504, "Timeout"),
        Code::Unavailable => (503, "ServiceUnavailable"),
        _ => (500, "InternalError"),
    };
    failure(code, reason, status.message())
}

/// The JSON response carrying `status`, with its code as the HTTP status.
pub fn respond(status: &Status) -> Response {
    let code = u16::try_from(status.code).ok().and_then(|c| StatusCode::from_u16(c).ok());
    json_response(code.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), &serde_json::to_value(status).unwrap_or_default())
}

/// A JSON response, as every answer of the REST face is.
pub fn json_response(code: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = code;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiError;

    #[test]
    fn the_grpc_faces_status_body_is_answered_as_it_is() {
        let grpc = ApiError::not_found(&capstan_proto::kinds::POD, "web").into_status();
        let body = serde_json::to_value(from_grpc(&grpc)).expect("json");
        assert_eq!(
            body,
            serde_json::json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
                "message": "pods \"web\" not found", "reason": "NotFound",
                "details": {"name": "web", "kind": "pods"}, "code": 404})
        );
    }

    #[test]
    fn a_bare_grpc_refusal_gets_kubernetes_reason_and_code() {
        let status = from_grpc(&tonic::Status::permission_denied("pods is forbidden: User \"jane\" cannot list"));
        assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
        let status = from_grpc(&tonic::Status::unauthenticated("Unauthorized"));
        assert_eq!((status.code, status.reason.as_str()), (401, "Unauthorized"));
    }
}
