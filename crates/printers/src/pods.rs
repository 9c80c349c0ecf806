//! Pods: NAME READY STATUS RESTARTS AGE (wide: IP NODE). STATUS follows
//! kubectl: the most telling container reason (`CrashLoopBackOff`,
//! `Init:0/1`, `Completed`) over the bare phase, and `Terminating` once the
//! pod is being deleted.

use super::age::{age, human_duration};
use super::or_none;
use capstan_proto::core::v1::{ContainerStatus, Pod};
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

pub fn header(wide: bool) -> Vec<&'static str> {
    let mut h = vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE"];
    if wide {
        h.extend(["IP", "NODE"]);
    }
    h
}

pub fn row(pod: &Pod, wide: bool, now: DateTime<Utc>) -> Vec<String> {
    let meta = pod.meta();
    let status = pod.status.clone().unwrap_or_default();
    let total = pod.spec.as_ref().map(|s| s.containers.len()).unwrap_or(0);
    let ready = status
        .container_statuses
        .iter()
        .filter(|c| c.ready && c.state.as_ref().is_some_and(|s| s.running.is_some()))
        .count();
    let mut r = vec![
        meta.name.clone(),
        format!("{ready}/{total}"),
        status_text(pod),
        restarts(&status.container_statuses, now),
        age(meta.creation_timestamp.as_ref(), now),
    ];
    if wide {
        r.push(or_none(&status.pod_ip));
        r.push(or_none(pod.spec.as_ref().map(|s| s.node_name.as_str()).unwrap_or_default()));
    }
    r
}

/// kubectl's STATUS column.
pub fn status_text(pod: &Pod) -> String {
    let status = pod.status.clone().unwrap_or_default();
    let mut reason = if status.reason.is_empty() { status.phase.clone() } else { status.reason.clone() };
    let init_total = pod.spec.as_ref().map(|s| s.init_containers.len()).unwrap_or(0);
    let mut initializing = false;
    for (i, c) in status.init_container_statuses.iter().enumerate() {
        let state = c.state.clone().unwrap_or_default();
        match (&state.terminated, &state.waiting) {
            (Some(t), _) if t.exit_code == 0 => continue,
            (Some(t), _) => reason = format!("Init:{}", terminated_reason(&t.reason, t.signal, t.exit_code)),
            (None, Some(w)) if !w.reason.is_empty() && w.reason != "PodInitializing" => {
                reason = format!("Init:{}", w.reason)
            }
            _ => reason = format!("Init:{i}/{init_total}"),
        }
        initializing = true;
        break;
    }
    if !initializing {
        let mut has_running = false;
        for c in status.container_statuses.iter().rev() {
            let state = c.state.clone().unwrap_or_default();
            match (&state.waiting, &state.terminated) {
                (Some(w), _) if !w.reason.is_empty() => reason = w.reason.clone(),
                (_, Some(t)) => reason = terminated_reason(&t.reason, t.signal, t.exit_code),
                _ if c.ready && state.running.is_some() => has_running = true,
                _ => {}
            }
        }
        if reason == "Completed" && has_running {
            reason = "Running".to_string();
        }
    }
    if meta_deleting(pod) {
        reason = if status.reason == "NodeLost" { "Unknown".to_string() } else { "Terminating".to_string() };
    }
    if reason.is_empty() {
        "Pending".to_string()
    } else {
        reason
    }
}

fn meta_deleting(pod: &Pod) -> bool {
    pod.meta().deletion_timestamp.is_some()
}

fn terminated_reason(reason: &str, signal: i32, exit_code: i32) -> String {
    match (reason.is_empty(), signal) {
        (false, _) => reason.to_string(),
        (true, 0) => format!("ExitCode:{exit_code}"),
        (true, s) => format!("Signal:{s}"),
    }
}

/// `3`, or `3 (5m ago)` when the last restart's time is known.
fn restarts(statuses: &[ContainerStatus], now: DateTime<Utc>) -> String {
    let count: i32 = statuses.iter().map(|c| c.restart_count).sum();
    let last = statuses
        .iter()
        .filter_map(|c| c.last_state.as_ref()?.terminated.as_ref()?.finished_at.as_ref())
        .map(|t| t.seconds)
        .max();
    match last {
        Some(seconds) if count > 0 && seconds > 0 => {
            format!("{count} ({} ago)", human_duration(now.timestamp() - seconds))
        }
        _ => count.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::object::parse_manifests;

    fn pod(yaml: &str) -> Pod {
        let obj = parse_manifests("t", &format!("apiVersion: v1\nkind: Pod\n{yaml}")).expect("pod").remove(0);
        Pod::try_from_object(obj).expect("a pod")
    }

    #[test]
    fn rows_read_like_kubectl() {
        let now = DateTime::from_timestamp(1_700_000_300, 0).expect("time");
        let created = "metadata: {name: web-1, creationTimestamp: \"2023-11-14T22:13:20Z\"}\n";
        let spec = "spec: {nodeName: n1, containers: [{name: a, image: busybox}, {name: b, image: busybox}]}\n";
        let cases = [
            ("", vec!["web-1", "0/2", "Pending", "0", "5m", "<none>", "n1"]),
            (
                "status: {phase: Running, podIP: 10.0.0.5, containerStatuses: [\
                 {name: a, ready: true, state: {running: {}}}, {name: b, ready: true, restartCount: 2, state: {running: {}}, \
                 lastState: {terminated: {exitCode: 1, finishedAt: \"2023-11-14T22:15:20Z\"}}}]}\n",
                vec!["web-1", "2/2", "Running", "2 (3m ago)", "5m", "10.0.0.5", "n1"],
            ),
            (
                "status: {phase: Running, containerStatuses: [{name: a, restartCount: 4, state: {waiting: {reason: CrashLoopBackOff}}}]}\n",
                vec!["web-1", "0/2", "CrashLoopBackOff", "4", "5m", "<none>", "n1"],
            ),
            (
                "status: {phase: Succeeded, containerStatuses: [{name: a, state: {terminated: {exitCode: 0, reason: Completed}}}]}\n",
                vec!["web-1", "0/2", "Completed", "0", "5m", "<none>", "n1"],
            ),
            (
                "status: {phase: Failed, containerStatuses: [{name: a, state: {terminated: {exitCode: 137}}}]}\n",
                vec!["web-1", "0/2", "ExitCode:137", "0", "5m", "<none>", "n1"],
            ),
        ];
        for (status, want) in cases {
            let p = pod(&format!("{created}{spec}{status}"));
            assert_eq!(row(&p, true, now), want, "{status}");
        }
    }

    #[test]
    fn init_containers_and_deletion_win() {
        let init =
            pod("metadata: {name: a}\nspec: {initContainers: [{name: i1}, {name: i2}], containers: [{name: c}]}\n\
             status: {phase: Pending, initContainerStatuses: [{name: i1, state: {terminated: {exitCode: 0}}}, \
             {name: i2, state: {running: {}}}]}\n");
        assert_eq!(status_text(&init), "Init:1/2");
        let deleting =
            pod("metadata: {name: a, deletionTimestamp: \"2023-11-14T22:13:20Z\"}\nstatus: {phase: Running}\n");
        assert_eq!(status_text(&deleting), "Terminating");
        assert_eq!(header(false), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    }
}
