//! The API server's behaviour through its real gRPC API, on the embedded
//! store and on a real etcd: defaulting, optimistic concurrency, generation,
//! namespaces, finalizers, graceful deletion, subresources, allocation,
//! selectors, pagination and restarts.

mod common;

use capstan_proto::api::v1::{object::Kind, ListOptions, Object};
use capstan_proto::core::v1::{Binding, ObjectReference};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::{ObjectExt, Resource};
use common::{pod_yaml, TestServer};
use tonic::Code;

on_both_backends!(
    create_defaults_server_fields,
    stale_update_is_a_conflict,
    generation_follows_spec_only,
    namespaces_gate_creates_and_terminate,
    finalizers_hold_deletion,
    bound_pods_delete_gracefully,
    binding_assigns_once,
    scale_subresource_reads_and_writes,
    services_get_addresses,
    list_filters_and_pages,
    merge_patch_updates_in_place,
    restart_loses_nothing,
);

const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n";

async fn create_defaults_server_fields(mut s: TestServer) {
    let created = s.apply(&pod_yaml("default", "web", "app: web")).await.expect("created");
    let meta = created.meta();
    assert_eq!(meta.namespace, "default");
    assert!(!meta.uid.is_empty());
    assert!(meta.creation_timestamp.is_some());
    assert_eq!(meta.generation, 1);
    let rv: i64 = meta.resource_version.parse().expect("numeric revision");
    let got = s.get("pods", "default", "web").await.expect("read back");
    assert_eq!(got.meta().resource_version, rv.to_string());
    assert_eq!(got.meta().uid, meta.uid);
    let again = s.apply(&pod_yaml("default", "web", "app: web")).await.expect_err("duplicate");
    assert_eq!(again.code(), Code::AlreadyExists);
    assert!(again.message().contains("pods \"web\" already exists"), "{}", again.message());
}

async fn stale_update_is_a_conflict(mut s: TestServer) {
    let created = s.apply(&pod_yaml("default", "p", "a: b")).await.expect("created");
    let mut first = created.clone();
    first.meta_mut().expect("meta").labels.insert("x".into(), "1".into());
    let updated = s.update("pods", first).await.expect("first update wins");
    assert_ne!(updated.meta().resource_version, created.meta().resource_version);
    let mut stale = created.clone();
    stale.meta_mut().expect("meta").labels.insert("x".into(), "2".into());
    let err = s.update("pods", stale).await.expect_err("stale update refused");
    assert_eq!(err.code(), Code::Aborted);
    assert!(err.message().contains("the object has been modified"), "{}", err.message());
    let now = s.get("pods", "default", "p").await.expect("get");
    assert_eq!(now.meta().labels.get("x").map(String::as_str), Some("1"), "nothing merged silently");
}

async fn generation_follows_spec_only(mut s: TestServer) {
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: d}}\n  template:\n    metadata: {labels: {app: d}}\n    spec: {containers: [{name: c, image: i}]}\n";
    let created = s.apply(yaml).await.expect("created");
    assert_eq!(created.meta().generation, 1);
    let mut labelled = created.clone();
    labelled.meta_mut().expect("meta").labels.insert("team".into(), "a".into());
    let labelled = s.update("deployments", labelled).await.expect("metadata update");
    assert_eq!(labelled.meta().generation, 1, "metadata is not spec");
    let mut status = labelled.clone();
    if let Some(Kind::Deployment(d)) = &mut status.kind {
        d.status.get_or_insert_with(Default::default).replicas = 1;
    }
    let status = s.update_status("deployments", status).await.expect("status update");
    assert_eq!(status.meta().generation, 1, "status is not spec");
    let mut scaled = status.clone();
    if let Some(Kind::Deployment(d)) = &mut scaled.kind {
        d.spec.as_mut().expect("spec").replicas = Some(3);
        d.status = None; // a main update cannot touch status
    }
    let scaled = s.update("deployments", scaled).await.expect("spec update");
    assert_eq!(scaled.meta().generation, 2);
    let Some(Kind::Deployment(d)) = &scaled.kind else { panic!("deployment") };
    assert_eq!(d.status.as_ref().map(|s| s.replicas), Some(1), "status kept from the store");
}

async fn namespaces_gate_creates_and_terminate(mut s: TestServer) {
    let err = s.apply(&pod_yaml("shop", "p", "a: b")).await.expect_err("no namespace yet");
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains("namespaces \"shop\" not found"), "{}", err.message());
    let ns = s.apply(NS).await.expect("namespace");
    let Some(Kind::Namespace(n)) = &ns.kind else { panic!("namespace") };
    assert_eq!(n.status.as_ref().map(|s| s.phase.as_str()), Some("Active"));
    s.apply(&pod_yaml("shop", "p", "a: b")).await.expect("pod in namespace");
    let deleted = s.delete("namespaces", "", "shop", None, "").await.expect("delete");
    assert!(!deleted.deleted, "a namespace waits for its contents to go");
    let Some(Kind::Namespace(n)) = &deleted.object.as_ref().expect("object").kind else { panic!() };
    assert_eq!(n.status.as_ref().map(|s| s.phase.as_str()), Some("Terminating"));
    let err = s.apply(&pod_yaml("shop", "q", "a: b")).await.expect_err("terminating");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("being terminated"), "{}", err.message());
    let err = s.delete("namespaces", "", "shop", None, "").await.expect_err("second delete");
    assert_eq!(err.code(), Code::Aborted);
}

async fn finalizers_hold_deletion(mut s: TestServer) {
    let yaml = "apiVersion: v1\nkind: Service\nmetadata: {name: held, finalizers: [example.com/hold]}\nspec: {ports: [{port: 80}]}\n";
    s.apply(yaml).await.expect("created");
    let marked = s.delete("services", "default", "held", None, "").await.expect("delete");
    assert!(!marked.deleted);
    let current = s.get("services", "default", "held").await.expect("still there");
    assert!(current.meta().deletion_timestamp.is_some());
    let mut released = current.clone();
    released.meta_mut().expect("meta").finalizers.clear();
    s.update("services", released).await.expect("finalizer removed");
    let err = s.get("services", "default", "held").await.expect_err("gone");
    assert_eq!(err.code(), Code::NotFound);
    // foreground deletion records its finalizer for the garbage collector
    s.apply("apiVersion: v1\nkind: Service\nmetadata: {name: fg}\nspec: {ports: [{port: 80}]}\n")
        .await
        .expect("created");
    let marked = s.delete("services", "default", "fg", None, "Foreground").await.expect("delete");
    assert!(!marked.deleted);
    assert_eq!(marked.object.expect("object").meta().finalizers, vec!["foregroundDeletion".to_string()]);
}

async fn bound_pods_delete_gracefully(mut s: TestServer) {
    s.apply(&pod_yaml("default", "unbound", "a: b")).await.expect("created");
    let gone = s.delete("pods", "default", "unbound", None, "").await.expect("delete");
    assert!(gone.deleted, "an unscheduled pod goes at once");
    s.apply(&pod_yaml("default", "bound", "a: b")).await.expect("created");
    bind(&mut s, "bound", "node-1").await.expect("bound");
    let marked = s.delete("pods", "default", "bound", None, "").await.expect("delete");
    assert!(!marked.deleted, "the kubelet gets its grace period");
    let meta = marked.object.as_ref().expect("object").meta().clone();
    assert_eq!(meta.deletion_grace_period_seconds, Some(30));
    assert!(meta.deletion_timestamp.is_some());
    let gone = s.delete("pods", "default", "bound", Some(0), "").await.expect("kubelet's final delete");
    assert!(gone.deleted);
}

async fn bind(s: &mut TestServer, pod: &str, node: &str) -> Result<Object, tonic::Status> {
    let mut binding = Binding {
        metadata: Some(ObjectMeta { name: pod.into(), ..Default::default() }),
        target: Some(ObjectReference { kind: "Node".into(), name: node.into(), ..Default::default() }),
        ..Default::default()
    };
    binding.set_type_meta();
    let mut r = common::rref("pods", "default", pod);
    r.subresource = "binding".into();
    let request = capstan_proto::api::v1::CreateRequest {
        r#ref: Some(r),
        object: Some(binding.into_object()),
        dry_run: false,
        ..Default::default()
    };
    s.client.create(request).await.map(|r| r.into_inner())
}

async fn binding_assigns_once(mut s: TestServer) {
    s.apply(&pod_yaml("default", "p", "a: b")).await.expect("created");
    let bound = bind(&mut s, "p", "node-1").await.expect("bound");
    let Some(Kind::Pod(pod)) = &bound.kind else { panic!("pod") };
    assert_eq!(pod.spec.as_ref().map(|s| s.node_name.as_str()), Some("node-1"));
    let scheduled =
        pod.status.as_ref().expect("status").conditions.iter().find(|c| c.r#type == "PodScheduled").expect("condition");
    assert_eq!(scheduled.status, "True");
    let err = bind(&mut s, "p", "node-2").await.expect_err("already bound");
    assert_eq!(err.code(), Code::Aborted);
    assert!(err.message().contains("already assigned to node \"node-1\""), "{}", err.message());
}

async fn scale_subresource_reads_and_writes(mut s: TestServer) {
    let yaml = "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: rs}}\n  template:\n    metadata: {labels: {app: rs}}\n    spec: {containers: [{name: c, image: i}]}\n";
    s.apply(yaml).await.expect("created");
    let mut r = common::rref("replicasets", "default", "rs");
    r.subresource = "scale".into();
    let scale = s
        .client
        .get(capstan_proto::api::v1::GetRequest { r#ref: Some(r.clone()) })
        .await
        .expect("get scale")
        .into_inner();
    let Some(Kind::Scale(mut scale)) = scale.kind else { panic!("scale") };
    assert_eq!(scale.spec.as_ref().map(|s| s.replicas), Some(2));
    assert_eq!(scale.status.as_ref().map(|s| s.selector.as_str()), Some("app=rs"));
    scale.spec.as_mut().expect("spec").replicas = 5;
    let request = capstan_proto::api::v1::UpdateRequest {
        r#ref: Some(r),
        object: Some(scale.into_object()),
        dry_run: false,
        ..Default::default()
    };
    s.client.update(request).await.expect("scaled");
    let rs = s.get("replicasets", "default", "rs").await.expect("get");
    let Some(Kind::ReplicaSet(rs)) = rs.kind else { panic!("rs") };
    assert_eq!(rs.spec.and_then(|s| s.replicas), Some(5));
    assert_eq!(rs.metadata.map(|m| m.generation), Some(2));
}

async fn services_get_addresses(mut s: TestServer) {
    let yaml = |name: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  type: NodePort\n  selector: {{app: web}}\n  ports: [{{port: 80, targetPort: http}}]\n")
    };
    let a = s.apply(&yaml("a")).await.expect("a");
    let b = s.apply(&yaml("b")).await.expect("b");
    let spec = |o: &Object| match &o.kind {
        Some(Kind::Service(s)) => s.spec.clone().expect("spec"),
        _ => panic!("service"),
    };
    let (sa, sb) = (spec(&a), spec(&b));
    assert!(sa.cluster_ip.starts_with("10."), "{}", sa.cluster_ip);
    assert_ne!(sa.cluster_ip, sb.cluster_ip);
    assert!((30000..=32767).contains(&sa.ports[0].node_port));
    assert_ne!(sa.ports[0].node_port, sb.ports[0].node_port);
    // a port asked for explicitly that is taken is refused by name
    let taken = format!("apiVersion: v1\nkind: Service\nmetadata: {{name: c}}\nspec:\n  type: NodePort\n  ports: [{{port: 80, nodePort: {}}}]\n", sa.ports[0].node_port);
    let err = s.apply(&taken).await.expect_err("taken port");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("spec.ports[0].nodePort"), "{}", err.message());
    // deleting a service frees its port for the next one
    s.delete("services", "default", "a", None, "").await.expect("delete");
    let reuse = taken.replace("name: c", "name: d");
    s.apply(&reuse).await.expect("the freed port is available again");
}

async fn list_filters_and_pages(mut s: TestServer) {
    for i in 0..7 {
        let tier = if i % 2 == 0 { "front" } else { "back" };
        s.apply(&pod_yaml("default", &format!("p{i}"), &format!("tier: {tier}"))).await.expect("created");
    }
    let front = s
        .list("pods", "default", ListOptions { label_selector: "tier=front".into(), ..Default::default() })
        .await
        .expect("list");
    assert_eq!(front.items.len(), 4);
    let not_front = s
        .list("pods", "", ListOptions { label_selector: "tier notin (front)".into(), ..Default::default() })
        .await
        .expect("list");
    assert_eq!(not_front.items.len(), 3);
    let by_name = s
        .list("pods", "default", ListOptions { field_selector: "metadata.name=p3".into(), ..Default::default() })
        .await
        .expect("list");
    assert_eq!(by_name.items.len(), 1);
    let err = s
        .list("pods", "default", ListOptions { label_selector: "tier in front".into(), ..Default::default() })
        .await
        .expect_err("bad selector");
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = s
        .list("pods", "default", ListOptions { field_selector: "spec.bogus=x".into(), ..Default::default() })
        .await
        .expect_err("bad field");
    assert!(err.message().contains("spec.bogus"), "{}", err.message());
    // pages of 3 with a selector: 4 matches make a full page and a page of one
    let mut names = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let options = ListOptions {
            label_selector: "tier=front".into(),
            limit: 3,
            r#continue: token.clone(),
            ..Default::default()
        };
        let page = s.list("pods", "default", options).await.expect("page");
        pages += 1;
        names.extend(page.items.iter().map(|o| o.meta().name.clone()));
        token = page.metadata.expect("list meta").r#continue;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(names, vec!["p0", "p2", "p4", "p6"]);
    assert_eq!(pages, 2);
}

async fn merge_patch_updates_in_place(mut s: TestServer) {
    s.apply(&pod_yaml("default", "p", "a: b")).await.expect("created");
    let patched = s
        .patch("pods", "default", "p", serde_json::json!({"metadata": {"labels": {"a": null, "c": "d"}}}))
        .await
        .expect("patched");
    let labels = &patched.meta().labels;
    assert_eq!(labels.get("c").map(String::as_str), Some("d"));
    assert!(!labels.contains_key("a"));
    let err = s
        .patch("pods", "default", "p", serde_json::json!({"metadata": {"resourceVersion": "1"}}))
        .await
        .expect_err("stale");
    assert_eq!(err.code(), Code::Aborted);
    let err =
        s.patch("pods", "default", "p", serde_json::json!({"spec": {"bogus": 1}})).await.expect_err("unknown field");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("spec.bogus"), "{}", err.message());
}

async fn restart_loses_nothing(mut s: TestServer) {
    s.apply(NS).await.expect("namespace");
    for i in 0..5 {
        s.apply(&pod_yaml("shop", &format!("p{i}"), "a: b")).await.expect("created");
    }
    let before = s.list("pods", "shop", ListOptions::default()).await.expect("list");
    s.restart().await;
    let after = s.list("pods", "shop", ListOptions::default()).await.expect("list after restart");
    assert_eq!(before.items, after.items);
    s.apply(&pod_yaml("shop", "p5", "a: b")).await.expect("writes after restart");
    let rv_after: i64 = s.get("pods", "shop", "p5").await.expect("get").meta().resource_version.parse().expect("rv");
    let rv_before: i64 = before.metadata.expect("meta").resource_version.parse().expect("rv");
    assert!(rv_after > rv_before, "revisions keep growing across restarts");
}
