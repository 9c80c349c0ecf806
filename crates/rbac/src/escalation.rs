//! Escalation prevention, as Kubernetes' `rbac/validation` and the RBAC
//! registry's policy-based storage do it: nobody grants what they do not
//! hold.
//!
//! - Writing a Role or ClusterRole whose rules the writer does not hold
//!   (in the role's namespace) is refused, unless the writer may `escalate`
//!   that role.
//! - Writing a binding is refused unless the writer may `bind` the role it
//!   names, or holds every rule of that role in the binding's namespace.
//! - `system:masters` may do both. A write that changes only what the
//!   garbage collector changes (owner references, finalizers) is never an
//!   escalation, so the collector can release and delete RBAC objects.
//!
//! The checks themselves ([`check_role_write`], [`check_binding_write`]) are
//! pure functions of the rules involved and two authorizer answers;
//! [`admit`] gathers those from the index and an authorizer.

use crate::error::RbacError;
use crate::rules;
use crate::Rbac;
use capstan_auth::{groups, Attributes, Authorizer, UserInfo, Verb};
use capstan_proto::api::v1::object::Kind;
use capstan_proto::api::v1::Object;
use capstan_proto::rbac::v1::{PolicyRule, RoleRef};
use capstan_proto::ObjectExt;

/// The RBAC group, which `escalate` and `bind` are asked in.
pub const GROUP: &str = "rbac.authorization.k8s.io";

/// A write of a role (`resource` is `roles` or `clusterroles`) holding
/// `requested`, by `user` who holds `held` in the role's namespace and may
/// (`may_escalate`) or may not escalate it.
pub fn check_role_write(
    user: &UserInfo,
    resource: &str,
    name: &str,
    held: &[PolicyRule],
    requested: &[PolicyRule],
    may_escalate: bool,
) -> Result<(), RbacError> {
    if may_escalate || user.in_group(groups::MASTERS) {
        return Ok(());
    }
    not_escalating(user, resource, name, held, requested)
}

/// A write of a binding (`resource` is `rolebindings` or
/// `clusterrolebindings`) named `name` that grants `role_rules` (`None`: the
/// role does not exist), by `user` who holds `held` in the binding's
/// namespace and may (`may_bind`) or may not bind the role.
pub fn check_binding_write(
    user: &UserInfo,
    resource: &str,
    name: &str,
    role_ref: &RoleRef,
    held: &[PolicyRule],
    role_rules: Option<&[PolicyRule]>,
    may_bind: bool,
) -> Result<(), RbacError> {
    if may_bind || user.in_group(groups::MASTERS) {
        return Ok(());
    }
    let Some(role_rules) = role_rules else {
        return Err(RbacError::RoleNotFound {
            resource: format!("{}.{GROUP}", role_resource(&role_ref.kind)),
            name: role_ref.name.clone(),
        });
    };
    not_escalating(user, resource, name, held, role_rules)
}

fn not_escalating(
    user: &UserInfo,
    resource: &str,
    name: &str,
    held: &[PolicyRule],
    requested: &[PolicyRule],
) -> Result<(), RbacError> {
    let missing = rules::uncovered(held, requested);
    if missing.is_empty() {
        return Ok(());
    }
    Err(RbacError::Escalation {
        resource: format!("{resource}.{GROUP}"),
        name: name.to_string(),
        user: user.name.clone(),
        groups: format!("[{}]", user.groups.iter().map(|g| format!("{g:?}")).collect::<Vec<_>>().join(" ")),
        missing: rules::describe(&missing),
    })
}

/// `roles` for a `Role` reference, `clusterroles` otherwise.
fn role_resource(kind: &str) -> &'static str {
    if kind == "Role" {
        "roles"
    } else {
        "clusterroles"
    }
}

/// The request that asks whether a user may write a role with rules it
/// does not hold.
pub fn escalate_attributes(resource: &str, namespace: &str, name: &str) -> Attributes {
    Attributes::new(Verb::Escalate, GROUP, resource).namespace(namespace).name(name)
}

/// The request that asks whether a user may bind `role_ref` in a binding
/// in `namespace` (`""` for a ClusterRoleBinding): Kubernetes asks in the
/// binding's namespace, so `bind` can be delegated per namespace.
pub fn bind_attributes(role_ref: &RoleRef, namespace: &str) -> Attributes {
    Attributes::new(Verb::Bind, GROUP, role_resource(&role_ref.kind)).namespace(namespace).name(&role_ref.name)
}

/// True when `new` differs from `old` only in what the garbage collector
/// writes (owner references, finalizers) or the server fills in.
pub fn only_mutates_gc_fields(new: &Object, old: &Object) -> bool {
    let strip = |o: &Object| {
        let mut o = o.clone();
        if let Some(meta) = o.meta_mut() {
            meta.owner_references.clear();
            meta.finalizers.clear();
            meta.resource_version.clear();
        }
        o
    };
    strip(new) == strip(old)
}

/// Checks a create or update (`old` set) of any object by `user`; objects
/// that are not RBAC kinds pass. `authorizer` answers the `escalate` and
/// `bind` questions (the server's whole chain, as Kubernetes asks it);
/// `rbac` gives the rules the user holds and those a binding grants.
pub fn admit(
    rbac: &Rbac,
    authorizer: &dyn Authorizer,
    user: &UserInfo,
    new: &Object,
    old: Option<&Object>,
) -> Result<(), RbacError> {
    if old.is_some_and(|old| only_mutates_gc_fields(new, old)) {
        return Ok(());
    }
    let meta = new.meta();
    let allowed = |attributes: Attributes| authorizer.authorize(user, &attributes).is_allowed();
    match &new.kind {
        Some(Kind::Role(role)) => {
            let may = allowed(escalate_attributes("roles", &meta.namespace, &meta.name));
            let held = if may { Vec::new() } else { rbac.rules_for(user, &meta.namespace) };
            check_role_write(user, "roles", &meta.name, &held, &role.rules, may)
        }
        Some(Kind::ClusterRole(role)) => {
            let may = allowed(escalate_attributes("clusterroles", "", &meta.name));
            let held = if may { Vec::new() } else { rbac.rules_for(user, "") };
            check_role_write(user, "clusterroles", &meta.name, &held, &role.rules, may)
        }
        Some(Kind::RoleBinding(binding)) => {
            binding_write(rbac, user, "rolebindings", &meta.namespace, &meta.name, binding.role_ref.as_ref(), &allowed)
        }
        Some(Kind::ClusterRoleBinding(binding)) => {
            binding_write(rbac, user, "clusterrolebindings", "", &meta.name, binding.role_ref.as_ref(), &allowed)
        }
        _ => Ok(()),
    }
}

fn binding_write(
    rbac: &Rbac,
    user: &UserInfo,
    resource: &str,
    namespace: &str,
    name: &str,
    role_ref: Option<&RoleRef>,
    allowed: &dyn Fn(Attributes) -> bool,
) -> Result<(), RbacError> {
    let role_ref = role_ref.cloned().unwrap_or_default();
    let may = allowed(bind_attributes(&role_ref, namespace));
    let held = if may { Vec::new() } else { rbac.rules_for(user, namespace) };
    let role_rules = rbac.role_ref_rules(&role_ref, namespace);
    check_binding_write(user, resource, name, &role_ref, &held, role_rules.as_deref(), may)
}
