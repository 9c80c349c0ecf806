//! Watch through the real gRPC API on both backends: the initial state, live
//! changes in order, resuming from an old revision, selector transitions,
//! bookmarks, the "too old, relist" error, and many watchers served by one
//! cache.

mod common;

use capstan_proto::api::v1::ListOptions;
use capstan_proto::ObjectExt;
use common::{name_of, next_event, pod_yaml, Backend, TestServer};
use futures::StreamExt;
use std::time::Duration;
use tonic::Code;

on_both_backends!(
    initial_state_then_live_changes,
    resume_from_old_revision_replays_in_order,
    selectors_turn_changes_into_adds_and_deletes,
    bookmarks_advance_idle_watches,
    many_watchers_all_see_a_change,
);

fn labels(o: &capstan_proto::api::v1::Object) -> Vec<(String, String)> {
    o.meta().labels.clone().into_iter().collect()
}

async fn initial_state_then_live_changes(mut s: TestServer) {
    s.apply(&pod_yaml("default", "a", "x: y")).await.expect("a");
    let mut w = s.watch("pods", "default", ListOptions::default()).await.expect("watch");
    let first = next_event(&mut w).await;
    assert_eq!((first.r#type.as_str(), name_of(&first).as_str()), ("ADDED", "a"));
    s.apply(&pod_yaml("default", "b", "x: y")).await.expect("b");
    s.patch("pods", "default", "b", serde_json::json!({"metadata": {"labels": {"z": "1"}}})).await.expect("patch");
    s.delete("pods", "default", "b", None, "").await.expect("delete");
    let mut got = Vec::new();
    for _ in 0..3 {
        let e = next_event(&mut w).await;
        got.push((e.r#type.clone(), name_of(&e)));
    }
    let want: Vec<(String, String)> = [("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "b")]
        .iter()
        .map(|(t, n)| (t.to_string(), n.to_string()))
        .collect();
    assert_eq!(got, want);
}

async fn resume_from_old_revision_replays_in_order(mut s: TestServer) {
    let created = s.apply(&pod_yaml("default", "p", "n: '0'")).await.expect("created");
    let from = created.meta().resource_version.clone();
    for i in 1..=5 {
        s.patch("pods", "default", "p", serde_json::json!({"metadata": {"labels": {"n": i.to_string()}}}))
            .await
            .expect("patch");
    }
    let mut w = s
        .watch("pods", "default", ListOptions { resource_version: from.clone(), ..Default::default() })
        .await
        .expect("watch");
    let mut previous: i64 = from.parse().expect("rv");
    for i in 1..=5 {
        let e = next_event(&mut w).await;
        assert_eq!(e.r#type, "MODIFIED");
        let object = e.object.expect("object");
        assert_eq!(labels(&object), vec![("n".to_string(), i.to_string())]);
        let rv: i64 = object.meta().resource_version.parse().expect("rv");
        assert!(rv > previous, "in revision order");
        previous = rv;
    }
}

async fn selectors_turn_changes_into_adds_and_deletes(mut s: TestServer) {
    s.apply(&pod_yaml("default", "p", "tier: back")).await.expect("created");
    let options = ListOptions { label_selector: "tier=front".into(), ..Default::default() };
    let mut w = s.watch("pods", "", options).await.expect("watch");
    s.patch("pods", "default", "p", serde_json::json!({"metadata": {"labels": {"tier": "front"}}}))
        .await
        .expect("now matches");
    let e = next_event(&mut w).await;
    assert_eq!((e.r#type.as_str(), name_of(&e).as_str()), ("ADDED", "p"));
    s.patch("pods", "default", "p", serde_json::json!({"metadata": {"labels": {"tier": "back"}}}))
        .await
        .expect("stops matching");
    let e = next_event(&mut w).await;
    assert_eq!((e.r#type.as_str(), name_of(&e).as_str()), ("DELETED", "p"));
}

async fn bookmarks_advance_idle_watches(mut s: TestServer) {
    let created = s.apply(&pod_yaml("default", "p", "a: b")).await.expect("created");
    let rv: i64 = created.meta().resource_version.parse().expect("rv");
    // a write to another kind moves the store on; the pods watch is idle
    s.apply("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n").await.expect("svc");
    let options = ListOptions { resource_version: rv.to_string(), allow_bookmarks: true, ..Default::default() };
    let mut w = s.watch("pods", "default", options).await.expect("watch");
    let bookmark = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let e = w.next().await.expect("open").expect("no error");
            if e.r#type == "BOOKMARK" {
                return e;
            }
        }
    })
    .await
    .expect("a bookmark arrives");
    let object = bookmark.object.expect("bookmark object");
    assert_eq!(object.kind_name(), "Pod");
    let at: i64 = object.meta().resource_version.parse().expect("rv");
    assert!(at >= rv);
}

async fn many_watchers_all_see_a_change(mut s: TestServer) {
    let mut watches = Vec::new();
    for _ in 0..200 {
        watches.push(
            s.watch("pods", "default", ListOptions { resource_version: "0".into(), ..Default::default() })
                .await
                .expect("watch"),
        );
    }
    s.apply(&pod_yaml("default", "fan", "a: b")).await.expect("created");
    for w in &mut watches {
        let e = next_event(w).await;
        assert_eq!((e.r#type.as_str(), name_of(&e).as_str()), ("ADDED", "fan"));
    }
}

#[tokio::test]
async fn too_old_revision_is_refused_with_relist() {
    let mut s = TestServer::start_with(Backend::Embedded, |c| c.cache.log_capacity = 3).await.expect("server");
    let created = s.apply(&pod_yaml("default", "p", "n: '0'")).await.expect("created");
    for i in 1..=6 {
        s.patch("pods", "default", "p", serde_json::json!({"metadata": {"labels": {"n": i.to_string()}}}))
            .await
            .expect("patch");
    }
    let options = ListOptions { resource_version: created.meta().resource_version.clone(), ..Default::default() };
    let err = s.watch("pods", "default", options).await.expect_err("too old");
    assert_eq!(err.code(), Code::OutOfRange);
    assert!(err.message().contains("too old resource version"), "{}", err.message());
    assert!(err.message().contains("relist"), "{}", err.message());
}
