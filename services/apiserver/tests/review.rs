//! The review service and impersonation through the real door: an API server
//! over TLS with Node,RBAC, each caller with its own identity (the admin's
//! client certificate, jane's token). Who-am-I and may-I are answered by the
//! same authorizer as the requests themselves; impersonation needs the
//! `impersonate` verb and then is judged as the impersonated user.

use capstan_apiserver::door::AuthorizationMode;
use capstan_client::{Client, ClientError, Credentials, Impersonation, ListParams};
use capstan_proto::authorization::v1::ResourceAttributes;
use capstan_proto::core::v1::{Namespace, Pod};
use capstan_testkit::cluster::TOKEN;
use capstan_testkit::{at, eventually, forbidden, manifest, Backend, Door, TestCluster};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

async fn secured() -> TestCluster {
    TestCluster::start_behind(Backend::Embedded, Door::Secured, |config| {
        config.security.authorization_modes = vec![AuthorizationMode::Node, AuthorizationMode::Rbac];
    })
    .await
    .expect("the embedded store needs no daemon")
}

fn as_someone(who: Option<&str>, groups: &[&str]) -> Impersonation {
    Impersonation { user: who.map(String::from), groups: groups.iter().map(|g| g.to_string()).collect() }
}

/// The admin (client certificate, system:masters), acting as `who` when given.
fn admin(cluster: &TestCluster, who: Impersonation) -> Client {
    let mut target = cluster.target("admin");
    target.credentials.impersonate = who;
    Client::connect_to(&target).expect("the admin's client")
}

/// jane: a token user in groups dev and ops, bound to nothing at first.
fn jane(cluster: &TestCluster, who: Impersonation) -> Client {
    cluster.client_with(Credentials { token: Some(TOKEN.into()), impersonate: who, ..Credentials::default() })
}

fn list_pods_in(namespace: &str) -> ResourceAttributes {
    ResourceAttributes {
        verb: "list".into(),
        resource: "pods".into(),
        namespace: namespace.into(),
        ..Default::default()
    }
}

async fn who(client: &Client) -> (String, String, Vec<String>) {
    let review = client.self_subject_review().await.expect("a SelfSubjectReview");
    assert_eq!((review.api_version.as_str(), review.kind.as_str()), ("authentication.k8s.io/v1", "SelfSubjectReview"));
    let user = review.status.and_then(|s| s.user_info).expect("the user");
    (user.username, user.uid, user.groups)
}

async fn may(client: &Client, asked: ResourceAttributes) -> bool {
    let review = client.self_subject_access_review(asked).await.expect("a SelfSubjectAccessReview");
    review.status.expect("answered").allowed
}

async fn create_namespace(admin: &Client, name: &str) {
    let mut ns = Namespace::default();
    ns.metadata.get_or_insert_with(Default::default).name = name.into();
    admin.api::<Namespace>(None).create(&ns).await.expect("admin creates a namespace");
}

#[tokio::test]
async fn whoami_names_the_certificates_and_the_tokens_user() {
    let cluster = secured().await;
    let (name, _, groups) = who(&admin(&cluster, Impersonation::default())).await;
    assert_eq!(
        (name.as_str(), groups.as_slice()),
        ("admin", &["system:masters".to_string(), "system:authenticated".into()][..])
    );
    let (name, uid, groups) = who(&jane(&cluster, Impersonation::default())).await;
    assert_eq!((name.as_str(), uid.as_str()), ("jane", "1001"));
    assert_eq!(groups, ["dev", "ops", "system:authenticated"]);
    cluster.stop().await;
}

#[tokio::test]
async fn can_i_answers_as_the_authorizer_judges_requests() {
    let cluster = secured().await;
    let admin = admin(&cluster, Impersonation::default());
    create_namespace(&admin, "shop").await;
    let jane = jane(&cluster, Impersonation::default());
    assert!(may(&admin, list_pods_in("shop")).await);
    assert!(!may(&jane, list_pods_in("shop")).await);

    let binding = manifest(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: jane-view, namespace: shop}\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n\
         subjects: [{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}]\n",
    );
    admin.create(at("rolebindings", "shop"), binding).await.expect("admin binds jane to view");
    eventually("jane's binding to answer yes", TIMEOUT, || async {
        may(&jane, list_pods_in("shop")).await.then_some(())
    })
    .await;
    // the answer is the request's: she lists there, and not elsewhere
    jane.api::<Pod>(Some("shop")).list(&ListParams::default()).await.expect("jane lists pods in shop");
    assert!(!may(&jane, list_pods_in("default")).await);
    let create = ResourceAttributes { verb: "create".into(), ..list_pods_in("shop") };
    assert!(!may(&jane, create).await);

    // a question Kubernetes' words cannot ask is the caller's error
    let bad = ResourceAttributes { verb: "destroy".into(), ..list_pods_in("shop") };
    match jane.self_subject_access_review(bad).await {
        Err(ClientError::Invalid { message, .. }) => {
            assert!(message.contains(r#"Unsupported value: "destroy""#), "{message}")
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    cluster.stop().await;
}

#[tokio::test]
async fn impersonation_needs_the_verb_and_is_then_judged_as_the_impersonated_user() {
    let cluster = secured().await;
    let admin_itself = admin(&cluster, Impersonation::default());
    create_namespace(&admin_itself, "shop").await;

    // jane may not impersonate anyone, on a resource call or a review alike
    let jane_as_bob = jane(&cluster, as_someone(Some("bob"), &[]));
    let refused = forbidden(jane_as_bob.api::<Pod>(Some("shop")).list(&ListParams::default()).await);
    assert_eq!(
        refused,
        r#"users "bob" is forbidden: User "jane" cannot impersonate resource "users" in API group "" at the cluster scope"#
    );
    forbidden(jane_as_bob.self_subject_review().await);

    // the admin (cluster-admin) may; as jane it is refused what jane is refused
    let admin_as_jane = admin(&cluster, as_someone(Some("jane"), &[]));
    let (name, _, groups) = who(&admin_as_jane).await;
    assert_eq!((name.as_str(), groups.as_slice()), ("jane", &["system:authenticated".to_string()][..]));
    let refused = forbidden(admin_as_jane.api::<Pod>(Some("shop")).list(&ListParams::default()).await);
    assert_eq!(
        refused,
        r#"pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "shop""#
    );
    assert!(!may(&admin_as_jane, list_pods_in("shop")).await);
    // and in a group that may, it may
    let admin_as_master_jane = admin(&cluster, as_someone(Some("jane"), &["system:masters"]));
    admin_as_master_jane
        .api::<Pod>(Some("shop"))
        .list(&ListParams::default())
        .await
        .expect("jane in system:masters lists");

    // granted impersonate on bob (and no group), jane acts as bob, judged as bob
    let role = manifest(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: impersonate-bob}\n\
         rules: [{apiGroups: [''], resources: [users], resourceNames: [bob], verbs: [impersonate]}]\n",
    );
    admin_itself.create(at("clusterroles", ""), role).await.expect("the role");
    let binding = manifest(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: jane-impersonates-bob}\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: impersonate-bob}\n\
         subjects: [{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}]\n",
    );
    admin_itself.create(at("clusterrolebindings", ""), binding).await.expect("the binding");
    let as_bob =
        eventually("jane's grant to impersonate bob", TIMEOUT, || async { jane_as_bob.self_subject_review().await })
            .await;
    assert_eq!(as_bob.status.and_then(|s| s.user_info).map(|u| u.username).as_deref(), Some("bob"));
    let refused = forbidden(jane_as_bob.api::<Pod>(Some("shop")).list(&ListParams::default()).await);
    assert!(refused.starts_with(r#"pods is forbidden: User "bob" cannot list"#), "{refused}");
    // a group she was not granted is refused by name
    let jane_as_bob_in_dev = jane(&cluster, as_someone(Some("bob"), &["dev"]));
    assert_eq!(
        forbidden(jane_as_bob_in_dev.self_subject_review().await),
        r#"groups "dev" is forbidden: User "jane" cannot impersonate resource "groups" in API group "" at the cluster scope"#
    );

    // what runs behind the hook judges the impersonated user too: jane may
    // write bindings in shop but holds nothing to grant, so the admin acting
    // as jane may not grant view there (RBAC escalation), as jane may not
    let binder = manifest(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: binder, namespace: shop}\n\
         rules: [{apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}]\n",
    );
    admin_itself.create(at("roles", "shop"), binder).await.expect("the binder role");
    let jane_binds = manifest(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: jane-binds, namespace: shop}\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: binder}\n\
         subjects: [{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}]\n",
    );
    admin_itself.create(at("rolebindings", "shop"), jane_binds).await.expect("jane may write bindings");
    let grant_view = || {
        manifest(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: bob-view, namespace: shop}\n\
             roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n\
             subjects: [{kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}]\n",
        )
    };
    let create = ResourceAttributes {
        verb: "create".into(),
        resource: "rolebindings".into(),
        group: "rbac.authorization.k8s.io".into(),
        ..list_pods_in("shop")
    };
    eventually("jane's binder grant", TIMEOUT, || async { may(&admin_as_jane, create.clone()).await.then_some(()) })
        .await;
    let escalation = forbidden(admin_as_jane.create(at("rolebindings", "shop"), grant_view()).await);
    assert!(
        escalation.contains(r#"user "jane" (groups=["system:authenticated"]) is attempting to grant"#),
        "{escalation}"
    );
    admin_itself.create(at("rolebindings", "shop"), grant_view()).await.expect("the admin itself may grant view");

    // the audit event names both: the user who called and whom it acted as
    let log = cluster.audit_log();
    eventually("the impersonated call's audit event", TIMEOUT, || async {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find(|event| {
            event["user"]["username"] == "jane"
                && event["impersonatedUser"]["username"] == "bob"
                && event["objectRef"]["resource"] == "pods"
                && event["responseStatus"]["code"] == 403
        })
    })
    .await;
    cluster.stop().await;
}
