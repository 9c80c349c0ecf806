//! The scheduler's Prometheus metrics, named as kube-scheduler's so its
//! dashboards read them: attempts by result, how long an attempt takes
//! end to end and how much of it is the algorithm and the bind, and how
//! many pods wait in each queue.

use crate::error::SchedulerError;
use crate::queue::Lengths;
use capstan_metrics::{exponential_buckets, Counter, Family, Gauge, Histogram, Registry};
use prometheus_client::encoding::EncodeLabelSet;

/// How a scheduling attempt ended (the `result` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Scheduled,
    Unschedulable,
    Error,
}

impl Attempt {
    fn label(self) -> &'static str {
        match self {
            Attempt::Scheduled => "scheduled",
            Attempt::Unschedulable => "unschedulable",
            Attempt::Error => "error",
        }
    }
}

/// The attempt count's and e2e latency's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    result: &'static str,
    profile: String,
}

/// `scheduler_pending_pods`' label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    queue: &'static str,
}

/// 1 ms … about 16 s, doubling, as kube-scheduler's latency buckets.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// One profile's attempt counter and e2e histogram, per result.
#[derive(Debug, Clone)]
pub struct ProfileMetrics {
    scheduled: (Counter, Histogram),
    unschedulable: (Counter, Histogram),
    error: (Counter, Histogram),
}

impl ProfileMetrics {
    /// One attempt ended with `result` after `e2e` (from the pop to the end of its bind or decision).
    pub fn attempt(&self, result: Attempt, e2e: std::time::Duration) {
        let (count, latency) = match result {
            Attempt::Scheduled => &self.scheduled,
            Attempt::Unschedulable => &self.unschedulable,
            Attempt::Error => &self.error,
        };
        count.inc();
        latency.observe(e2e.as_secs_f64());
    }
}

/// Handles to every metric; clones share them.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    attempts: Family<AttemptLabels, Counter>,
    e2e: Family<AttemptLabels, Histogram>,
    algorithm: Histogram,
    binding: Histogram,
    pending: [Gauge; 3],
    event_errors: Counter,
}

impl Metrics {
    /// Register the scheduler's metrics in `registry`.
    pub fn register(registry: &Registry) -> Result<Metrics, SchedulerError> {
        let attempts = registry.register(
            "scheduler_schedule_attempts_total",
            "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be \
                 scheduled, while 'error' means an internal scheduler problem.",
            Family::default(),
        )?;
        let e2e = registry.register(
            "scheduler_e2e_scheduling_duration_seconds",
            "E2e scheduling latency in seconds (scheduling algorithm + binding), by the result.",
            Family::<AttemptLabels, Histogram>::new_with_constructor(latency_buckets),
        )?;
        let algorithm = registry.register(
            "scheduler_scheduling_algorithm_duration_seconds",
            "Scheduling algorithm latency in seconds (filtering and scoring nodes).",
            Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
        )?;
        let binding = registry.register(
            "scheduler_binding_duration_seconds",
            "Binding latency in seconds.",
            latency_buckets(),
        )?;
        let pending: Family<QueueLabel, Gauge> = registry.register(
            "scheduler_pending_pods",
            "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' \
                 means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods.",
            Family::default(),
        )?;
        let event_errors = registry.register(
            "capstan_scheduler_event_errors_total",
            "Events the scheduler could not write.",
            Counter::default(),
        )?;
        Ok(Metrics {
            registry: registry.clone(),
            attempts,
            e2e,
            algorithm,
            binding,
            pending: ["active", "backoff", "unschedulable"]
                .map(|queue| pending.get_or_create_owned(&QueueLabel { queue })),
            event_errors,
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The handles of one profile's series, looked up once.
    pub fn profile(&self, profile: &str) -> ProfileMetrics {
        let series = |result: Attempt| {
            let labels = AttemptLabels { result: result.label(), profile: profile.into() };
            (self.attempts.get_or_create_owned(&labels), self.e2e.get_or_create_owned(&labels))
        };
        ProfileMetrics {
            scheduled: series(Attempt::Scheduled),
            unschedulable: series(Attempt::Unschedulable),
            error: series(Attempt::Error),
        }
    }

    pub fn algorithm(&self, took: std::time::Duration) {
        self.algorithm.observe(took.as_secs_f64());
    }

    pub fn binding(&self, took: std::time::Duration) {
        self.binding.observe(took.as_secs_f64());
    }

    pub fn pending(&self, lengths: Lengths) {
        let [active, backoff, unschedulable] = &self.pending;
        // a queue longer than i64::MAX is not a thing; saturate rather than wrap
        let set = |gauge: &Gauge, len: usize| gauge.set(i64::try_from(len).unwrap_or(i64::MAX));
        set(active, lengths.active);
        set(backoff, lengths.backoff);
        set(unschedulable, lengths.unschedulable);
    }

    pub fn event_error(&self) {
        self.event_errors.inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn attempts_and_queues_render_with_kubernetes_names() -> Result<(), SchedulerError> {
        let m = Metrics::register(&Registry::new())?;
        let profile = m.profile("default-scheduler");
        profile.attempt(Attempt::Scheduled, Duration::from_millis(3));
        profile.attempt(Attempt::Unschedulable, Duration::from_millis(1));
        m.pending(Lengths { active: 4, backoff: 1, unschedulable: 2 });
        let text = m.registry().render()?;
        for line in [
            "scheduler_schedule_attempts_total{result=\"scheduled\",profile=\"default-scheduler\"} 1",
            "scheduler_schedule_attempts_total{result=\"unschedulable\",profile=\"default-scheduler\"} 1",
            "scheduler_e2e_scheduling_duration_seconds_bucket{result=\"scheduled\",profile=\"default-scheduler\",le=\"0.004\"} 1",
            "scheduler_e2e_scheduling_duration_seconds_bucket{result=\"scheduled\",profile=\"default-scheduler\",le=\"0.002\"} 0",
            "scheduler_pending_pods{queue=\"active\"} 4",
            "scheduler_pending_pods{queue=\"backoff\"} 1",
            "scheduler_pending_pods{queue=\"unschedulable\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        Ok(())
    }
}
