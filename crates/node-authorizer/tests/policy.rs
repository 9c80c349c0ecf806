//! The cluster's whole authorization policy, table-driven: the
//! `Node,RBAC` chain over the bootstrap roles and bindings, a `view` user, an
//! `edit` user in one namespace, an `admin` of one namespace and the
//! anonymous user, with pods bound to two nodes. Each row is identity ×
//! verb × resource (and subresource) × namespace × name.

use capstan_auth::{forbidden_message, Attributes, Authorizer, Chain, Decision, UserInfo, Verb};
use capstan_node_authorizer::{admit, NodeAuthorizer};
use capstan_proto::api::v1::Object;
use capstan_proto::object::parse_manifests;
use capstan_proto::Resource;
use capstan_rbac::{bootstrap, escalation, Rbac, RbacError};

const POLICY: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: viewers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: Group, name: viewers, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: jane-edits-shop, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ada-admins-shop, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{kind: User, name: ada, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ci-deployer, namespace: shop}
rules:
- {apiGroups: [apps], resources: [deployments], resourceNames: [web], verbs: [get, update, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci-deploys-web, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ci-deployer}
subjects: [{kind: ServiceAccount, name: ci}]
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec: {nodeName: node-1, containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop}
spec: {nodeName: node-2, containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: pending, namespace: shop}
spec: {containers: [{name: c, image: i}]}
"#;

struct Cluster {
    rbac: Rbac,
    chain: Chain,
}

fn cluster() -> Cluster {
    let rbac = Rbac::new();
    let node = NodeAuthorizer::new();
    let mut objects: Vec<Object> = bootstrap::cluster_roles().into_iter().map(Resource::into_object).collect();
    objects.extend(bootstrap::cluster_role_bindings().into_iter().map(Resource::into_object));
    objects.extend(parse_manifests("policy.yaml", POLICY).expect("policy"));
    for object in &objects {
        rbac.feed().observe("ADDED", object);
        node.feed().observe("ADDED", object);
    }
    let chain = Chain::new(vec![Box::new(node), Box::new(rbac.clone())]);
    Cluster { rbac, chain }
}

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo::authenticated(name, "", groups.iter().map(|g| g.to_string()).collect())
}

fn admin() -> UserInfo {
    user("kubernetes-admin", &["system:masters"])
}
fn scheduler() -> UserInfo {
    user("system:kube-scheduler", &[])
}
fn controller_manager() -> UserInfo {
    user("system:kube-controller-manager", &[])
}
fn proxy() -> UserInfo {
    user("system:kube-proxy", &[])
}
fn node(name: &str) -> UserInfo {
    user(&format!("system:node:{name}"), &["system:nodes"])
}
fn viewer() -> UserInfo {
    user("val", &["viewers"])
}
fn jane() -> UserInfo {
    user("jane", &[])
}
fn ada() -> UserInfo {
    user("ada", &[])
}

/// `verb group resource[/sub] namespace name [fieldSelector]`, `-` for empty.
fn req(spec: &str) -> Attributes {
    let words: Vec<&str> = spec.split_whitespace().collect();
    let empty = |w: &str| if w == "-" { String::new() } else { w.to_string() };
    let verb = Verb::parse(words[0]).unwrap_or_else(|| panic!("verb in {spec:?}"));
    let (resource, sub) = words[2].split_once('/').unwrap_or((words[2], ""));
    let mut a = Attributes::new(verb, &empty(words[1]), resource).subresource(sub);
    a.namespace = words.get(3).map(|w| empty(w)).unwrap_or_default();
    a.name = words.get(4).map(|w| empty(w)).unwrap_or_default();
    a.field_selector = words.get(5).map(|w| empty(w)).unwrap_or_default();
    a
}

#[test]
fn who_may_do_what() {
    let c = cluster();
    let sa_ci = user("system:serviceaccount:shop:ci", &["system:serviceaccounts"]);
    #[rustfmt::skip]
    let rows: Vec<(&str, UserInfo, &str, bool)> = vec![
        // the administrator: system:masters, and bound to cluster-admin
        ("admin creates a pod", admin(), "create - pods shop", true),
        ("admin deletes a node", admin(), "delete - nodes - node-2", true),
        ("admin escalates a cluster role", admin(), "escalate rbac.authorization.k8s.io clusterroles - view", true),
        // the scheduler: reads pods and nodes, binds, reports unschedulable pods, elects
        ("scheduler lists pods", scheduler(), "list - pods -", true),
        ("scheduler watches nodes", scheduler(), "watch - nodes -", true),
        ("scheduler binds a pod", scheduler(), "create - pods/binding shop web", true),
        ("scheduler writes pod status", scheduler(), "update - pods/status shop web", true),
        ("scheduler cannot create pods", scheduler(), "create - pods shop", false),
        ("scheduler cannot delete pods", scheduler(), "delete - pods shop web", false),
        ("scheduler renews its lease", scheduler(), "update coordination.k8s.io leases kube-system capstan-scheduler", true),
        ("scheduler cannot take the controller-manager's lease", scheduler(), "update coordination.k8s.io leases kube-system capstan-controller-manager", false),
        ("scheduler records events", scheduler(), "create - events shop", true),
        ("scheduler cannot list services", scheduler(), "list - services -", false),
        ("scheduler reads pods through its informer only", scheduler(), "get - pods shop web", false),
        // the controller-manager: every controller's reads and writes
        ("controller-manager creates pods", controller_manager(), "create - pods shop", true),
        ("controller-manager scales a deployment", controller_manager(), "update apps deployments/scale shop web", true),
        ("controller-manager deletes a replica set", controller_manager(), "delete apps replicasets shop web-1", true),
        ("controller-manager creates a replica set", controller_manager(), "create apps replicasets shop", true),
        ("controller-manager cannot create deployments", controller_manager(), "create apps deployments shop", false),
        ("controller-manager finalizes a namespace", controller_manager(), "update - namespaces/status - shop", true),
        ("controller-manager cannot bind roles", controller_manager(), "create rbac.authorization.k8s.io clusterrolebindings -", false),
        ("controller-manager watches node leases", controller_manager(), "watch coordination.k8s.io leases kube-node-lease", true),
        // the proxy: services and endpoints, read only
        ("proxy lists services", proxy(), "list - services -", true),
        ("proxy watches endpoints", proxy(), "watch - endpoints -", true),
        ("proxy cannot read pods", proxy(), "get - pods shop web", false),
        ("proxy cannot change services", proxy(), "update - services shop web", false),
        ("proxy reads services through its informer only", proxy(), "get - services shop web", false),
        // node-1: its own Node, Lease and pods, nothing of node-2's
        ("node-1 reads its node", node("node-1"), "get - nodes - node-1", true),
        ("node-1 writes its node status", node("node-1"), "update - nodes/status - node-1", true),
        ("node-1 registers its node", node("node-1"), "create - nodes -", true),
        ("node-1 cannot change node-2", node("node-1"), "update - nodes - node-2", false),
        ("node-1 cannot read node-2's status", node("node-1"), "get - nodes/status - node-2", false),
        ("node-1 reads its lease", node("node-1"), "get coordination.k8s.io leases kube-node-lease node-1", true),
        ("node-1 renews its lease", node("node-1"), "update coordination.k8s.io leases kube-node-lease node-1", true),
        ("node-1 creates its lease", node("node-1"), "create coordination.k8s.io leases kube-node-lease", true),
        ("node-1 cannot renew node-2's lease", node("node-1"), "update coordination.k8s.io leases kube-node-lease node-2", false),
        ("node-1 cannot touch leader leases", node("node-1"), "update coordination.k8s.io leases kube-system capstan-scheduler", false),
        ("node-1 lists its pods", node("node-1"), "list - pods - - spec.nodeName=node-1", true),
        ("node-1 watches its pods", node("node-1"), "watch - pods - - spec.nodeName=node-1", true),
        ("node-1 cannot list every pod", node("node-1"), "list - pods -", false),
        ("node-1 cannot watch node-2's pods", node("node-1"), "watch - pods - - spec.nodeName=node-2", false),
        ("node-1 reads its pod", node("node-1"), "get - pods shop web", true),
        ("node-1 cannot read node-2's pod", node("node-1"), "get - pods shop db", false),
        ("node-1 cannot read an unbound pod", node("node-1"), "get - pods shop pending", false),
        ("node-1 writes its pod's status", node("node-1"), "update - pods/status shop web", true),
        ("node-1 cannot write node-2's pod's status", node("node-1"), "update - pods/status shop db", false),
        ("node-1 deletes its finished pod", node("node-1"), "delete - pods shop web", true),
        ("node-1 cannot delete node-2's pod", node("node-1"), "delete - pods shop db", false),
        ("node-1 records events", node("node-1"), "create - events shop", true),
        ("node-1 watches every service (pods' service variables)", node("node-1"), "watch - services -", true),
        ("node-1 cannot change a service", node("node-1"), "update - services shop web", false),
        ("node-1 cannot create pods", node("node-1"), "create - pods shop", false),
        ("node-2 reads its pod", node("node-2"), "get - pods shop db", true),
        ("node-2 cannot read node-1's pod", node("node-2"), "get - pods shop web", false),
        ("an impostor outside system:nodes is no node", user("system:node:node-1", &[]), "get - pods shop web", false),
        // a view user: reads workloads everywhere, writes nothing, no policy
        ("viewer lists pods", viewer(), "list - pods shop", true),
        ("viewer reads a deployment", viewer(), "get apps deployments prod web", true),
        ("viewer reads pod logs", viewer(), "get - pods/log shop web", true),
        ("viewer cannot create pods", viewer(), "create - pods shop", false),
        ("viewer cannot read roles", viewer(), "list rbac.authorization.k8s.io roles shop", false),
        ("viewer cannot exec", viewer(), "create - pods/exec shop web", false),
        // an edit user bound in shop only
        ("jane creates pods in shop", jane(), "create - pods shop", true),
        ("jane scales in shop", jane(), "update apps deployments/scale shop web", true),
        ("jane cannot create pods in prod", jane(), "create - pods prod", false),
        ("jane cannot bind in shop", jane(), "create rbac.authorization.k8s.io rolebindings shop", false),
        ("jane cannot list nodes", jane(), "list - nodes -", false),
        ("jane cannot list pods across namespaces", jane(), "list - pods -", false),
        // an admin of shop: its roles and bindings too
        ("ada creates role bindings in shop", ada(), "create rbac.authorization.k8s.io rolebindings shop", true),
        ("ada cannot create cluster roles", ada(), "create rbac.authorization.k8s.io clusterroles -", false),
        // a service account with a role narrowed by resourceNames
        ("ci updates deployment web", sa_ci.clone(), "update apps deployments shop web", true),
        ("ci cannot update deployment db", sa_ci.clone(), "update apps deployments shop db", false),
        ("ci cannot list deployments", sa_ci, "list apps deployments shop", false),
        // no credentials
        ("anonymous cannot read pods", UserInfo::anonymous(), "get - pods shop web", false),
        ("anonymous cannot list namespaces", UserInfo::anonymous(), "list - namespaces -", false),
    ];
    assert!(rows.len() >= 40);
    let mut wrong = Vec::new();
    for (name, who, spec, want) in &rows {
        let got = c.chain.authorize(who, &req(spec)).is_allowed();
        if got != *want {
            wrong.push(format!("{name}: {} {spec:?} allowed={got}, want {want}", who.name));
        }
    }
    assert!(wrong.is_empty(), "{} of {} rows wrong:\n{}", wrong.len(), rows.len(), wrong.join("\n"));
}

#[test]
fn refusals_say_why_in_kubernetes_words() {
    let c = cluster();
    let attrs = req("create - pods prod");
    assert_eq!(c.chain.authorize(&jane(), &attrs), Decision::NoOpinion);
    assert_eq!(
        forbidden_message(&jane(), &attrs, ""),
        "pods is forbidden: User \"jane\" cannot create resource \"pods\" in API group \"\" in the namespace \"prod\""
    );
    let attrs = req("get - pods shop db");
    let Decision::Deny { reason } = c.chain.authorize(&node("node-1"), &attrs) else { panic!("a denial") };
    assert_eq!(
        forbidden_message(&node("node-1"), &attrs, &reason),
        "pods \"db\" is forbidden: User \"system:node:node-1\" cannot get resource \"pods\" in API group \"\" in the \
         namespace \"shop\": no relationship found between node 'node-1' and this object"
    );
}

fn object(yaml: &str) -> Object {
    parse_manifests("case.yaml", yaml).expect("manifest").remove(0)
}

fn role(namespace: &str, rules: &str) -> Object {
    object(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: r, namespace: {namespace}}}\nrules: {rules}"
    ))
}

fn role_binding(namespace: &str, kind: &str, role: &str) -> Object {
    object(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: b, namespace: {namespace}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {kind}, name: {role}}}\n\
         subjects: [{{kind: User, name: joe, apiGroup: rbac.authorization.k8s.io}}]"
    ))
}

#[test]
fn nobody_grants_what_they_do_not_hold() {
    let c = cluster();
    let admit = |who: &UserInfo, new: &Object| escalation::admit(&c.rbac, &c.chain, who, new, None);
    // ada holds admin in shop: a role within it is fine, one beyond it is not
    assert_eq!(admit(&ada(), &role("shop", "[{apiGroups: [''], resources: [pods], verbs: [get, delete]}]")), Ok(()));
    let err = admit(&ada(), &role("shop", "[{apiGroups: [''], resources: [nodes, pods], verbs: [get]}]"))
        .expect_err("nodes are not ada's");
    assert_eq!(
        err.to_string(),
        "roles.rbac.authorization.k8s.io \"r\" is forbidden: user \"ada\" (groups=[\"system:authenticated\"]) is \
         attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"nodes\"], Verbs:[\"get\"]}"
    );
    assert!(
        admit(&ada(), &role("prod", "[{apiGroups: [''], resources: [pods], verbs: [get]}]")).is_err(),
        "not in prod"
    );
    // bindings: ada may grant edit in shop, not cluster-admin, nor anything in prod
    assert_eq!(admit(&ada(), &role_binding("shop", "ClusterRole", "edit")), Ok(()));
    assert!(matches!(
        admit(&ada(), &role_binding("shop", "ClusterRole", "cluster-admin")),
        Err(RbacError::Escalation { .. })
    ));
    assert!(admit(&ada(), &role_binding("prod", "ClusterRole", "view")).is_err());
    assert!(matches!(admit(&ada(), &role_binding("shop", "Role", "missing")), Err(RbacError::RoleNotFound { .. })));
    // the administrator may do anything
    assert_eq!(admit(&admin(), &role_binding("prod", "ClusterRole", "cluster-admin")), Ok(()));
    // the garbage collector may release a role it does not cover
    let old = role("shop", "[{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]");
    let mut released = old.clone();
    capstan_proto::ObjectExt::meta_mut(&mut released).expect("meta").finalizers.push("x".into());
    assert_eq!(escalation::admit(&c.rbac, &c.chain, &controller_manager(), &released, Some(&old)), Ok(()));
}

#[test]
fn bind_and_escalate_verbs_delegate_what_one_does_not_hold() {
    let c = cluster();
    // ada may bind cluster-admin in shop, and escalate her roles in shop
    for object in parse_manifests(
        "delegation.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: delegate, namespace: shop}\nrules:\n\
         - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], resourceNames: [cluster-admin], verbs: [bind]}\n\
         - {apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [escalate]}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: ada-delegates, namespace: shop}\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: delegate}\n\
         subjects: [{kind: User, name: ada, apiGroup: rbac.authorization.k8s.io}]\n",
    )
    .expect("delegation")
    {
        c.rbac.feed().apply(&object);
    }
    let admit = |new: &Object| escalation::admit(&c.rbac, &c.chain, &ada(), new, None);
    assert_eq!(admit(&role_binding("shop", "ClusterRole", "cluster-admin")), Ok(()), "bind allows it");
    assert!(admit(&role_binding("prod", "ClusterRole", "cluster-admin")).is_err(), "only in shop");
    assert_eq!(admit(&role("shop", "[{apiGroups: [''], resources: [nodes], verbs: [delete]}]")), Ok(()), "escalate");
    // the policy follows deletions
    c.rbac.feed().remove(&role_binding("shop", "Role", "delegate").clone());
    let binding = object(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: ada-delegates, namespace: shop}\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: delegate}\n",
    );
    c.rbac.feed().remove(&binding);
    assert!(admit(&role_binding("shop", "ClusterRole", "cluster-admin")).is_err(), "bind is gone with the binding");
}

#[test]
fn node_restriction_keeps_a_kubelet_to_its_own_node_and_away_from_restricted_labels() {
    let node_object = |name: &str, labels: &str| {
        object(&format!("apiVersion: v1\nkind: Node\nmetadata: {{name: {name}, labels: {{{labels}}}}}"))
    };
    let n1 = node("node-1");
    assert_eq!(admit(&n1, &node_object("node-1", "kubernetes.io/hostname: node-1"), None), Ok(()));
    let err = admit(&n1, &node_object("node-2", ""), None).expect_err("another node");
    assert_eq!(
        err.to_string(),
        "nodes \"node-2\" is forbidden: node \"node-1\" is not allowed to modify node \"node-2\""
    );
    let err =
        admit(&n1, &node_object("node-1", "node-restriction.kubernetes.io/gpu: 'true'"), None).expect_err("label");
    assert_eq!(
        err.to_string(),
        "nodes \"node-1\" is forbidden: node \"node-1\" is not allowed to set the following labels: \
         node-restriction.kubernetes.io/gpu"
    );
    let old = node_object("node-1", "example.node-restriction.kubernetes.io/pool: a, team: x");
    let changed = node_object("node-1", "example.node-restriction.kubernetes.io/pool: b, team: y");
    assert!(admit(&n1, &changed, Some(&old))
        .expect_err("changed")
        .to_string()
        .ends_with("is not allowed to modify labels: example.node-restriction.kubernetes.io/pool"));
    let relabelled = node_object("node-1", "example.node-restriction.kubernetes.io/pool: a, team: y");
    assert_eq!(admit(&n1, &relabelled, Some(&old)), Ok(()), "other labels are the kubelet's");
    assert_eq!(admit(&admin(), &changed, Some(&old)), Ok(()), "administrators may");
    let lease =
        object("apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: node-2, namespace: kube-node-lease}");
    assert!(admit(&n1, &lease, None).is_err());
}
