//! The Deployment controller end to end: a real API server, the real
//! scheduler, kubelets on the in-memory runtime, and the ReplicaSet and
//! Deployment controllers. A watcher task sees every pod event, so the
//! surge and availability budgets are checked at each step of a rollout,
//! not only at its end. Tests about conditions, pausing and history need no
//! running pods and start no nodes.

mod common;

use capstan_client::{Client, ListParams, WatchEvent};
use capstan_proto::apps::v1::{
    Deployment, DeploymentCondition, DeploymentSpec, DeploymentStrategy, ReplicaSet, RollingUpdateDeployment,
};
use capstan_proto::core::v1::{Event, Pod, PodTemplateSpec};
use capstan_proto::meta::v1::{IntOrString, ObjectMeta};
use capstan_proto::Resource;
use common::*;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

const APP: &[(&str, &str)] = &[("app", "web")];
const REVISION: &str = "deployment.kubernetes.io/revision";
const HASH: &str = "pod-template-hash";

fn rolling(max_surge: i32, max_unavailable: i32) -> DeploymentStrategy {
    DeploymentStrategy {
        r#type: "RollingUpdate".into(),
        rolling_update: Some(RollingUpdateDeployment {
            max_surge: Some(IntOrString::from_int(max_surge)),
            max_unavailable: Some(IntOrString::from_int(max_unavailable)),
        }),
    }
}

fn recreate() -> DeploymentStrategy {
    DeploymentStrategy { r#type: "Recreate".into(), rolling_update: None }
}

fn deployment(replicas: i32, strategy: Option<DeploymentStrategy>, image: &str) -> Deployment {
    Deployment {
        metadata: Some(ObjectMeta { name: "web".into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: Some(selector(APP)),
            template: Some(template(APP, image)),
            strategy,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn image_of(template: Option<&PodTemplateSpec>) -> String {
    template
        .and_then(|t| t.spec.as_ref())
        .and_then(|s| s.containers.first())
        .map(|c| c.image.clone())
        .unwrap_or_default()
}

fn pod_image(pod: &Pod) -> String {
    pod.spec.as_ref().and_then(|s| s.containers.first()).map(|c| c.image.clone()).unwrap_or_default()
}

fn condition<'a>(d: &'a Deployment, kind: &str) -> Option<&'a DeploymentCondition> {
    d.status.as_ref()?.conditions.iter().find(|c| c.r#type == kind)
}

fn reason(d: &Deployment, kind: &str) -> String {
    condition(d, kind).map(|c| format!("{}/{}", c.status, c.reason)).unwrap_or_default()
}

fn revision(meta: &ObjectMeta) -> String {
    meta.annotations.get(REVISION).cloned().unwrap_or_default()
}

/// Read-modify-write the Deployment, retrying when it changed meanwhile.
async fn update(client: &Client, change: impl Fn(&mut DeploymentSpec)) -> Deployment {
    let api = client.api::<Deployment>(Some("default"));
    for _ in 0..20 {
        let mut d = api.get("web").await.expect("get deployment");
        change(d.spec.get_or_insert_with(Default::default));
        match api.update(&d).await {
            Ok(updated) => return updated,
            Err(e) if e.is_conflict() => continue,
            Err(e) => panic!("update deployment: {e}"),
        }
    }
    panic!("the deployment kept changing under the test")
}

/// Waits until the Deployment reports `replicas` updated, ready and
/// available pods of the current spec, and its rollout complete.
async fn wait_complete(client: &Client, replicas: i32) -> Deployment {
    wait_object(client, Some("default"), "web", |d: Option<&Deployment>| {
        let Some(d) = d else { return false };
        let generation = d.metadata.as_ref().map(|m| m.generation).unwrap_or(0);
        let s = d.status.clone().unwrap_or_default();
        s.observed_generation >= generation
            && (s.replicas, s.updated_replicas, s.ready_replicas, s.available_replicas, s.unavailable_replicas)
                == (replicas, replicas, replicas, replicas, 0)
            && reason(d, "Progressing") == "True/NewReplicaSetAvailable"
            && reason(d, "Available") == "True/MinimumReplicasAvailable"
    })
    .await
    .expect("deployment")
}

async fn replica_sets(client: &Client) -> Vec<ReplicaSet> {
    let (sets, _) = client.api::<ReplicaSet>(Some("default")).list(&ListParams::default()).await.expect("list rs");
    sets
}

/// What the watcher has seen of the web pods, event by event.
#[derive(Debug, Default)]
struct Seen {
    /// the pods now (terminating ones included)
    pods: BTreeMap<String, Pod>,
    /// the most pods not being deleted at once
    max_live: usize,
    /// the fewest ready pods not being deleted at once, since armed
    min_ready: Option<usize>,
    armed: bool,
    /// pods of two templates existed at once
    mixed: bool,
}

impl Seen {
    fn live(&self) -> impl Iterator<Item = &Pod> {
        self.pods.values().filter(|p| p.metadata.as_ref().is_some_and(|m| m.deletion_timestamp.is_none()))
    }

    fn ready(&self) -> usize {
        self.live().filter(|p| is_ready(p)).count()
    }

    fn images(&self) -> BTreeSet<String> {
        self.pods.values().map(pod_image).collect()
    }

    fn record(&mut self) {
        self.max_live = self.max_live.max(self.live().count());
        if self.armed {
            let ready = self.ready();
            self.min_ready = Some(self.min_ready.map_or(ready, |m| m.min(ready)));
        }
        let hashes: BTreeSet<&str> = self
            .pods
            .values()
            .filter_map(|p| p.metadata.as_ref().and_then(|m| m.labels.get(HASH)).map(String::as_str))
            .collect();
        self.mixed |= hashes.len() > 1;
    }
}

/// A task that applies every web pod event to a [`Seen`].
struct PodWatcher {
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl PodWatcher {
    fn start(client: &Client) -> PodWatcher {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let api = client.api::<Pod>(Some("default"));
        let task = tokio::spawn({
            let seen = seen.clone();
            async move {
                let params = ListParams::default().labels("app=web");
                let mut version = String::new();
                loop {
                    let Ok(mut stream) = api.watch(&params, &version).await else { continue };
                    while let Some(Ok(event)) = stream.next().await {
                        let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                        match event {
                            WatchEvent::Added(pod) | WatchEvent::Modified(pod) => {
                                version = pod.meta().resource_version.clone();
                                seen.pods.insert(pod.meta().name.clone(), pod);
                            }
                            WatchEvent::Deleted(pod) => {
                                version = pod.meta().resource_version.clone();
                                seen.pods.remove(&pod.meta().name);
                            }
                            WatchEvent::Bookmark { resource_version } => version = resource_version,
                        }
                        seen.record();
                    }
                }
            }
        });
        PodWatcher { seen, task }
    }

    fn read<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.seen.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// From now on, track the fewest ready pods.
    fn arm(&self) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.armed = true;
        seen.min_ready = Some(seen.ready());
    }

    /// Waits until the watcher has seen exactly `count` pods, all ready,
    /// all running `image`, none terminating.
    async fn settled(&self, count: usize, image: &str) {
        eventually(&format!("{count} ready pods of {image}"), || async {
            self.read(|s| {
                (s.pods.len() == count && s.ready() == count && s.images() == BTreeSet::from([image.to_string()]))
                    .then_some(())
            })
        })
        .await;
    }
}

impl Drop for PodWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn nodes(cluster: &TestCluster) -> (capstan_scheduler::Scheduler, TestNode, TestNode) {
    let scheduler = start_scheduler(cluster).await;
    let a = start_node(cluster, "node-a").await;
    let b = start_node(cluster, "node-b").await;
    (scheduler, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_3_to_10_to_0_converges_within_the_surge() {
    let cluster = cluster().await;
    let _nodes = nodes(&cluster).await;
    let manager = start_controllers(&cluster, &["replicaset", "deployment"]).await;
    let watcher = PodWatcher::start(&cluster.client);
    let api = cluster.client.api::<Deployment>(Some("default"));
    // the default budgets: 25% surge (rounded up), 25% unavailable
    api.create(&deployment(3, None, "capstan/test:1")).await.expect("create deployment");

    let d = wait_complete(&cluster.client, 3).await;
    watcher.settled(3, "capstan/test:1").await;
    assert!(watcher.read(|s| s.max_live) <= 3 + 1, "3 replicas, surge 1: {:?}", watcher.read(|s| s.max_live));
    assert_eq!(d.metadata.as_ref().map(revision).as_deref(), Some("1"));

    update(&cluster.client, |spec| spec.replicas = Some(10)).await;
    wait_complete(&cluster.client, 10).await;
    watcher.settled(10, "capstan/test:1").await;
    let most = watcher.read(|s| s.max_live);
    assert!(most <= 10 + 3, "10 replicas, surge 3: at most 13 pods, saw {most}");
    let sets = replica_sets(&cluster.client).await;
    assert_eq!(sets.len(), 1, "scaling is not a rollout");
    let rs = &sets[0];
    let rs_meta = rs.metadata.clone().unwrap_or_default();
    assert!(rs_meta.name.starts_with("web-") && rs_meta.labels.contains_key(HASH), "{}", rs_meta.name);
    assert_eq!(rs_meta.annotations.get("deployment.kubernetes.io/desired-replicas").map(String::as_str), Some("10"));
    assert_eq!(rs_meta.annotations.get("deployment.kubernetes.io/max-replicas").map(String::as_str), Some("13"));

    let wanted = [
        format!("Scaled up replica set {} from 0 to 3", rs_meta.name),
        format!("Scaled up replica set {} from 3 to 10", rs_meta.name),
    ];
    eventually("the ScalingReplicaSet events", || async {
        let (events, _) =
            cluster.client.api::<Event>(Some("default")).list(&ListParams::default()).await.expect("list events");
        let scaled: Vec<&str> =
            events.iter().filter(|e| e.reason == "ScalingReplicaSet").map(|e| e.message.as_str()).collect();
        wanted.iter().all(|w| scaled.contains(&w.as_str())).then_some(())
    })
    .await;

    update(&cluster.client, |spec| spec.replicas = Some(0)).await;
    wait_complete(&cluster.client, 0).await;
    eventually("every pod gone", || async { watcher.read(|s| s.pods.is_empty().then_some(())) }).await;
    assert!(watcher.read(|s| s.max_live) <= 13);
    manager.stop().await.expect("controller-manager stops");
    cluster.assert_no_component_refused().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_keeps_the_minimum_ready_and_undo_brings_the_old_template_back() {
    let cluster = cluster().await;
    let _nodes = nodes(&cluster).await;
    let manager = start_controllers(&cluster, &["replicaset", "deployment"]).await;
    let api = cluster.client.api::<Deployment>(Some("default"));
    // 4 replicas, 1 surge, 1 unavailable: between 3 ready and 5 pods at every step
    api.create(&deployment(4, Some(rolling(1, 1)), "capstan/test:1")).await.expect("create deployment");
    wait_complete(&cluster.client, 4).await;
    let watcher = PodWatcher::start(&cluster.client);
    watcher.settled(4, "capstan/test:1").await;
    watcher.arm();

    update(&cluster.client, |spec| {
        if let Some(c) = spec.template.as_mut().and_then(|t| t.spec.as_mut()).and_then(|s| s.containers.first_mut()) {
            c.image = "capstan/test:2".into();
        }
    })
    .await;
    let d = wait_complete(&cluster.client, 4).await;
    watcher.settled(4, "capstan/test:2").await;
    let (fewest, most) = watcher.read(|s| (s.min_ready, s.max_live));
    assert!(fewest.is_some_and(|f| f >= 3), "at least 4 - 1 ready throughout, saw {fewest:?}");
    assert!(most <= 5, "at most 4 + 1 pods, saw {most}");
    assert_eq!(d.metadata.as_ref().map(revision).as_deref(), Some("2"));

    let sets = replica_sets(&cluster.client).await;
    assert_eq!(sets.len(), 2);
    let by_image = |image: &str| {
        sets.iter()
            .find(|rs| image_of(rs.spec.as_ref().and_then(|s| s.template.as_ref())) == image)
            .cloned()
            .expect("a replica set per image")
    };
    let (old, new) = (by_image("capstan/test:1"), by_image("capstan/test:2"));
    assert_eq!(old.spec.as_ref().and_then(|s| s.replicas), Some(0), "the old replica set is scaled to 0");
    assert_eq!(new.spec.as_ref().and_then(|s| s.replicas), Some(4));
    assert_eq!(old.metadata.as_ref().map(revision).as_deref(), Some("1"));
    assert_eq!(new.metadata.as_ref().map(revision).as_deref(), Some("2"));

    // `capstan rollout undo`: copy the old ReplicaSet's template, less its hash label
    let mut undo = old.spec.clone().and_then(|s| s.template).expect("old template");
    if let Some(meta) = undo.metadata.as_mut() {
        meta.labels.remove(HASH);
    }
    watcher.arm();
    update(&cluster.client, move |spec| spec.template = Some(undo.clone())).await;
    let d = wait_complete(&cluster.client, 4).await;
    watcher.settled(4, "capstan/test:1").await;
    let fewest = watcher.read(|s| s.min_ready);
    assert!(fewest.is_some_and(|f| f >= 3), "at least 3 ready through the rollback, saw {fewest:?}");
    assert_eq!(d.metadata.as_ref().map(revision).as_deref(), Some("3"), "a rollback is a new revision");
    let sets = replica_sets(&cluster.client).await;
    assert_eq!(sets.len(), 2, "the old replica set is reused, none created");
    let old_name = old.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
    let reused = sets.iter().find(|rs| rs.metadata.as_ref().is_some_and(|m| m.name == old_name)).expect("old rs");
    let reused_meta = reused.metadata.clone().unwrap_or_default();
    assert_eq!(revision(&reused_meta), "3");
    assert_eq!(reused_meta.annotations.get("deployment.kubernetes.io/revision-history").map(String::as_str), Some("1"));
    assert_eq!(reused.spec.as_ref().and_then(|s| s.replicas), Some(4));
    manager.stop().await.expect("controller-manager stops");
    cluster.assert_no_component_refused().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_never_runs_old_and_new_pods_together() {
    let cluster = cluster().await;
    let _nodes = nodes(&cluster).await;
    let manager = start_controllers(&cluster, &["replicaset", "deployment"]).await;
    let api = cluster.client.api::<Deployment>(Some("default"));
    api.create(&deployment(3, Some(recreate()), "capstan/test:1")).await.expect("create deployment");
    wait_complete(&cluster.client, 3).await;
    let watcher = PodWatcher::start(&cluster.client);
    watcher.settled(3, "capstan/test:1").await;

    update(&cluster.client, |spec| {
        if let Some(c) = spec.template.as_mut().and_then(|t| t.spec.as_mut()).and_then(|s| s.containers.first_mut()) {
            c.image = "capstan/test:2".into();
        }
    })
    .await;
    wait_complete(&cluster.client, 3).await;
    watcher.settled(3, "capstan/test:2").await;
    assert!(!watcher.read(|s| s.mixed), "old and new pods existed at the same time");
    assert!(watcher.read(|s| s.max_live) <= 3);
    manager.stop().await.expect("controller-manager stops");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn a_rollout_that_cannot_progress_exceeds_its_deadline() {
    // no nodes: the pods stay pending and never become ready
    let cluster = cluster().await;
    let manager = start_controllers(&cluster, &["replicaset", "deployment"]).await;
    let mut d = deployment(2, None, "capstan/test:1");
    if let Some(spec) = d.spec.as_mut() {
        spec.progress_deadline_seconds = Some(2);
    }
    cluster.client.api::<Deployment>(Some("default")).create(&d).await.expect("create deployment");
    let d = wait_object(&cluster.client, Some("default"), "web", |d: Option<&Deployment>| {
        d.is_some_and(|d| reason(d, "Progressing") == "False/ProgressDeadlineExceeded")
    })
    .await
    .expect("deployment");
    assert_eq!(reason(&d, "Available"), "False/MinimumReplicasUnavailable");
    let s = d.status.clone().unwrap_or_default();
    assert_eq!((s.replicas, s.updated_replicas, s.ready_replicas, s.unavailable_replicas), (2, 2, 0, 2));
    let message = condition(&d, "Progressing").map(|c| c.message.clone()).unwrap_or_default();
    assert!(message.contains("has timed out progressing"), "{message}");
    manager.stop().await.expect("controller-manager stops");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn a_paused_deployment_scales_but_does_not_roll_out() {
    let cluster = cluster().await;
    let manager = start_controllers(&cluster, &["replicaset", "deployment"]).await;
    let mut d = deployment(2, None, "capstan/test:1");
    if let Some(spec) = d.spec.as_mut() {
        spec.paused = true;
    }
    cluster.client.api::<Deployment>(Some("default")).create(&d).await.expect("create deployment");
    wait_object(&cluster.client, Some("default"), "web", |d: Option<&Deployment>| {
        d.is_some_and(|d| reason(d, "Progressing") == "Unknown/DeploymentPaused")
    })
    .await;
    assert!(replica_sets(&cluster.client).await.is_empty(), "a paused deployment starts no rollout");

    update(&cluster.client, |spec| spec.paused = false).await;
    let first = wait_object(&cluster.client, Some("default"), "web", |d: Option<&Deployment>| {
        d.is_some_and(|d| d.metadata.as_ref().map(revision).as_deref() == Some("1"))
    })
    .await
    .expect("deployment");
    assert_ne!(reason(&first, "Progressing"), "Unknown/DeploymentPaused");

    // paused again: a new template waits, a new size does not
    update(&cluster.client, |spec| {
        spec.paused = true;
        spec.replicas = Some(5);
        if let Some(c) = spec.template.as_mut().and_then(|t| t.spec.as_mut()).and_then(|s| s.containers.first_mut()) {
            c.image = "capstan/test:2".into();
        }
    })
    .await;
    eventually("the old replica set scaled to 5", || async {
        let sets = replica_sets(&cluster.client).await;
        (sets.len() == 1 && sets[0].spec.as_ref().and_then(|s| s.replicas) == Some(5)).then_some(())
    })
    .await;
    let paused = wait_object(&cluster.client, Some("default"), "web", |d: Option<&Deployment>| {
        d.is_some_and(|d| d.status.as_ref().is_some_and(|s| s.replicas == 5))
    })
    .await
    .expect("deployment");
    assert_eq!(paused.metadata.as_ref().map(revision).as_deref(), Some("1"), "no new revision while paused");
    assert_eq!(replica_sets(&cluster.client).await.len(), 1);

    update(&cluster.client, |spec| spec.paused = false).await;
    wait_object(&cluster.client, Some("default"), "web", |d: Option<&Deployment>| {
        d.is_some_and(|d| d.metadata.as_ref().map(revision).as_deref() == Some("2"))
    })
    .await;
    eventually("a second replica set", || async { (replica_sets(&cluster.client).await.len() == 2).then_some(()) })
        .await;
    manager.stop().await.expect("controller-manager stops");
    cluster.assert_no_component_refused().await;
}

#[tokio::test]
async fn old_replica_sets_beyond_the_history_limit_are_deleted() {
    let cluster = cluster().await;
    let manager = start_controllers(&cluster, &["replicaset", "deployment"]).await;
    // no replicas: every rollout completes at once, without nodes
    let mut d = deployment(0, None, "capstan/test:1");
    if let Some(spec) = d.spec.as_mut() {
        spec.revision_history_limit = Some(1);
    }
    cluster.client.api::<Deployment>(Some("default")).create(&d).await.expect("create deployment");
    for (version, image) in [(1, "capstan/test:1"), (2, "capstan/test:2"), (3, "capstan/test:3"), (4, "capstan/test:4")]
    {
        if version > 1 {
            update(&cluster.client, |spec| {
                if let Some(c) =
                    spec.template.as_mut().and_then(|t| t.spec.as_mut()).and_then(|s| s.containers.first_mut())
                {
                    c.image = image.into();
                }
            })
            .await;
        }
        wait_object(&cluster.client, Some("default"), "web", |d: Option<&Deployment>| {
            d.is_some_and(|d| d.metadata.as_ref().map(revision) == Some(version.to_string()))
        })
        .await;
    }
    let kept = eventually("only the new and one old replica set", || async {
        let sets = replica_sets(&cluster.client).await;
        (sets.len() == 2).then_some(sets)
    })
    .await;
    let mut revisions: Vec<String> = kept.iter().filter_map(|rs| rs.metadata.as_ref().map(revision)).collect();
    revisions.sort();
    assert_eq!(revisions, ["3", "4"], "the oldest revisions go first");
    manager.stop().await.expect("controller-manager stops");
    cluster.assert_no_component_refused().await;
}
