//! The RBAC kinds through the real gRPC API, on both backends: the
//! bootstrap policy is there after start and is reconciled on restart without
//! losing an operator's additions; Kubernetes' Role and RoleBinding
//! manifests apply unchanged, list and watch like any kind; an unknown verb
//! and a changed roleRef are refused by path.

mod common;

use capstan_proto::api::v1::{object::Kind, ListOptions};
use capstan_proto::rbac::v1::{ClusterRole, PolicyRule};
use capstan_proto::{ObjectExt, Resource};
use common::{name_of, next_event, TestServer};
use tonic::Code;

on_both_backends!(bootstrap_policy_is_reconciled, kubernetes_rbac_manifests_round_trip);

fn view(object: capstan_proto::api::v1::Object) -> ClusterRole {
    ClusterRole::try_from_object(object).expect("a ClusterRole")
}

async fn bootstrap_policy_is_reconciled(mut s: TestServer) {
    let roles = s.list("clusterroles", "", ListOptions::default()).await.expect("list").items;
    let mut names: Vec<String> = roles.iter().map(|o| o.meta().name.clone()).collect();
    names.sort();
    for want in [
        "admin",
        "cluster-admin",
        "edit",
        "system:kube-controller-manager",
        "system:kube-dns",
        "system:kube-scheduler",
        "system:node",
        "system:node-proxier",
        "view",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
    }
    let Some(Kind::ClusterRoleBinding(masters)) =
        s.get("clusterrolebindings", "", "cluster-admin").await.expect("get").kind
    else {
        panic!("a ClusterRoleBinding")
    };
    assert_eq!(masters.subjects[0].name, "system:masters");

    // an operator adds a rule and drops one; a restart puts the dropped one back and keeps the addition
    let mut edited = view(s.get("clusterroles", "", "view").await.expect("get view"));
    let dropped = edited.rules.remove(0);
    let added = PolicyRule {
        verbs: vec!["get".into()],
        api_groups: vec!["example.com".into()],
        resources: vec!["widgets".into()],
        ..Default::default()
    };
    edited.rules.push(added.clone());
    s.update("clusterroles", edited.into_object()).await.expect("operator's update");
    s.restart().await;
    let reconciled = view(s.get("clusterroles", "", "view").await.expect("get view"));
    assert!(reconciled.rules.contains(&dropped), "the bootstrap rule is back");
    assert!(reconciled.rules.contains(&added), "the operator's rule is kept");
}

const RBAC: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  namespace: default
  name: pod-reader
rules:
- apiGroups: [""]
  resources: ["pods", "pods/status"]
  resourceNames: ["web"]
  verbs: ["get", "watch", "list"]
"#;

const BINDING: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: read-pods
  namespace: default
subjects:
- kind: User
  name: jane
- kind: Group
  name: devs
  apiGroup: rbac.authorization.k8s.io
- kind: ServiceAccount
  name: ci
  namespace: default
roleRef:
  kind: Role
  name: pod-reader
  apiGroup: rbac.authorization.k8s.io
"#;

async fn kubernetes_rbac_manifests_round_trip(mut s: TestServer) {
    let mut watch = s.watch("rolebindings", "default", ListOptions::default()).await.expect("watch");
    s.apply(RBAC).await.expect("a Kubernetes Role applies");
    let created = s.apply(BINDING).await.expect("a Kubernetes RoleBinding applies");
    let Some(Kind::RoleBinding(binding)) = &created.kind else { panic!("a RoleBinding") };
    assert_eq!(binding.subjects[0].api_group, "rbac.authorization.k8s.io", "a User subject's apiGroup is defaulted");
    let added = next_event(&mut watch).await;
    assert_eq!((added.r#type.as_str(), name_of(&added).as_str()), ("ADDED", "read-pods"));
    let listed = s.list("roles", "default", ListOptions::default()).await.expect("list").items;
    assert_eq!(listed.len(), 1);

    let err = s.apply(&RBAC.replace("pod-reader", "bad").replace("\"list\"", "\"destroy\"")).await.expect_err("verb");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("rules[0].verbs[2]: Unsupported value: \"destroy\""), "{}", err.message());

    let mut moved = created.clone();
    if let Some(Kind::RoleBinding(b)) = &mut moved.kind {
        b.role_ref.as_mut().expect("roleRef").name = "pod-writer".into();
    }
    let err = s.update("rolebindings", moved).await.expect_err("roleRef is immutable");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("roleRef: Invalid value: "), "{}", err.message());
    assert!(err.message().contains("cannot change roleRef"), "{}", err.message());

    let crb = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: x}\n\
               roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}\n";
    let err = s.apply(crb).await.expect_err("a cluster binding of a Role");
    assert!(err.message().contains("roleRef.kind: Unsupported value: \"Role\""), "{}", err.message());
}
