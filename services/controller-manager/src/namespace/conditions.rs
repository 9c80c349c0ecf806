//! The conditions a terminating namespace reports while it empties, as
//! Kubernetes' namespace controller writes them: each deletion condition is
//! always present, `True` with the details while something is wrong or
//! left, `False` with Kubernetes' "all is well" reason otherwise.

use capstan_proto::meta::v1::{Condition, Time};
use std::collections::BTreeMap;

pub const DISCOVERY_FAILURE: &str = "NamespaceDeletionDiscoveryFailure";
pub const GROUP_VERSION_PARSING_FAILURE: &str = "NamespaceDeletionGroupVersionParsingFailure";
pub const CONTENT_FAILURE: &str = "NamespaceDeletionContentFailure";
pub const CONTENT_REMAINING: &str = "NamespaceContentRemaining";
pub const FINALIZERS_REMAINING: &str = "NamespaceFinalizersRemaining";

/// Every condition type, with its reason and message when all is well.
const OK: &[(&str, &str, &str)] = &[
    (DISCOVERY_FAILURE, "ResourcesDiscovered", "All resources successfully discovered"),
    (GROUP_VERSION_PARSING_FAILURE, "ParsedGroupVersions", "All legacy kube types successfully parsed"),
    (CONTENT_FAILURE, "ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
    (CONTENT_REMAINING, "ContentRemoved", "All content successfully removed"),
    (FINALIZERS_REMAINING, "ContentHasNoFinalizers", "All content-preserving finalizers finished"),
];

/// What one pass over a terminating namespace left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Content {
    /// objects still there, by `resource.group` ("pods.", "replicasets.apps")
    pub remaining: BTreeMap<String, usize>,
    /// objects still there, by the finalizer they carry
    pub finalizers: BTreeMap<String, usize>,
    /// the deletes or lists that failed, as messages
    pub failures: Vec<String>,
}

impl Content {
    /// True when the namespace is empty and nothing failed.
    pub fn is_done(&self) -> bool {
        self.remaining.values().all(|n| *n == 0) && self.failures.is_empty()
    }
}

/// The `True` conditions `content` calls for, by type: (reason, message).
fn problems(content: &Content) -> BTreeMap<&'static str, (&'static str, String)> {
    let mut problems = BTreeMap::new();
    if !content.failures.is_empty() {
        let message = format!(
            "Failed to delete all resource types, {} remaining: {}",
            content.failures.len(),
            content.failures.join(", ")
        );
        problems.insert(CONTENT_FAILURE, ("ContentDeletionFailed", message));
    }
    let remaining: Vec<String> = content
        .remaining
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(resource, n)| format!("{resource} has {n} resource instances"))
        .collect();
    if !remaining.is_empty() {
        let message = format!("Some resources are remaining: {}", remaining.join(", "));
        problems.insert(CONTENT_REMAINING, ("SomeResourcesRemain", message));
    }
    let finalizers: Vec<String> = content
        .finalizers
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(finalizer, n)| format!("{finalizer} in {n} resource instances"))
        .collect();
    if !finalizers.is_empty() {
        let message = format!("Some content in the namespace has finalizers remaining: {}", finalizers.join(", "));
        problems.insert(FINALIZERS_REMAINING, ("SomeFinalizersRemain", message));
    }
    problems
}

/// The namespace's conditions after a pass that left `content`, or `None`
/// when they would not change. A condition keeps its transition time
/// unless its status flips.
pub fn update(old: &[Condition], content: &Content, now: Time) -> Option<Vec<Condition>> {
    let problems = problems(content);
    let mut next = old.to_vec();
    for (kind, ok_reason, ok_message) in OK {
        let (status, reason, message) = match problems.get(kind) {
            Some((reason, message)) => ("True", *reason, message.clone()),
            None => ("False", *ok_reason, ok_message.to_string()),
        };
        match next.iter_mut().find(|c| c.r#type == *kind) {
            Some(c) if c.status == status && c.reason == reason && c.message == message => {}
            Some(c) => {
                if c.status != status {
                    c.last_transition_time = Some(now);
                }
                c.status = status.into();
                c.reason = reason.into();
                c.message = message;
            }
            None => next.push(Condition {
                r#type: kind.to_string(),
                status: status.into(),
                observed_generation: 0,
                last_transition_time: Some(now),
                reason: reason.into(),
                message,
            }),
        }
    }
    (next != old).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(conditions: &'a [Condition], kind: &str) -> &'a Condition {
        conditions.iter().find(|c| c.r#type == kind).expect("condition present")
    }

    #[test]
    fn conditions_say_what_remains_then_that_all_is_gone() {
        let t = |s| Time { seconds: s, nanos: 0 };
        let content = Content {
            remaining: [("pods.".to_string(), 2), ("replicasets.apps".to_string(), 1), ("services.".to_string(), 0)]
                .into(),
            finalizers: [("foregroundDeletion".to_string(), 1)].into(),
            failures: vec![],
        };
        assert!(!content.is_done());
        let first = update(&[], &content, t(10)).expect("new conditions");
        assert_eq!(first.len(), OK.len(), "every condition type is present");
        let remaining = find(&first, CONTENT_REMAINING);
        assert_eq!((remaining.status.as_str(), remaining.reason.as_str()), ("True", "SomeResourcesRemain"));
        assert_eq!(
            remaining.message,
            "Some resources are remaining: pods. has 2 resource instances, replicasets.apps has 1 resource instances"
        );
        let finalizers = find(&first, FINALIZERS_REMAINING);
        assert_eq!(
            finalizers.message,
            "Some content in the namespace has finalizers remaining: foregroundDeletion in 1 resource instances"
        );
        let content_failure = find(&first, CONTENT_FAILURE);
        assert_eq!((content_failure.status.as_str(), content_failure.reason.as_str()), ("False", "ContentDeleted"));
        assert_eq!(update(&first, &content, t(20)), None, "the same content writes nothing");

        let failed = Content { failures: vec!["pods: unavailable".into()], ..content.clone() };
        let second = update(&first, &failed, t(25)).expect("changes");
        assert_eq!(
            find(&second, CONTENT_FAILURE).message,
            "Failed to delete all resource types, 1 remaining: pods: unavailable"
        );
        assert_eq!(find(&second, CONTENT_FAILURE).last_transition_time, Some(t(25)));

        let done = Content::default();
        assert!(done.is_done());
        let last = update(&second, &done, t(30)).expect("changes");
        let remaining = find(&last, CONTENT_REMAINING);
        assert_eq!((remaining.status.as_str(), remaining.reason.as_str()), ("False", "ContentRemoved"));
        assert_eq!(remaining.last_transition_time, Some(t(30)), "flipped");
        assert_eq!(find(&last, DISCOVERY_FAILURE).last_transition_time, Some(t(10)), "unchanged ones keep their time");
    }
}
