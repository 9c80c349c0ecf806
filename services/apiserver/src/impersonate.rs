//! Impersonation, as kube-apiserver's impersonation filter does it: a caller
//! sends `impersonate-user` (and any number of `impersonate-group`) metadata,
//! as Kubernetes' `Impersonate-User` / `Impersonate-Group` headers, and the
//! request is then authorized and served as that user.
//!
//! Before anything else is judged, the real user must be allowed the verb
//! `impersonate` on `users` named the user (on `serviceaccounts` in its
//! namespace for `system:serviceaccount:NS:NAME`) and on `groups` named each
//! group, in API group "" at the cluster scope. A refusal is a 403 in
//! Kubernetes' words (`users "bob" is forbidden: User "jane" cannot
//! impersonate resource "users" in API group "" at the cluster scope`). The
//! impersonated user is in the groups asked for plus `system:authenticated`
//! (`system:unauthenticated` for `system:anonymous`), and in a service
//! account's groups when none were asked for.
//!
//! Both the authorization hook (`crate::authorize`) and the review service
//! (`crate::review`) call [`acting_user`], so `auth can-i --as bob` answers
//! for bob exactly as bob's requests are judged; the hook then puts the
//! acting user on the request in place of the authenticated one, so
//! admission (escalation, NodeRestriction) judges bob too. The audit event keeps the
//! real user as `user` and the impersonated one as `impersonatedUser`.

use crate::error::ApiError;
use capstan_auth::impersonate::{GROUP as GROUP_METADATA, USER as USER_METADATA};
use capstan_auth::{forbidden_message, groups, Attributes, Authorizer, Decision, UserInfo, Verb, ANONYMOUS};
use std::sync::Arc;
use tonic::metadata::MetadataMap;

const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// What a request asks to be taken as.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requested {
    pub user: Option<String>,
    pub groups: Vec<String>,
}

impl Requested {
    /// Reads the impersonation metadata; a value that is not text is the
    /// caller's error.
    pub fn from_metadata(metadata: &MetadataMap) -> Result<Requested, ApiError> {
        let text = |key: &str, value: &tonic::metadata::MetadataValue<tonic::metadata::Ascii>| {
            value
                .to_str()
                .map(str::to_string)
                .map_err(|_| ApiError::BadRequest(format!("the {key} metadata is not text")))
        };
        let user = match metadata.get(USER_METADATA) {
            Some(value) => Some(text(USER_METADATA, value)?).filter(|u| !u.is_empty()),
            None => None,
        };
        let mut groups = Vec::new();
        for value in metadata.get_all(GROUP_METADATA).iter() {
            groups.push(text(GROUP_METADATA, value)?);
        }
        Ok(Requested { user, groups })
    }

    pub fn is_empty(&self) -> bool {
        self.user.is_none() && self.groups.is_empty()
    }
}

/// Whom `real` acts as when asking for `requested`: `None` when it asks for
/// nothing, the impersonated user when `authorizer` allows every part of it,
/// else the refusal of the first part it does not.
pub fn impersonate(
    authorizer: &dyn Authorizer,
    real: &UserInfo,
    requested: &Requested,
) -> Result<Option<UserInfo>, ApiError> {
    if requested.is_empty() {
        return Ok(None);
    }
    let Some(name) = &requested.user else {
        return Err(ApiError::BadRequest(format!(
            "requested impersonation of groups {:?} without impersonating a user",
            requested.groups
        )));
    };
    let mut member_of = requested.groups.clone();
    let user_attributes = match service_account(name) {
        Some((namespace, account)) => {
            if requested.groups.is_empty() {
                member_of = vec!["system:serviceaccounts".to_string(), format!("system:serviceaccounts:{namespace}")];
            }
            Attributes::new(Verb::Impersonate, "", "serviceaccounts").namespace(namespace).name(account)
        }
        None => Attributes::new(Verb::Impersonate, "", "users").name(name),
    };
    let groups_attributes = requested.groups.iter().map(|g| Attributes::new(Verb::Impersonate, "", "groups").name(g));
    for attributes in std::iter::once(user_attributes).chain(groups_attributes) {
        match authorizer.authorize(real, &attributes) {
            Decision::Allow => {}
            Decision::Deny { reason } => {
                return Err(ApiError::PermissionDenied(forbidden_message(real, &attributes, &reason)))
            }
            Decision::NoOpinion => return Err(ApiError::PermissionDenied(forbidden_message(real, &attributes, ""))),
        }
    }
    let always = if name == ANONYMOUS { groups::UNAUTHENTICATED } else { groups::AUTHENTICATED };
    if !member_of.iter().any(|g| g == always) {
        member_of.push(always.to_string());
    }
    Ok(Some(UserInfo { name: name.clone(), uid: String::new(), groups: member_of }))
}

/// `system:serviceaccount:NS:NAME` → (NS, NAME).
fn service_account(user: &str) -> Option<(&str, &str)> {
    let (namespace, name) = user.strip_prefix(SERVICE_ACCOUNT_PREFIX)?.split_once(':')?;
    (!namespace.is_empty() && !name.is_empty() && !name.contains(':')).then_some((namespace, name))
}

/// The user `request` acts as: whom it impersonates, once its authenticated
/// user (anonymous on a server that does not authenticate) may, else that
/// user. An impersonated user is recorded for the call's audit event.
pub fn acting_user<T>(authorizer: &dyn Authorizer, request: &tonic::Request<T>) -> Result<Arc<UserInfo>, ApiError> {
    let real = match request.extensions().get::<Arc<UserInfo>>() {
        Some(user) => user.clone(),
        None => Arc::new(UserInfo::anonymous()),
    };
    let requested = Requested::from_metadata(request.metadata())?;
    match impersonate(authorizer, &real, &requested)? {
        None => Ok(real),
        Some(acting) => {
            let acting = Arc::new(acting);
            if let Some(record) = request.extensions().get::<capstan_server::AuditRecord>() {
                record.set_impersonated_user(acting.clone());
            }
            Ok(acting)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Allows `impersonate` on the (resource, name) pairs it holds.
    struct May(Vec<(&'static str, &'static str)>);

    impl Authorizer for May {
        fn authorize(&self, _: &UserInfo, a: &Attributes) -> Decision {
            let held = self.0.iter().any(|(r, n)| *r == a.resource && *n == a.name);
            if a.verb == Verb::Impersonate && held {
                Decision::Allow
            } else {
                Decision::NoOpinion
            }
        }
    }

    fn asked(user: Option<&str>, groups: &[&str]) -> Requested {
        Requested { user: user.map(String::from), groups: groups.iter().map(|g| g.to_string()).collect() }
    }

    fn refusal(result: Result<Option<UserInfo>, ApiError>) -> String {
        match result {
            Err(ApiError::PermissionDenied(message)) => message,
            other => panic!("expected a 403, got {other:?}"),
        }
    }

    #[test]
    fn a_granted_user_and_groups_become_the_acting_user() {
        let jane = UserInfo::authenticated("jane", "1001", vec![]);
        let may = May(vec![("users", "bob"), ("groups", "dev")]);
        assert_eq!(impersonate(&may, &jane, &Requested::default()).expect("nothing asked"), None);
        let bob = impersonate(&may, &jane, &asked(Some("bob"), &["dev"])).expect("allowed").expect("someone");
        assert_eq!(bob, UserInfo::authenticated("bob", "", vec!["dev".into()]));
        let anonymous = May(vec![("users", ANONYMOUS)]);
        let acting = impersonate(&anonymous, &jane, &asked(Some(ANONYMOUS), &[])).expect("allowed").expect("someone");
        assert_eq!(acting, UserInfo::anonymous());
    }

    #[test]
    fn every_part_asked_for_must_be_granted_and_refusals_read_as_kubernetes_writes_them() {
        let jane = UserInfo::authenticated("jane", "", vec![]);
        assert_eq!(
            refusal(impersonate(&May(vec![]), &jane, &asked(Some("bob"), &[]))),
            r#"users "bob" is forbidden: User "jane" cannot impersonate resource "users" in API group "" at the cluster scope"#
        );
        assert_eq!(
            refusal(impersonate(&May(vec![("users", "bob")]), &jane, &asked(Some("bob"), &["system:masters"]))),
            r#"groups "system:masters" is forbidden: User "jane" cannot impersonate resource "groups" in API group "" at the cluster scope"#
        );
        let groups_alone = impersonate(&May(vec![("groups", "dev")]), &jane, &asked(None, &["dev"]));
        assert!(matches!(groups_alone, Err(ApiError::BadRequest(m)) if m.contains("without impersonating a user")));
    }

    #[test]
    fn a_service_account_is_impersonated_in_its_namespace() {
        let jane = UserInfo::authenticated("jane", "", vec![]);
        let user = "system:serviceaccount:shop:builder";
        assert_eq!(
            refusal(impersonate(&May(vec![("users", user)]), &jane, &asked(Some(user), &[]))),
            r#"serviceaccounts "builder" is forbidden: User "jane" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "shop""#
        );
        let may = May(vec![("serviceaccounts", "builder")]);
        let acting = impersonate(&may, &jane, &asked(Some(user), &[])).expect("allowed").expect("someone");
        assert_eq!(acting.groups, ["system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"]);
    }

    #[test]
    fn metadata_is_read_as_kubernetes_reads_its_headers() {
        let mut metadata = MetadataMap::new();
        assert!(Requested::from_metadata(&metadata).expect("reads").is_empty());
        metadata.insert(USER_METADATA, "bob".parse().expect("ascii"));
        metadata.append(GROUP_METADATA, "dev".parse().expect("ascii"));
        metadata.append(GROUP_METADATA, "ops".parse().expect("ascii"));
        assert_eq!(Requested::from_metadata(&metadata).expect("reads"), asked(Some("bob"), &["dev", "ops"]));
        let mut empty = MetadataMap::new();
        empty.insert(USER_METADATA, "".parse().expect("ascii"));
        assert!(Requested::from_metadata(&empty).expect("reads").is_empty(), "an empty user is no user");
    }
}
