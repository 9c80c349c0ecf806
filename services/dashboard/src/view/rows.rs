//! The workload, Service and event sections: the columns `capstan get -o
//! wide` prints (`capstan-printers`, one copy for the CLI, the API server's
//! Tables and this page), a NAMESPACE column first in "all namespaces", and
//! the dashboard's own columns — a Deployment's rollout state, a pod's
//! phase, a Service's endpoints.

use capstan_printers::{deployments as deploy_cols, events as event_cols, pods as pod_cols};
use capstan_printers::{replicasets as rs_cols, services as svc_cols};
use capstan_proto::apps::v1::{Deployment, ReplicaSet};
use capstan_proto::core::v1::{Endpoints, Event, Pod, Service};
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

use super::{Row, Section};
use crate::html::{self, url_component, Cell};

/// How many events the events section keeps, the most recent first.
pub const RECENT_EVENTS: usize = 100;

/// `namespace/name`: how every namespaced row is keyed and sorted.
pub fn key<K: Resource>(object: &K) -> String {
    let meta = object.meta();
    format!("{}/{}", meta.namespace, meta.name)
}

fn header(all: bool, columns: Vec<&str>) -> Vec<String> {
    let namespace = all.then(|| "NAMESPACE".to_owned());
    namespace.into_iter().chain(columns.into_iter().map(str::to_owned)).collect()
}

/// The row of `object`: NAMESPACE first in "all namespaces", then `cells`.
fn row<K: Resource>(object: &K, all: bool, cells: Vec<Cell>) -> Row {
    let namespace = all.then(|| Cell::text(object.meta().namespace.clone()));
    let cells: Vec<Cell> = namespace.into_iter().chain(cells).collect();
    let key = key(object);
    Row { html: html::row(&key, &cells), key }
}

fn sorted<K: Resource>(mut objects: Vec<&K>) -> Vec<&K> {
    objects.sort_by(|a, b| (&a.meta().namespace, &a.meta().name).cmp(&(&b.meta().namespace, &b.meta().name)));
    objects
}

/// Deployments: READY, UP-TO-DATE, AVAILABLE, then ROLLOUT.
pub fn deployments(listed: Result<Vec<&Deployment>, String>, all: bool, now: DateTime<Utc>) -> Section {
    let mut columns = deploy_cols::header(true);
    columns.insert(4, "ROLLOUT");
    let body = listed.map(|items| {
        (sorted(items).into_iter())
            .map(|deployment| {
                let mut cells: Vec<Cell> =
                    deploy_cols::row(deployment, true, now).into_iter().map(Cell::text).collect();
                let (state, class) = rollout(deployment);
                cells.insert(4, Cell::text(state).class(Some(class)));
                row(deployment, all, cells)
            })
            .collect()
    });
    Section { id: "deployments", title: "Deployments", header: header(all, columns), body, note: None }
}

/// A Deployment's rollout as `capstan rollout status` judges it: paused,
/// waiting for the controller to see the latest spec, replicas still to
/// update, old ones to retire, new ones to become available, a missed
/// progress deadline, or complete.
pub fn rollout(deployment: &Deployment) -> (String, &'static str) {
    let spec = deployment.spec.clone().unwrap_or_default();
    let status = deployment.status.clone().unwrap_or_default();
    let desired = spec.replicas.unwrap_or(1);
    let deadline =
        status.conditions.iter().any(|c| c.r#type == "Progressing" && c.reason == "ProgressDeadlineExceeded");
    if spec.paused {
        return ("paused".to_owned(), "warn");
    }
    if status.observed_generation < deployment.meta().generation {
        return ("waiting for the controller".to_owned(), "warn");
    }
    if deadline {
        return ("failed: progress deadline exceeded".to_owned(), "bad");
    }
    let state = if status.updated_replicas < desired {
        format!("{} of {desired} updated", status.updated_replicas)
    } else if status.replicas > status.updated_replicas {
        format!("{} old replicas terminating", status.replicas - status.updated_replicas)
    } else if status.available_replicas < status.updated_replicas {
        format!("{} of {} available", status.available_replicas, status.updated_replicas)
    } else {
        return ("complete".to_owned(), "good");
    };
    (format!("progressing: {state}"), "warn")
}

pub fn replica_sets(listed: Result<Vec<&ReplicaSet>, String>, all: bool, now: DateTime<Utc>) -> Section {
    let body = listed.map(|items| {
        (sorted(items).into_iter())
            .map(|rs| row(rs, all, rs_cols::row(rs, true, now).into_iter().map(Cell::text).collect()))
            .collect()
    });
    Section { id: "replicasets", title: "ReplicaSets", header: header(all, rs_cols::header(true)), body, note: None }
}

/// Pods: NAME (a link to its logs) READY STATUS PHASE RESTARTS AGE IP NODE.
pub fn pods(listed: Result<Vec<&Pod>, String>, all: bool, now: DateTime<Utc>) -> Section {
    let mut columns = pod_cols::header(true);
    columns.insert(3, "PHASE");
    let body = listed.map(|items| {
        (sorted(items).into_iter())
            .map(|pod| {
                let meta = pod.meta();
                let mut cells: Vec<Cell> = pod_cols::row(pod, true, now).into_iter().map(Cell::text).collect();
                let logs = format!("/logs/{}/{}", url_component(&meta.namespace), url_component(&meta.name));
                cells[0] = Cell::link(meta.name.clone(), logs);
                let class = status_class(&cells[2].text);
                cells[2].class = Some(class);
                let phase = pod.status.as_ref().map(|s| s.phase.clone()).unwrap_or_default();
                cells.insert(3, Cell::text(capstan_printers::or_none(&phase)));
                row(pod, all, cells)
            })
            .collect()
    });
    Section { id: "pods", title: "Pods", header: header(all, columns), body, note: None }
}

/// good, warn or bad for a pod's STATUS column.
fn status_class(status: &str) -> &'static str {
    match status {
        "Running" | "Completed" => "good",
        "Pending" | "ContainerCreating" | "PodInitializing" | "Terminating" => "warn",
        s if s.starts_with("Init:") && !s.contains("Error") && !s.contains("BackOff") => "warn",
        _ => "bad",
    }
}

/// Services with their ready endpoints (and how many are not ready).
pub fn services(
    listed: Result<Vec<&Service>, String>,
    endpoints: Result<Vec<&Endpoints>, String>,
    all: bool,
    now: DateTime<Utc>,
) -> Section {
    let mut columns = svc_cols::header(true);
    columns.insert(5, "ENDPOINTS");
    let note = endpoints.as_ref().err().map(|refused| format!("Endpoints not shown: {refused}"));
    let by_key: std::collections::HashMap<String, &Endpoints> =
        endpoints.unwrap_or_default().into_iter().map(|e| (key(e), e)).collect();
    let body = listed.map(|items| {
        (sorted(items).into_iter())
            .map(|service| {
                let mut cells: Vec<Cell> = svc_cols::row(service, true, now).into_iter().map(Cell::text).collect();
                let endpoints = match (&note, by_key.get(&key(service))) {
                    (Some(_), _) => Cell::text("?"),
                    (None, Some(endpoints)) => endpoint_cell(endpoints),
                    (None, None) => Cell::text("<none>").class(Some("warn")),
                };
                cells.insert(5, endpoints);
                row(service, all, cells)
            })
            .collect()
    });
    Section { id: "services", title: "Services", header: header(all, columns), body, note }
}

/// `10.0.0.1:8080, 10.0.0.2:8080 (1 not ready)`, every ready address shown.
pub fn endpoint_cell(endpoints: &Endpoints) -> Cell {
    let mut ready = Vec::new();
    let mut not_ready = 0;
    for subset in &endpoints.subsets {
        let ports: Vec<i32> = subset.ports.iter().map(|p| p.port).collect();
        for address in &subset.addresses {
            match ports.as_slice() {
                [] => ready.push(address.ip.clone()),
                ports => ready.extend(ports.iter().map(|port| format!("{}:{port}", address.ip))),
            }
        }
        not_ready += subset.not_ready_addresses.len();
    }
    let mut text = if ready.is_empty() { "<none>".to_owned() } else { ready.join(", ") };
    if not_ready > 0 {
        text.push_str(&format!(" ({not_ready} not ready)"));
    }
    let class = if ready.is_empty() { "warn" } else { "good" };
    Cell::text(text).class(Some(class))
}

/// The most recent events first, at most [`RECENT_EVENTS`].
pub fn events(listed: Result<Vec<&Event>, String>, all: bool, now: DateTime<Utc>) -> Section {
    let body = listed.map(|mut items| {
        let seen = |e: &Event| event_cols::last_seen(e).map(|t| (t.seconds, t.nanos)).unwrap_or_default();
        items.sort_by(|a, b| seen(b).cmp(&seen(a)).then_with(|| key(*a).cmp(&key(*b))));
        (items.into_iter().take(RECENT_EVENTS))
            .map(|event| {
                let mut cells: Vec<Cell> = event_cols::row(event, now).into_iter().map(Cell::text).collect();
                if event.r#type == "Warning" {
                    cells[1].class = Some("warn");
                }
                row(event, all, cells)
            })
            .collect()
    });
    let columns = event_cols::HEADER.to_vec();
    Section { id: "events", title: "Recent events", header: header(all, columns), body, note: None }
}
