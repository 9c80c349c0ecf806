//! The HTTP face: `GET /traces` and `GET /traces/{trace_id}`, as JSON.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use capstan_server::{CallKind, HttpCall, HttpFace};
use http::{header, StatusCode};

use crate::store::TraceStore;

pub(crate) fn face(store: TraceStore) -> HttpFace {
    let router =
        axum::Router::new().route("/traces", get(recent)).route("/traces/{trace_id}", get(trace)).with_state(store);
    let classify = |_: &http::Method, _: &http::Uri| HttpCall {
        verb: "get",
        resource: "traces".to_owned(),
        kind: CallKind::Request,
    };
    HttpFace { router, classify: Arc::new(classify) }
}

async fn recent(State(store): State<TraceStore>) -> Response {
    json(StatusCode::OK, &serde_json::json!({ "traces": store.recent() }))
}

async fn trace(State(store): State<TraceStore>, Path(trace_id): Path<String>) -> Response {
    let trace_id = trace_id.to_ascii_lowercase();
    if trace_id.len() != 32 || !trace_id.bytes().all(|b| b.is_ascii_hexdigit()) || trace_id.bytes().all(|b| b == b'0') {
        let message = format!("{trace_id:?} is not a trace id: a trace id is 32 hex digits, not all zero");
        return json(StatusCode::BAD_REQUEST, &serde_json::json!({ "error": message }));
    }
    match store.trace(&trace_id) {
        Some(trace) => json(StatusCode::OK, &trace),
        None => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "error": format!("the sink holds no span of trace {trace_id}") }),
        ),
    }
}

fn json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}
