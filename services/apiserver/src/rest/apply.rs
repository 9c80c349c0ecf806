//! Server-side apply (`PATCH` with `application/apply-patch+yaml`, what
//! `kubectl apply --server-side` sends) and the manager every write names.
//!
//! The applied configuration goes to the gRPC face's `Patch` whole, with its
//! manager (the `fieldManager` query, required here as kube-apiserver
//! requires it) and `force`; the registry merges it into the object as it
//! stands, or creates the object, and keeps `metadata.managedFields`
//! ([`crate::managed_fields`]). A conflict comes back as kube-apiserver's 409,
//! each field a `FieldManagerConflict` cause naming its manager, which kubectl
//! prints with its advice on `--force-conflicts`.

use super::objects::{reference, request};
use super::patch::Patch;
use super::status;
use super::Caller;
use crate::authorize::Authorized;
use crate::grpc::{APPLY_PATCH, CREATED};
use axum::http::StatusCode;
use axum::response::Response;
use capstan_proto::api::v1::resource_service_server::ResourceService;
use capstan_proto::api::v1::PatchRequest;
use capstan_proto::meta::v1::{Status, StatusCause, StatusDetails};
use capstan_proto::ObjectExt;

/// kube-apiserver's limit on a manager's name.
const MAX_MANAGER_BYTES: usize = 128;

/// The first value of `name` in a query string.
pub fn query_value(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The manager a write records: the `fieldManager` query, else what
/// precedes the first `/` of the User-Agent (`kubectl/v1.32.0 (linux/amd64)`
/// is `kubectl`), printable characters only, cut at 128 bytes.
pub fn manager(query: Option<&str>, user_agent: &str) -> String {
    if let Some(named) = query.filter(|m| !m.is_empty()) {
        return named.to_string();
    }
    let mut out = String::new();
    for c in user_agent.split('/').next().unwrap_or_default().chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > MAX_MANAGER_BYTES {
            break;
        }
        out.push(c);
    }
    out
}

/// 422 for patch options kube-apiserver refuses, in its words
/// (`PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: …`).
pub fn invalid_options(field: &str, reason: &str, message: &str) -> Box<Status> {
    let mut refused =
        status::failure(422, "Invalid", format!("PatchOptions.meta.k8s.io \"\" is invalid: {field}: {message}"));
    refused.details = Some(StatusDetails {
        group: "meta.k8s.io".into(),
        kind: "PatchOptions".into(),
        causes: vec![StatusCause { reason: reason.into(), message: message.into(), field: field.into() }],
        ..Default::default()
    });
    Box::new(refused)
}

/// `PATCH` with an applied configuration: 201 when it created the object,
/// else 200, with the object as stored.
pub async fn serve(api: &Authorized, user: Caller, target: Patch<'_>, body: &[u8], query: Option<&str>) -> Response {
    let query = query.unwrap_or_default();
    if query_value(query, "fieldManager").is_none_or(|m| m.is_empty()) {
        let refused =
            invalid_options("fieldManager", "FieldValueRequired", "Required value: is required for apply patch");
        return status::respond(&refused);
    }
    let force = match query_value(query, "force").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            let message = format!("invalid value for force: {other:?}, expected true or false");
            return status::respond(&status::failure(400, "BadRequest", message));
        }
    };
    let asked = PatchRequest {
        r#ref: Some(reference(target.info, target.namespace, target.name, target.subresource)),
        patch_type: APPLY_PATCH.into(),
        patch: body.to_vec(),
        dry_run: super::write::dry_run(Some(query)),
        field_manager: user.field_manager.clone(),
        force,
    };
    match api.patch(request(user, asked)).await {
        Ok(applied) => {
            let code = if applied.metadata().contains_key(CREATED) { StatusCode::CREATED } else { StatusCode::OK };
            status::json_response(code, &applied.into_inner().to_json())
        }
        Err(refused) => status::respond(&status::from_grpc(&refused)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manager_is_the_query_or_the_user_agents_product() {
        let cases = [
            (Some("other"), "kubectl/v1.32.0 (linux/amd64) kubernetes/abc", "other"),
            (None, "kubectl/v1.32.0 (linux/amd64) kubernetes/abc", "kubectl"),
            (Some(""), "Go-http-client/2.0", "Go-http-client"),
            (None, "no\u{7}slash", "noslash"),
            (None, "", ""),
        ];
        for (query, agent, expected) in cases {
            assert_eq!(manager(query, agent), expected, "{query:?} {agent:?}");
        }
        assert_eq!(manager(None, &"é".repeat(100)).len(), 128);
    }

    #[test]
    fn missing_field_manager_is_refused_in_kube_apiservers_words() {
        let refused =
            invalid_options("fieldManager", "FieldValueRequired", "Required value: is required for apply patch");
        let body = serde_json::to_value(&*refused).expect("json");
        assert_eq!(body["code"], 422);
        assert_eq!(
            body["message"],
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
        );
        assert_eq!(body["details"]["causes"][0]["field"], "fieldManager");
        assert_eq!(body["details"]["group"], "meta.k8s.io");
        assert_eq!(query_value("force=true&fieldManager=x%2Fy", "fieldManager").as_deref(), Some("x/y"));
    }
}
