//! Role, ClusterRole, RoleBinding and ClusterRoleBinding rules: verbs the
//! authorizer knows, resource rules that name groups and resources, roleRef
//! kinds per binding kind, subjects with kind and name, and a roleRef that
//! never changes.

use super::*;
use crate::errs;

const VERBS: &str = "supported values: \"get\", \"list\", \"watch\", \"create\", \"update\", \"patch\", \"delete\", \
     \"deletecollection\", \"bind\", \"escalate\", \"impersonate\", \"*\"";

#[test]
fn rbac_kinds_create() {
    let rbac = "apiVersion: rbac.authorization.k8s.io/v1";
    let cases = [
        (
            "a Kubernetes role is valid",
            format!(
                "{rbac}\nkind: Role\nmetadata: {{name: pod-reader, namespace: shop}}\nrules:\n\
                 - {{apiGroups: [''], resources: [pods, pods/log], verbs: [get, list, watch]}}\n\
                 - {{apiGroups: [apps], resources: [deployments], resourceNames: [web], verbs: ['*']}}"
            ),
            errs![],
        ),
        (
            "an unknown verb is refused by path",
            format!(
                "{rbac}\nkind: Role\nmetadata: {{name: r, namespace: shop}}\nrules:\n\
                 - {{apiGroups: [''], resources: [pods], verbs: [get, destroy]}}\n\
                 - {{verbs: []}}"
            ),
            errs![
                format!("rules[0].verbs[1]: Unsupported value: \"destroy\": {VERBS}"),
                "rules[1].verbs: Required value: verbs must contain at least one value",
                "rules[1].apiGroups: Required value: resource rules must supply at least one api group",
                "rules[1].resources: Required value: resource rules must supply at least one resource",
            ],
        ),
        (
            "a namespaced role cannot name URLs; names are path segments",
            format!(
                "{rbac}\nkind: Role\nmetadata: {{name: a/b, namespace: shop}}\nrules:\n\
                 - {{nonResourceURLs: [/metrics], verbs: [get]}}"
            ),
            errs![
                "metadata.name: Invalid value: \"a/b\": may not contain '/'",
                "rules[0].nonResourceURLs: Invalid value: [\"/metrics\"]: namespaced rules cannot apply to non-resource URLs",
            ],
        ),
        (
            "a cluster role named like a component, with URLs and an aggregation rule",
            format!(
                "{rbac}\nkind: ClusterRole\nmetadata: {{name: 'system:kube-scheduler'}}\n\
                 aggregationRule: {{clusterRoleSelectors: [{{matchLabels: {{a: b}}}}]}}\nrules:\n\
                 - {{nonResourceURLs: [/metrics], verbs: [get]}}"
            ),
            errs![],
        ),
        (
            "an empty aggregation rule and URLs mixed with resources",
            format!(
                "{rbac}\nkind: ClusterRole\nmetadata: {{name: c}}\naggregationRule: {{}}\nrules:\n\
                 - {{nonResourceURLs: [/metrics], resources: [pods], verbs: [get]}}"
            ),
            errs![
                "aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if \
                 aggregationRule is non-nil",
                "rules[0].nonResourceURLs: Invalid value: [\"/metrics\"]: rules cannot apply to both regular resources \
                 and non-resource URLs",
            ],
        ),
        (
            "a role binding to a role or a cluster role, every subject kind",
            format!(
                "{rbac}\nkind: RoleBinding\nmetadata: {{name: b, namespace: shop}}\n\
                 roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}}\nsubjects:\n\
                 - {{kind: User, name: jane}}\n- {{kind: Group, name: devs}}\n- {{kind: ServiceAccount, name: ci}}"
            ),
            errs![],
        ),
        (
            "a role binding's roleRef and subjects",
            format!(
                "{rbac}\nkind: RoleBinding\nmetadata: {{name: b, namespace: shop}}\n\
                 roleRef: {{apiGroup: rbac, kind: Pod}}\nsubjects:\n\
                 - {{kind: User}}\n- {{name: x}}\n- {{kind: Robot, name: r}}\n\
                 - {{kind: ServiceAccount, name: Bad_Name, apiGroup: rbac.authorization.k8s.io}}\n\
                 - {{kind: Group, name: g, apiGroup: example.com}}"
            ),
            errs![
                "roleRef.apiGroup: Unsupported value: \"rbac\": supported values: \"rbac.authorization.k8s.io\"",
                "roleRef.kind: Unsupported value: \"Pod\": supported values: \"Role\", \"ClusterRole\"",
                "roleRef.name: Required value",
                "subjects[0].name: Required value",
                "subjects[1].kind: Required value",
                "subjects[2].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"",
                format!("subjects[3].name: Invalid value: \"Bad_Name\": {SUBDOMAIN}"),
                "subjects[3].apiGroup: Unsupported value: \"rbac.authorization.k8s.io\": supported values: \"\"",
                "subjects[4].apiGroup: Unsupported value: \"example.com\": supported values: \"rbac.authorization.k8s.io\"",
            ],
        ),
        (
            "a cluster role binding refers to cluster roles only; its service accounts name a namespace",
            format!(
                "{rbac}\nkind: ClusterRoleBinding\nmetadata: {{name: 'system:kube-scheduler'}}\n\
                 roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}}\nsubjects:\n\
                 - {{kind: ServiceAccount, name: ci}}"
            ),
            errs![
                "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
                "subjects[0].namespace: Required value",
            ],
        ),
    ];
    // defaulted first, as the registry does: subjects' apiGroup is defaulted
    for (name, yaml, want) in &cases {
        let mut object = object(yaml);
        crate::defaults::apply_defaults(&mut object);
        compare(name, validate_create(&object), want);
    }
}

#[test]
fn role_ref_is_immutable() {
    let binding = |role: &str| {
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: b, namespace: shop}}\n\
             roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {role}}}\n\
             subjects: [{{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}}]"
        )
    };
    run_update(
        &binding("reader"),
        &[
            ("same roleRef, new subjects", binding("reader").replace("jane", "joe"), errs![]),
            (
                "another role",
                binding("writer"),
                errs![
                    "roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", \
                       Name:\"writer\"}: cannot change roleRef"
                ],
            ),
        ],
    );
}
