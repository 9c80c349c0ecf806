//! `kubectl auth whoami` and `kubectl auth can-i` over REST: a `POST` of a
//! `SelfSubjectReview` (authentication.k8s.io/v1) or a
//! `SelfSubjectAccessReview` (authorization.k8s.io/v1), decoded from
//! Kubernetes' JSON and answered by the gRPC face's `ReviewService`, so the
//! answer is the one `capstan auth` gets: same authorizer, same
//! impersonation, nothing stored. These are not kinds (nothing is listed or
//! watched), so they have a table of their own for routing and discovery.
//! kubectl's typed clients send these in Kubernetes' protobuf: the two
//! messages' few asked fields are read from it here, and answered in JSON.

use super::objects::request;
use super::{status, Caller};
use crate::review::Reviews;
use axum::http::StatusCode;
use axum::response::Response;
use capstan_proto::api::v1::review_service_server::ReviewService;
use capstan_proto::authentication::v1::SelfSubjectReview;
use capstan_proto::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use prost::Message;
use serde_json::{json, Value};

/// A review resource: its group version, plural resource and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewResource {
    pub group_version: &'static str,
    pub resource: &'static str,
    pub kind: &'static str,
}

/// Every review the face serves.
pub const REVIEWS: [ReviewResource; 2] = [
    ReviewResource {
        group_version: "authentication.k8s.io/v1",
        resource: "selfsubjectreviews",
        kind: "SelfSubjectReview",
    },
    ReviewResource {
        group_version: "authorization.k8s.io/v1",
        resource: "selfsubjectaccessreviews",
        kind: "SelfSubjectAccessReview",
    },
];

/// The review `resource` of `group_version` names, if any.
pub fn find(group_version: &str, resource: &str) -> Option<&'static ReviewResource> {
    REVIEWS.iter().find(|r| r.group_version == group_version && r.resource == resource)
}

/// The discovery entries of `group_version`'s reviews: created, nothing else.
pub fn discovered(group_version: &str) -> Vec<Value> {
    REVIEWS
        .iter()
        .filter(|r| r.group_version == group_version)
        .map(|r| {
            json!({
                "name": r.resource,
                "singularName": r.kind.to_ascii_lowercase(),
                "namespaced": false,
                "kind": r.kind,
                "verbs": ["create"],
            })
        })
        .collect()
}

/// Kubernetes' protobuf envelope (`runtime.Unknown` after the `k8s\0`
/// magic), which kubectl's typed clients send for these two kinds.
const PROTOBUF_MAGIC: &[u8] = b"k8s\0";

#[derive(Clone, PartialEq, prost::Message)]
struct Unknown {
    #[prost(bytes = "vec", tag = "2")]
    raw: Vec<u8>,
}

/// The parts of Kubernetes' `SelfSubjectAccessReview` (generated.proto)
/// that are asked: `spec` is field 2 there, and `ResourceAttributes` has the
/// same field numbers as Capstan's (namespace 1 … name 7).
#[derive(Clone, PartialEq, prost::Message)]
struct KubernetesAccessReview {
    #[prost(message, optional, tag = "2")]
    spec: Option<KubernetesAccessSpec>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct KubernetesAccessSpec {
    #[prost(message, optional, tag = "1")]
    resource_attributes: Option<ResourceAttributes>,
    #[prost(message, optional, tag = "2")]
    non_resource_attributes: Option<NonResourceAttributes>,
}

/// The access review in a protobuf body (`None`: not Kubernetes' protobuf).
fn access_review_from_protobuf(body: &[u8]) -> Option<Result<SelfSubjectAccessReview, prost::DecodeError>> {
    let envelope = body.strip_prefix(PROTOBUF_MAGIC)?;
    Some(Unknown::decode(envelope).and_then(|unknown| KubernetesAccessReview::decode(unknown.raw.as_slice())).map(
        |review| {
            let spec = review.spec.unwrap_or_default();
            SelfSubjectAccessReview {
                spec: Some(SelfSubjectAccessReviewSpec {
                    resource_attributes: spec.resource_attributes,
                    non_resource_attributes: spec.non_resource_attributes,
                }),
                ..Default::default()
            }
        },
    ))
}

/// `POST` of a review (JSON, or Kubernetes' protobuf as kubectl sends it):
/// 201 with the answer as JSON, or the gRPC face's refusal as a `Status`.
pub async fn create(reviews: &Reviews, caller: Caller, which: &ReviewResource, body: &[u8]) -> Response {
    let refused = |e: serde_json::Error| {
        let message = format!("the {} in the request body does not decode: {e}", which.kind);
        status::respond(&status::failure(400, "BadRequest", message))
    };
    // an empty body is an empty review: kubectl's whoami sends little more
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    let answered = if which.resource == "selfsubjectreviews" {
        // the review is asked empty: whatever the body holds, the answer is the caller
        let review = match body.starts_with(PROTOBUF_MAGIC) {
            true => SelfSubjectReview::default(),
            false => match serde_json::from_slice(body) {
                Ok(review) => review,
                Err(e) => return refused(e),
            },
        };
        reviews.self_subject_review(request(caller, review)).await.map(|r| serde_json::to_value(r.into_inner()))
    } else {
        let review = match access_review_from_protobuf(body) {
            Some(Ok(review)) => review,
            Some(Err(e)) => {
                let message = format!("the {} in the protobuf request body does not decode: {e}", which.kind);
                return status::respond(&status::failure(400, "BadRequest", message));
            }
            None => match serde_json::from_slice(body) {
                Ok(review) => review,
                Err(e) => return refused(e),
            },
        };
        reviews.self_subject_access_review(request(caller, review)).await.map(|r| serde_json::to_value(r.into_inner()))
    };
    match answered {
        Ok(Ok(body)) => status::json_response(StatusCode::CREATED, &body),
        Ok(Err(e)) => status::respond(&status::failure(500, "InternalError", e.to_string())),
        Err(refused) => status::respond(&status::from_grpc(&refused)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviews_are_found_by_group_version_and_resource() {
        assert_eq!(
            find("authorization.k8s.io/v1", "selfsubjectaccessreviews").map(|r| r.kind),
            Some("SelfSubjectAccessReview")
        );
        assert_eq!(find("authentication.k8s.io/v1", "selfsubjectreviews").map(|r| r.kind), Some("SelfSubjectReview"));
        assert!(find("authorization.k8s.io/v1", "selfsubjectreviews").is_none());
        let listed = discovered("authentication.k8s.io/v1");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["verbs"], json!(["create"]));
    }
}
