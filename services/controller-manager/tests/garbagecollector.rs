//! Cascading deletion through the garbage collector alone: owners and
//! dependents are written by hand (no ReplicaSet controller runs), pods are
//! never scheduled, so each delete is immediate unless a finalizer holds it.

mod common;

use capstan_client::{Client, DeleteParams, PropagationPolicy};
use capstan_controller_manager::ownership::controller_reference;
use capstan_proto::apps::v1::{Deployment, DeploymentSpec, ReplicaSet, ReplicaSetSpec};
use capstan_proto::core::v1::Pod;
use capstan_proto::meta::v1::{ObjectMeta, OwnerReference};
use capstan_proto::Resource;
use common::*;

const NS: &str = "default";
/// A finalizer only the test removes: keeps a deleted pod around, so the
/// test can see what its owner does meanwhile.
const HOLD: &str = "test.capstan.io/hold";

async fn replica_set(client: &Client, name: &str, owner: Option<OwnerReference>) -> ReplicaSet {
    let labels = [("app", name)];
    let rs = ReplicaSet {
        metadata: Some(ObjectMeta {
            name: name.into(),
            namespace: NS.into(),
            owner_references: owner.into_iter().collect(),
            ..Default::default()
        }),
        spec: Some(ReplicaSetSpec {
            replicas: Some(0),
            selector: Some(selector(&labels)),
            template: Some(template(&labels, "capstan/test:1")),
            ..Default::default()
        }),
        ..Default::default()
    };
    client.api::<ReplicaSet>(Some(NS)).create(&rs).await.expect("create replica set")
}

/// A pod owned by `owner`; `block` sets blockOwnerDeletion.
async fn owned_pod<K: Resource>(client: &Client, name: &str, owner: &K, block: bool, finalizers: &[&str]) -> Pod {
    let mut pod = pod(name, &[("app", "owned")]);
    let meta = pod.metadata_mut();
    let mut reference = controller_reference(owner);
    reference.block_owner_deletion = Some(block);
    meta.owner_references = vec![reference];
    meta.finalizers = finalizers.iter().map(|f| f.to_string()).collect();
    client.api::<Pod>(Some(NS)).create(&pod).await.expect("create pod")
}

async fn gone<K: Resource + std::fmt::Debug>(client: &Client, name: &str) {
    wait_object::<K>(client, Some(NS), name, |o| o.is_none()).await;
}

async fn delete<K: Resource>(client: &Client, name: &str, policy: PropagationPolicy) -> Option<K> {
    let deletion = client
        .api::<K>(Some(NS))
        .delete(name, &DeleteParams::default().propagation(policy))
        .await
        .expect("delete owner");
    deletion.object
}

#[tokio::test]
async fn background_deletion_cascades_down_an_owner_chain() {
    let cluster = cluster().await;
    let client = &cluster.client;
    let manager = start_controllers(&cluster, &["garbagecollector"]).await;
    let deployment = Deployment {
        metadata: Some(ObjectMeta { name: "web".into(), namespace: NS.into(), ..Default::default() }),
        spec: Some(DeploymentSpec {
            selector: Some(selector(&[("app", "web")])),
            template: Some(template(&[("app", "web")], "capstan/test:1")),
            ..Default::default()
        }),
        ..Default::default()
    };
    let deployment = client.api::<Deployment>(Some(NS)).create(&deployment).await.expect("create deployment");
    let rs = replica_set(client, "web-1", Some(controller_reference(&deployment))).await;
    owned_pod(client, "web-1-a", &rs, true, &[]).await;
    owned_pod(client, "web-1-b", &rs, false, &[]).await;
    let bystander = client.api::<Pod>(Some(NS)).create(&pod("bystander", &[("app", "web")])).await.expect("create");

    delete::<Deployment>(client, "web", PropagationPolicy::Background).await;
    gone::<ReplicaSet>(client, "web-1").await;
    gone::<Pod>(client, "web-1-a").await;
    gone::<Pod>(client, "web-1-b").await;
    let still = client.api::<Pod>(Some(NS)).get("bystander").await.expect("an unowned pod stays");
    assert_eq!(still.meta().uid, bystander.meta().uid);
    manager.stop().await.expect("stop");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn foreground_deletion_keeps_the_owner_until_blocking_dependents_are_gone() {
    let cluster = cluster().await;
    let client = &cluster.client;
    let manager = start_controllers(&cluster, &["garbagecollector"]).await;
    let rs = replica_set(client, "api", None).await;
    owned_pod(client, "api-held", &rs, true, &[HOLD]).await;
    owned_pod(client, "api-plain", &rs, true, &[]).await;
    owned_pod(client, "api-free", &rs, false, &[]).await;

    let marked: ReplicaSet = delete(client, "api", PropagationPolicy::Foreground).await.expect("the owner stays");
    assert!(marked.meta().finalizers.iter().any(|f| f == "foregroundDeletion"), "{:?}", marked.meta());
    assert!(marked.meta().deletion_timestamp.is_some());

    gone::<Pod>(client, "api-plain").await;
    gone::<Pod>(client, "api-free").await;
    let held: Pod = wait_object(client, Some(NS), "api-held", |p: Option<&Pod>| {
        p.is_some_and(|p| p.meta().deletion_timestamp.is_some())
    })
    .await
    .expect("the held pod is deleted but stays");
    let owner = client.api::<ReplicaSet>(Some(NS)).get("api").await.expect("the owner waits for its blocking pod");
    assert!(owner.meta().finalizers.iter().any(|f| f == "foregroundDeletion"));

    let mut released = held;
    released.metadata_mut().finalizers.clear();
    client.api::<Pod>(Some(NS)).update(&released).await.expect("release the held pod");
    gone::<Pod>(client, "api-held").await;
    gone::<ReplicaSet>(client, "api").await;
    manager.stop().await.expect("stop");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn orphan_deletion_leaves_dependents_without_the_reference() {
    let cluster = cluster().await;
    let client = &cluster.client;
    let manager = start_controllers(&cluster, &["garbagecollector"]).await;
    let rs = replica_set(client, "db", None).await;
    let other = replica_set(client, "db-other", None).await;
    owned_pod(client, "db-a", &rs, true, &[]).await;
    // two owners: only the deleted one's reference goes
    let mut shared = pod("db-b", &[("app", "owned")]);
    shared.metadata_mut().owner_references = vec![controller_reference(&rs), {
        let mut r = controller_reference(&other);
        r.controller = Some(false);
        r
    }];
    client.api::<Pod>(Some(NS)).create(&shared).await.expect("create");

    let marked: ReplicaSet = delete(client, "db", PropagationPolicy::Orphan).await.expect("the owner is marked");
    assert!(marked.meta().finalizers.iter().any(|f| f == "orphan"), "{:?}", marked.meta());
    gone::<ReplicaSet>(client, "db").await;

    let pods = client.api::<Pod>(Some(NS));
    let a = pods.get("db-a").await.expect("an orphan stays");
    assert!(a.meta().owner_references.is_empty(), "{:?}", a.meta().owner_references);
    assert!(a.meta().deletion_timestamp.is_none());
    let b = pods.get("db-b").await.expect("an orphan stays");
    let owners: Vec<&str> = b.meta().owner_references.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(owners, ["db-other"]);
    manager.stop().await.expect("stop");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn a_dependent_of_an_owner_that_never_existed_is_deleted() {
    let cluster = cluster().await;
    let client = &cluster.client;
    let manager = start_controllers(&cluster, &["garbagecollector"]).await;
    let rs = replica_set(client, "real", None).await;
    owned_pod(client, "kept", &rs, true, &[]).await;
    let mut ghost_owned = pod("ghost-owned", &[("app", "owned")]);
    ghost_owned.metadata_mut().owner_references =
        vec![OwnerReference { uid: "00000000-0000-0000-0000-000000000000".into(), ..controller_reference(&rs) }];
    client.api::<Pod>(Some(NS)).create(&ghost_owned).await.expect("create");
    gone::<Pod>(client, "ghost-owned").await;
    let kept = client.api::<Pod>(Some(NS)).get("kept").await.expect("a pod with a live owner stays");
    assert!(kept.meta().deletion_timestamp.is_none());
    manager.stop().await.expect("stop");
    cluster.assert_no_component_refused().await;
}
