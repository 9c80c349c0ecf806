//! What the workload controllers ask of a pod: does it still count, is it
//! ready, and since when is it available.
//!
//! The ReplicaSet and Deployment controllers must agree on these answers
//! (a Deployment scales by the availability its ReplicaSets will see), so
//! they live here once, as Kubernetes' `podutil` does.

use capstan_proto::core::v1::Pod;
use capstan_proto::meta::v1::Time;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The current wall-clock time with sub-second precision (`Time::now`
/// truncates to seconds, too coarse for availability deadlines).
pub fn now() -> Time {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Time { seconds: since.as_secs() as i64, nanos: since.subsec_nanos() as i32 }
}

/// How long from `now` until `later`; zero when `later` has passed.
pub fn until(later: Time, now: Time) -> Duration {
    let nanos = (later.seconds - now.seconds) as i128 * 1_000_000_000 + (later.nanos - now.nanos) as i128;
    Duration::from_nanos(nanos.clamp(0, u64::MAX as i128) as u64)
}

pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().map(|s| s.phase.as_str()).unwrap_or("")
}

/// True when the pod is being deleted.
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.as_ref().is_some_and(|m| m.deletion_timestamp.is_some())
}

/// A pod that still counts toward its controller's replicas: not being
/// deleted and not finished (Kubernetes' `FilterActivePods`).
pub fn is_active(pod: &Pod) -> bool {
    !is_terminating(pod) && !matches!(phase(pod), "Succeeded" | "Failed")
}

/// When the pod's `Ready` condition last turned `True`, if it is `True`.
/// A ready pod with no transition time reads as ready since the epoch.
pub fn ready_since(pod: &Pod) -> Option<Time> {
    let condition = pod.status.as_ref()?.conditions.iter().find(|c| c.r#type == "Ready")?;
    (condition.status == "True").then(|| condition.last_transition_time.unwrap_or_default())
}

pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// When a ready pod becomes available: `minReadySeconds` after it turned
/// ready. `None` for a pod that is not ready.
pub fn available_at(pod: &Pod, min_ready_seconds: i32) -> Option<Time> {
    let since = ready_since(pod)?;
    Some(Time { seconds: since.seconds + i64::from(min_ready_seconds.max(0)), nanos: since.nanos })
}

/// Ready for at least `minReadySeconds` (Kubernetes' `IsPodAvailable`).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Time) -> bool {
    match available_at(pod, min_ready_seconds) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(at) => (at.seconds, at.nanos) < (now.seconds, now.nanos),
    }
}

/// The most restarts of any of the pod's containers.
pub fn max_restarts(pod: &Pod) -> i32 {
    pod.status.as_ref().and_then(|s| s.container_statuses.iter().map(|c| c.restart_count).max()).unwrap_or(0)
}

/// The node the pod is bound to ("" while unscheduled).
pub fn node_name(pod: &Pod) -> &str {
    pod.spec.as_ref().map(|s| s.node_name.as_str()).unwrap_or("")
}

/// The earliest instant, after `now`, at which one of `pods` that is ready
/// but not yet available becomes available: when to look again.
pub fn next_available<'a>(
    pods: impl IntoIterator<Item = &'a Pod>,
    min_ready_seconds: i32,
    now: Time,
) -> Option<Duration> {
    if min_ready_seconds <= 0 {
        return None;
    }
    pods.into_iter()
        .filter(|p| is_active(p) && !is_available(p, min_ready_seconds, now))
        .filter_map(|p| available_at(p, min_ready_seconds))
        .map(|at| until(at, now))
        .min()
        // availability is "strictly after", so look a moment past the instant
        .map(|d| d + Duration::from_millis(50))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use capstan_proto::core::v1::{ContainerStatus, PodCondition, PodSpec, PodStatus};
    use capstan_proto::meta::v1::ObjectMeta;

    /// A pod for tests: `phase`, ready since `ready` (seconds), on `node`.
    pub(crate) fn pod(name: &str, phase: &str, ready: Option<i64>, node: &str) -> Pod {
        let conditions = ready
            .map(|s| PodCondition {
                r#type: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(Time { seconds: s, nanos: 0 }),
                ..Default::default()
            })
            .into_iter()
            .collect();
        Pod {
            metadata: Some(ObjectMeta {
                name: name.into(),
                namespace: "default".into(),
                uid: format!("uid-{name}"),
                ..Default::default()
            }),
            spec: Some(PodSpec { node_name: node.into(), ..Default::default() }),
            status: Some(PodStatus { phase: phase.into(), conditions, ..Default::default() }),
            ..Default::default()
        }
    }

    pub(crate) fn with_restarts(mut pod: Pod, restarts: &[i32]) -> Pod {
        let status = pod.status.get_or_insert_with(Default::default);
        status.container_statuses =
            restarts.iter().map(|&r| ContainerStatus { restart_count: r, ..Default::default() }).collect();
        pod
    }

    fn at(seconds: i64) -> Time {
        Time { seconds, nanos: 0 }
    }

    #[test]
    fn active_excludes_terminating_and_finished_pods() {
        assert!(is_active(&pod("a", "Running", None, "n")));
        assert!(is_active(&pod("a", "Pending", None, "")));
        assert!(!is_active(&pod("a", "Succeeded", None, "n")));
        assert!(!is_active(&pod("a", "Failed", None, "n")));
        let mut deleting = pod("a", "Running", Some(1), "n");
        deleting.metadata.get_or_insert_with(Default::default).deletion_timestamp = Some(at(5));
        assert!(!is_active(&deleting));
    }

    #[test]
    fn availability_waits_min_ready_seconds_after_ready() {
        let ready = pod("a", "Running", Some(100), "n");
        assert!(is_available(&ready, 0, at(100)), "no minReadySeconds: ready is available");
        assert!(!is_available(&ready, 10, at(110)), "not strictly after");
        assert!(is_available(&ready, 10, Time { seconds: 110, nanos: 1 }));
        assert!(!is_available(&pod("b", "Running", None, "n"), 0, at(100)), "not ready");
        assert_eq!(next_available([&ready], 10, at(104)), Some(Duration::from_millis(6050)));
        assert_eq!(next_available([&ready], 10, at(111)), None, "already available");
        assert_eq!(next_available([&ready], 0, at(100)), None);
    }

    #[test]
    fn restarts_are_the_worst_container() {
        assert_eq!(max_restarts(&with_restarts(pod("a", "Running", None, "n"), &[1, 4, 2])), 4);
        assert_eq!(max_restarts(&pod("a", "Running", None, "n")), 0);
    }
}
