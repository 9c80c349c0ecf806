//! The ReplicaSet controller against a real API server: adoption and
//! release of pods, no over-creation under a burst of events while its own
//! creates are in flight, and (with the real scheduler and kubelets on the
//! in-memory runtime) scaling with status and Events. Tests that need no
//! running pods start no nodes.

mod common;

use capstan_client::{Client, ListParams, WatchEvent};
use capstan_proto::apps::v1::{ReplicaSet, ReplicaSetSpec};
use capstan_proto::autoscaling::v1::{Scale, ScaleSpec};
use capstan_proto::core::v1::{Event, Pod};
use capstan_proto::meta::v1::{ObjectMeta, OwnerReference};
use capstan_proto::Resource;
use common::*;
use futures::StreamExt;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

fn replica_set(name: &str, replicas: i32, labels: &[(&str, &str)]) -> ReplicaSet {
    ReplicaSet {
        metadata: Some(ObjectMeta { name: name.into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            selector: Some(selector(labels)),
            template: Some(template(labels, "capstan/test:1")),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn controller(pod: &Pod) -> Option<&OwnerReference> {
    pod.metadata.as_ref()?.owner_references.iter().find(|r| r.controller == Some(true))
}

/// Waits until the ReplicaSet reports `replicas` pods for its current generation.
async fn wait_replicas(client: &Client, name: &str, replicas: i32) -> ReplicaSet {
    wait_object(client, Some("default"), name, |rs: Option<&ReplicaSet>| {
        rs.is_some_and(|rs| {
            let generation = rs.metadata.as_ref().map(|m| m.generation).unwrap_or(0);
            rs.status.as_ref().is_some_and(|s| s.observed_generation >= generation && s.replicas == replicas)
        })
    })
    .await
    .expect("replica set")
}

async fn event_messages(client: &Client, reason: &str) -> Vec<String> {
    let (events, _) = client.api::<Event>(Some("default")).list(&ListParams::default()).await.expect("list events");
    events.into_iter().filter(|e| e.reason == reason).map(|e| e.message).collect()
}

#[tokio::test]
async fn adopts_a_matching_orphan_and_releases_a_pod_whose_labels_change() {
    let cluster = cluster().await;
    let manager = start_controllers(&cluster, &["replicaset"]).await;
    let pods_api = cluster.client.api::<Pod>(Some("default"));
    let web = [("app", "web")];
    pods_api.create(&pod("orphan", &web)).await.expect("create orphan");
    let foreign = pod("someone-elses", &web);
    let mut foreign = foreign.clone();
    foreign.metadata.get_or_insert_with(Default::default).owner_references = vec![OwnerReference {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: "other".into(),
        uid: "not-this-one".into(),
        controller: Some(true),
        ..Default::default()
    }];
    pods_api.create(&foreign).await.expect("create foreign pod");

    let rs = cluster.client.api::<ReplicaSet>(Some("default")).create(&replica_set("web", 2, &web)).await.expect("rs");
    let uid = rs.meta().uid.clone();
    wait_replicas(&cluster.client, "web", 2).await;
    let adopted: Pod = wait_object(&cluster.client, Some("default"), "orphan", |p: Option<&Pod>| {
        p.and_then(controller).is_some_and(|r| r.uid == uid)
    })
    .await
    .expect("orphan");
    assert_eq!(controller(&adopted).map(|r| (r.kind.as_str(), r.name.as_str())), Some(("ReplicaSet", "web")));
    let all = pods(&cluster.client, "default", "app=web").await;
    assert_eq!(all.len(), 3, "the orphan counts, so only one pod is created (plus the foreign one)");
    let foreign = all.iter().find(|p| p.meta().name == "someone-elses").expect("foreign pod");
    assert_eq!(
        controller(foreign).map(|r| r.uid.as_str()),
        Some("not-this-one"),
        "another controller's pod is left alone"
    );

    // relabel the adopted pod: it is released and replaced
    pods_api
        .patch_merge("orphan", serde_json::json!({"metadata": {"labels": {"app": "moved"}}}))
        .await
        .expect("relabel");
    let released: Pod = wait_object(&cluster.client, Some("default"), "orphan", |p: Option<&Pod>| {
        p.is_some_and(|p| controller(p).is_none())
    })
    .await
    .expect("released pod");
    assert_eq!(released.meta().labels.get("app").map(String::as_str), Some("moved"));
    eventually("a replacement for the released pod", || async {
        let owned: Vec<Pod> = pods(&cluster.client, "default", "app=web")
            .await
            .into_iter()
            .filter(|p| controller(p).is_some_and(|r| r.uid == uid))
            .collect();
        (owned.len() == 2).then_some(())
    })
    .await;
    manager.stop().await.expect("controller-manager stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_events_while_creates_are_in_flight_does_not_over_create() {
    const REPLICAS: usize = 30;
    const NOISE_PODS: usize = 50;
    const NOISE_WRITERS: usize = 8;
    const NOISE_ROUNDS: usize = 400;
    let cluster = cluster().await;
    let manager = start_controllers(&cluster, &["replicaset"]).await;
    let labels = [("app", "burst")];

    // every pod ever created for the ReplicaSet, and any deletion
    let created = Arc::new(Mutex::new(BTreeSet::new()));
    let deleted = Arc::new(Mutex::new(0usize));
    let watch = {
        let (created, deleted) = (created.clone(), deleted.clone());
        let mut stream = cluster
            .client
            .api::<Pod>(Some("default"))
            .watch(&ListParams::default().labels("app=burst"), "")
            .await
            .expect("watch pods");
        tokio::spawn(async move {
            while let Some(Ok(event)) = stream.next().await {
                match event {
                    WatchEvent::Added(p) => {
                        created.lock().unwrap_or_else(|e| e.into_inner()).insert(p.meta().name.clone());
                    }
                    WatchEvent::Deleted(_) => *deleted.lock().unwrap_or_else(|e| e.into_inner()) += 1,
                    WatchEvent::Modified(p) if p.meta().deletion_timestamp.is_some() => {
                        *deleted.lock().unwrap_or_else(|e| e.into_inner()) += 1
                    }
                    _ => {}
                }
            }
        })
    };

    // Noise: unrelated pod updates that the controller-manager's pod watch
    // interleaves with the ReplicaSet's own creations. (In-process the
    // informer rarely lags the create calls; `manage::tests` replays a
    // lagging informer deterministically.)
    let pods_api = cluster.client.api::<Pod>(Some("default"));
    for i in 0..NOISE_PODS {
        pods_api.create(&pod(&format!("noise-{i}"), &[("app", "noise")])).await.expect("create noise pod");
    }
    let stop_noise = tokio_util::sync::CancellationToken::new();
    let noise: Vec<_> = (0..NOISE_WRITERS)
        .map(|writer| {
            let (api, stop) = (pods_api.clone(), stop_noise.clone());
            tokio::spawn(async move {
                for round in 0..NOISE_ROUNDS {
                    if stop.is_cancelled() {
                        return;
                    }
                    let name = format!("noise-{}", (writer + round * NOISE_WRITERS) % NOISE_PODS);
                    let patch = serde_json::json!({"metadata": {"annotations": {"round": round.to_string()}}});
                    let _ = api.patch_merge(&name, patch).await;
                }
            })
        })
        .collect();

    let api = cluster.client.api::<ReplicaSet>(Some("default"));
    api.create(&replica_set("burst", REPLICAS as i32, &labels)).await.expect("create rs");
    // Each write queues the ReplicaSet again while its creations are still unseen.
    for i in 0..60 {
        let poke = serde_json::json!({"metadata": {"annotations": {"poke": i.to_string()}}});
        api.patch_merge("burst", poke).await.expect("poke");
    }
    wait_replicas(&cluster.client, "burst", REPLICAS as i32).await;
    stop_noise.cancel();
    for writer in noise {
        let _ = writer.await;
    }
    eventually("every created pod seen", || async {
        (created.lock().unwrap_or_else(|e| e.into_inner()).len() >= REPLICAS).then_some(())
    })
    .await;
    // one more round trip through the controller after the burst
    api.patch_merge("burst", serde_json::json!({"metadata": {"annotations": {"poke": "last"}}})).await.expect("poke");
    wait_replicas(&cluster.client, "burst", REPLICAS as i32).await;

    let ever = created.lock().unwrap_or_else(|e| e.into_inner()).len();
    assert_eq!(ever, REPLICAS, "pods created in all");
    assert_eq!(*deleted.lock().unwrap_or_else(|e| e.into_inner()), 0, "no extra pod had to be deleted");
    assert!(event_messages(&cluster.client, "SuccessfulDelete").await.is_empty());
    assert_eq!(event_messages(&cluster.client, "SuccessfulCreate").await.len(), REPLICAS);
    watch.abort();
    manager.stop().await.expect("controller-manager stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scales_up_and_down_with_status_and_events() {
    let cluster = cluster().await;
    let _scheduler = start_scheduler(&cluster).await;
    let _a = start_node(&cluster, "node-a").await;
    let _b = start_node(&cluster, "node-b").await;
    let manager = start_controllers(&cluster, &["replicaset"]).await;
    let labels = [("app", "web")];
    let mut rs = replica_set("web", 3, &labels);
    if let Some(spec) = rs.spec.as_mut() {
        spec.min_ready_seconds = 1;
    }
    let api = cluster.client.api::<ReplicaSet>(Some("default"));
    api.create(&rs).await.expect("create rs");

    // available only a second after ready: reached without any further event
    let rs = wait_object(&cluster.client, Some("default"), "web", |rs: Option<&ReplicaSet>| {
        rs.and_then(|rs| rs.status.as_ref()).is_some_and(|s| s.available_replicas == 3)
    })
    .await
    .expect("rs");
    let status = rs.status.clone().unwrap_or_default();
    assert_eq!((status.replicas, status.fully_labeled_replicas, status.ready_replicas), (3, 3, 3));
    assert_eq!(status.observed_generation, rs.meta().generation);
    let running = pods(&cluster.client, "default", "app=web").await;
    assert_eq!(running.len(), 3);
    for pod in &running {
        assert!(
            pod.meta().name.starts_with("web-") && pod.meta().name.len() == "web-".len() + 5,
            "{}",
            pod.meta().name
        );
        assert_eq!(controller(pod).map(|r| r.uid.as_str()), Some(rs.meta().uid.as_str()));
        assert!(is_ready(pod));
    }
    let created = event_messages(&cluster.client, "SuccessfulCreate").await;
    assert_eq!(created.len(), 3, "{created:?}");

    let scale = Scale {
        metadata: Some(ObjectMeta { name: "web".into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(ScaleSpec { replicas: 1 }),
        ..Default::default()
    };
    api.update_scale("web", &scale).await.expect("scale to 1");
    let rs = wait_replicas(&cluster.client, "web", 1).await;
    let status = rs.status.clone().unwrap_or_default();
    assert_eq!(status.replicas, 1, "terminating pods no longer count");
    eventually("two SuccessfulDelete events", || async {
        (event_messages(&cluster.client, "SuccessfulDelete").await.len() == 2).then_some(())
    })
    .await;
    eventually("the deleted pods gone", || async {
        (pods(&cluster.client, "default", "app=web").await.len() == 1).then_some(())
    })
    .await;
    manager.stop().await.expect("controller-manager stops");
}
