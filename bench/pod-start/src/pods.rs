//! The Capstan side: pods bound to the node at create, a watch that timestamps
//! the first event showing each one Running, and the cleanup that deletes them
//! through the API and waits until the kubelet has removed them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan_client::{Api, Client, DeleteParams, ListParams, WatchEvent};
use capstan_proto::core::v1::{Container, Pod, PodSpec};
use capstan_proto::meta::v1::ObjectMeta;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::images::TEST_IMAGE;
use crate::BenchError;

/// The label every benchmark pod carries, valued with the run's id.
pub const RUN_LABEL: &str = "capstan-bench-run";
/// How long one pod may take to become Running before the run fails.
pub const POD_TIMEOUT: Duration = Duration::from_secs(60);
const NAMESPACE: &str = "default";

/// One measured pod.
#[derive(Clone, Debug)]
pub struct PodSample {
    pub name: String,
    /// just before the create call
    pub start: Instant,
    /// the create call returned
    pub created: Instant,
    /// the watch delivered the pod's ADDED event
    pub added: Option<Instant>,
    /// the watch delivered the first event showing phase Running
    pub running: Instant,
}

impl PodSample {
    /// Create call to Running.
    pub fn latency(&self) -> Duration {
        self.running - self.start
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    added: Option<Instant>,
    running: Option<Instant>,
}

/// Creates the benchmark's pods and times them.
pub struct PodRunner {
    api: Api<Pod>,
    node: String,
    run_id: String,
    command: Vec<String>,
    seen: watch::Receiver<HashMap<String, Seen>>,
    watcher: JoinHandle<()>,
}

impl PodRunner {
    /// Starts the watch on this run's pods.
    pub async fn start(client: &Client, node: &str, run_id: &str, command: &[&str]) -> Result<PodRunner, BenchError> {
        let api = client.api::<Pod>(Some(NAMESPACE));
        let params = ListParams::default().labels(&format!("{RUN_LABEL}={run_id}"));
        let stream = api.watch(&params, "").await.map_err(BenchError::api("Watch pods"))?;
        let (record, seen) = watch::channel(HashMap::new());
        let watcher = tokio::spawn(async move {
            let mut stream = stream;
            loop {
                match stream.try_next().await {
                    Ok(Some(event)) => note(&record, &event, Instant::now()),
                    Ok(None) => break tracing::warn!("the pod watch ended"),
                    Err(error) => break tracing::warn!(%error, "the pod watch failed"),
                }
            }
        });
        let command = command.iter().map(|s| s.to_string()).collect();
        Ok(PodRunner { api, node: node.to_string(), run_id: run_id.to_string(), command, seen, watcher })
    }

    /// Creates pod `name` and waits for it to be Running.
    pub async fn measure(&self, name: &str) -> Result<PodSample, BenchError> {
        let pod = self.pod(name);
        let start = Instant::now();
        self.api.create(&pod).await.map_err(BenchError::api(format!("Create pod {name}")))?;
        let created = Instant::now();
        let mut seen = self.seen.clone();
        let waited =
            tokio::time::timeout(POD_TIMEOUT, seen.wait_for(|m| m.get(name).is_some_and(|s| s.running.is_some())));
        let entry = match waited.await {
            Ok(Ok(map)) => map.get(name).copied().unwrap_or_default(),
            Ok(Err(_)) => return Err(BenchError::WatchEnded(format!("while waiting for pod {name}"))),
            Err(_) => return Err(BenchError::Timeout { what: format!("pod {name} Running"), waited: POD_TIMEOUT }),
        };
        let running = entry.running.unwrap_or(created);
        Ok(PodSample { name: name.to_string(), start, created, added: entry.added, running })
    }

    /// Creates `names`, `parallel` at a time, and measures each.
    pub async fn measure_all(
        self: &Arc<Self>,
        names: Vec<String>,
        parallel: usize,
    ) -> Result<Vec<PodSample>, BenchError> {
        futures::stream::iter(names)
            .map(|name| {
                let runner = self.clone();
                async move { runner.measure(&name).await }
            })
            .buffer_unordered(parallel.max(1))
            .try_collect()
            .await
    }

    /// The benchmark pod `name`: bound to the node, one container.
    fn pod(&self, name: &str) -> Pod {
        let labels = BTreeMap::from([(RUN_LABEL.to_string(), self.run_id.clone())]);
        let container = Container {
            name: "app".into(),
            image: TEST_IMAGE.into(),
            command: self.command.clone(),
            image_pull_policy: "IfNotPresent".into(),
            ..Default::default()
        };
        Pod {
            metadata: Some(ObjectMeta { name: name.into(), namespace: NAMESPACE.into(), labels, ..Default::default() }),
            spec: Some(PodSpec {
                node_name: self.node.clone(),
                restart_policy: "Always".into(),
                termination_grace_period_seconds: Some(1),
                containers: vec![container],
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

impl Drop for PodRunner {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// Records the first ADDED and the first Running of the event's pod.
fn note(record: &watch::Sender<HashMap<String, Seen>>, event: &WatchEvent<Pod>, at: Instant) {
    let (pod, added) = match event {
        WatchEvent::Added(pod) => (pod, true),
        WatchEvent::Modified(pod) => (pod, false),
        WatchEvent::Deleted(_) | WatchEvent::Bookmark { .. } => return,
    };
    let name = pod.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
    let running = pod.status.as_ref().is_some_and(|s| s.phase == "Running");
    record.send_modify(|seen| {
        let entry = seen.entry(name).or_default();
        if added && entry.added.is_none() {
            entry.added = Some(at);
        }
        if running && entry.running.is_none() {
            entry.running = Some(at);
        }
    });
}

/// Deletes every pod of this run (grace 1 s: `sleep` as PID 1 ignores
/// SIGTERM) and waits until the kubelet has finished them all.
pub async fn delete_all(client: &Client, run_id: &str, waited: Duration) -> Result<(), BenchError> {
    let api = client.api::<Pod>(Some(NAMESPACE));
    let params = ListParams::default().labels(&format!("{RUN_LABEL}={run_id}"));
    let (pods, _) = api.list(&params).await.map_err(BenchError::api("List pods"))?;
    let delete = DeleteParams::default().grace_period(1);
    for pod in &pods {
        let name = pod.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
        match api.delete(&name, &delete).await {
            Ok(_) => {}
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(BenchError::api(format!("Delete pod {name}"))(error)),
        }
    }
    let deadline = Instant::now() + waited;
    loop {
        let (left, _) = api.list(&params).await.map_err(BenchError::api("List pods"))?;
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            let what = format!("deleting {} pod(s) of the run", left.len());
            return Err(BenchError::Timeout { what, waited });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
