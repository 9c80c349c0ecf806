//! The scheduler's Prometheus metrics, named as kube-scheduler's so its
//! dashboards read them: attempts by result, how long an attempt takes
//! end to end and how much of it is the algorithm and the bind, and how
//! many pods wait in each queue.

use crate::error::SchedulerError;
use crate::queue::Lengths;
use capstan_metrics::{exponential_buckets, Counter, Gauge, Histogram, HistogramVec, Registry};

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
        latency.observe_duration(e2e);
    }
}

/// Handles to every metric; clones share them.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    attempts: capstan_metrics::CounterVec<2>,
    e2e: HistogramVec<2>,
    algorithm: Histogram,
    binding: Histogram,
    pending: [Gauge; 3],
    event_errors: Counter,
}

impl Metrics {
    /// Register the scheduler's metrics in `registry`.
    pub fn register(registry: &Registry) -> Result<Metrics, SchedulerError> {
        // 1 ms … about 16 s, doubling, as kube-scheduler's latency buckets
        let seconds = exponential_buckets(0.001, 2.0, 15);
        let attempts = registry.counter_vec(
            "scheduler_schedule_attempts_total",
            "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be \
                 scheduled, while 'error' means an internal scheduler problem.",
            ["result", "profile"],
        )?;
        let e2e = registry.histogram_vec(
            "scheduler_e2e_scheduling_duration_seconds",
            "E2e scheduling latency in seconds (scheduling algorithm + binding), by the result.",
            ["result", "profile"],
            &seconds,
        )?;
        let algorithm = registry.histogram(
            "scheduler_scheduling_algorithm_duration_seconds",
            "Scheduling algorithm latency in seconds (filtering and scoring nodes).",
            &exponential_buckets(0.0001, 2.0, 15),
        )?;
        let binding =
            registry.histogram("scheduler_binding_duration_seconds", "Binding latency in seconds.", &seconds)?;
        let pending = registry.gauge_vec(
            "scheduler_pending_pods",
            "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' \
                 means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods.",
            ["queue"],
        )?;
        let event_errors =
            registry.counter("capstan_scheduler_event_errors_total", "Events the scheduler could not write.")?;
        Ok(Metrics {
            registry: registry.clone(),
            attempts,
            e2e,
            algorithm,
            binding,
            pending: [pending.with(["active"]), pending.with(["backoff"]), pending.with(["unschedulable"])],
            event_errors,
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The handles of one profile's series, looked up once.
    pub fn profile(&self, profile: &str) -> ProfileMetrics {
        let series =
            |result: Attempt| (self.attempts.with([result.label(), profile]), self.e2e.with([result.label(), profile]));
        ProfileMetrics {
            scheduled: series(Attempt::Scheduled),
            unschedulable: series(Attempt::Unschedulable),
            error: series(Attempt::Error),
        }
    }

    pub fn algorithm(&self, took: std::time::Duration) {
        self.algorithm.observe_duration(took);
    }

    pub fn binding(&self, took: std::time::Duration) {
        self.binding.observe_duration(took);
    }

    pub fn pending(&self, lengths: Lengths) {
        let [active, backoff, unschedulable] = &self.pending;
        active.set(lengths.active as f64);
        backoff.set(lengths.backoff as f64);
        unschedulable.set(lengths.unschedulable as f64);
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
        let text = m.registry().render();
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
