//! The worker loop every controller runs over its [`WorkQueue`]: take a
//! key, reconcile it, and tell the queue what came of it, counting each
//! outcome in Kubernetes' workqueue metrics.

use crate::workqueue::WorkQueue;
use capstan_metrics::{exponential_buckets, Counter, Family, Gauge, Histogram, MetricsError, Registry};
use prometheus_client::encoding::EncodeLabelSet;
use std::fmt::Display;
use std::future::Future;
use std::hash::Hash;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What a successful reconcile asks of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// Done until the next event about the key.
    No,
    /// Look again after this long (a deadline, a window, an expectation).
    After(Duration),
}

/// What the worker loop needs to know about a failed reconcile.
pub trait ReconcileError: Display {
    /// True when a write lost a race: the next reconcile reads fresher
    /// state, so this is counted as a conflict, not an error.
    fn is_conflict(&self) -> bool;
}

/// The `workqueue_*` series' label: the queue, named for its controller.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Queue {
    name: &'static str,
}

/// The reconcile duration's label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Controller {
    controller: &'static str,
}

/// The reconcile count's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    controller: &'static str,
    result: &'static str,
}

/// The workqueue metrics of every controller, in Kubernetes' names.
#[derive(Clone)]
pub struct QueueMetrics {
    depth: Family<Queue, Gauge>,
    reconciles: Family<Outcome, Counter>,
    duration: Family<Controller, Histogram>,
    retries: Family<Queue, Counter>,
}

impl QueueMetrics {
    pub fn register(registry: &Registry) -> Result<Self, MetricsError> {
        Ok(QueueMetrics {
            depth: registry.register("workqueue_depth", "Keys waiting in a controller's queue.", Family::default())?,
            reconciles: registry.register(
                "capstan_controller_reconcile_total",
                "Reconciles by controller and result (success, requeue, conflict, error).",
                Family::default(),
            )?,
            duration: registry.register(
                "capstan_controller_reconcile_duration_seconds",
                "How long one reconcile took.",
                Family::<Controller, Histogram>::new_with_constructor(|| {
                    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
                }),
            )?,
            retries: registry.register(
                "workqueue_retries_total",
                "Keys re-queued after a failure.",
                Family::default(),
            )?,
        })
    }
}

/// Who runs a controller's reconciles: its name, how many workers, and
/// where they count what they do.
#[derive(Clone)]
pub struct Workers {
    pub controller: &'static str,
    pub count: usize,
    pub metrics: QueueMetrics,
}

/// Run the workers that reconcile keys from `queue` until `shutdown`:
/// a failure is logged and retried with back-off, a success forgets the
/// key's failures and honours the [`Requeue`] it returns. Each reconcile
/// runs in a `reconcile` span naming the controller and the key.
pub async fn run_workers<K, E, F, Fut>(workers: Workers, queue: WorkQueue<K>, shutdown: CancellationToken, reconcile: F)
where
    K: Clone + Eq + Hash + Send + Sync + Display + 'static,
    E: ReconcileError,
    F: Fn(K) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Requeue, E>> + Send,
{
    let controller = workers.controller;
    let span_of = move |key: &K| tracing::info_span!("reconcile", controller, key = %key);
    run_workers_in_spans(workers, queue, shutdown, span_of, reconcile).await
}

/// [`run_workers`], each reconcile of a key running in the span `span_of`
/// makes for it just before. The span is not yet entered, so a controller
/// can make it continue the trace its object records
/// (`capstan_telemetry::follow_object`) and name the object in its attributes.
pub async fn run_workers_in_spans<K, E, S, F, Fut>(
    workers: Workers,
    queue: WorkQueue<K>,
    shutdown: CancellationToken,
    span_of: S,
    reconcile: F,
) where
    K: Clone + Eq + Hash + Send + Sync + Display + 'static,
    E: ReconcileError,
    S: Fn(&K) -> tracing::Span + Clone + Send + 'static,
    F: Fn(K) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Requeue, E>> + Send,
{
    let controller = workers.controller;
    let stopper = {
        let (queue, shutdown) = (queue.clone(), shutdown.clone());
        async move {
            shutdown.cancelled().await;
            queue.shut_down();
        }
    };
    let metrics = workers.metrics.clone();
    let depth = metrics.depth.get_or_create_owned(&Queue { name: controller });
    let duration = metrics.duration.get_or_create_owned(&Controller { controller });
    let retries = metrics.retries.get_or_create_owned(&Queue { name: controller });
    let result = |result| metrics.reconciles.get_or_create_owned(&Outcome { controller, result });
    let (success, requeued, conflict, failed) =
        (result("success"), result("requeue"), result("conflict"), result("error"));
    let loops = (0..workers.count.max(1)).map(|_| {
        let (queue, reconcile, span_of) = (queue.clone(), reconcile.clone(), span_of.clone());
        let (depth, duration, retries) = (depth.clone(), duration.clone(), retries.clone());
        let (success, requeued, conflict, failed) = (success.clone(), requeued.clone(), conflict.clone(), failed.clone());
        async move {
            while let Some(key) = queue.get().await {
                depth.set(i64::try_from(queue.len()).unwrap_or(i64::MAX));
                let span = span_of(&key);
                let started = std::time::Instant::now();
                let result = tracing::Instrument::instrument(reconcile(key.clone()), span).await;
                duration.observe(started.elapsed().as_secs_f64());
                match result {
                    Ok(Requeue::No) => {
                        success.inc();
                        queue.forget(&key);
                    }
                    Ok(Requeue::After(delay)) => {
                        requeued.inc();
                        queue.forget(&key);
                        queue.add_after(key.clone(), delay);
                    }
                    Err(error) if error.is_conflict() => {
                        // someone else wrote first: reconcile again from the fresher cache
                        conflict.inc();
                        tracing::debug!(controller, key = %key, %error, "conflict, retrying");
                        queue.add_rate_limited(key.clone());
                    }
                    Err(error) => {
                        failed.inc();
                        retries.inc();
                        tracing::warn!(controller, key = %key, %error, failures = queue.failures(&key), "reconcile failed");
                        queue.add_rate_limited(key.clone());
                    }
                }
                queue.done(&key);
            }
        }
    });
    tokio::join!(stopper, futures::future::join_all(loops));
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_backoff::Backoff;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[derive(Debug, thiserror::Error)]
    #[error("not yet")]
    struct NotYet;

    impl ReconcileError for NotYet {
        fn is_conflict(&self) -> bool {
            false
        }
    }

    #[tokio::test(start_paused = true)]
    async fn workers_retry_failures_and_stop_on_shutdown() {
        let queue = WorkQueue::with_backoff(Backoff::new(Duration::from_millis(10), Duration::from_secs(1)));
        let attempts = Arc::new(AtomicU32::new(0));
        let shutdown = CancellationToken::new();
        let (succeeded, mut success) = tokio::sync::mpsc::unbounded_channel();
        queue.add("k".to_string());
        let registry = Registry::new();
        let run = tokio::spawn({
            let (queue, attempts, shutdown) = (queue.clone(), attempts.clone(), shutdown.clone());
            let metrics = QueueMetrics::register(&registry).expect("metrics");
            let workers = Workers { controller: "test", count: 2, metrics };
            run_workers(workers, queue, shutdown, move |_key: String| {
                let (attempts, succeeded) = (attempts.clone(), succeeded.clone());
                async move {
                    // fail twice, then succeed
                    match attempts.fetch_add(1, Ordering::SeqCst) {
                        0 | 1 => Err(NotYet),
                        _ => {
                            let _ = succeeded.send(());
                            Ok(Requeue::No)
                        }
                    }
                }
            })
        });
        let started = tokio::time::Instant::now();
        success.recv().await.expect("a reconcile succeeds");
        assert_eq!(started.elapsed(), Duration::from_millis(30), "waited 10 ms, then 20 ms");
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(attempts.load(Ordering::SeqCst), 3, "no retry after success");
        assert_eq!(queue.failures(&"k".to_string()), 0, "success forgets");
        shutdown.cancel();
        assert!(run.await.is_ok());
        // Kubernetes' names and labels, which dashboards read
        let text = registry.render().expect("renders");
        for line in [
            "workqueue_depth{name=\"test\"} 0",
            "workqueue_retries_total{name=\"test\"} 2",
            "capstan_controller_reconcile_total{controller=\"test\",result=\"error\"} 2",
            "capstan_controller_reconcile_total{controller=\"test\",result=\"success\"} 1",
            "capstan_controller_reconcile_total{controller=\"test\",result=\"conflict\"} 0",
            "capstan_controller_reconcile_duration_seconds_count{controller=\"test\"} 3",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
