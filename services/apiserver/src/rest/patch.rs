//! PATCH of one object or its `status` or `scale`: a JSON merge patch (RFC
//! 7386) or a JSON patch (RFC 6902), handed to the gRPC face's `Patch`, so
//! admission, validation and optimistic concurrency are the registry's. That
//! is what `kubectl patch --type merge|json`, `label`, `annotate`, `scale`
//! and `rollout undo` send. The registry applies a JSON patch to the object
//! as it stands and writes the result only if the object still stands so,
//! trying again with the newer object otherwise; a failing `test` or a path
//! that is not there is kube-apiserver's 422.
//!
//! A strategic merge patch that touches no list and carries no `$` directive
//! means exactly what the same JSON means as a merge patch (maps merge, `null`
//! deletes, scalars replace), so it is served as one: `kubectl apply` of a
//! changed replica count or label, `kubectl patch` of a map. One that touches
//! a list is turned into a merge patch against the object as it stands
//! ([`strategic`](super::strategic)), with that object's resourceVersion as a
//! precondition, tried again if the object changed meanwhile; reading the
//! object is authorized as a `get`. Server-side apply is [`super::apply`]'s;
//! other types are refused with 415 in kube-apiserver's words.

use super::objects::{reference, request};
use super::Caller;
use super::{status, strategic};
use crate::authorize::Authorized;
use axum::http::StatusCode;
use axum::response::Response;
use capstan_proto::api::v1::resource_service_server::ResourceService;
use capstan_proto::api::v1::{GetRequest, PatchRequest};
use capstan_proto::meta::v1::Status;
use capstan_proto::{KindInfo, ObjectExt};

/// The patch type the registry applies.
pub const MERGE_PATCH: &str = "application/merge-patch+json";
/// Served when it means the same as a merge patch (see the module docs).
pub const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";
pub use crate::grpc::APPLY_PATCH;
pub use crate::registry::JSON_PATCH;

/// Whether a body of this `Content-Type` is served, or the 415 to answer.
pub fn media_type(content_type: Option<&str>) -> Result<&'static str, Box<Status>> {
    let media_type = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim();
    let served = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH];
    served.into_iter().find(|t| media_type.eq_ignore_ascii_case(t)).ok_or_else(|| {
        Box::new(status::failure(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: \
                 {JSON_PATCH}, {MERGE_PATCH}, {STRATEGIC_MERGE_PATCH}, {APPLY_PATCH}"
            ),
        ))
    })
}

/// The first list or `$` directive in a strategic merge patch, as a path
/// (`spec.template.spec.containers`), or `None` when it merges as a JSON
/// merge patch would.
pub fn first_list(patch: &serde_json::Value, at: &str) -> Option<String> {
    let here = |key: &str| if at.is_empty() { key.to_string() } else { format!("{at}.{key}") };
    match patch {
        serde_json::Value::Array(_) => Some(at.to_string()),
        serde_json::Value::Object(map) => {
            map.iter().find_map(
                |(key, value)| {
                    if key.starts_with('$') {
                        Some(here(key))
                    } else {
                        first_list(value, &here(key))
                    }
                },
            )
        }
        _ => None,
    }
}

/// The strategic merge patch in `body` when it must be turned into a merge
/// patch against the current object (it touches a list or carries a
/// directive); `None` when the body applies as a JSON merge patch as it is.
pub fn strategic_with_lists(media_type: &str, body: &[u8]) -> Result<Option<serde_json::Value>, Box<Status>> {
    if media_type != STRATEGIC_MERGE_PATCH {
        return Ok(None);
    }
    let patch: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Box::new(status::failure(400, "BadRequest", format!("the patch is not valid JSON: {e}"))))?;
    Ok(first_list(&patch, "").is_some().then_some(patch))
}

/// What the patch of `info`'s `name` is.
pub struct Patch<'a> {
    pub info: &'a KindInfo,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
    pub subresource: &'a str,
}

/// `PATCH` with a body of `content_type`: a JSON merge patch, a JSON patch,
/// a strategic merge patch (applied as the merge patch it amounts to) or an
/// applied configuration; anything else 415.
pub async fn serve(
    api: &Authorized,
    user: Caller,
    target: Patch<'_>,
    content_type: Option<&str>,
    body: &[u8],
    query: Option<&str>,
) -> Response {
    let media_type = match media_type(content_type) {
        Ok(media_type) => media_type,
        Err(refused) => return status::respond(&refused),
    };
    if media_type == APPLY_PATCH {
        return super::apply::serve(api, user, target, body, query).await;
    }
    if query.and_then(|q| super::apply::query_value(q, "force")).is_some() {
        let refused = super::apply::invalid_options(
            "force",
            "FieldValueForbidden",
            "Forbidden: may not be specified for non-apply patch",
        );
        return status::respond(&refused);
    }
    let strategic = match strategic_with_lists(media_type, body) {
        Ok(strategic) => strategic,
        Err(refused) => return status::respond(&refused),
    };
    let patch_type = if media_type == JSON_PATCH { JSON_PATCH } else { MERGE_PATCH };
    patch(api, user, target, patch_type, body.to_vec(), strategic, query).await
}

/// How often a strategic merge patch is tried again when the object changed
/// between reading it and writing the merge patch made from it.
const STRATEGIC_ATTEMPTS: usize = 3;

/// `PATCH …/{resource}/{name}[/status|/scale]`: `body` as a merge patch, or
/// `strategic` (a strategic merge patch touching lists) turned into one
/// against the object as it stands, written only if it still stands so.
async fn patch(
    api: &Authorized,
    user: Caller,
    target: Patch<'_>,
    patch_type: &str,
    body: Vec<u8>,
    strategic: Option<serde_json::Value>,
    query: Option<&str>,
) -> Response {
    let dry_run = super::write::dry_run(query);
    let reference = reference(target.info, target.namespace, target.name, target.subresource);
    let field_manager = user.field_manager.clone();
    let asked = |patch: Vec<u8>, patch_type: &str| PatchRequest {
        r#ref: Some(reference.clone()),
        patch_type: patch_type.into(),
        patch,
        dry_run,
        field_manager: field_manager.clone(),
        force: false,
    };
    let Some(strategic) = strategic else {
        return match api.patch(request(user, asked(body, patch_type))).await {
            Ok(object) => status::json_response(StatusCode::OK, &object.into_inner().to_json()),
            Err(refused) => status::respond(&status::from_grpc(&refused)),
        };
    };
    let mut last = None;
    for _ in 0..STRATEGIC_ATTEMPTS {
        let read = GetRequest { r#ref: Some(reference.clone()) };
        let current = match api.get(request(user.clone(), read)).await {
            Ok(current) => current.into_inner(),
            Err(refused) => return status::respond(&status::from_grpc(&refused)),
        };
        let message = current.info().map(capstan_proto::descriptors::message_of).unwrap_or_default();
        let mut merge = strategic::to_merge_patch(&message, &current.to_json(), &strategic);
        // the merge patch holds whole lists read from `current`: it may only replace that version
        if let Some(map) = merge.as_object_mut() {
            let meta = map.entry("metadata").or_insert_with(|| serde_json::json!({}));
            if let Some(meta) = meta.as_object_mut() {
                meta.insert("resourceVersion".into(), current.meta().resource_version.clone().into());
            }
        }
        match api.patch(request(user.clone(), asked(merge.to_string().into_bytes(), MERGE_PATCH))).await {
            Ok(object) => return status::json_response(StatusCode::OK, &object.into_inner().to_json()),
            Err(refused) if refused.code() == tonic::Code::Aborted => last = Some(refused),
            Err(refused) => return status::respond(&status::from_grpc(&refused)),
        }
    }
    let refused = last.unwrap_or_else(|| tonic::Status::aborted("the object kept changing"));
    status::respond(&status::from_grpc(&refused))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_patch_types_are_accepted() {
        assert_eq!(media_type(Some("application/merge-patch+json")), Ok(MERGE_PATCH));
        assert_eq!(media_type(Some("application/merge-patch+json; charset=utf-8")), Ok(MERGE_PATCH));
        assert_eq!(media_type(Some("application/strategic-merge-patch+json")), Ok(STRATEGIC_MERGE_PATCH));
        assert_eq!(media_type(Some("application/json-patch+json")), Ok(JSON_PATCH));
        assert_eq!(media_type(Some("application/apply-patch+yaml")), Ok(APPLY_PATCH));
        for other in [Some("application/json"), Some("text/plain"), None] {
            let refused = media_type(other).expect_err("refused");
            assert_eq!((refused.code, refused.reason.as_str()), (415, "UnsupportedMediaType"), "{other:?}");
        }
    }

    #[test]
    fn only_a_strategic_merge_patch_with_lists_needs_the_current_object() {
        let replicas = br#"{"metadata":{"annotations":{"a":"b"},"labels":{"gone":null}},"spec":{"replicas":5}}"#;
        assert_eq!(strategic_with_lists(STRATEGIC_MERGE_PATCH, replicas), Ok(None));
        let image = br#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],
            "containers":[{"image":"web:2","name":"web"}]}}}}"#;
        assert!(strategic_with_lists(STRATEGIC_MERGE_PATCH, image).expect("JSON").is_some());
        assert_eq!(
            strategic_with_lists(MERGE_PATCH, br#"{"spec":{"ports":[]}}"#),
            Ok(None),
            "a merge patch sets lists whole"
        );
        assert_eq!(strategic_with_lists(STRATEGIC_MERGE_PATCH, b"{").map_err(|s| s.code), Err(400));
        assert_eq!(first_list(&serde_json::json!({"a": {"b": [1]}}), ""), Some("a.b".to_string()));
    }
}
