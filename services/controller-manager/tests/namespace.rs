//! Namespace deletion end to end: a namespace with running pods, a
//! Service (and the Endpoints its controller writes), a ReplicaSet and
//! other objects turns Terminating, reports the content it still waits
//! for, empties — pods terminating through their kubelet — and disappears.

mod common;

use capstan_client::{resource_ref, DeleteParams, ListParams};
use capstan_proto::apps::v1::{Deployment, DeploymentSpec, ReplicaSet, ReplicaSetSpec};
use capstan_proto::coordination::v1::{Lease, LeaseSpec};
use capstan_proto::core::v1::{Endpoints, Namespace, Pod, Service, ServicePort, ServiceSpec};
use capstan_proto::kinds::STORED_KINDS;
use capstan_proto::meta::v1::{IntOrString, ObjectMeta};
use capstan_proto::Resource;
use common::*;

const NS: &str = "doomed";

fn meta(name: &str) -> Option<ObjectMeta> {
    Some(ObjectMeta { name: name.into(), namespace: NS.into(), ..Default::default() })
}

#[tokio::test]
async fn a_deleted_namespace_empties_and_disappears() {
    let cluster = cluster().await;
    let client = &cluster.client;
    let node = start_node(&cluster, "node-a").await;
    let scheduler = start_scheduler(&cluster).await;
    let manager = start_controllers(&cluster, &["namespace", "replicaset", "endpoints"]).await;

    let namespaces = client.api::<Namespace>(None);
    let created = namespaces
        .create(&Namespace {
            metadata: Some(ObjectMeta { name: NS.into(), ..Default::default() }),
            ..Default::default()
        })
        .await
        .expect("create namespace");
    assert_eq!(created.spec.as_ref().map(|s| s.finalizers.clone()), Some(vec!["kubernetes".to_string()]));

    let labels = [("app", "web")];
    for name in ["web-1", "web-2"] {
        let mut pod = pod(name, &labels);
        pod.metadata = meta(name).map(|m| ObjectMeta { labels: pod.meta().labels.clone(), ..m });
        client.api::<Pod>(Some(NS)).create(&pod).await.expect("create pod");
    }
    let rs = ReplicaSet {
        metadata: meta("workers"),
        spec: Some(ReplicaSetSpec {
            replicas: Some(2),
            selector: Some(selector(&[("app", "worker")])),
            template: Some(template(&[("app", "worker")], "capstan/test:1")),
            ..Default::default()
        }),
        ..Default::default()
    };
    client.api::<ReplicaSet>(Some(NS)).create(&rs).await.expect("create replicaset");
    let service = Service {
        metadata: meta("web"),
        spec: Some(ServiceSpec {
            selector: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ports: vec![ServicePort { port: 80, target_port: Some(IntOrString::from_int(8080)), ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    };
    client.api::<Service>(Some(NS)).create(&service).await.expect("create service");
    let lease = Lease { metadata: meta("lock"), spec: Some(LeaseSpec::default()), ..Default::default() };
    client.api::<Lease>(Some(NS)).create(&lease).await.expect("create lease");
    let deployment = Deployment {
        metadata: meta("idle"),
        spec: Some(DeploymentSpec {
            replicas: Some(0),
            selector: Some(selector(&[("app", "idle")])),
            template: Some(template(&[("app", "idle")], "capstan/test:1")),
            ..Default::default()
        }),
        ..Default::default()
    };
    client.api::<Deployment>(Some(NS)).create(&deployment).await.expect("create deployment");

    // everything running: four pods on the node, the Service's Endpoints written
    eventually("four running pods", || async {
        let pods = client.api::<Pod>(Some(NS)).list(&ListParams::default()).await.ok()?.0;
        (pods.len() == 4 && pods.iter().all(is_ready)).then_some(())
    })
    .await;
    wait_object::<Endpoints>(client, Some(NS), "web", |e| e.is_some_and(|e| !e.subsets.is_empty())).await;

    namespaces.delete(NS, &DeleteParams::default()).await.expect("delete namespace");
    let mut saw_terminating = false;
    let mut saw_content_remaining = false;
    wait_object::<Namespace>(client, None, NS, |ns| {
        let Some(ns) = ns else { return true };
        let status = ns.status.clone().unwrap_or_default();
        saw_terminating |= status.phase == "Terminating";
        saw_content_remaining |= status
            .conditions
            .iter()
            .any(|c| c.r#type == "NamespaceContentRemaining" && c.status == "True" && c.message.contains("pods."));
        false
    })
    .await;
    assert!(saw_terminating, "the namespace was Terminating");
    assert!(saw_content_remaining, "the namespace reported the pods it waited for");

    for info in STORED_KINDS.iter().filter(|k| k.namespaced) {
        let list = client.list(resource_ref(info, NS, ""), ListParams::default().to_options("")).await.expect("list");
        assert!(list.items.is_empty(), "{} left in the deleted namespace: {}", info.resource, list.items.len());
    }
    eventually("the kubelet's pods gone", || async { node.kubelet.pods().list().is_empty().then_some(()) }).await;

    manager.stop().await.expect("controller-manager stops");
    scheduler.stop().await.expect("scheduler stops");
    node.kubelet.stop().await.expect("the kubelet stops cleanly");
    cluster.assert_no_component_refused().await;
}
