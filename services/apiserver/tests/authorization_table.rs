//! Who may do what, as one table: identity × verb × resource × namespace,
//! run against a real API server over TLS with Node,RBAC on the embedded
//! store and on etcd. Each identity speaks with its own credentials, as in a
//! running cluster: the admin, the components' certificates from `certs
//! init`, node-1's kubelet on its own pod and on node-2's, a `view` user, an
//! `edit` user in one namespace, an `admin` of one namespace trying to grant
//! more than it holds (escalation, judged on the object a write would store),
//! a caller with no credentials, a bad token and another CA's certificate.
//!
//! A row passes when the authorization outcome is the expected one: an
//! allowed call may still fail for its own reasons (the object does not
//! exist, it conflicts), which shows the door let it through; a refusal must
//! be a 403 naming the caller, an unauthenticated call a 401.

use capstan_apiserver::door::AuthorizationMode;
use capstan_client::{Client, ClientError, Credentials, DeleteParams};
use capstan_pki::issue::{Ca, Profile, Usage};
use capstan_proto::api::v1::{ListOptions, Object, ResourceRef};
use capstan_proto::Resource;
use capstan_testkit::{eventually, manifest, pod, Backend, Door, TestCluster};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// What the door should make of a row's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// authorized (and admitted): any answer but 401/403
    Allowed,
    /// 403 in Kubernetes' words, naming the caller
    Forbidden,
    /// 401 Unauthorized
    Unauthenticated,
    /// the TLS handshake fails: the certificate is not from the cluster's CA
    NoHandshake,
}
use Expect::*;

/// A call a row makes.
#[derive(Debug, Clone)]
enum Call {
    Get,
    List(&'static str),
    Watch(&'static str),
    Create(Object),
    Update(Object),
    Patch(serde_json::Value),
    Delete,
}

struct Row {
    who: &'static str,
    call: Call,
    /// `pods`, or `pods/status` for a subresource
    resource: &'static str,
    namespace: &'static str,
    name: &'static str,
    expect: Expect,
}

fn row(
    who: &'static str,
    call: Call,
    resource: &'static str,
    namespace: &'static str,
    name: &'static str,
    expect: Expect,
) -> Row {
    Row { who, call, resource, namespace, name, expect }
}

fn role(namespace: &str, name: &str, rules: &str) -> Object {
    manifest(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: {name}, namespace: {namespace}}}\nrules: {rules}\n"
    ))
}

fn binding(kind: &str, namespace: &str, name: &str, role_kind: &str, role: &str, user: &str) -> Object {
    let namespace = if namespace.is_empty() { String::new() } else { format!(", namespace: {namespace}") };
    manifest(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {{name: {name}{namespace}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: {role}}}\n\
         subjects: [{{kind: User, name: {user}, apiGroup: rbac.authorization.k8s.io}}]\n"
    ))
}

fn lease(name: &str) -> Object {
    manifest(&format!(
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {{name: {name}, namespace: kube-node-lease}}\n\
         spec: {{holderIdentity: {name}}}\n"
    ))
}

fn event(namespace: &str, name: &str) -> Object {
    manifest(&format!(
        "apiVersion: v1\nkind: Event\nmetadata: {{name: {name}, namespace: {namespace}}}\n\
         involvedObject: {{kind: Pod, name: mine, namespace: {namespace}}}\nreason: Tested\nmessage: a row\n"
    ))
}

fn deployment(namespace: &str, name: &str) -> Object {
    manifest(&format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {namespace}}}\n\
         spec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n\
         \x20   spec: {{containers: [{{name: c, image: busybox}}]}}\n"
    ))
}

fn replica_set(namespace: &str, name: &str) -> Object {
    manifest(&format!(
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {{name: {name}, namespace: {namespace}}}\n\
         spec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n\
         \x20   spec: {{containers: [{{name: c, image: busybox}}]}}\n"
    ))
}

fn a_pod(namespace: &str, name: &str) -> Object {
    pod(name).namespace(namespace).build().into_object()
}

fn namespace(name: &str) -> Object {
    manifest(&format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}}}\n"))
}

/// Every row; the fixture (namespace `shop`, pods `mine` on node-1 and
/// `theirs` on node-2, the users' bindings, jane's role) is made by the admin
/// first. Names that do not exist (`ghost`) show an allowed call reaching the
/// registry, which answers NotFound, without changing the fixture.
fn rows(mine: &Object) -> Vec<Row> {
    let escalating_rules = "[{apiGroups: [\"\"], resources: [nodes], verbs: [get]}]";
    let held_rules = "[{apiGroups: [\"\"], resources: [pods], verbs: [get, list]}]";
    vec![
        // the admin (system:masters) may do anything
        row("admin", Call::Create(a_pod("shop", "made-by-admin")), "pods", "shop", "", Allowed),
        row("admin", Call::Delete, "namespaces", "", "ghost", Allowed),
        row("admin", Call::List(""), "clusterrolebindings", "", "", Allowed),
        row("admin", Call::Watch(""), "pods", "", "", Allowed),
        row("admin", Call::Get, "deployments/scale", "shop", "ghost", Allowed),
        // the scheduler: reads pods and nodes, binds, records events; nothing else
        row("scheduler", Call::List(""), "pods", "", "", Allowed),
        row("scheduler", Call::Watch(""), "nodes", "", "", Allowed),
        row("scheduler", Call::Update(a_pod("shop", "ghost")), "pods/status", "shop", "ghost", Allowed),
        row("scheduler", Call::Create(event("shop", "scheduled")), "events", "shop", "", Allowed),
        row("scheduler", Call::Create(a_pod("shop", "sneaky")), "pods", "shop", "", Forbidden),
        row("scheduler", Call::Delete, "namespaces", "", "shop", Forbidden),
        row("scheduler", Call::List(""), "rolebindings", "", "", Forbidden),
        // the controller-manager: creates pods and replica sets, not deployments or namespaces
        row("controller-manager", Call::Create(replica_set("shop", "rs")), "replicasets", "shop", "", Allowed),
        row("controller-manager", Call::Delete, "pods", "shop", "ghost", Allowed),
        row("controller-manager", Call::Watch(""), "deployments", "", "", Allowed),
        row("controller-manager", Call::Create(deployment("shop", "d")), "deployments", "shop", "", Forbidden),
        row("controller-manager", Call::Create(namespace("cm-made")), "namespaces", "", "", Forbidden),
        row(
            "controller-manager",
            Call::Create(binding("ClusterRoleBinding", "", "cm-grab", "ClusterRole", "cluster-admin", "x")),
            "clusterrolebindings",
            "",
            "",
            Forbidden,
        ),
        // the proxy: services and endpoints, read only
        row("proxy", Call::List(""), "services", "", "", Allowed),
        row("proxy", Call::Watch(""), "endpoints", "", "", Allowed),
        row("proxy", Call::Get, "pods", "shop", "mine", Forbidden),
        row("proxy", Call::Delete, "services", "shop", "ghost", Forbidden),
        // cluster DNS: services and endpointslices, read only
        row("dns", Call::List(""), "services", "", "", Allowed),
        row("dns", Call::Watch(""), "endpointslices", "", "", Allowed),
        row("dns", Call::List(""), "pods", "", "", Forbidden),
        row("dns", Call::Delete, "services", "shop", "ghost", Forbidden),
        // node-1's kubelet: its own node, lease and pods; nothing of node-2's
        row("node-1", Call::Get, "pods", "shop", "mine", Allowed),
        row("node-1", Call::Get, "pods", "shop", "theirs", Forbidden),
        row("node-1", Call::List("spec.nodeName=node-1"), "pods", "", "", Allowed),
        row("node-1", Call::Watch("spec.nodeName=node-1"), "pods", "", "", Allowed),
        row("node-1", Call::List(""), "pods", "", "", Forbidden),
        row("node-1", Call::Update(mine.clone()), "pods/status", "shop", "mine", Allowed),
        row("node-1", Call::Delete, "pods", "shop", "theirs", Forbidden),
        row("node-1", Call::Get, "nodes", "", "node-1", Allowed),
        row("node-1", Call::Patch(json!({"metadata": {"labels": {"disk": "ssd"}}})), "nodes", "", "node-2", Forbidden),
        // NodeRestriction: the node's own object, but a restricted label
        row(
            "node-1",
            Call::Patch(json!({"metadata": {"labels": {"node-restriction.kubernetes.io/pool": "gold"}}})),
            "nodes",
            "",
            "node-1",
            Forbidden,
        ),
        row("node-1", Call::Create(lease("node-1")), "leases", "kube-node-lease", "", Allowed),
        row("node-1", Call::Create(lease("node-2")), "leases", "kube-node-lease", "", Forbidden),
        row("node-1", Call::Create(event("shop", "started")), "events", "shop", "", Allowed),
        row("node-1", Call::Delete, "namespaces", "", "shop", Forbidden),
        // vera: view, cluster-wide
        row("vera", Call::List(""), "pods", "shop", "", Allowed),
        row("vera", Call::Watch(""), "deployments", "", "", Allowed),
        row("vera", Call::Get, "deployments/scale", "shop", "ghost", Allowed),
        row("vera", Call::Create(a_pod("shop", "vera-made")), "pods", "shop", "", Forbidden),
        row("vera", Call::Delete, "services", "shop", "ghost", Forbidden),
        row("vera", Call::List(""), "rolebindings", "shop", "", Forbidden),
        // eddie: edit in shop only
        row("eddie", Call::Create(a_pod("shop", "eddie-made")), "pods", "shop", "", Allowed),
        row("eddie", Call::Delete, "pods", "shop", "ghost", Allowed),
        row("eddie", Call::Update(deployment("shop", "ghost")), "deployments", "shop", "ghost", Allowed),
        row("eddie", Call::List(""), "pods", "default", "", Forbidden),
        row("eddie", Call::Create(a_pod("default", "eddie-made")), "pods", "default", "", Forbidden),
        row(
            "eddie",
            Call::Create(binding("RoleBinding", "shop", "eddie-grab", "ClusterRole", "admin", "eddie")),
            "rolebindings",
            "shop",
            "",
            Forbidden,
        ),
        // jane: admin of shop; she writes roles, but grants nothing she lacks
        row("jane", Call::Create(role("shop", "reader", held_rules)), "roles", "shop", "", Allowed),
        row(
            "jane",
            Call::Create(binding("RoleBinding", "shop", "jane-edit", "ClusterRole", "edit", "eddie")),
            "rolebindings",
            "shop",
            "",
            Allowed,
        ),
        row("jane", Call::Create(role("shop", "node-reader", escalating_rules)), "roles", "shop", "", Forbidden),
        row(
            "jane",
            Call::Create(binding("RoleBinding", "shop", "jane-root", "ClusterRole", "cluster-admin", "jane")),
            "rolebindings",
            "shop",
            "",
            Forbidden,
        ),
        row(
            "jane",
            Call::Patch(json!({"rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})),
            "roles",
            "shop",
            "jane-held",
            Forbidden,
        ),
        row(
            "jane",
            Call::Create(binding("ClusterRoleBinding", "", "jane-view", "ClusterRole", "view", "jane")),
            "clusterrolebindings",
            "",
            "",
            Forbidden,
        ),
        // no credentials, a bad token, another CA's certificate
        row("anonymous", Call::List(""), "pods", "shop", "", Unauthenticated),
        row("anonymous", Call::Get, "namespaces", "", "shop", Unauthenticated),
        row("bad-token", Call::List(""), "pods", "", "", Unauthenticated),
        row("bad-token", Call::Create(a_pod("shop", "bad")), "pods", "shop", "", Unauthenticated),
        row("foreign", Call::List(""), "pods", "", "", NoHandshake),
    ]
}

/// The user a row's refusal must name.
fn user_of(who: &str) -> &str {
    match who {
        "scheduler" => "system:kube-scheduler",
        "controller-manager" => "system:kube-controller-manager",
        "proxy" => "system:kube-proxy",
        "dns" => "system:kube-dns",
        "node-1" => "system:node:node-1",
        other => other,
    }
}

struct Callers {
    clients: HashMap<&'static str, Client>,
}

impl Callers {
    fn new(cluster: &TestCluster) -> Callers {
        let layout = capstan_pki::Layout::new(cluster.pki());
        let ca_pem = std::fs::read(layout.ca_cert()).expect("the cluster CA");
        let ca = Ca::from_pem(
            &String::from_utf8_lossy(&ca_pem),
            &std::fs::read_to_string(layout.ca_key()).expect("the cluster CA's key"),
        )
        .expect("the cluster CA signs");
        let now = time::OffsetDateTime::now_utc();
        let user_cert = |ca: &Ca, user: &str, group: Option<&str>| {
            let profile =
                Profile { common_name: user.into(), group: group.map(Into::into), sans: vec![], usage: Usage::Client };
            let issued = ca.issue(&profile, now).expect("a user certificate");
            Credentials {
                ca_pem: Some(ca_pem.clone()),
                client_cert_pem: Some(issued.cert_pem.into_bytes()),
                client_key_pem: Some(issued.key_pem.into_bytes()),
                ..Credentials::default()
            }
        };
        let with = |credentials: &Credentials| Client::connect_with(&cluster.url(), credentials).expect("a client");
        let from_kubeconfig = |name: &str| cluster.client_as(name);
        let foreign_ca = Ca::generate(now).expect("another CA");
        let mut clients = HashMap::new();
        clients.insert("admin", cluster.client.clone());
        clients.insert("scheduler", from_kubeconfig("scheduler"));
        clients.insert("controller-manager", from_kubeconfig("controller-manager"));
        clients.insert("proxy", from_kubeconfig("proxy"));
        clients.insert("dns", from_kubeconfig("dns"));
        clients.insert("node-1", from_kubeconfig("node-node-1"));
        clients.insert("vera", with(&user_cert(&ca, "vera", None)));
        clients.insert("eddie", with(&user_cert(&ca, "eddie", Some("editors"))));
        clients.insert("jane", with(&user_cert(&ca, "jane", None)));
        let anonymous = Credentials { ca_pem: Some(ca_pem.clone()), ..Credentials::default() };
        clients.insert("anonymous", with(&anonymous));
        clients.insert("bad-token", with(&Credentials { token: Some("not-a-token".into()), ..anonymous.clone() }));
        let mut foreign = user_cert(&foreign_ca, "mallory", Some("system:masters"));
        foreign.ca_pem = Some(ca_pem.clone());
        clients.insert("foreign", with(&foreign));
        Callers { clients }
    }

    fn of(&self, who: &str) -> &Client {
        self.clients.get(who).unwrap_or_else(|| panic!("no client for {who}"))
    }
}

/// Runs a row's call; `Ok(())` for any answer the registry gave.
async fn run(client: &Client, row: &Row) -> Result<(), ClientError> {
    let (resource, subresource) = row.resource.split_once('/').unwrap_or((row.resource, ""));
    let target = ResourceRef {
        resource: resource.into(),
        namespace: row.namespace.into(),
        name: row.name.into(),
        subresource: subresource.into(),
    };
    let options = |selector: &str| ListOptions { field_selector: selector.into(), ..ListOptions::default() };
    let answer = match &row.call {
        Call::Get => client.get(target).await.map(drop),
        Call::List(selector) => client.list(target, options(selector)).await.map(drop),
        Call::Watch(selector) => client.watch(target, options(selector)).await.map(drop),
        Call::Create(object) => client.create(target, object.clone()).await.map(drop),
        Call::Update(object) => client.update(target, object.clone()).await.map(drop),
        Call::Patch(patch) => client.patch_merge(target, patch).await.map(drop),
        Call::Delete => client.delete(target, &DeleteParams::default()).await.map(drop),
    };
    match answer {
        Err(ClientError::NotFound { .. } | ClientError::Conflict { .. } | ClientError::AlreadyExists { .. }) => Ok(()),
        other => other,
    }
}

/// What is wrong with a row's outcome, if anything.
fn judge(row: &Row, outcome: Result<(), ClientError>) -> Option<String> {
    let what = format!("{} {:?} {} in {:?} {:?}", row.who, row.call_name(), row.resource, row.namespace, row.name);
    match (row.expect, outcome) {
        (Allowed, Ok(())) => None,
        (Forbidden, Err(ClientError::Forbidden { message })) => {
            let named = message.contains(&format!("User \"{}\"", user_of(row.who)))
                || message.contains(&format!("user \"{}\"", user_of(row.who)))
                || message.contains(&format!("node \"{}\"", row.who))
                || message.contains("node lease");
            (!named).then(|| format!("{what}: the refusal does not name the caller: {message}"))
        }
        (Unauthenticated, Err(ClientError::Unauthenticated { message })) if message.contains("Unauthorized") => None,
        (NoHandshake, Err(error))
            if !matches!(error, ClientError::Forbidden { .. } | ClientError::Unauthenticated { .. }) =>
        {
            let text = error.to_string();
            (!text.to_lowercase().contains("certificate") && !text.contains("alert"))
                .then(|| format!("{what}: expected a failed handshake, got {text}"))
        }
        (expected, outcome) => Some(format!("{what}: expected {expected:?}, got {outcome:?}")),
    }
}

impl Row {
    fn call_name(&self) -> &'static str {
        match self.call {
            Call::Get => "get",
            Call::List(_) => "list",
            Call::Watch(_) => "watch",
            Call::Create(_) => "create",
            Call::Update(_) => "update",
            Call::Patch(_) => "patch",
            Call::Delete => "delete",
        }
    }
}

/// The admin makes the namespace, the pods, node-1's and node-2's Nodes and
/// the users' bindings, then waits until the authorizer's index has them.
async fn fixture(cluster: &TestCluster, callers: &Callers) -> Object {
    let admin = &cluster.client;
    let at = |resource: &str, namespace: &str| ResourceRef {
        resource: resource.into(),
        namespace: namespace.into(),
        ..ResourceRef::default()
    };
    admin.create(at("namespaces", ""), namespace("shop")).await.expect("namespace shop");
    for node in ["node-1", "node-2"] {
        admin
            .create(at("nodes", ""), manifest(&format!("apiVersion: v1\nkind: Node\nmetadata: {{name: {node}}}\n")))
            .await
            .expect("a node");
    }
    let mine = admin
        .create(at("pods", "shop"), pod("mine").namespace("shop").node("node-1").build().into_object())
        .await
        .expect("node-1's pod");
    admin
        .create(at("pods", "shop"), pod("theirs").namespace("shop").node("node-2").build().into_object())
        .await
        .expect("node-2's pod");
    let grants = [
        ("clusterrolebindings", "", binding("ClusterRoleBinding", "", "vera-view", "ClusterRole", "view", "vera")),
        ("rolebindings", "shop", binding("RoleBinding", "shop", "eddie-edit", "ClusterRole", "edit", "eddie")),
        ("rolebindings", "shop", binding("RoleBinding", "shop", "jane-admin", "ClusterRole", "admin", "jane")),
        ("roles", "shop", role("shop", "jane-held", "[{apiGroups: [\"\"], resources: [pods], verbs: [get]}]")),
    ];
    for (resource, namespace, object) in grants {
        admin.create(at(resource, namespace), object).await.expect("a grant");
    }
    for who in ["vera", "eddie", "jane"] {
        let client = callers.of(who);
        eventually(&format!("{who}'s binding to take effect"), TIMEOUT, || async {
            client.list(at("pods", "shop"), ListOptions::default()).await
        })
        .await;
    }
    // node-1 sees its pod once the Node authorizer's graph has it
    let node = callers.of("node-1");
    eventually("node-1's pod in the node graph", TIMEOUT, || async {
        node.get(ResourceRef { name: "mine".into(), ..at("pods", "shop") }).await
    })
    .await;
    mine
}

#[tokio::test]
async fn every_identity_is_allowed_exactly_what_its_role_grants() {
    for backend in [Backend::Embedded, Backend::Etcd] {
        let Some(cluster) = TestCluster::start_behind(backend, Door::Secured, |config| {
            config.security.authorization_modes = vec![AuthorizationMode::Node, AuthorizationMode::Rbac];
        })
        .await
        else {
            continue;
        };
        let callers = Callers::new(&cluster);
        let mine = fixture(&cluster, &callers).await;
        let rows = rows(&mine);
        assert!(rows.len() >= 40, "the table keeps at least 40 rows");
        let mut wrong = Vec::new();
        for row in &rows {
            let outcome = run(callers.of(row.who), row).await;
            wrong.extend(judge(row, outcome));
        }
        assert!(
            wrong.is_empty(),
            "on {backend:?}, {} of {} rows are wrong:\n{}",
            wrong.len(),
            rows.len(),
            wrong.join("\n")
        );
        // the audit log holds the allowed calls and the refusals alike (the
        // rows checked come early, so the log's writer has had them long since)
        let events = cluster.audit_events();
        let audited = |who: &str, code: u64| {
            events.iter().any(|e| e["user"]["username"] == who && e["responseStatus"]["code"] == code)
        };
        assert!(audited("eddie", 201), "eddie's allowed create is audited");
        assert!(audited("eddie", 403), "eddie's refused create is audited");
        assert!(audited("vera", 403), "vera's refused create is audited");
        cluster.stop().await;
    }
}
