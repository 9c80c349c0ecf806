//! The review service: `SelfSubjectReview` (who am I) and
//! `SelfSubjectAccessReview` (may I), as authentication.k8s.io/v1 and
//! authorization.k8s.io/v1 answer them. Reviews are created and answered,
//! never stored; the CLI's `auth whoami` and `auth can-i` ask them, and a
//! REST face can serve the same messages at Kubernetes' paths.
//!
//! A review is about the caller, after impersonation
//! ([`crate::impersonate::acting_user`]), and an access review is answered by
//! the same `Arc<dyn Authorizer>` the authorization hook asks, so "yes" means
//! the request itself would be let through the hook. Asking is itself
//! authorized, as `create` on the review's resource: the bootstrap role
//! `system:basic-user` grants it to every authenticated user.

use crate::error::ApiError;
use crate::impersonate::acting_user;
use capstan_auth::{forbidden_message, Attributes, Authorizer, Decision, UserInfo, Verb};
use capstan_proto::api::v1::review_service_server::ReviewService;
use capstan_proto::authentication::v1::{SelfSubjectReview, SelfSubjectReviewStatus, UserInfo as ReviewedUser};
use capstan_proto::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SubjectAccessReviewStatus};
use capstan_proto::meta::v1::{ObjectMeta, Time};
use std::sync::Arc;
use tonic::{Request, Response, Status};

const AUTHENTICATION: &str = "authentication.k8s.io";
const AUTHORIZATION: &str = "authorization.k8s.io";

/// The gRPC face of the reviews.
pub struct Reviews {
    authorizer: Arc<dyn Authorizer>,
}

impl Reviews {
    pub fn new(authorizer: Arc<dyn Authorizer>) -> Reviews {
        Reviews { authorizer }
    }

    /// Who asks (after impersonation), once they may create `resource` in
    /// `group`; the call's audit event names that resource.
    fn asker<T>(&self, request: &Request<T>, group: &str, resource: &str) -> Result<Arc<UserInfo>, ApiError> {
        // recorded first, so a refused impersonation's event names the review too
        let attributes = Attributes::new(Verb::Create, group, resource);
        if let Some(record) = request.extensions().get::<capstan_server::AuditRecord>() {
            record.set_request(attributes.clone(), &format!("{group}/v1"));
        }
        let user = acting_user(self.authorizer.as_ref(), request)?;
        match self.authorizer.authorize(&user, &attributes) {
            Decision::Allow => Ok(user),
            Decision::Deny { reason } => {
                Err(ApiError::PermissionDenied(forbidden_message(&user, &attributes, &reason)))
            }
            Decision::NoOpinion => Err(ApiError::PermissionDenied(forbidden_message(&user, &attributes, ""))),
        }
    }
}

fn now() -> Option<ObjectMeta> {
    Some(ObjectMeta { creation_timestamp: Some(Time::now()), ..Default::default() })
}

/// The answer to "may `user` do what `asked` describes", as `authorizer` gives it.
pub fn review_access(
    authorizer: &dyn Authorizer,
    user: &UserInfo,
    asked: &ResourceAttributes,
) -> Result<SubjectAccessReviewStatus, ApiError> {
    let verb = Verb::parse(&asked.verb).ok_or_else(|| {
        let known: Vec<&str> = Verb::ALL.iter().map(|v| v.as_str()).collect();
        ApiError::BadRequest(format!(
            "spec.resourceAttributes.verb: Unsupported value: {:?}: supported values: {}",
            asked.verb,
            known.join(", ")
        ))
    })?;
    if asked.resource.is_empty() {
        return Err(ApiError::BadRequest("spec.resourceAttributes.resource: Required value".into()));
    }
    let attributes = Attributes::new(verb, &asked.group, &asked.resource)
        .subresource(&asked.subresource)
        .namespace(&asked.namespace)
        .name(&asked.name);
    Ok(match authorizer.authorize(user, &attributes) {
        Decision::Allow => SubjectAccessReviewStatus { allowed: true, ..Default::default() },
        Decision::Deny { reason } => SubjectAccessReviewStatus { denied: true, reason, ..Default::default() },
        Decision::NoOpinion => SubjectAccessReviewStatus::default(),
    })
}

#[tonic::async_trait]
impl ReviewService for Reviews {
    async fn self_subject_review(
        &self,
        request: Request<SelfSubjectReview>,
    ) -> Result<Response<SelfSubjectReview>, Status> {
        let user = self.asker(&request, AUTHENTICATION, "selfsubjectreviews")?;
        let user_info =
            ReviewedUser { username: user.name.clone(), uid: user.uid.clone(), groups: user.groups.clone() };
        Ok(Response::new(SelfSubjectReview {
            api_version: format!("{AUTHENTICATION}/v1"),
            kind: "SelfSubjectReview".into(),
            metadata: now(),
            status: Some(SelfSubjectReviewStatus { user_info: Some(user_info) }),
        }))
    }

    async fn self_subject_access_review(
        &self,
        request: Request<SelfSubjectAccessReview>,
    ) -> Result<Response<SelfSubjectAccessReview>, Status> {
        let user = self.asker(&request, AUTHORIZATION, "selfsubjectaccessreviews")?;
        let spec = request.into_inner().spec.unwrap_or_default();
        let status =
            match (&spec.resource_attributes, &spec.non_resource_attributes) {
                (Some(asked), None) => review_access(self.authorizer.as_ref(), &user, asked)?,
                (None, Some(_)) => SubjectAccessReviewStatus {
                    evaluation_error: "non-resource URLs are not served by Capstan, so no request for one is allowed"
                        .into(),
                    ..Default::default()
                },
                _ => return Err(ApiError::BadRequest(
                    "spec: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified"
                        .into(),
                )
                .into()),
            };
        Ok(Response::new(SelfSubjectAccessReview {
            api_version: format!("{AUTHORIZATION}/v1"),
            kind: "SelfSubjectAccessReview".into(),
            metadata: now(),
            spec: Some(spec),
            status: Some(status),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct PodsInShop;

    impl Authorizer for PodsInShop {
        fn authorize(&self, _: &UserInfo, a: &Attributes) -> Decision {
            match (a.resource.as_str(), a.namespace.as_str()) {
                ("pods", "shop") => Decision::Allow,
                ("secrets", _) => Decision::Deny { reason: "never".into() },
                _ => Decision::NoOpinion,
            }
        }
    }

    fn asked(verb: &str, resource: &str, namespace: &str) -> ResourceAttributes {
        ResourceAttributes {
            verb: verb.into(),
            resource: resource.into(),
            namespace: namespace.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_authorizers_answer_is_the_reviews() {
        let jane = UserInfo::authenticated("jane", "", vec![]);
        let review = |a: ResourceAttributes| review_access(&PodsInShop, &jane, &a).expect("reviewed");
        assert!(review(asked("list", "pods", "shop")).allowed);
        let elsewhere = review(asked("list", "pods", "default"));
        assert!(!elsewhere.allowed && !elsewhere.denied);
        let secrets = review(asked("get", "secrets", "shop"));
        assert_eq!((secrets.allowed, secrets.denied, secrets.reason.as_str()), (false, true, "never"));
    }

    #[test]
    fn an_unknown_verb_or_no_resource_is_the_callers_error() {
        let jane = UserInfo::authenticated("jane", "", vec![]);
        let error = review_access(&PodsInShop, &jane, &asked("destroy", "pods", "")).expect_err("unknown verb");
        assert!(error.to_string().contains(r#"Unsupported value: "destroy""#), "{error}");
        assert!(matches!(review_access(&PodsInShop, &jane, &asked("get", "", "")), Err(ApiError::BadRequest(_))));
    }
}
