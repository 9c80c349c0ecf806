//! App containers: a containerd container (OCI spec, a snapshot on top of its
//! unpacked image) whose task runs in the pod's network namespace with its output
//! going to FIFOs the shim copies into the log file.
//!
//! Created means the record and snapshot exist; starting creates and starts the
//! task. The task is kept after it exits, so its exit code and time stay readable
//! until the container is removed; the start time is a label on the record.

use std::path::Path;

use capstan_proto::runtime::v1::{Container, ContainerFilter, ContainerState, ContainerStatus, CreateContainerRequest};
use capstan_shim_common::{labels, RuntimeError, ShimNode};
use containerd_client::services::v1::container::Runtime;
use containerd_client::services::v1::snapshots::{MountsRequest, PrepareSnapshotRequest};
use containerd_client::services::v1::{
    Container as Record, CreateContainerRequest as CreateRecord, CreateTaskRequest, DeleteContainerRequest,
    DeleteTaskRequest, GetRequest, KillRequest, ListTasksRequest, StartRequest, WaitRequest,
};
use containerd_client::types::v1::{Process, Status as TaskStatus};

use crate::logs::{make_fifo, open_fifo};
use crate::lookup::{
    label, IMAGE, IMAGE_ID, LOG_FILE, NOT_READY, SANDBOX_HOSTNAME, SANDBOX_IP, SANDBOX_STATE, STARTED_AT,
};
use crate::network::{netns_name, netns_path};
use crate::reference::normalize;
use crate::runtime::remove_dir;
use crate::spec::{self, SpecInputs, RUNC, SPEC_TYPE};
use crate::status::{item_of, status_of, Observed};
use crate::{ContainerdError, ContainerdRuntime, Context};

const SIGKILL: u32 = 9;
const SIGTERM: u32 = 15;
/// How long a killed task may take to be reaped before stop gives up waiting.
const KILL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl ContainerdRuntime {
    pub(crate) async fn task(&self, id: &str) -> Result<Option<Process>, ContainerdError> {
        let request =
            self.client().on_container(GetRequest { container_id: id.to_string(), exec_id: String::new() }, id);
        match self.client().tasks().get(request).await.during(|| format!("reading the task of container {id}")) {
            Ok(response) => Ok(response.into_inner().process),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub(crate) async fn observe(&self, id: &str) -> Result<Observed, ContainerdError> {
        let record = self.container(id).await?;
        let task = self.task(id).await?;
        Ok(Observed { record, task })
    }

    pub(crate) async fn create_container(&self, request: CreateContainerRequest) -> Result<String, ContainerdError> {
        let missing =
            |field| ContainerdError::Runtime(RuntimeError::MissingField { request: "CreateContainer", field });
        let config = request.config.ok_or(missing("config"))?;
        config.metadata.as_ref().ok_or(missing("config.metadata"))?;
        let image = config.image.clone().map(|i| i.image).filter(|i| !i.is_empty()).ok_or(missing("config.image"))?;
        let sandbox_id = request.pod_sandbox_id;
        let sandbox = self.sandbox(&sandbox_id).await?;
        if label(&sandbox, SANDBOX_STATE) == NOT_READY {
            return Err(ContainerdError::Runtime(RuntimeError::SandboxNotReady { id: sandbox_id }));
        }
        let sandbox_config = request.sandbox_config.unwrap_or_default();
        let (info, chain) = self.image_for_container(&image).await?;

        let id = uuid::Uuid::new_v4().simple().to_string();
        let log_path = labels::container_log_path(&sandbox_config.log_directory, &config.log_path);
        let log_file = if log_path.is_empty() { self.default_log(&id) } else { log_path.clone().into() };
        fresh_log(&log_file)?;
        let netns = netns_path(&netns_name(&sandbox_id));
        let has_network = !label(&sandbox, SANDBOX_IP).is_empty();
        let pod_files = self.sandbox_dir(&sandbox_id);
        let spec = spec::container_spec(&SpecInputs {
            id: &id,
            sandbox_id: &sandbox_id,
            container: &config,
            image: &info.config,
            hostname: label(&sandbox, SANDBOX_HOSTNAME),
            netns: has_network.then_some(netns.as_path()),
            pod_files: &pod_files,
        })?;
        let mut stored: std::collections::HashMap<String, String> = labels::encode(
            &labels::container_labels(self.node_name(), &sandbox_id, &sandbox_config, &config),
            &config.annotations,
        )
        .collect();
        stored.insert(IMAGE.to_string(), image.clone());
        stored.insert(IMAGE_ID.to_string(), info.id.clone());
        stored.insert(LOG_FILE.to_string(), log_file.display().to_string());
        stored.insert(labels::LOG_PATH.to_string(), log_path);
        let record = Record {
            id: id.clone(),
            labels: stored,
            image: normalize(&image)?,
            runtime: Some(Runtime { name: RUNC.to_string(), options: None }),
            spec: Some(spec::to_any(&spec, SPEC_TYPE)?),
            snapshotter: self.config().snapshotter.clone(),
            snapshot_key: id.clone(),
            ..Default::default()
        };
        let create = self.client().on_container(CreateRecord { container: Some(record) }, &id);
        self.client().containers().create(create).await.during(|| format!("creating container {id}"))?;
        let prepare = PrepareSnapshotRequest {
            snapshotter: self.config().snapshotter.clone(),
            key: id.clone(),
            parent: chain,
            labels: Default::default(),
        };
        if let Err(status) = self.client().snapshots().prepare(self.client().on_container(prepare, &id)).await {
            let _ = self.delete_record(&id).await;
            return Err(ContainerdError::Containerd {
                what: format!("preparing the root filesystem of {id}"),
                source: status,
            });
        }
        Ok(id)
    }

    pub(crate) async fn start_container(&self, id: &str) -> Result<(), ContainerdError> {
        let observed = self.observe(id).await?;
        if observed.task.is_some() || !label(&observed.record, STARTED_AT).is_empty() {
            return Err(ContainerdError::Runtime(RuntimeError::NotCreated {
                id: id.to_string(),
                state: observed.state_name().to_string(),
            }));
        }
        let dir = self.container_dir(id);
        std::fs::create_dir_all(&dir).map_err(crate::error::io("creating", &dir))?;
        let (stdout, stderr) = (dir.join("stdout"), dir.join("stderr"));
        make_fifo(&stdout)?;
        make_fifo(&stderr)?;
        let (out, err) = (open_fifo(&stdout)?, open_fifo(&stderr)?);
        let snapshotter = self.config().snapshotter.clone();
        let mounts = self
            .client()
            .snapshots()
            .mounts(self.client().on_container(MountsRequest { snapshotter, key: id.to_string() }, id))
            .await
            .during(|| format!("reading the root filesystem of {id}"))?
            .into_inner()
            .mounts;
        let create = CreateTaskRequest {
            container_id: id.to_string(),
            rootfs: mounts,
            stdout: path_string(&stdout),
            stderr: path_string(&stderr),
            ..Default::default()
        };
        self.client()
            .tasks()
            .create(self.client().on_container(create, id))
            .await
            .during(|| format!("creating the task of {id}"))?;
        self.start_copier(id, out, err, label(&observed.record, LOG_FILE).into());
        let start = StartRequest { container_id: id.to_string(), exec_id: String::new() };
        // read before the start: a process that exits at once may finish
        // (by containerd's clock) before the start call returns
        let started_at = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        if let Err(status) = self.client().tasks().start(self.client().on_container(start, id)).await {
            let _ = self.delete_task(id).await;
            return Err(ContainerdError::Containerd { what: format!("starting container {id}"), source: status });
        }
        self.set_labels(id, &[(STARTED_AT, started_at.to_string())]).await
    }

    pub(crate) async fn stop_container(&self, id: &str, timeout_seconds: i64) -> Result<(), ContainerdError> {
        let observed = self.observe(id).await?;
        if observed.state() != ContainerState::ContainerRunning && observed.state() != ContainerState::ContainerCreated
        {
            return Ok(());
        }
        if observed.task.is_none() {
            return Ok(());
        }
        if timeout_seconds > 0 {
            self.kill(id, SIGTERM).await?;
            let grace = std::time::Duration::from_secs(timeout_seconds.unsigned_abs());
            if self.wait_exit(id, grace).await? {
                return Ok(());
            }
        }
        self.kill(id, SIGKILL).await?;
        self.wait_exit(id, KILL_WAIT).await?;
        Ok(())
    }

    async fn kill(&self, id: &str, signal: u32) -> Result<(), ContainerdError> {
        let request =
            KillRequest { container_id: id.to_string(), exec_id: String::new(), signal, all: signal == SIGKILL };
        match self
            .client()
            .tasks()
            .kill(self.client().on_container(request, id))
            .await
            .during(|| format!("signalling container {id}"))
        {
            // the task exited meanwhile
            Err(error) if error.is_not_found() => Ok(()),
            Err(ContainerdError::Containerd { source, .. }) if source.code() == tonic::Code::FailedPrecondition => {
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    /// Waits up to `limit` for the task to exit; whether it did.
    async fn wait_exit(&self, id: &str, limit: std::time::Duration) -> Result<bool, ContainerdError> {
        let request =
            self.client().on_container(WaitRequest { container_id: id.to_string(), exec_id: String::new() }, id);
        let mut tasks = self.client().tasks();
        match tokio::time::timeout(limit, tasks.wait(request)).await {
            Err(_) => Ok(false),
            Ok(result) => match result.during(|| format!("waiting for container {id}")) {
                Ok(_) => Ok(true),
                Err(error) if error.is_not_found() => Ok(true),
                Err(error) => Err(error),
            },
        }
    }

    async fn delete_task(&self, id: &str) -> Result<(), ContainerdError> {
        let request = self.client().on_container(DeleteTaskRequest { container_id: id.to_string() }, id);
        match self.client().tasks().delete(request).await.during(|| format!("deleting the task of {id}")) {
            Err(error) if !error.is_not_found() => Err(error),
            _ => Ok(()),
        }
    }

    async fn delete_record(&self, id: &str) -> Result<(), ContainerdError> {
        let request = self.client().on_container(DeleteContainerRequest { id: id.to_string() }, id);
        match self.client().containers().delete(request).await.during(|| format!("removing container {id}")) {
            Err(error) if !error.is_not_found() => Err(error),
            _ => Ok(()),
        }
    }

    pub(crate) async fn remove_container(&self, id: &str) -> Result<(), ContainerdError> {
        let Some(record) = self.owned(id, labels::KIND_CONTAINER).await? else { return Ok(()) };
        if let Some(task) = self.task(id).await? {
            if task.status() != TaskStatus::Stopped {
                self.kill(id, SIGKILL).await?;
                self.wait_exit(id, KILL_WAIT).await?;
            }
            self.delete_task(id).await?;
        }
        self.delete_record(id).await?;
        self.remove_snapshot(id).await?;
        remove_dir(&self.container_dir(id))?;
        let default_log = self.default_log(id);
        if label(&record, LOG_FILE) == default_log.display().to_string() {
            let _ = std::fs::remove_file(default_log);
        }
        Ok(())
    }

    pub(crate) async fn container_status(&self, id: &str) -> Result<ContainerStatus, ContainerdError> {
        let observed = self.observe(id).await?;
        let mut status = status_of(&observed);
        // a failed task whose cgroup saw the OOM killer was OOM-killed (as Docker and the CRI say)
        if status.reason == "Error" && observed.task.is_some() && self.oom_killed(id).await {
            status.reason = "OOMKilled".to_string();
        }
        Ok(status)
    }

    pub(crate) async fn list_containers(
        &self,
        filter: Option<ContainerFilter>,
    ) -> Result<Vec<Container>, ContainerdError> {
        let filter = filter.unwrap_or_default();
        let in_sandbox: Vec<(&str, &str)> = if filter.pod_sandbox_id.is_empty() {
            vec![]
        } else {
            vec![(labels::SANDBOX_ID, filter.pod_sandbox_id.as_str())]
        };
        let records = self.list_owned(labels::KIND_CONTAINER, &in_sandbox).await?;
        let tasks = self.all_tasks().await?;
        Ok(records
            .into_iter()
            .filter(|r| filter.id.is_empty() || r.id == filter.id)
            .map(|record| {
                let task = tasks.iter().find(|t| is_task_of(t, &record.id)).cloned();
                item_of(&Observed { record, task })
            })
            .filter(|c| filter.state.is_none_or(|state| c.state == state))
            .filter(|c| labels::matches_selector(&c.labels, &filter.label_selector))
            .collect())
    }

    /// Every task in the namespace (init processes; one call for a whole list).
    pub(crate) async fn all_tasks(&self) -> Result<Vec<Process>, ContainerdError> {
        let request = self.client().request(ListTasksRequest { filter: String::new() });
        let listed = self.client().tasks().list(request).await.during(|| "listing tasks".to_string())?;
        Ok(listed.into_inner().tasks)
    }

    /// Re-attaches the log copiers of the tasks this shim serves after a (re)start —
    /// its node's when pinned to one, every node's in the namespace otherwise — so
    /// their output, including what they printed while no shim was reading, reaches
    /// the log files again.
    pub(crate) async fn adopt(&self) -> Result<(), ContainerdError> {
        let node = match &self.inner.node {
            ShimNode::Pinned(name) => Some(name.as_str()),
            ShimNode::Default(_) => None,
        };
        let records = self.list_records(node, labels::KIND_CONTAINER, &[]).await?;
        let tasks = self.all_tasks().await?;
        let mut adopted = 0;
        for record in records {
            let running = tasks.iter().any(|t| is_task_of(t, &record.id) && t.status() != TaskStatus::Stopped);
            let dir = self.container_dir(&record.id);
            let (stdout, stderr) = (dir.join("stdout"), dir.join("stderr"));
            if !running || self.inner.copiers.is_live(&record.id) || !stdout.exists() || !stderr.exists() {
                continue;
            }
            match (open_fifo(&stdout), open_fifo(&stderr)) {
                (Ok(out), Ok(err)) => {
                    self.start_copier(&record.id, out, err, label(&record, LOG_FILE).into());
                    adopted += 1;
                }
                (Err(error), _) | (_, Err(error)) => {
                    tracing::warn!(container = %record.id, %error, "re-attaching the output of a running task")
                }
            }
        }
        tracing::info!(node = node.unwrap_or("(any)"), adopted, "adopted running containers");
        Ok(())
    }
}

/// An empty log file at `path`: a new container starts a new log, even where an
/// earlier container of the same name and attempt left one.
fn fresh_log(path: &Path) -> Result<(), ContainerdError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(crate::error::io("creating", dir))?;
    }
    std::fs::write(path, b"").map_err(crate::error::io("creating the log", path))
}

/// Whether `task` (from a task list, which names a task by `id`, its container's)
/// is container `id`'s.
fn is_task_of(task: &Process, id: &str) -> bool {
    task.id == id || task.container_id == id
}

fn path_string(path: &Path) -> String {
    path.display().to_string()
}
