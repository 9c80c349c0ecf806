//! PATCH of one object or its `status` or `scale`: a JSON merge patch (RFC
//! 7386), handed to the gRPC face's `Patch`, so admission, validation and
//! optimistic concurrency are the registry's. That is what `kubectl patch
//! --type merge`, `label`, `annotate` and `scale` send; strategic merge and
//! JSON patches are refused with 415 in kube-apiserver's words.

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

/// The one patch type served.
pub const MERGE_PATCH: &str = "application/merge-patch+json";

/// The 415 for any other `Content-Type`, or `None` for a merge patch.
pub fn unsupported(content_type: Option<&str>) -> Option<Status> {
    let media_type = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim();
    (!media_type.eq_ignore_ascii_case(MERGE_PATCH)).then(|| {
        status::failure(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: {MERGE_PATCH}"),
        )
    })
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
    fn only_merge_patches_are_accepted() {
        assert!(unsupported(Some("application/merge-patch+json")).is_none());
        assert!(unsupported(Some("application/merge-patch+json; charset=utf-8")).is_none());
        for other in [Some("application/strategic-merge-patch+json"), Some("application/json-patch+json"), None] {
            let refused = unsupported(other).expect("refused");
            assert_eq!((refused.code, refused.reason.as_str()), (415, "UnsupportedMediaType"), "{other:?}");
        }
    }
}
