//! What the API server does to each bootstrap object at start, decided
//! without the store (kube-apiserver's RBAC auto-reconcile): create what is
//! missing, add the rules and subjects a newer release wants, and never take
//! away what an operator added. An object annotated
//! `rbac.authorization.kubernetes.io/autoupdate: "false"` is left alone.

use crate::bootstrap::AUTOUPDATE_ANNOTATION;
use crate::rules;
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::rbac::v1::{ClusterRole, ClusterRoleBinding};
use capstan_proto::Resource;

/// The write one object needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan<T> {
    /// It is missing: create it.
    Create(T),
    /// It lacks rules, subjects, labels or annotations: update to this.
    Update(T),
    /// A binding names another role, which may not change: delete the
    /// existing one and create this.
    Recreate(T),
    /// Nothing to do.
    Keep,
}

impl<T> Plan<T> {
    /// The same plan for `f` of the object (to write it in another form).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Plan<U> {
        match self {
            Plan::Create(t) => Plan::Create(f(t)),
            Plan::Update(t) => Plan::Update(f(t)),
            Plan::Recreate(t) => Plan::Recreate(f(t)),
            Plan::Keep => Plan::Keep,
        }
    }
}

fn opted_out(meta: &ObjectMeta) -> bool {
    meta.annotations.get(AUTOUPDATE_ANNOTATION).is_some_and(|v| v == "false")
}

/// Adds `wanted`'s labels and annotations that `existing` lacks; an
/// operator's values win. True when something was added.
fn merge_meta(existing: &mut ObjectMeta, wanted: &ObjectMeta) -> bool {
    let mut changed = false;
    for (have, want) in [(&mut existing.labels, &wanted.labels), (&mut existing.annotations, &wanted.annotations)] {
        for (key, value) in want {
            if !have.contains_key(key) {
                have.insert(key.clone(), value.clone());
                changed = true;
            }
        }
    }
    changed
}

pub fn cluster_role(existing: Option<&ClusterRole>, wanted: &ClusterRole) -> Plan<ClusterRole> {
    let Some(existing) = existing else { return Plan::Create(wanted.clone()) };
    if opted_out(existing.meta()) {
        return Plan::Keep;
    }
    let mut next = existing.clone();
    let mut changed = merge_meta(next.metadata_mut(), wanted.meta());
    for rule in &wanted.rules {
        if !rules::uncovered(&next.rules, std::slice::from_ref(rule)).is_empty() {
            next.rules.push(rule.clone());
            changed = true;
        }
    }
    if changed {
        Plan::Update(next)
    } else {
        Plan::Keep
    }
}

pub fn cluster_role_binding(
    existing: Option<&ClusterRoleBinding>,
    wanted: &ClusterRoleBinding,
) -> Plan<ClusterRoleBinding> {
    let Some(existing) = existing else { return Plan::Create(wanted.clone()) };
    if opted_out(existing.meta()) {
        return Plan::Keep;
    }
    let mut next = existing.clone();
    let mut changed = merge_meta(next.metadata_mut(), wanted.meta());
    for subject in &wanted.subjects {
        if !next.subjects.contains(subject) {
            next.subjects.push(subject.clone());
            changed = true;
        }
    }
    if existing.role_ref != wanted.role_ref {
        next.role_ref = wanted.role_ref.clone();
        if let Some(meta) = next.metadata.as_mut() {
            meta.resource_version.clear();
            meta.uid.clear();
        }
        return Plan::Recreate(next);
    }
    if changed {
        Plan::Update(next)
    } else {
        Plan::Keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootstrap;
    use crate::rules::rule;
    use capstan_proto::rbac::v1::Subject;

    fn view() -> ClusterRole {
        bootstrap::cluster_roles().into_iter().find(|r| r.meta().name == "view").expect("view")
    }

    #[test]
    fn missing_objects_are_created_and_current_ones_kept() {
        assert_eq!(cluster_role(None, &view()), Plan::Create(view()));
        assert_eq!(cluster_role(Some(&view()), &view()), Plan::Keep);
        let binding = bootstrap::cluster_role_bindings().remove(0);
        assert_eq!(cluster_role_binding(Some(&binding), &binding), Plan::Keep);
    }

    #[test]
    fn missing_rules_are_added_and_an_operators_additions_kept() {
        let mut existing = view();
        existing.rules.remove(0);
        existing.rules.push(rule(&["get"], &["example.com"], &["widgets"]));
        existing.metadata_mut().labels.insert("team".into(), "ops".into());
        let Plan::Update(next) = cluster_role(Some(&existing), &view()) else { panic!("an update") };
        assert!(rules::uncovered(&next.rules, &view().rules).is_empty(), "every wanted rule is back");
        assert!(next.rules.contains(&rule(&["get"], &["example.com"], &["widgets"])), "the operator's rule stays");
        assert_eq!(next.meta().labels.get("team").map(String::as_str), Some("ops"));
    }

    #[test]
    fn an_operator_may_opt_out_and_a_changed_role_ref_is_recreated() {
        let mut owned = view();
        owned.rules.clear();
        owned.metadata_mut().annotations.insert(AUTOUPDATE_ANNOTATION.into(), "false".into());
        assert_eq!(cluster_role(Some(&owned), &view()), Plan::Keep);

        let wanted = bootstrap::cluster_role_bindings().remove(0);
        let mut existing = wanted.clone();
        existing.subjects.push(Subject { kind: "User".into(), name: "root".into(), ..Default::default() });
        existing.subjects.remove(0);
        let Plan::Update(next) = cluster_role_binding(Some(&existing), &wanted) else { panic!("an update") };
        assert_eq!(next.subjects.len(), 2, "the wanted subject is added, the operator's kept");
        existing.role_ref.as_mut().expect("role ref").name = "view".into();
        assert!(matches!(cluster_role_binding(Some(&existing), &wanted), Plan::Recreate(_)));
    }
}
