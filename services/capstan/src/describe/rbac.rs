//! Pages for the RBAC kinds, as kubectl describes them: a role's rules as a
//! PolicyRule table (one row per resource, qualified by its group), a
//! binding's role and its subjects.

use super::doc::Doc;
use super::metadata;
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::rbac::v1::{PolicyRule, RoleRef, Subject};

/// A Role's or ClusterRole's page.
pub fn role(doc: &mut Doc, meta: &ObjectMeta, rules: &[PolicyRule]) {
    metadata(doc, meta, false);
    doc.heading(0, "PolicyRule");
    let list = |items: &[String]| format!("[{}]", items.join(" "));
    let mut rows = Vec::new();
    for rule in rules {
        let mut resources = Vec::new();
        for group in &rule.api_groups {
            for resource in &rule.resources {
                resources.push(if group.is_empty() { resource.clone() } else { format!("{resource}.{group}") });
            }
        }
        if resources.is_empty() {
            resources.push(String::new());
        }
        for resource in resources {
            rows.push(vec![resource, list(&rule.non_resource_urls), list(&rule.resource_names), list(&rule.verbs)]);
        }
    }
    doc.table(2, &["Resources", "Non-Resource URLs", "Resource Names", "Verbs"], &rows);
}

/// A RoleBinding's or ClusterRoleBinding's page.
pub fn binding(doc: &mut Doc, meta: &ObjectMeta, role_ref: Option<&RoleRef>, subjects: &[Subject]) {
    metadata(doc, meta, false);
    let role_ref = role_ref.cloned().unwrap_or_default();
    doc.heading(0, "Role");
    doc.field_at(2, "Kind", role_ref.kind);
    doc.field_at(2, "Name", role_ref.name);
    doc.heading(0, "Subjects");
    let rows: Vec<Vec<String>> =
        subjects.iter().map(|s| vec![s.kind.clone(), s.name.clone(), s.namespace.clone()]).collect();
    doc.table(2, &["Kind", "Name", "Namespace"], &rows);
}

#[cfg(test)]
mod tests {
    use super::super::{page, Related};
    use capstan_proto::object::parse_manifests;
    use chrono::DateTime;

    #[test]
    fn role_and_binding_pages_show_rules_and_subjects() {
        let objects = parse_manifests(
            "t",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: pod-reader, namespace: shop}\n\
             rules:\n- {apiGroups: [''], resources: [pods], verbs: [get, watch, list]}\n\
             - {apiGroups: [apps], resources: [deployments], resourceNames: [web], verbs: [get]}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: read-pods, namespace: shop}\n\
             roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}\n\
             subjects: [{kind: User, name: jane}, {kind: ServiceAccount, name: ci, namespace: shop}]\n",
        )
        .expect("manifests");
        let now = DateTime::from_timestamp(0, 0).expect("time");
        let role = page(&objects[0], &Related::default(), now).render();
        for want in [
            "Name:         pod-reader\nLabels:       <none>\nAnnotations:  <none>\nPolicyRule:\n",
            "  Resources          Non-Resource URLs   Resource Names   Verbs\n",
            "  pods               []                  []               [get watch list]\n",
            "  deployments.apps   []                  [web]            [get]\n",
        ] {
            assert!(role.contains(want), "missing {want:?} in\n{role}");
        }
        let binding = page(&objects[1], &Related::default(), now).render();
        for want in [
            "Name:         read-pods\n",
            "Role:\n  Kind:  Role\n  Name:  pod-reader\nSubjects:\n",
            "  Kind             Name   Namespace\n",
            "  User             jane\n",
            "  ServiceAccount   ci     shop\n",
        ] {
            assert!(binding.contains(want), "missing {want:?} in\n{binding}");
        }
    }
}
