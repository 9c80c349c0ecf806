//! The kubelet's metrics, on Kubernetes' names so its dashboards read them: how
//! long pods take to start, every runtime call by operation (the runtime
//! clients tell [`KubeletMetrics`] of each, as a [`CallObserver`]), and what
//! runs on the node (set by each relist).

use std::time::Duration;

use capstan_cri::CallObserver;
use capstan_metrics::{exponential_buckets, Counter, Family, Gauge, Histogram, MetricsError, Registry};
use capstan_proto::runtime::v1::{ContainerState, PodSandboxState};

use crate::model::Touched;
use crate::relist::Listed;

type Labels = Vec<(&'static str, String)>;

/// Handles on every kubelet metric; clones share them.
#[derive(Clone, Debug)]
pub struct KubeletMetrics {
    pod_start: Histogram,
    operations: Family<Labels, Histogram>,
    errors: Family<Labels, Counter>,
    running_pods: Gauge,
    running_containers: Family<Labels, Gauge>,
}

impl KubeletMetrics {
    pub fn register(registry: &Registry) -> Result<KubeletMetrics, MetricsError> {
        // Kubernetes' buckets for pod start: 0.5 s to 6 min
        let pod_start = registry.register(
            "kubelet_pod_start_duration_seconds",
            "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run.",
            Histogram::new([
                0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 20.0, 30.0, 45.0, 60.0, 120.0, 180.0, 240.0, 300.0, 360.0,
            ]),
        )?;
        let operations = registry.register(
            "kubelet_runtime_operations_duration_seconds",
            "Duration in seconds of runtime operations. Broken down by operation type.",
            Family::<Labels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.005, 2.5, 14))),
        )?;
        let errors = registry.register(
            "kubelet_runtime_operations_errors_total",
            "Cumulative number of runtime operation errors by operation type.",
            Family::default(),
        )?;
        let running_pods = registry.register(
            "kubelet_running_pods",
            "Number of pods that have a running pod sandbox.",
            Gauge::default(),
        )?;
        let running_containers = registry.register(
            "kubelet_running_containers",
            "Number of containers currently running.",
            Family::default(),
        )?;
        Ok(KubeletMetrics { pod_start, operations, errors, running_pods, running_containers })
    }

    /// A pod went from first seen to all its containers running in `took`.
    pub fn pod_started(&self, took: Duration) {
        self.pod_start.observe(took.as_secs_f64());
    }

    /// What a relist listed: pods with a ready sandbox, containers by state.
    pub fn listed(&self, listed: &[Listed]) {
        let ready = PodSandboxState::SandboxReady as i32;
        let mut pods: Vec<&str> = listed
            .iter()
            .filter(|l| matches!(l.object, Touched::Sandbox(_)) && l.state == ready)
            .map(|l| l.pod_uid.as_str())
            .collect();
        pods.sort_unstable();
        pods.dedup();
        self.running_pods.set(i64::try_from(pods.len()).unwrap_or(i64::MAX));
        for state in [
            ContainerState::ContainerCreated,
            ContainerState::ContainerRunning,
            ContainerState::ContainerExited,
            ContainerState::ContainerUnknown,
        ] {
            let count =
                listed.iter().filter(|l| matches!(l.object, Touched::Container(_)) && l.state == state as i32).count();
            let labels = vec![("container_state", container_state_label(state).to_string())];
            self.running_containers.get_or_create(&labels).set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }
}

impl CallObserver for KubeletMetrics {
    fn observed(&self, method: &str, failed: bool, elapsed: Duration) {
        let labels = vec![("operation_type", operation_type(method))];
        self.operations.get_or_create(&labels).observe(elapsed.as_secs_f64());
        if failed {
            self.errors.get_or_create(&labels).inc();
        }
    }
}

/// Kubernetes' `container_state` label values.
fn container_state_label(state: ContainerState) -> &'static str {
    match state {
        ContainerState::ContainerCreated => "created",
        ContainerState::ContainerRunning => "running",
        ContainerState::ContainerExited => "exited",
        ContainerState::ContainerUnknown => "unknown",
    }
}

/// Kubernetes' `operation_type` of a runtime method: snake case, with "pod
/// sandbox" one word (`RunPodSandbox` → `run_podsandbox`).
fn operation_type(method: &str) -> String {
    let method = method.replace("PodSandbox", "Podsandbox");
    let mut out = String::with_capacity(method.len() + 4);
    for (i, c) in method.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_types_are_kubernetes_names() {
        let cases = [
            ("RunPodSandbox", "run_podsandbox"),
            ("StopPodSandbox", "stop_podsandbox"),
            ("PodSandboxStatus", "podsandbox_status"),
            ("ListPodSandbox", "list_podsandbox"),
            ("PullImage", "pull_image"),
            ("CreateContainer", "create_container"),
            ("StartContainer", "start_container"),
            ("ContainerStatus", "container_status"),
            ("ExecSync", "exec_sync"),
            ("Version", "version"),
        ];
        for (method, want) in cases {
            assert_eq!(operation_type(method), want, "{method}");
        }
    }

    #[test]
    fn calls_and_listings_are_counted() -> Result<(), MetricsError> {
        let registry = Registry::new();
        let metrics = KubeletMetrics::register(&registry)?;
        metrics.observed("RunPodSandbox", false, Duration::from_millis(20));
        metrics.observed("PullImage", true, Duration::from_millis(5));
        let listed = |object, pod: &str, state: i32| Listed { object, pod_uid: pod.into(), state };
        metrics.listed(&[
            listed(Touched::Sandbox("s1".into()), "p1", PodSandboxState::SandboxReady as i32),
            listed(Touched::Sandbox("s2".into()), "p2", PodSandboxState::SandboxNotready as i32),
            listed(Touched::Container("c1".into()), "p1", ContainerState::ContainerRunning as i32),
            listed(Touched::Container("c2".into()), "p1", ContainerState::ContainerExited as i32),
        ]);
        let scraped = registry.render()?;
        for line in [
            "kubelet_runtime_operations_duration_seconds_count{operation_type=\"run_podsandbox\"} 1",
            "kubelet_runtime_operations_errors_total{operation_type=\"pull_image\"} 1",
            "kubelet_running_pods 1",
            "kubelet_running_containers{container_state=\"running\"} 1",
            "kubelet_running_containers{container_state=\"exited\"} 1",
            "kubelet_running_containers{container_state=\"created\"} 0",
        ] {
            assert!(scraped.lines().any(|l| l == line), "{line} in:\n{scraped}");
        }
        assert!(!scraped.contains("errors_total{operation_type=\"run_podsandbox\"}"), "{scraped}");
        Ok(())
    }
}
