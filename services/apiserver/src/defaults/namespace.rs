//! Namespace defaults: the `kubernetes` finalizer and the `Active` phase.

use super::set_if_empty;
use capstan_proto::core::v1::{Namespace, NamespaceSpec, NamespaceStatus};

/// New namespaces get the `kubernetes` finalizer, which the namespace
/// controller removes once it has emptied a terminating namespace; it is not
/// put back on a namespace that is being deleted.
pub(super) fn namespace(ns: &mut Namespace) {
    let deleting = ns.metadata.as_ref().is_some_and(|m| m.deletion_timestamp.is_some())
        || ns.status.as_ref().is_some_and(|s| s.phase == "Terminating");
    let spec = ns.spec.get_or_insert_with(NamespaceSpec::default);
    if !deleting && spec.finalizers.is_empty() {
        spec.finalizers.push("kubernetes".to_string());
    }
    let status = ns.status.get_or_insert_with(NamespaceStatus::default);
    set_if_empty(&mut status.phase, "Active");
}
