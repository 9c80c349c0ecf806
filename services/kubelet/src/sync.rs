//! Carrying out a [`Plan`]: running sandboxes, pulling and starting containers,
//! killing the ones the plan names. A failure to start a container becomes that
//! container's waiting reason (`ErrImagePull`, `ErrImageNeverPull`,
//! `CreateContainerError`) rather than aborting the sync.
//!
//! It returns what it touched, so the worker re-reads exactly those records.
//!
//! A sandbox takes most of a pod's start, so the next steps overlap it: the images
//! of the pod's containers are checked (or pulled) meanwhile, and for a pod's first
//! sandbox its app containers are created as soon as the runtime lists the starting
//! sandbox (creating needs only the sandbox's id; starting waits for it to run).
//! The worker's next plan then finds them created and only starts them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use capstan_proto::core::v1::{Container, Pod};
use capstan_proto::runtime::v1::{CreateContainerRequest, RunPodSandboxRequest, StartContainerRequest};
use capstan_runtime::events::{NORMAL, WARNING};
use capstan_runtime::EventRecorder;
use futures::future::join_all;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backoff::CrashBackoff;
use crate::decide::{Action, Kill, Plan, Start, Waiting};
use crate::discovery::Discovery;
use crate::images::ensure_image;
use crate::model::{PodRuntime, Touched};
use crate::podconfig::{container_config, needs_pod_ip, sandbox_config};
use crate::runtime::Runtime;
use crate::KubeletError;

/// Grace a container killed by the plan gets, in seconds.
const KILL_GRACE_SECONDS: i64 = 2;

/// How often a starting sandbox is looked for, to create containers in it early.
const FIND_SANDBOX_EVERY: Duration = Duration::from_millis(10);

/// What a sync carries its plan out with.
pub struct Executor<'a> {
    pub runtime: &'a Runtime,
    pub events: &'a EventRecorder,
    pub pod: &'a Pod,
    pub host_ip: &'a str,
    pub discovery: &'a Discovery,
}

/// What carrying out plans changes besides the runtime.
#[derive(Debug)]
pub struct Book {
    pub backoff: CrashBackoff,
    /// container id → why the kubelet killed it, for its terminated state
    pub kill_notes: BTreeMap<String, String>,
    /// images found present (or pulled) during the current sync
    pub images_present: HashSet<String>,
    /// containers created early in a starting sandbox during the current sync, by
    /// (name, attempt), waiting for their start
    pub precreated: HashMap<(String, u32), String>,
}

impl Book {
    pub fn new(backoff: CrashBackoff) -> Self {
        Book { backoff, kill_notes: BTreeMap::new(), images_present: HashSet::new(), precreated: HashMap::new() }
    }
}

impl Executor<'_> {
    /// Carries out `plan`; failures to start containers land in `plan.waiting`.
    /// Returns the sandboxes and containers it created, started or stopped.
    pub async fn execute(
        &self,
        snapshot: &PodRuntime,
        plan: &mut Plan,
        book: &mut Book,
    ) -> Result<Vec<Touched>, KubeletError> {
        let actions = std::mem::take(&mut plan.actions);
        let mut touched = Vec::new();
        for action in &actions {
            match action {
                Action::RunSandbox { attempt } => {
                    let id = self.run_sandbox(snapshot, *attempt, book).await?;
                    touched.push(Touched::Sandbox(id));
                }
                Action::StopSandbox { id } => {
                    self.runtime.stop_sandbox(id).await?;
                    touched.push(Touched::Sandbox(id.clone()));
                }
                Action::KillContainer(kill) => {
                    self.kill(kill, book);
                    self.runtime.stop_container(&kill.id, KILL_GRACE_SECONDS).await?;
                    touched.push(Touched::Container(kill.id.clone()));
                }
                Action::StartContainer { name, init, attempt, start } => {
                    match *start {
                        Start::Restart => book.backoff.record_restart(name, Instant::now()),
                        Start::Reset => book.backoff.reset(name),
                        Start::First => {}
                    }
                    match self.start_container(snapshot, name, *init, *attempt, book).await {
                        Ok(id) => touched.push(Touched::Container(id)),
                        Err((error, created)) => {
                            tracing::warn!(pod = %pod_name(self.pod), container = %name, %error, "could not start container");
                            touched.extend(created.map(Touched::Container));
                            let reason = match &error {
                                KubeletError::ImageNeverPull { .. } => "ErrImageNeverPull",
                                KubeletError::ImagePull { .. } => "ErrImagePull",
                                _ => "CreateContainerError",
                            };
                            let waiting = Waiting { reason: reason.into(), message: error.to_string() };
                            plan.waiting.insert(name.clone(), waiting);
                        }
                    }
                }
            }
        }
        plan.actions = actions;
        Ok(touched)
    }

    /// Runs the sandbox; meanwhile makes the pod's images present and, for the
    /// pod's first sandbox, creates its app containers in it (see the module docs).
    async fn run_sandbox(&self, snapshot: &PodRuntime, attempt: u32, book: &mut Book) -> Result<String, KubeletError> {
        let mut config = sandbox_config(self.pod, attempt);
        let resolver = self.discovery.resolver(self.pod)?;
        if !resolver.warnings.is_empty() {
            // told off the start's path: the sandbox does not wait for an API write
            let (events, pod, warnings) = (self.events.clone(), self.pod.clone(), resolver.warnings);
            tokio::spawn(async move {
                for warning in warnings {
                    events.emit(&pod, WARNING, warning.reason(), &warning.message()).await;
                }
            });
        }
        config.dns_config = Some(resolver.config);
        let request = RunPodSandboxRequest { config: Some(config.clone()) };
        let mut client = self.runtime.clients.runtime.clone();
        let started = CancellationToken::new();
        let run = async {
            let reply = client.run_pod_sandbox(request).await;
            started.cancel();
            reply
        };
        let early = early_containers(self.pod, snapshot, attempt);
        let prepare = async {
            let present = self.check_images(&config).await;
            let created = self.create_early(&early, attempt, &present, &started).await;
            (present, created)
        };
        let (reply, (present, created)) = tokio::join!(run, prepare);
        // a failed check is left to the container's start, which reports it
        book.images_present.extend(present);
        match reply {
            Ok(reply) => {
                book.precreated.extend(created);
                Ok(reply.into_inner().pod_sandbox_id)
            }
            Err(status) => {
                self.remove_unstarted(created.into_values()).await;
                Err(KubeletError::runtime("RunPodSandbox", pod_name(self.pod))(status))
            }
        }
    }

    /// Makes every image of the pod present as its policy says; returns those that are.
    async fn check_images(&self, config: &capstan_proto::runtime::v1::PodSandboxConfig) -> Vec<String> {
        let spec = self.pod.spec.clone().unwrap_or_default();
        let mut wanted: Vec<(&str, &str)> = spec
            .init_containers
            .iter()
            .chain(&spec.containers)
            .map(|c| (c.image.as_str(), c.image_pull_policy.as_str()))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let checks = wanted.iter().map(|(image, policy)| async {
            ensure_image(self.runtime, image, policy, config).await.ok().map(|()| image.to_string())
        });
        join_all(checks).await.into_iter().flatten().collect()
    }

    /// Creates `containers` (attempt 0) in sandbox attempt `attempt` once the
    /// runtime has it, unless it is up (`started`) first; any other failure just
    /// leaves the container to the normal path.
    ///
    /// Docker lists a container a little before it can be inspected (while its
    /// creation finishes), so a sandbox that is listed but not found is looked
    /// for again on the next tick.
    async fn create_early(
        &self,
        containers: &[Container],
        attempt: u32,
        present: &[String],
        started: &CancellationToken,
    ) -> HashMap<(String, u32), String> {
        let mut created = HashMap::new();
        let wanted: Vec<&Container> = containers.iter().filter(|c| present.contains(&c.image)).collect();
        if wanted.is_empty() {
            return created;
        }
        let uid = self.pod.metadata.as_ref().map(|m| m.uid.clone()).unwrap_or_default();
        let sandbox_config = sandbox_config(self.pod, attempt);
        // without the Services known, the containers wait for the normal path
        let Ok(service_env) = self.discovery.service_env(self.pod) else { return created };
        let mut sandbox_id = None;
        let mut next = 0;
        while let Some(container) = wanted.get(next) {
            if created.is_empty() {
                tokio::select! {
                    _ = started.cancelled() => break,
                    _ = tokio::time::sleep(FIND_SANDBOX_EVERY) => {}
                }
            }
            let id = match &sandbox_id {
                Some(id) => id,
                None => match self.runtime.find_sandbox(&uid, attempt).await {
                    Ok(found) => match found {
                        Some(found) => sandbox_id.insert(found),
                        None => continue,
                    },
                    Err(error) => {
                        tracing::debug!(%error, "looking for the starting sandbox");
                        break;
                    }
                },
            };
            let request = CreateContainerRequest {
                pod_sandbox_id: id.clone(),
                config: Some(container_config(self.pod, container, 0, ("", self.host_ip), &service_env)),
                sandbox_config: Some(sandbox_config.clone()),
            };
            match self.runtime.clients.runtime.clone().create_container(request).await {
                Ok(reply) => {
                    created.insert((container.name.clone(), 0), reply.into_inner().container_id);
                    next += 1;
                }
                Err(status) if status.code() == tonic::Code::NotFound && created.is_empty() => {}
                Err(status) => {
                    tracing::debug!(container = %container.name, %status, "creating early; left to the start");
                    break;
                }
            }
        }
        created
    }

    /// Removes containers created early that will not be started (best effort:
    /// the relist and the next plan see any that stay).
    pub async fn remove_unstarted(&self, ids: impl IntoIterator<Item = String>) {
        for id in ids {
            if let Err(error) = self.runtime.remove_container(&id).await {
                tracing::warn!(container = %id, %error, "removing a container created early");
            }
        }
    }

    /// Notes why the kubelet kills a container and tells it in Events, as
    /// Kubernetes does (`Unhealthy` for a failed probe, then `Killing`).
    fn kill(&self, kill: &Kill, book: &mut Book) {
        tracing::info!(pod = %pod_name(self.pod), container = %kill.name, reason = %kill.reason, "killing container");
        book.kill_notes.insert(kill.id.clone(), kill.message.clone());
        let (events, pod, kill) = (self.events.clone(), self.pod.clone(), kill.clone());
        // Events are never on the sync's path
        tokio::spawn(async move {
            if let Some(probe_output) = &kill.probe_output {
                events.emit(&pod, WARNING, "Unhealthy", probe_output).await;
            }
            events.emit(&pod, NORMAL, "Killing", &kill.message).await;
        });
    }

    /// Creates (unless it was created early) and starts one container; on
    /// failure, also the id of a container that was created but not started.
    async fn start_container(
        &self,
        snapshot: &PodRuntime,
        name: &str,
        init: bool,
        attempt: u32,
        book: &mut Book,
    ) -> Result<String, (KubeletError, Option<String>)> {
        let pod = self.pod;
        let sandbox = snapshot.sandbox().ok_or_else(|| (KubeletError::NoSuchPod { pod: pod_name(pod) }, None))?;
        let id = match book.precreated.remove(&(name.to_string(), attempt)) {
            Some(id) => id,
            None => self
                .create_container(sandbox, name, init, attempt, &book.images_present)
                .await
                .map_err(|e| (e, None))?,
        };
        let request = StartContainerRequest { container_id: id.clone() };
        if let Err(status) = self.runtime.clients.runtime.clone().start_container(request).await {
            return Err((KubeletError::runtime("StartContainer", &id)(status), Some(id)));
        }
        tracing::info!(pod = %pod_name(pod), container = %name, attempt, %id, "started container");
        Ok(id)
    }

    async fn create_container(
        &self,
        sandbox: &crate::model::SandboxRecord,
        name: &str,
        init: bool,
        attempt: u32,
        images_present: &HashSet<String>,
    ) -> Result<String, KubeletError> {
        let pod = self.pod;
        let spec = pod.spec.clone().unwrap_or_default();
        let list = if init { &spec.init_containers } else { &spec.containers };
        let container = list
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| KubeletError::NoSuchContainer { pod: pod_name(pod), container: name.to_string() })?;
        let sandbox_config = sandbox_config(pod, sandbox.attempt);
        if !images_present.contains(&container.image) {
            ensure_image(self.runtime, &container.image, &container.image_pull_policy, &sandbox_config).await?;
        }
        let service_env = self.discovery.service_env(pod)?;
        let request = CreateContainerRequest {
            pod_sandbox_id: sandbox.id.clone(),
            config: Some(container_config(pod, container, attempt, (&sandbox.ip, self.host_ip), &service_env)),
            sandbox_config: Some(sandbox_config),
        };
        let reply = self.runtime.clients.runtime.clone().create_container(request).await;
        let reply = reply.map_err(KubeletError::runtime("CreateContainer", format!("{}/{name}", pod_name(pod))))?;
        Ok(reply.into_inner().container_id)
    }
}

/// The containers to create early in a starting sandbox: a pod's first sandbox
/// only (nothing ran yet), without init containers (they run first, one at a
/// time), and none whose env needs the pod's IP (known once the sandbox runs).
pub fn early_containers(pod: &Pod, snapshot: &PodRuntime, attempt: u32) -> Vec<Container> {
    let spec = pod.spec.clone().unwrap_or_default();
    let first = attempt == 0 && snapshot.sandboxes.is_empty() && snapshot.containers.is_empty();
    if !first || !spec.init_containers.is_empty() || spec.containers.iter().any(needs_pod_ip) {
        return Vec::new();
    }
    spec.containers
}

/// `namespace/name` of a pod, for messages.
pub fn pod_name(pod: &Pod) -> String {
    let meta = pod.metadata.clone().unwrap_or_default();
    format!("{}/{}", meta.namespace, meta.name)
}

#[cfg(test)]
mod tests {
    use capstan_proto::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, PodSpec};

    use super::*;
    use crate::model::{ContainerRecord, SandboxRecord};

    fn pod(init: &[&str], apps: &[&str]) -> Pod {
        let container = |name: &&str| Container { name: name.to_string(), ..Default::default() };
        Pod {
            spec: Some(PodSpec {
                init_containers: init.iter().map(container).collect(),
                containers: apps.iter().map(container).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn only_a_first_sandbox_without_init_containers_or_pod_ip_env_gets_early_containers() {
        let names = |containers: Vec<Container>| containers.into_iter().map(|c| c.name).collect::<Vec<_>>();
        let fresh = PodRuntime::default();
        assert_eq!(names(early_containers(&pod(&[], &["a", "b"]), &fresh, 0)), ["a", "b"]);
        assert!(early_containers(&pod(&["init"], &["a"]), &fresh, 0).is_empty(), "init containers run first");
        assert!(early_containers(&pod(&[], &["a"]), &fresh, 1).is_empty(), "a replacement sandbox");
        let ran = PodRuntime {
            sandboxes: vec![SandboxRecord { id: "old".into(), ..Default::default() }],
            containers: vec![ContainerRecord { id: "c".into(), name: "a".into(), ..Default::default() }],
        };
        assert!(early_containers(&pod(&[], &["a"]), &ran, 0).is_empty(), "containers ran before");
        let mut wants_ip = pod(&[], &["a"]);
        if let Some(spec) = wants_ip.spec.as_mut() {
            spec.containers[0].env.push(EnvVar {
                name: "POD_IP".into(),
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector { field_path: "status.podIP".into(), ..Default::default() }),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        assert!(early_containers(&wants_ip, &fresh, 0).is_empty(), "the pod IP is known once the sandbox runs");
    }
}
