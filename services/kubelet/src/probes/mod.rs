//! Liveness, readiness and startup probes of one pod's running containers.
//!
//! The pod worker owns a [`Prober`]: one task per running container (in the
//! prober's `JoinSet`, aborted when the container stops or the worker ends) runs
//! the startup probe until it succeeds, then liveness and readiness side by side,
//! each on its own period. Verdicts go through a [`tracker::Tracker`] (thresholds)
//! into a shared table the worker reads when it decides and computes status; every
//! change of verdict wakes the worker.
//!
//! - [`tracker`]: thresholds, pure. [`action`]: running one probe once.

pub mod action;
pub mod tracker;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use capstan_proto::core::v1::Probe;
use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinSet};

use crate::model::Unhealthy;
use crate::status::ProbeView;
use action::Target;
use tracker::Tracker;

#[derive(Clone, Debug, Default)]
struct Verdicts {
    started: bool,
    ready: bool,
    unhealthy: Option<Unhealthy>,
}

type Table = Arc<Mutex<HashMap<String, Verdicts>>>;

/// The probes of one pod; see the module docs.
#[derive(Default)]
pub struct Prober {
    tasks: JoinSet<()>,
    running: HashMap<String, AbortHandle>,
    table: Table,
    changed: Arc<Notify>,
}

impl Prober {
    /// Notified whenever a verdict changes.
    pub fn changed(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    /// Starts probing a running container unless it already is.
    pub fn ensure(&mut self, target: Target) {
        let id = target.container_id.clone();
        let c = &target.container;
        if self.running.contains_key(&id)
            || (c.startup_probe.is_none() && c.liveness_probe.is_none() && c.readiness_probe.is_none())
        {
            return;
        }
        let initial =
            Verdicts { started: c.startup_probe.is_none(), ready: c.readiness_probe.is_none(), unhealthy: None };
        lock(&self.table).insert(id.clone(), initial);
        let (table, changed) = (self.table.clone(), self.changed.clone());
        let handle = self.tasks.spawn(probe_container(target, table, changed));
        self.running.insert(id, handle);
    }

    /// Stops probing every container not in `live`.
    pub fn retain(&mut self, live: &HashSet<String>) {
        self.running.retain(|id, handle| {
            let keep = live.contains(id);
            if !keep {
                handle.abort();
            }
            keep
        });
        lock(&self.table).retain(|id, _| live.contains(id));
        while self.tasks.try_join_next().is_some() {}
    }

    /// What the probes say, by container id (containers without probes are absent).
    pub fn views(&self) -> BTreeMap<String, ProbeView> {
        lock(&self.table).iter().map(|(id, v)| (id.clone(), ProbeView { started: v.started, ready: v.ready })).collect()
    }

    /// Containers a liveness or startup probe failed, with what it saw.
    pub fn unhealthy(&self) -> BTreeMap<String, Unhealthy> {
        lock(&self.table).iter().filter_map(|(id, v)| Some((id.clone(), v.unhealthy.clone()?))).collect()
    }
}

fn lock(table: &Table) -> std::sync::MutexGuard<'_, HashMap<String, Verdicts>> {
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

fn update(table: &Table, changed: &Notify, id: &str, f: impl FnOnce(&mut Verdicts)) {
    if let Some(verdicts) = lock(table).get_mut(id) {
        f(verdicts);
    }
    changed.notify_one();
}

async fn probe_container(target: Target, table: Table, changed: Arc<Notify>) {
    let id = target.container_id.clone();
    let container = target.container.clone();
    if let Some(probe) = &container.startup_probe {
        let mut tracker = Tracker::new(1, probe.failure_threshold, false);
        let mut started = false;
        let mut last_error = String::new();
        every(&target, probe, |result| {
            if let Err(error) = &result {
                last_error.clone_from(error);
            }
            if tracker.record(result.is_ok()) == Some(true) {
                started = true;
                update(&table, &changed, &id, |v| v.started = true);
                return false;
            }
            !tracker_failed(&tracker, probe)
        })
        .await;
        if !started {
            let why = Unhealthy { probe: "startup", output: format!("Startup probe failed: {last_error}") };
            update(&table, &changed, &id, |v| v.unhealthy = Some(why));
            return;
        }
    }
    let liveness = async {
        let Some(probe) = &container.liveness_probe else { return };
        let mut tracker = Tracker::new(1, probe.failure_threshold, true);
        every(&target, probe, |result| {
            if tracker.record(result.is_ok()) == Some(false) {
                let output = format!("Liveness probe failed: {}", result.err().unwrap_or_default());
                let why = Unhealthy { probe: "liveness", output };
                update(&table, &changed, &id, |v| v.unhealthy = Some(why));
                return false;
            }
            true
        })
        .await;
    };
    let readiness = async {
        let Some(probe) = &container.readiness_probe else { return };
        let mut tracker = Tracker::new(probe.success_threshold, probe.failure_threshold, false);
        every(&target, probe, |result| {
            if let Some(ready) = tracker.record(result.is_ok()) {
                update(&table, &changed, &id, |v| v.ready = ready);
            }
            true
        })
        .await;
    };
    tokio::join!(liveness, readiness);
}

/// A startup probe has failed for good once `failureThreshold` attempts failed in a row.
fn tracker_failed(tracker: &Tracker, probe: &Probe) -> bool {
    tracker.failures() >= u32::try_from(probe.failure_threshold).unwrap_or(0).max(1)
}

/// Runs `probe` after its initial delay and then every period, until `on` says stop.
async fn every(target: &Target, probe: &Probe, mut on: impl FnMut(Result<(), String>) -> bool) {
    let seconds =
        |n: i32, default: u64| Duration::from_secs(u64::try_from(n).ok().filter(|n| *n > 0).unwrap_or(default));
    tokio::time::sleep(Duration::from_secs(u64::try_from(probe.initial_delay_seconds).unwrap_or(0))).await;
    let period = seconds(probe.period_seconds, 10);
    loop {
        if !on(action::run(target, probe).await) {
            return;
        }
        tokio::time::sleep(period).await;
    }
}
