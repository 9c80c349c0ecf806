//! What the runtime holds for one pod, as plain values: the decision and status
//! functions read these instead of gRPC messages, so they can be tested without a
//! runtime.

use std::time::Duration;

/// One of the pod's sandboxes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SandboxRecord {
    pub id: String,
    pub attempt: u32,
    pub ready: bool,
    pub ip: String,
    /// nanoseconds since the epoch
    pub created_at: i64,
}

/// A container's state as the runtime reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RunState {
    #[default]
    Created,
    Running,
    Exited,
    Unknown,
}

/// One of the pod's containers (any attempt).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerRecord {
    pub id: String,
    pub sandbox_id: String,
    pub name: String,
    pub attempt: u32,
    pub state: RunState,
    pub exit_code: i32,
    pub reason: String,
    pub message: String,
    /// nanoseconds since the epoch; 0 when it has not happened
    pub created_at: i64,
    pub started_at: i64,
    pub finished_at: i64,
    pub image: String,
    pub image_ref: String,
}

impl ContainerRecord {
    /// How long it ran, for an exited container.
    pub fn ran_for(&self) -> Duration {
        let nanos = self.finished_at.saturating_sub(self.started_at).max(0);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or_default())
    }
}

/// Everything the runtime has for one pod.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodRuntime {
    pub sandboxes: Vec<SandboxRecord>,
    pub containers: Vec<ContainerRecord>,
}

impl PodRuntime {
    /// The newest sandbox (highest attempt, then latest created).
    pub fn sandbox(&self) -> Option<&SandboxRecord> {
        self.sandboxes.iter().max_by_key(|s| (s.attempt, s.created_at))
    }

    /// The newest attempt of container `name`, in any sandbox.
    pub fn latest(&self, name: &str) -> Option<&ContainerRecord> {
        self.attempts(name).next()
    }

    /// The attempt before the newest one.
    pub fn previous(&self, name: &str) -> Option<&ContainerRecord> {
        self.attempts(name).nth(1)
    }

    /// Attempts of `name`, newest first.
    pub fn attempts(&self, name: &str) -> impl Iterator<Item = &ContainerRecord> {
        let mut all: Vec<&ContainerRecord> = self.containers.iter().filter(|c| c.name == name).collect();
        all.sort_by_key(|c| std::cmp::Reverse((c.attempt, c.created_at)));
        all.into_iter()
    }

    /// The attempt number the next start of `name` gets.
    pub fn next_attempt(&self, name: &str) -> u32 {
        self.latest(name).map_or(0, |c| c.attempt + 1)
    }

    /// Puts the records in one order (by id), so two reads of the same runtime
    /// state compare equal.
    pub fn sorted(mut self) -> Self {
        self.sandboxes.sort_by(|a, b| a.id.cmp(&b.id));
        self.containers.sort_by(|a, b| a.id.cmp(&b.id));
        self
    }

    /// Replaces (or adds) the record of sandbox `id`; `None` drops it (removed).
    pub fn put_sandbox(&mut self, id: &str, record: Option<SandboxRecord>) {
        self.sandboxes.retain(|s| s.id != id);
        self.sandboxes.extend(record);
    }

    /// Replaces (or adds) the record of container `id`; `None` drops it (removed).
    pub fn put_container(&mut self, id: &str, record: Option<ContainerRecord>) {
        self.containers.retain(|c| c.id != id);
        self.containers.extend(record);
    }

    /// Containers the runtime still runs (or has created).
    pub fn live(&self) -> impl Iterator<Item = &ContainerRecord> {
        self.containers.iter().filter(|c| matches!(c.state, RunState::Running | RunState::Created | RunState::Unknown))
    }
}

/// A sandbox or container a sync acted on: its record is read again right after,
/// so the worker sees its own actions without waiting for the next relist.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Touched {
    Sandbox(String),
    Container(String),
}

/// A running container a liveness or startup probe has failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unhealthy {
    /// `liveness` or `startup`
    pub probe: &'static str,
    /// what the probe saw, as Kubernetes words it (`Liveness probe failed: …`)
    pub output: String,
}
