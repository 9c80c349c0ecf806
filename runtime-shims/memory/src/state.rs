//! The in-memory runtime's records: sandboxes and containers as state machines.
//!
//! A container is created, then running from `start` until an event of its
//! [`Script`] (or a stop, or a test hook) finishes it, then exited. Nothing runs in the
//! background: whoever reads a container first calls [`Container::refresh`], which
//! applies every event whose time (on tokio's clock) has come.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use capstan_proto::runtime::v1::{ContainerConfig, ContainerState, PodSandboxConfig};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::images::ImageStore;
use crate::ipam::Ipam;
use crate::script::{Event, Script, Stream};

pub(crate) type Labels = BTreeMap<String, String>;

/// Everything the runtime holds, behind one lock.
pub(crate) struct State {
    pub sandboxes: BTreeMap<String, Sandbox>,
    pub containers: BTreeMap<String, Container>,
    pub images: ImageStore,
    pub ipam: Ipam,
}

impl State {
    /// Applies every container event that is due.
    pub fn refresh(&mut self, clock: &Clock) {
        for container in self.containers.values_mut() {
            container.refresh(clock);
        }
    }
}

pub(crate) struct Sandbox {
    pub id: String,
    pub config: PodSandboxConfig,
    pub labels: Labels,
    pub created_at: i64,
    pub ready: bool,
    pub ip: Option<Ipv4Addr>,
}

/// How a container ended.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Finished {
    pub at: i64,
    pub exit_code: i32,
    pub reason: &'static str,
}

/// One line (or chunk) of a container's output.
#[derive(Clone, Debug)]
pub(crate) struct LogLine {
    pub stream: Stream,
    pub at: i64,
    pub data: Vec<u8>,
}

pub(crate) struct Container {
    pub id: String,
    pub sandbox_id: String,
    pub config: ContainerConfig,
    pub labels: Labels,
    pub image_ref: String,
    pub log_path: String,
    pub created_at: i64,
    pub started: Option<(Instant, i64)>,
    pub finished: Option<Finished>,
    pub script: Script,
    pub logs: Vec<LogLine>,
    /// bumped on every new line or state change; followers of the logs wait on it
    pub changed: watch::Sender<()>,
    /// index of the next script event to apply
    pub next_event: usize,
}

impl Container {
    pub fn state(&self) -> ContainerState {
        match (self.started, self.finished) {
            (_, Some(_)) => ContainerState::ContainerExited,
            (Some(_), None) => ContainerState::ContainerRunning,
            (None, None) => ContainerState::ContainerCreated,
        }
    }

    pub fn state_name(&self) -> &'static str {
        capstan_shim_common::state_name(self.state())
    }

    pub fn is_running(&self) -> bool {
        self.state() == ContainerState::ContainerRunning
    }

    pub fn start(&mut self, clock: &Clock) {
        let now = clock.instant();
        self.started = Some((now, clock.ns_at(now)));
        self.changed.send_replace(());
        self.refresh(clock);
    }

    /// Applies the script's events that are due.
    pub fn refresh(&mut self, clock: &Clock) {
        let Some((started, _)) = self.started else { return };
        let elapsed = clock.instant().saturating_duration_since(started);
        while self.finished.is_none() {
            let Some((offset, event)) = self.script.events.get(self.next_event).cloned() else { break };
            if offset > elapsed {
                break;
            }
            self.next_event += 1;
            let at = clock.ns_at(started + offset);
            match event {
                Event::Print(stream, line) => self.print(stream, at, line.into_bytes()),
                Event::Exit(code) => self.finish(at, code, None),
            }
        }
    }

    /// When the next scripted event is due, if the container is running and has one.
    pub fn next_event_at(&self) -> Option<Instant> {
        let (started, _) = self.started?;
        if self.finished.is_some() {
            return None;
        }
        self.script.events.get(self.next_event).map(|(offset, _)| started + *offset)
    }

    pub fn print(&mut self, stream: Stream, at: i64, data: Vec<u8>) {
        self.logs.push(LogLine { stream, at, data });
        self.changed.send_replace(());
    }

    /// Ends a running (or created) container; `reason` defaults from the code.
    pub fn finish(&mut self, at: i64, exit_code: i32, reason: Option<&'static str>) {
        if self.finished.is_some() {
            return;
        }
        let reason = reason.unwrap_or(if exit_code == 0 { "Completed" } else { "Error" });
        self.finished = Some(Finished { at, exit_code, reason });
        self.changed.send_replace(());
    }

    /// Cumulative CPU while running: a tenth of a core, or what the script burns.
    pub fn cpu_nanos(&self, clock: &Clock) -> u64 {
        let Some((_, started)) = self.started else { return 0 };
        let end = self.finished.map(|f| f.at).unwrap_or_else(|| clock.now_ns());
        let running = u64::try_from(end.saturating_sub(started)).unwrap_or_default();
        self.script.cpu_nanos(std::time::Duration::from_nanos(running))
    }
}
