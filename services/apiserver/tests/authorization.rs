//! Node,RBAC authorization through the real door: an API server over TLS on the
//! embedded store and on etcd, with the PKI of `certs init`, each caller with
//! its own identity. Grants made through the API (a RoleBinding) take effect
//! without a restart, and refusals read as Kubernetes writes them.

use capstan_apiserver::door::AuthorizationMode;
use capstan_client::{Client, ListParams};
use capstan_proto::core::v1::{Namespace, Pod};
use capstan_testkit::{at, eventually, forbidden, manifest, pod, Backend, Door, TestCluster};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

async fn secured(backend: Backend) -> Option<TestCluster> {
    TestCluster::start_behind(backend, Door::Secured, |config| {
        config.security.authorization_modes = vec![AuthorizationMode::Node, AuthorizationMode::Rbac];
    })
    .await
}

fn client(cluster: &TestCluster, kubeconfig: &str) -> Client {
    Client::connect_to(&cluster.target(kubeconfig)).expect("a client from the PKI's kubeconfig")
}

#[tokio::test]
async fn each_identity_may_do_what_its_role_grants_and_nothing_else() {
    for backend in [Backend::Embedded, Backend::Etcd] {
        let Some(cluster) = secured(backend).await else { continue };
        let admin = &cluster.client;
        let mut shop = Namespace::default();
        shop.metadata.get_or_insert_with(Default::default).name = "shop".into();
        admin.api::<Namespace>(None).create(&shop).await.expect("admin (system:masters) creates a namespace");
        let pods = admin.api::<Pod>(Some("shop"));
        pods.create(&pod("mine").namespace("shop").node("node-1").build()).await.expect("admin creates a pod");
        pods.create(&pod("theirs").namespace("shop").node("node-2").build()).await.expect("admin creates a pod");

        // a user with no binding: refused in Kubernetes' words
        let jane = cluster.jane();
        let refused = forbidden(jane.api::<Pod>(Some("shop")).list(&ListParams::default()).await);
        assert_eq!(
            refused,
            r#"pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "shop""#
        );

        // bound to view in shop (through the API): reads there, nothing more
        let binding = manifest(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: jane-view, namespace: shop}\n\
             roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n\
             subjects: [{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}]\n",
        );
        admin.create(at("rolebindings", "shop"), binding).await.expect("admin binds jane to view");
        eventually("jane's binding to take effect", TIMEOUT, || async {
            jane.api::<Pod>(Some("shop")).list(&ListParams::default()).await
        })
        .await;
        let create = forbidden(jane.api::<Pod>(Some("shop")).create(&pod("x").namespace("shop").build()).await);
        assert!(create.contains(r#"cannot create resource "pods""#), "{create}");
        forbidden(jane.api::<Pod>(Some("default")).list(&ListParams::default()).await);

        // nor may she grant herself more (she may not even write bindings)
        let grab = manifest(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: jane-admin, namespace: shop}\n\
             roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}\n\
             subjects: [{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}]\n",
        );
        forbidden(jane.create(at("rolebindings", "shop"), grab).await);

        // the scheduler reads pods and nodes cluster-wide, but deletes no namespace
        let scheduler = client(&cluster, "scheduler");
        scheduler.api::<Pod>(None).list(&ListParams::default()).await.expect("the scheduler lists pods");
        forbidden(scheduler.api::<Namespace>(None).delete("shop", &Default::default()).await);

        // node-1: its own pod, not node-2's; its pods only by its field selector
        let node = client(&cluster, "node-node-1");
        node.api::<Pod>(Some("shop")).get("mine").await.expect("node-1 reads its own pod");
        let other = forbidden(node.api::<Pod>(Some("shop")).get("theirs").await);
        assert!(other.contains(r#"User "system:node:node-1""#), "{other}");
        let own = ListParams { field_selector: Some("spec.nodeName=node-1".into()), ..ListParams::default() };
        let (listed, _) = node.api::<Pod>(None).list(&own).await.expect("node-1 lists its pods");
        assert_eq!(listed.len(), 1);
        forbidden(node.api::<Pod>(None).list(&ListParams::default()).await);

        cluster.stop().await;
    }
}
