//! What a gRPC span looks like, shared by the server and client layers: its name and
//! fields (OpenTelemetry RPC semantic conventions), and how a call's outcome — the
//! HTTP status, then the `grpc-status` from headers or trailers — is recorded on it.

use http::HeaderMap;
use tracing::field::Empty;
use tracing::Span;

/// Which end of the call a span describes; decides which gRPC codes count as errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// Splits `/pkg.Service/Method` into `("pkg.Service", "Method")`. A path that does not
/// look like a gRPC path is kept whole as the service, with an empty method.
pub(crate) fn split_path(path: &str) -> (&str, &str) {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    match trimmed.rsplit_once('/') {
        Some((service, method)) if !service.is_empty() && !method.is_empty() => (service, method),
        _ => (path, ""),
    }
}

/// Opens the span for one call. Fields recorded later start out [`Empty`].
pub(crate) fn span(side: Side, path: &str) -> Span {
    let (service, method) = split_path(path);
    match side {
        Side::Server => tracing::info_span!(
            "grpc.server",
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
            http.response.status_code = Empty,
            rpc.grpc.status_code = Empty,
            otel.status_code = Empty,
        ),
        Side::Client => tracing::info_span!(
            "grpc.client",
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
            http.response.status_code = Empty,
            rpc.grpc.status_code = Empty,
            otel.status_code = Empty,
        ),
    }
}

/// Records what the response head says: its HTTP status and, for trailers-only
/// responses (how gRPC sends most errors), the `grpc-status` header.
pub(crate) fn record_head(span: &Span, side: Side, status: http::StatusCode, headers: &HeaderMap) {
    span.record("http.response.status_code", status.as_u16());
    if !status.is_success() {
        span.record("otel.status_code", "error");
    }
    record_grpc_status(span, side, headers);
}

/// Records `grpc-status` from a header or trailer map, if it is there.
pub(crate) fn record_grpc_status(span: &Span, side: Side, map: &HeaderMap) {
    let Some(code) =
        map.get("grpc-status").and_then(|value| value.to_str().ok()).and_then(|value| value.trim().parse::<i32>().ok())
    else {
        return;
    };
    span.record("rpc.grpc.status_code", code);
    // Success stays "unset", as the OpenTelemetry spec asks of instrumentation.
    if is_error(side, code) {
        span.record("otel.status_code", "error");
    }
}

/// Records a failure with no gRPC status at all (transport error, broken body).
pub(crate) fn record_failure(span: &Span) {
    span.record("otel.status_code", "error");
}

/// Per the OpenTelemetry gRPC conventions a client treats every non-OK code as an
/// error, while a server only flags codes that indicate its own fault.
fn is_error(side: Side, code: i32) -> bool {
    match side {
        Side::Client => code != 0,
        // UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS
        Side::Server => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_paths_split_into_service_and_method() {
        assert_eq!(split_path("/grpc.health.v1.Health/Check"), ("grpc.health.v1.Health", "Check"));
        assert_eq!(split_path("/"), ("/", ""));
        assert_eq!(split_path("/NoMethod"), ("/NoMethod", ""));
        assert_eq!(split_path(""), ("", ""));
    }

    #[test]
    fn servers_only_flag_their_own_faults() {
        assert!(!is_error(Side::Server, 5)); // NOT_FOUND is the caller's problem
        assert!(is_error(Side::Client, 5));
        assert!(is_error(Side::Server, 13));
        assert!(!is_error(Side::Client, 0));
    }
}
