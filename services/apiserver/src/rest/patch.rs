//! PATCH of one object or its `status` or `scale`: a JSON merge patch (RFC
//! 7386), handed to the gRPC face's `Patch`, so admission, validation and
//! optimistic concurrency are the registry's. That is what `kubectl patch
//! --type merge`, `label`, `annotate` and `scale` send.
//!
//! A strategic merge patch that touches no list and carries no `$` directive
//! means exactly what the same JSON means as a merge patch (maps merge, `null`
//! deletes, scalars replace), so it is served as one: `kubectl apply` of a
//! changed replica count or label, `kubectl patch` of a map. One that changes
//! a list (merged by key in Kubernetes) is refused, naming the list, until
//! strategic merge is served; JSON patches are refused with 415 in
//! kube-apiserver's words.

use super::objects::{reference, request};
use super::status;
use crate::authorize::Authorized;
use axum::http::StatusCode;
use axum::response::Response;
use capstan_auth::UserInfo;
use capstan_proto::api::v1::resource_service_server::ResourceService;
use capstan_proto::api::v1::PatchRequest;
use capstan_proto::meta::v1::Status;
use capstan_proto::{KindInfo, ObjectExt};
use std::sync::Arc;

/// The patch type the registry applies.
pub const MERGE_PATCH: &str = "application/merge-patch+json";
/// Served when it means the same as a merge patch (see the module docs).
pub const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";

/// Whether a body of this `Content-Type` is served, or the 415 to answer.
pub fn media_type(content_type: Option<&str>) -> Result<&'static str, Box<Status>> {
    let media_type = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim();
    [MERGE_PATCH, STRATEGIC_MERGE_PATCH].into_iter().find(|t| media_type.eq_ignore_ascii_case(t)).ok_or_else(|| {
        Box::new(status::failure(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: \
                 {MERGE_PATCH}, {STRATEGIC_MERGE_PATCH}"
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

/// `Ok` when a body of `media_type` can be applied as a JSON merge patch;
/// else the 400 (not JSON) or 415 (a strategic merge of a list).
pub fn servable_as_merge_patch(media_type: &str, body: &[u8]) -> Result<(), Box<Status>> {
    if media_type != STRATEGIC_MERGE_PATCH {
        return Ok(());
    }
    let patch: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Box::new(status::failure(400, "BadRequest", format!("the patch is not valid JSON: {e}"))))?;
    match first_list(&patch, "") {
        None => Ok(()),
        Some(path) => Err(Box::new(status::failure(
            415,
            "UnsupportedMediaType",
            format!(
                "a strategic merge patch of a list ({path}) is not served yet: send a JSON merge patch \
                 ({MERGE_PATCH}, `kubectl patch --type merge`) that gives the whole list"
            ),
        ))),
    }
}

/// What the patch of `info`'s `name` is.
pub struct Patch<'a> {
    pub info: &'a KindInfo,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
    pub subresource: &'a str,
}

/// `PATCH …/{resource}/{name}[/status|/scale]` with a merge patch body.
pub async fn patch(
    api: &Authorized,
    user: Option<Arc<UserInfo>>,
    target: Patch<'_>,
    body: Vec<u8>,
    query: Option<&str>,
) -> Response {
    let dry_run =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).any(|(k, v)| k == "dryRun" && v == "All");
    let asked = PatchRequest {
        r#ref: Some(reference(target.info, target.namespace, target.name, target.subresource)),
        // a strategic merge patch gets here only when it means the same as a merge patch
        patch_type: MERGE_PATCH.into(),
        patch: body,
        dry_run,
    };
    match api.patch(request(user, asked)).await {
        Ok(object) => status::json_response(StatusCode::OK, &object.into_inner().to_json()),
        Err(refused) => status::respond(&status::from_grpc(&refused)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_strategic_merge_patches_are_accepted() {
        assert_eq!(media_type(Some("application/merge-patch+json")), Ok(MERGE_PATCH));
        assert_eq!(media_type(Some("application/merge-patch+json; charset=utf-8")), Ok(MERGE_PATCH));
        assert_eq!(media_type(Some("application/strategic-merge-patch+json")), Ok(STRATEGIC_MERGE_PATCH));
        for other in [Some("application/json-patch+json"), Some("application/apply-patch+yaml"), None] {
            let refused = media_type(other).expect_err("refused");
            assert_eq!((refused.code, refused.reason.as_str()), (415, "UnsupportedMediaType"), "{other:?}");
        }
    }

    #[test]
    fn a_strategic_merge_patch_without_lists_is_a_merge_patch() {
        let replicas = br#"{"metadata":{"annotations":{"a":"b"},"labels":{"gone":null}},"spec":{"replicas":5}}"#;
        assert_eq!(servable_as_merge_patch(STRATEGIC_MERGE_PATCH, replicas), Ok(()));
        let image = br#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],
            "containers":[{"image":"web:2","name":"web"}]}}}}"#;
        let refused = servable_as_merge_patch(STRATEGIC_MERGE_PATCH, image).expect_err("a list");
        assert_eq!(refused.code, 415);
        assert!(refused.message.contains("(spec.template.spec.$setElementOrder/containers)"), "{}", refused.message);
        assert_eq!(
            servable_as_merge_patch(MERGE_PATCH, br#"{"spec":{"ports":[]}}"#),
            Ok(()),
            "a merge patch may set a list"
        );
        assert_eq!(first_list(&serde_json::json!({"a": {"b": [1]}}), ""), Some("a.b".to_string()));
    }
}
