//! The node-wide relist (Kubernetes' PLEG): once a period, one list of this node's
//! sandboxes and one of its containers — for every pod at once — then a status
//! read only for what is new or changed state since the last relist. The records
//! are grouped by pod into the [`RuntimeCache`], which wakes the workers of the
//! pods that changed.
//!
//! So the runtime sees two list calls per period however many pods the node runs,
//! instead of every worker polling its own pod; a worker still re-reads what it
//! acts on itself, so its own actions never wait for a relist.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use capstan_cri::labels;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::cache::{Cached, RuntimeCache};
use crate::metrics::KubeletMetrics;
use crate::model::{ContainerRecord, PodRuntime, SandboxRecord, Touched};
use crate::runtime::Runtime;
use crate::KubeletError;

/// One object as listed: what it is, whose it is, and its state then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub object: Touched,
    pub pod_uid: String,
    /// the list's state (a `PodSandboxState` or `ContainerState` value)
    pub state: i32,
}

/// What one relist did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relisted {
    /// sandboxes and containers listed
    pub listed: usize,
    /// status calls made (objects new or changed since the last relist)
    pub statuses: usize,
    /// pods seen
    pub pods: usize,
}

/// The relist's memory of the last listing; see the module docs.
pub struct Relister {
    runtime: Runtime,
    cache: Arc<RuntimeCache>,
    /// object → (state it was listed in, its record)
    known: HashMap<Touched, (i32, Record)>,
    /// told what each listing holds (running pods and containers)
    metrics: Option<KubeletMetrics>,
}

#[derive(Clone, Debug)]
enum Record {
    Sandbox(SandboxRecord),
    Container(ContainerRecord),
}

impl Relister {
    pub fn new(runtime: Runtime, cache: Arc<RuntimeCache>) -> Self {
        Relister { runtime, cache, known: HashMap::new(), metrics: None }
    }

    /// Has every listing counted in `metrics`.
    pub fn reporting_to(mut self, metrics: KubeletMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Lists the node, reads the status of what changed, and offers every pod's
    /// records to the cache.
    pub async fn relist(&mut self) -> Result<Relisted, KubeletError> {
        let read_at = Instant::now();
        let (sandboxes, containers) = self.runtime.list(None).await?;
        let listed: Vec<Listed> = sandboxes
            .into_iter()
            .map(|s| Listed {
                pod_uid: s.labels.get(labels::POD_UID).cloned().unwrap_or_default(),
                object: Touched::Sandbox(s.id),
                state: s.state,
            })
            .chain(containers.into_iter().map(|c| Listed {
                pod_uid: c.labels.get(labels::POD_UID).cloned().unwrap_or_default(),
                object: Touched::Container(c.id),
                state: c.state,
            }))
            .collect();
        if let Some(metrics) = &self.metrics {
            metrics.listed(&listed);
        }
        let stale = changed(&listed, |object| self.known.get(object).map(|(state, _)| *state));
        let fresh = self.runtime.refresh(PodRuntime::default(), &stale).await?;
        let mut fresh_records: HashMap<Touched, Record> = HashMap::new();
        for sandbox in fresh.sandboxes {
            fresh_records.insert(Touched::Sandbox(sandbox.id.clone()), Record::Sandbox(sandbox));
        }
        for container in fresh.containers {
            fresh_records.insert(Touched::Container(container.id.clone()), Record::Container(container));
        }
        let mut known = HashMap::new();
        let mut pods: BTreeMap<&str, PodRuntime> = BTreeMap::new();
        for item in &listed {
            // a changed object that vanished before its status was read is left out
            let Some(record) = fresh_records
                .remove(&item.object)
                .or_else(|| self.known.get(&item.object).map(|(_, record)| record.clone()))
            else {
                continue;
            };
            let pod = pods.entry(item.pod_uid.as_str()).or_default();
            match &record {
                Record::Sandbox(s) => pod.sandboxes.push(s.clone()),
                Record::Container(c) => pod.containers.push(c.clone()),
            }
            known.insert(item.object.clone(), (item.state, record));
        }
        self.known = known;
        let report = Relisted { listed: listed.len(), statuses: stale.len(), pods: pods.len() };
        let seen: Vec<&str> = pods.keys().copied().collect();
        for (uid, runtime) in &pods {
            self.cache.offer(uid, Cached { runtime: runtime.clone().sorted(), read_at });
        }
        self.cache.relisted(read_at, &seen);
        Ok(report)
    }
}

/// The listed objects whose status must be read: new ones, and those whose state
/// differs from the one `known` remembers. Pure.
pub fn changed(listed: &[Listed], known: impl Fn(&Touched) -> Option<i32>) -> Vec<Touched> {
    listed.iter().filter(|item| known(&item.object) != Some(item.state)).map(|item| item.object.clone()).collect()
}

/// Relists every `period` until `shutdown` (the kubelet runs the first relist
/// itself before any worker starts).
pub async fn run(mut relister: Relister, period: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match relister.relist().await {
            Ok(done) => tracing::trace!(?done, "relisted"),
            Err(error) => tracing::warn!(%error, "relisting the runtime"),
        }
    }
}

#[cfg(test)]
mod tests {
    use capstan_memory_shim::{MemoryConfig, MemoryRuntime};
    use capstan_proto::core::v1::{Container, Pod, PodSpec};
    use capstan_proto::meta::v1::ObjectMeta;
    use capstan_proto::runtime::v1::{
        CreateContainerRequest, RemoveContainerRequest, RemovePodSandboxRequest, RunPodSandboxRequest,
        StartContainerRequest,
    };

    use super::*;
    use crate::model::RunState;
    use crate::podconfig::{container_config, sandbox_config};

    fn listed(object: Touched, state: i32) -> Listed {
        Listed { object, pod_uid: "p".into(), state }
    }

    #[test]
    fn only_new_and_changed_objects_are_read_again() {
        let (sb, running, exited) =
            (Touched::Sandbox("sb".into()), Touched::Container("a".into()), Touched::Container("b".into()));
        let known = HashMap::from([(sb.clone(), 0), (running.clone(), 1), (exited.clone(), 1)]);
        let now = [
            listed(sb.clone(), 0),
            listed(running.clone(), 1),
            listed(exited.clone(), 2),
            listed(Touched::Container("new".into()), 0),
        ];
        let stale = changed(&now, |object| known.get(object).copied());
        assert_eq!(stale, [exited, Touched::Container("new".into())]);
        assert!(changed(&now[..2], |object| known.get(object).copied()).is_empty());
    }

    /// A pod with one container, run straight through the runtime interface.
    async fn run_pod(runtime: &Runtime, uid: &str) -> (String, String) {
        let container = Container {
            name: "app".into(),
            image: "capstan/pause:1".into(),
            command: vec!["sleep".into(), "infinity".into()],
            ..Default::default()
        };
        let pod = Pod {
            metadata: Some(ObjectMeta {
                name: "p".into(),
                namespace: "default".into(),
                uid: uid.into(),
                ..Default::default()
            }),
            spec: Some(PodSpec { containers: vec![container.clone()], ..Default::default() }),
            ..Default::default()
        };
        let mut client = runtime.clients.runtime.clone();
        let config = sandbox_config(&pod, 0);
        let request = RunPodSandboxRequest { config: Some(config.clone()) };
        let sandbox = client.run_pod_sandbox(request).await.expect("sandbox").into_inner().pod_sandbox_id;
        let request = CreateContainerRequest {
            pod_sandbox_id: sandbox.clone(),
            config: Some(container_config(&pod, &container, 0, ("", ""), &[])),
            sandbox_config: Some(config),
        };
        let id = client.create_container(request).await.expect("create").into_inner().container_id;
        client.start_container(StartContainerRequest { container_id: id.clone() }).await.expect("start");
        (sandbox, id)
    }

    #[tokio::test]
    async fn one_listing_serves_every_pod_and_only_changes_are_read() {
        let memory =
            MemoryRuntime::new(MemoryConfig { node_name: Some("n".into()), ..Default::default() }).expect("memory");
        let clients = capstan_shim_common::connect_in_process(memory.clone()).await.expect("connect");
        let runtime = Runtime { clients, node: "n".into(), name: "memory".into() };
        let cache = Arc::new(RuntimeCache::default());
        let mut relister = Relister::new(runtime.clone(), cache.clone());
        let (sandbox_a, app_a) = run_pod(&runtime, "a").await;
        run_pod(&runtime, "b").await;

        let first = relister.relist().await.expect("relist");
        assert_eq!(first, Relisted { listed: 4, statuses: 4, pods: 2 });
        let a = cache.get("a").expect("pod a").runtime;
        assert_eq!(a.sandbox().map(|s| (s.id.as_str(), s.ready)), Some((sandbox_a.as_str(), true)));
        assert_eq!(a.latest("app").map(|c| (c.id.as_str(), c.state)), Some((app_a.as_str(), RunState::Running)));

        // nothing changed: two list calls, no status read, nobody woken
        let mut updates = cache.subscribe("a");
        updates.borrow_and_update();
        assert_eq!(relister.relist().await.expect("relist"), Relisted { listed: 4, statuses: 0, pods: 2 });
        assert!(!updates.has_changed().expect("open"));

        // a's container exits: one status read, a's worker woken with the exit
        memory.set_exit(&app_a, 3).await.expect("exit");
        assert_eq!(relister.relist().await.expect("relist"), Relisted { listed: 4, statuses: 1, pods: 2 });
        assert!(updates.has_changed().expect("open"));
        let exited = cache.get("a").expect("pod a").runtime.latest("app").cloned().expect("app");
        assert_eq!((exited.state, exited.exit_code), (RunState::Exited, 3));

        // a is removed from the runtime: its records empty out
        updates.borrow_and_update();
        let mut client = runtime.clients.runtime.clone();
        client.remove_container(RemoveContainerRequest { container_id: app_a }).await.expect("remove");
        client.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: sandbox_a }).await.expect("remove");
        assert_eq!(relister.relist().await.expect("relist"), Relisted { listed: 2, statuses: 0, pods: 1 });
        assert!(updates.has_changed().expect("open"));
        assert_eq!(cache.get("a").map(|c| c.runtime), Some(PodRuntime::default()));
    }
}
