//! Options of list, watch and delete calls, in the builder form callers
//! write, and their conversion into the wire messages.

use capstan_proto::api::v1::{DeleteRequest, ListOptions, Preconditions, ResourceRef};

/// What to list or watch: selectors, paging and watch tuning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// Kubernetes' label selector syntax: `app=web,tier!=db`
    pub label_selector: Option<String>,
    /// `metadata.name`, `metadata.namespace`, `spec.nodeName`, `status.phase`
    pub field_selector: Option<String>,
    /// page size of a list (0 or none = everything)
    pub limit: Option<i64>,
    /// continue token of the previous page
    pub continue_token: Option<String>,
    /// watch: ask the server to close the stream after this many seconds
    pub timeout_seconds: Option<i64>,
    /// watch: ask for BOOKMARK events
    pub bookmarks: bool,
}

impl ListParams {
    pub fn labels(mut self, selector: &str) -> Self {
        self.label_selector = Some(selector.to_string());
        self
    }

    pub fn fields(mut self, selector: &str) -> Self {
        self.field_selector = Some(selector.to_string());
        self
    }

    pub fn limit(mut self, limit: i64) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn continue_token(mut self, token: &str) -> Self {
        self.continue_token = Some(token.to_string());
        self
    }

    pub fn timeout(mut self, seconds: i64) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }

    pub fn bookmarks(mut self, on: bool) -> Self {
        self.bookmarks = on;
        self
    }

    /// The wire options; `resource_version` applies to watches.
    pub fn to_options(&self, resource_version: &str) -> ListOptions {
        ListOptions {
            label_selector: self.label_selector.clone().unwrap_or_default(),
            field_selector: self.field_selector.clone().unwrap_or_default(),
            limit: self.limit.unwrap_or(0),
            r#continue: self.continue_token.clone().unwrap_or_default(),
            resource_version: resource_version.to_string(),
            allow_bookmarks: self.bookmarks,
            timeout_seconds: self.timeout_seconds.unwrap_or(0),
        }
    }
}

/// What happens to an object's dependents when it is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropagationPolicy {
    /// delete the object now, its dependents afterwards (the default)
    Background,
    /// delete the dependents first, then the object
    Foreground,
    /// leave the dependents in place
    Orphan,
}

impl PropagationPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PropagationPolicy::Background => "Background",
            PropagationPolicy::Foreground => "Foreground",
            PropagationPolicy::Orphan => "Orphan",
        }
    }
}

/// Options of a delete call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteParams {
    /// seconds the object gets to terminate; none = the kind's default
    pub grace_period_seconds: Option<i64>,
    pub propagation_policy: Option<PropagationPolicy>,
    /// delete only if the object still has this uid
    pub precondition_uid: Option<String>,
    /// delete only if the object is still at this version
    pub precondition_resource_version: Option<String>,
    pub dry_run: bool,
}

impl DeleteParams {
    pub fn grace_period(mut self, seconds: i64) -> Self {
        self.grace_period_seconds = Some(seconds);
        self
    }

    pub fn propagation(mut self, policy: PropagationPolicy) -> Self {
        self.propagation_policy = Some(policy);
        self
    }

    /// The wire request for the object `target` names.
    pub fn to_request(&self, target: ResourceRef) -> DeleteRequest {
        let preconditions =
            (self.precondition_uid.is_some() || self.precondition_resource_version.is_some()).then(|| Preconditions {
                uid: self.precondition_uid.clone(),
                resource_version: self.precondition_resource_version.clone(),
            });
        DeleteRequest {
            r#ref: Some(target),
            grace_period_seconds: self.grace_period_seconds,
            propagation_policy: self.propagation_policy.map(|p| p.as_str().to_string()).unwrap_or_default(),
            preconditions,
            dry_run: self.dry_run,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_params_fill_the_wire_options() {
        let opts = ListParams::default().labels("app=web").fields("spec.nodeName=n1").bookmarks(true).to_options("42");
        assert_eq!(opts.label_selector, "app=web");
        assert_eq!(opts.field_selector, "spec.nodeName=n1");
        assert_eq!(opts.resource_version, "42");
        assert!(opts.allow_bookmarks);
        assert_eq!(opts.limit, 0);
    }

    #[test]
    fn delete_params_send_preconditions_only_when_set() {
        let plain = DeleteParams::default().to_request(ResourceRef::default());
        assert!(plain.preconditions.is_none());
        assert_eq!(plain.propagation_policy, "");
        let strict = DeleteParams { precondition_uid: Some("u1".into()), ..Default::default() }
            .propagation(PropagationPolicy::Foreground)
            .grace_period(0)
            .to_request(ResourceRef::default());
        assert_eq!(strict.preconditions.and_then(|p| p.uid).as_deref(), Some("u1"));
        assert_eq!(strict.propagation_policy, "Foreground");
        assert_eq!(strict.grace_period_seconds, Some(0));
    }
}
