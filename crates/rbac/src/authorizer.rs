//! The RBAC authorizer: allows a request when a binding that names the user
//! (or one of its groups) grants a role with a rule that allows it.
//!
//! ClusterRoleBindings apply in every namespace and at the cluster scope; a
//! RoleBinding only to requests in its own namespace, whether it grants a
//! Role or a ClusterRole. The group `system:masters` is allowed everything,
//! bindings or not, so an administrator can always repair the policy.
//! Answers come from the [`Index`] in memory; a refusal is `NoOpinion`, as
//! Kubernetes' RBAC answers, so a later authorizer may still allow.

use crate::index::Index;
use crate::rules;
use capstan_auth::{groups, Attributes, Authorizer, Decision, Fed, UserInfo};
use capstan_proto::rbac::v1::{PolicyRule, RoleRef};

/// The RBAC authorizer and the policy index it answers from. Cheap to
/// clone: clones share the index, so the feed and the server stack can each
/// hold one.
#[derive(Clone, Default)]
pub struct Rbac {
    index: Fed<Index>,
}

impl Rbac {
    pub fn new() -> Rbac {
        Rbac::default()
    }

    /// The index the watch feed keeps up to date (`observe` each event,
    /// `replace` on a relist); clones share it.
    pub fn feed(&self) -> &Fed<Index> {
        &self.index
    }

    /// How many bindings the index holds.
    pub fn binding_count(&self) -> usize {
        self.index.read().binding_count()
    }

    /// Every rule `user` holds in `namespace` (`""`: at the cluster scope):
    /// its ClusterRoleBindings' roles, plus its RoleBindings' in that
    /// namespace. What the escalation check compares a new role against.
    /// A member of `system:masters` holds `*` on everything.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> Vec<PolicyRule> {
        if user.in_group(groups::MASTERS) {
            return vec![rules::rule(&["*"], &["*"], &["*"])];
        }
        let index = self.index.read();
        let mut held = Vec::new();
        for binding in index.bindings_for(user) {
            let scope = binding.key.namespace.as_deref();
            if scope.is_some_and(|ns| ns != namespace) {
                continue;
            }
            if let Some(granted) = index.role_rules(&binding.role_ref, scope) {
                held.extend(granted.iter().cloned());
            }
        }
        held
    }

    /// The rules `role_ref` names, as a binding in `namespace` would grant
    /// them (`""` for a ClusterRoleBinding); `None` when the role does not
    /// exist.
    pub fn role_ref_rules(&self, role_ref: &RoleRef, namespace: &str) -> Option<Vec<PolicyRule>> {
        let scope = (!namespace.is_empty()).then_some(namespace);
        self.index.read().role_rules(role_ref, scope).map(|r| r.as_ref().clone())
    }
}

impl Authorizer for Rbac {
    fn authorize(&self, user: &UserInfo, attributes: &Attributes) -> Decision {
        if user.in_group(groups::MASTERS) {
            return Decision::Allow;
        }
        let index = self.index.read();
        for binding in index.bindings_for(user) {
            let scope = binding.key.namespace.as_deref();
            // a RoleBinding grants only within its namespace
            if scope.is_some_and(|ns| ns != attributes.namespace) {
                continue;
            }
            if index.role_rules(&binding.role_ref, scope).is_some_and(|r| rules::any_allows(r, attributes)) {
                return Decision::Allow;
            }
        }
        Decision::NoOpinion
    }
}
