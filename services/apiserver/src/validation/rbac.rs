//! Roles, ClusterRoles and their bindings (rbac.authorization.k8s.io/v1), by
//! Kubernetes' `rbac/validation` rules, plus one of Capstan's own: a verb the
//! authorizer does not know is refused, since a rule granting `destroy` would
//! silently grant nothing and hide a typo.
//!
//! A binding's `roleRef` is what an escalation check approved when the
//! binding was written, so it may never change afterwards (delete and
//! re-create instead, as Kubernetes requires).

use super::error::{Errors, FieldError, Path, Raw};
use super::meta::{self, NameRule};
use super::selector;
use capstan_auth::Verb;
use capstan_proto::kinds::{CLUSTER_ROLE, CLUSTER_ROLE_BINDING, ROLE, ROLE_BINDING};
use capstan_proto::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use capstan_selectors::syntax;

/// The API group of the RBAC kinds, which user and group subjects and every
/// `roleRef` name.
pub const GROUP: &str = "rbac.authorization.k8s.io";

pub fn role(errs: &mut Errors, role: &Role) {
    meta::object_meta(errs, role.metadata.as_ref(), &ROLE, NameRule::PathSegment);
    rules(errs, &role.rules, true);
}

pub fn cluster_role(errs: &mut Errors, role: &ClusterRole) {
    meta::object_meta(errs, role.metadata.as_ref(), &CLUSTER_ROLE, NameRule::PathSegment);
    rules(errs, &role.rules, false);
    if let Some(aggregation) = &role.aggregation_rule {
        let path = Path::new("aggregationRule").child("clusterRoleSelectors");
        if aggregation.cluster_role_selectors.is_empty() {
            errs.push(FieldError::required(
                &path,
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            ));
        }
        for (i, s) in aggregation.cluster_role_selectors.iter().enumerate() {
            selector::label_selector(errs, &path.index(i), s);
        }
    }
}

pub fn role_binding(errs: &mut Errors, binding: &RoleBinding) {
    meta::object_meta(errs, binding.metadata.as_ref(), &ROLE_BINDING, NameRule::PathSegment);
    role_ref(errs, binding.role_ref.as_ref(), &["Role", "ClusterRole"]);
    subjects(errs, &binding.subjects, true);
}

pub fn cluster_role_binding(errs: &mut Errors, binding: &ClusterRoleBinding) {
    meta::object_meta(errs, binding.metadata.as_ref(), &CLUSTER_ROLE_BINDING, NameRule::PathSegment);
    // a cluster-wide grant of a namespace's Role has no meaning
    role_ref(errs, binding.role_ref.as_ref(), &["ClusterRole"]);
    subjects(errs, &binding.subjects, false);
}

/// `roleRef` may not change on update.
pub fn role_ref_update(errs: &mut Errors, new: Option<&RoleRef>, old: Option<&RoleRef>) {
    if new != old {
        let shown = new.map(render_role_ref).unwrap_or_else(|| "nil".into());
        errs.push(FieldError::invalid("roleRef", Raw(shown), "cannot change roleRef"));
    }
}

/// As Kubernetes prints a RoleRef value in a field error.
fn render_role_ref(r: &RoleRef) -> String {
    format!("rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}", r.api_group, r.kind, r.name)
}

/// The words a rule's `verbs` may hold, in the order a refusal lists them.
fn supported_verbs() -> Vec<&'static str> {
    Verb::ALL.iter().map(|v| v.as_str()).chain(["*"]).collect()
}

fn rules(errs: &mut Errors, rules: &[PolicyRule], namespaced: bool) {
    for (i, rule) in rules.iter().enumerate() {
        policy_rule(errs, &Path::new("rules").index(i), rule, namespaced);
    }
}

fn policy_rule(errs: &mut Errors, path: &Path, rule: &PolicyRule, namespaced: bool) {
    if rule.verbs.is_empty() {
        errs.push(FieldError::required(path.child("verbs"), "verbs must contain at least one value"));
    }
    for (i, verb) in rule.verbs.iter().enumerate() {
        if verb != "*" && Verb::parse(verb).is_none() {
            errs.push(FieldError::not_supported(path.child("verbs").index(i), verb, &supported_verbs()));
        }
    }
    if !rule.non_resource_urls.is_empty() {
        if namespaced {
            errs.push(FieldError::invalid(
                path.child("nonResourceURLs"),
                Raw(format!("{:?}", rule.non_resource_urls)),
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if !rule.api_groups.is_empty() || !rule.resources.is_empty() {
            errs.push(FieldError::invalid(
                path.child("nonResourceURLs"),
                Raw(format!("{:?}", rule.non_resource_urls)),
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return;
    }
    if rule.api_groups.is_empty() {
        errs.push(FieldError::required(path.child("apiGroups"), "resource rules must supply at least one api group"));
    }
    if rule.resources.is_empty() {
        errs.push(FieldError::required(path.child("resources"), "resource rules must supply at least one resource"));
    }
}

fn role_ref(errs: &mut Errors, role_ref: Option<&RoleRef>, kinds: &[&str]) {
    let path = Path::new("roleRef");
    let empty = RoleRef::default();
    let r = role_ref.unwrap_or(&empty);
    if r.api_group != GROUP {
        errs.push(FieldError::not_supported(path.child("apiGroup"), &r.api_group, &[GROUP]));
    }
    if !kinds.contains(&r.kind.as_str()) {
        errs.push(FieldError::not_supported(path.child("kind"), &r.kind, kinds));
    }
    if r.name.is_empty() {
        errs.push(FieldError::required(path.child("name"), ""));
    } else if let Err(msg) = NameRule::PathSegment.validate(&r.name) {
        errs.push(FieldError::invalid(path.child("name"), &r.name, msg));
    }
}

fn subjects(errs: &mut Errors, subjects: &[Subject], namespaced: bool) {
    for (i, subject) in subjects.iter().enumerate() {
        let path = Path::new("subjects").index(i);
        if subject.name.is_empty() {
            errs.push(FieldError::required(path.child("name"), ""));
        }
        match subject.kind.as_str() {
            "ServiceAccount" => {
                if !subject.name.is_empty() {
                    if let Err(msg) = syntax::dns1123_subdomain(&subject.name) {
                        errs.push(FieldError::invalid(path.child("name"), &subject.name, msg));
                    }
                }
                if !subject.api_group.is_empty() {
                    errs.push(FieldError::not_supported(path.child("apiGroup"), &subject.api_group, &[""]));
                }
                // a RoleBinding's service accounts default to its own namespace
                if !namespaced && subject.namespace.is_empty() {
                    errs.push(FieldError::required(path.child("namespace"), ""));
                }
            }
            "User" | "Group" => {
                if subject.api_group != GROUP {
                    errs.push(FieldError::not_supported(path.child("apiGroup"), &subject.api_group, &[GROUP]));
                }
            }
            "" => errs.push(FieldError::required(path.child("kind"), "")),
            other => {
                errs.push(FieldError::not_supported(path.child("kind"), other, &["ServiceAccount", "User", "Group"]))
            }
        }
    }
}
