//! The client's one error type, and the one place that turns a gRPC status
//! into it.
//!
//! Callers branch on what went wrong (a missing object, a conflict, an expired
//! watch), never on status codes or message text, so every code the API
//! server uses has its own variant here; the server's human-readable message
//! is kept for display.

use capstan_proto::meta::v1::Status as ApiStatus;
use prost::Message as _;
use tonic::Code;

/// One field error of a validation failure (`InvalidArgument`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldCause {
    /// the field's path, e.g. `spec.template.spec.containers[0].image`
    pub field: String,
    /// Kubernetes' cause type, e.g. `FieldValueRequired`
    pub reason: String,
    /// what is wrong, e.g. `Required value`
    pub message: String,
}

/// Why a call to the API server failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    #[error("{message}")]
    NotFound { message: String },
    #[error("{message}")]
    AlreadyExists { message: String },
    /// The object changed since the caller read it (stale resourceVersion).
    #[error("{message}")]
    Conflict { message: String },
    /// Validation failed; `causes` lists every field error.
    #[error("{message}")]
    Invalid { message: String, causes: Vec<FieldCause> },
    /// The resourceVersion is too old to watch from: list again.
    #[error("{message}")]
    Expired { message: String },
    /// The namespace is terminating or missing, or another precondition failed.
    #[error("{message}")]
    FailedPrecondition { message: String },
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{message}")]
    Unauthenticated { message: String },
    /// The server could not be reached or is not serving; worth retrying.
    #[error("{message}")]
    Unavailable { message: String },
    /// The API server answered, but cannot serve the call now: what it depends on (its
    /// store, e.g. etcd) is unavailable. Worth retrying; the server itself is reachable.
    #[error("{message}")]
    ServerUnavailable { message: String },
    /// The server address is not a usable URL.
    #[error("invalid server address {url:?}: {message}")]
    InvalidUrl { url: String, message: String },
    /// The kubeconfig (or a file it names) cannot be read or used.
    #[error(transparent)]
    Kubeconfig(std::sync::Arc<capstan_pki::PkiError>),
    /// Credentials that cannot be sent (a token that is not ASCII, …).
    #[error("{message}")]
    Credentials { message: String },
    /// The server answered with something the call cannot use.
    #[error("unexpected response: {message}")]
    UnexpectedResponse { message: String },
    /// Any other gRPC status.
    #[error("{message} ({code:?})")]
    Other { code: Code, message: String },
}

impl ClientError {
    /// Kubernetes' name for the failure, as kubectl prints it in
    /// `Error from server (NotFound): ...`.
    pub fn reason(&self) -> &'static str {
        match self {
            ClientError::NotFound { .. } => "NotFound",
            ClientError::AlreadyExists { .. } => "AlreadyExists",
            ClientError::Conflict { .. } => "Conflict",
            ClientError::Invalid { .. } => "Invalid",
            ClientError::Expired { .. } => "Expired",
            ClientError::FailedPrecondition { .. } => "Forbidden",
            ClientError::Forbidden { .. } => "Forbidden",
            ClientError::Unauthenticated { .. } => "Unauthorized",
            ClientError::Unavailable { .. } | ClientError::ServerUnavailable { .. } => "ServiceUnavailable",
            ClientError::InvalidUrl { .. } => "BadRequest",
            ClientError::Kubeconfig(_) | ClientError::Credentials { .. } => "BadRequest",
            ClientError::UnexpectedResponse { .. } => "InternalError",
            ClientError::Other { code, .. } => match code {
                Code::DeadlineExceeded => "Timeout",
                Code::ResourceExhausted => "TooManyRequests",
                Code::Unimplemented => "MethodNotAllowed",
                _ => "InternalError",
            },
        }
    }

    /// True when trying the same call again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Unavailable { .. } | ClientError::ServerUnavailable { .. } => true,
            ClientError::Other { code, .. } => matches!(
                code,
                Code::DeadlineExceeded | Code::ResourceExhausted | Code::Unknown | Code::Internal | Code::Cancelled
            ),
            _ => false,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::NotFound { .. })
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, ClientError::Conflict { .. })
    }

    pub fn is_already_exists(&self) -> bool {
        matches!(self, ClientError::AlreadyExists { .. })
    }
}

/// Whether the status carries the API server's own `Status` body: then the server answered,
/// and an `Unavailable` is its verdict, not a failure to reach it (tonic makes those, bare).
fn from_api_server(status: &tonic::Status) -> bool {
    !status.details().is_empty() && ApiStatus::decode(status.details()).is_ok_and(|body| body.kind == "Status")
}

/// Field errors carried in the status details, when the server attached them.
fn causes_of(status: &tonic::Status) -> Vec<FieldCause> {
    let Ok(api_status) = ApiStatus::decode(status.details()) else {
        return Vec::new();
    };
    api_status
        .details
        .map(|d| d.causes)
        .unwrap_or_default()
        .into_iter()
        .map(|c| FieldCause { field: c.field, reason: c.reason, message: c.message })
        .collect()
}

/// The status's message, and for a failure tonic made itself ("transport
/// error"), the innermost cause: a TLS alert or a refused handshake is what the
/// user has to act on.
fn with_cause(status: &tonic::Status) -> String {
    let message = status.message().to_string();
    let mut innermost = None;
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        innermost = Some(e.to_string());
        source = e.source();
    }
    match innermost {
        Some(cause) if !message.contains(&cause) => {
            let hint = if cause.contains("received fatal alert") {
                " (the server refused the TLS connection: is the client certificate issued by the cluster's CA?)"
            } else {
                ""
            };
            format!("{message}: {cause}{hint}")
        }
        _ => message,
    }
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        let message = with_cause(&status);
        match status.code() {
            Code::NotFound => ClientError::NotFound { message },
            Code::AlreadyExists => ClientError::AlreadyExists { message },
            Code::Aborted => ClientError::Conflict { message },
            Code::InvalidArgument => ClientError::Invalid { causes: causes_of(&status), message },
            Code::OutOfRange => ClientError::Expired { message },
            Code::FailedPrecondition => ClientError::FailedPrecondition { message },
            Code::PermissionDenied => ClientError::Forbidden { message },
            Code::Unauthenticated => ClientError::Unauthenticated { message },
            Code::Unavailable if from_api_server(&status) => ClientError::ServerUnavailable { message },
            Code::Unavailable => ClientError::Unavailable { message },
            code => ClientError::Other { code, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::meta::v1::{StatusCause, StatusDetails};

    #[test]
    fn codes_map_to_variants() {
        let cases = [
            (Code::NotFound, "NotFound"),
            (Code::AlreadyExists, "AlreadyExists"),
            (Code::Aborted, "Conflict"),
            (Code::OutOfRange, "Expired"),
            (Code::FailedPrecondition, "Forbidden"),
            (Code::PermissionDenied, "Forbidden"),
            (Code::Unauthenticated, "Unauthorized"),
            (Code::Unavailable, "ServiceUnavailable"),
            (Code::Internal, "InternalError"),
        ];
        for (code, reason) in cases {
            let err = ClientError::from(tonic::Status::new(code, "boom"));
            assert_eq!(err.reason(), reason, "{code:?}");
            assert!(err.to_string().starts_with("boom"));
        }
    }

    #[test]
    fn unavailable_tells_the_server_answering_from_the_server_unreachable() {
        let body = |kind: &str| ApiStatus { kind: kind.into(), code: 503, ..Default::default() }.encode_to_vec();
        let answered = |details: Vec<u8>| tonic::Status::with_details(Code::Unavailable, "store down", details.into());
        let cases = [
            ("tonic's own: the server was not reached", tonic::Status::unavailable("tcp connect error"), false),
            ("the API server's Status body", answered(body("Status")), true),
            ("details that are not a Status", answered(body("Pod")), false),
            ("details that do not decode", answered(vec![0xff, 0xff]), false),
        ];
        for (case, status, from_server) in cases {
            let err = ClientError::from(status);
            assert_eq!(matches!(err, ClientError::ServerUnavailable { .. }), from_server, "{case}");
            assert_eq!(matches!(err, ClientError::Unavailable { .. }), !from_server, "{case}");
            assert_eq!(err.reason(), "ServiceUnavailable", "{case}");
            assert!(err.is_retryable(), "{case}");
        }
    }

    #[test]
    fn invalid_carries_every_field_cause() {
        let body = ApiStatus {
            details: Some(StatusDetails {
                causes: vec![
                    StatusCause {
                        reason: "FieldValueRequired".into(),
                        message: "Required value".into(),
                        field: "spec.selector".into(),
                    },
                    StatusCause {
                        reason: "FieldValueInvalid".into(),
                        message: "Invalid value: \"A\"".into(),
                        field: "metadata.name".into(),
                    },
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        let status = tonic::Status::with_details(Code::InvalidArgument, "web is invalid", body.encode_to_vec().into());
        let ClientError::Invalid { message, causes } = ClientError::from(status) else {
            panic!("expected Invalid");
        };
        assert_eq!(message, "web is invalid");
        assert_eq!(causes.len(), 2);
        assert_eq!(causes[0].field, "spec.selector");
        assert_eq!(causes[1].message, "Invalid value: \"A\"");
    }

    #[test]
    fn invalid_without_details_has_no_causes() {
        let err = ClientError::from(tonic::Status::invalid_argument("bad"));
        assert!(matches!(err, ClientError::Invalid { causes, .. } if causes.is_empty()));
    }
}
