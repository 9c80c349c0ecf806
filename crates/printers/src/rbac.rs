//! The RBAC kinds, with kubectl's columns: roles and cluster roles are
//! NAME CREATED AT (an RFC 3339 time, not an age); bindings are NAME ROLE AGE,
//! and `-o wide` adds USERS, GROUPS and SERVICEACCOUNTS.

use super::age::age;
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::rbac::v1::{RoleRef, Subject};
use chrono::{DateTime, Utc};

pub const ROLE_HEADER: [&str; 2] = ["NAME", "CREATED AT"];

pub fn binding_header(wide: bool) -> Vec<&'static str> {
    let mut header = vec!["NAME", "ROLE", "AGE"];
    if wide {
        header.extend(["USERS", "GROUPS", "SERVICEACCOUNTS"]);
    }
    header
}

/// A Role's or ClusterRole's row.
pub fn role_row(meta: &ObjectMeta) -> Vec<String> {
    let created = meta.creation_timestamp.as_ref().map(|t| t.to_rfc3339()).unwrap_or_default();
    vec![meta.name.clone(), created]
}

/// A RoleBinding's or ClusterRoleBinding's row: ROLE is `Kind/name`.
pub fn binding_row(
    meta: &ObjectMeta,
    role_ref: Option<&RoleRef>,
    subjects: &[Subject],
    wide: bool,
    now: DateTime<Utc>,
) -> Vec<String> {
    let role = role_ref.map(|r| format!("{}/{}", r.kind, r.name)).unwrap_or_default();
    let mut row = vec![meta.name.clone(), role, age(meta.creation_timestamp.as_ref(), now)];
    if wide {
        let (users, groups, service_accounts) = subject_names(subjects);
        row.extend([users.join(", "), groups.join(", "), service_accounts.join(", ")]);
    }
    row
}

/// The users, groups and service accounts (`namespace/name`) a binding names,
/// as kubectl's `SubjectsStrings` splits them.
pub fn subject_names(subjects: &[Subject]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut users, mut groups, mut service_accounts) = (Vec::new(), Vec::new(), Vec::new());
    for subject in subjects {
        match subject.kind.as_str() {
            "User" => users.push(subject.name.clone()),
            "Group" => groups.push(subject.name.clone()),
            "ServiceAccount" => service_accounts.push(format!("{}/{}", subject.namespace, subject.name)),
            _ => {}
        }
    }
    (users, groups, service_accounts)
}

#[cfg(test)]
mod tests {
    use super::super::{header, row, Columns};
    use capstan_proto::kinds::{CLUSTER_ROLE, ROLE_BINDING};
    use capstan_proto::object::parse_manifests;
    use chrono::DateTime;

    #[test]
    fn roles_show_their_creation_time_and_bindings_their_role_and_subjects() {
        let objects = parse_manifests(
            "t",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n\
             metadata: {name: view, creationTimestamp: '2024-05-01T10:00:00Z'}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n\
             metadata: {name: read-pods, namespace: shop, creationTimestamp: '2024-05-01T10:00:00Z'}\n\
             roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}\n\
             subjects: [{kind: User, name: jane}, {kind: User, name: joe}, {kind: Group, name: devs}, \
             {kind: ServiceAccount, name: ci, namespace: shop}]\n",
        )
        .expect("manifests");
        let now = DateTime::parse_from_rfc3339("2024-05-01T10:05:00Z").expect("time").to_utc();
        let plain = Columns::default();
        assert_eq!(header(&CLUSTER_ROLE, plain), ["NAME", "CREATED AT"]);
        assert_eq!(row(&objects[0], plain, now, None), ["view", "2024-05-01T10:00:00Z"]);
        assert_eq!(header(&ROLE_BINDING, plain), ["NAME", "ROLE", "AGE"]);
        assert_eq!(row(&objects[1], plain, now, None), ["read-pods", "Role/pod-reader", "5m"]);
        let wide = Columns { wide: true, ..Columns::default() };
        assert_eq!(header(&ROLE_BINDING, wide), ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]);
        assert_eq!(
            row(&objects[1], wide, now, None),
            ["read-pods", "Role/pod-reader", "5m", "jane, joe", "devs", "shop/ci"]
        );
    }
}
