//! The rate-limited work queue every controller runs on, in the model of
//! client-go's workqueue.
//!
//! Controllers do not act on events: an event only puts the key of the
//! object to reconcile in the queue, and a worker reconciles from the
//! informer caches. That makes reconciles idempotent and lets bursts fold:
//! a key added ten times before a worker takes it is reconciled once. A key
//! is never handed to two workers at once; a key added while it is being
//! processed is queued again when the worker is done. A failed reconcile is
//! retried after a per-key exponential back-off that success resets.

use crate::error::ControllerError;
use capstan_metrics::{exponential_buckets, CounterVec, GaugeVec, HistogramVec, MetricsError, Registry};
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The first retry delay of a failing key, doubled per failure.
pub const BASE_DELAY: Duration = Duration::from_millis(5);
/// The longest retry delay.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// What a successful reconcile asks of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// Done until the next event about the key.
    No,
    /// Look again after this long (a deadline, a window, an expectation).
    After(Duration),
}

struct State<K> {
    queue: VecDeque<K>,
    /// keys waiting in `queue`, or re-added while being processed
    dirty: HashSet<K>,
    processing: HashSet<K>,
    failures: HashMap<K, u32>,
    /// the earliest pending `add_after` deadline of each key
    waiting: HashMap<K, tokio::time::Instant>,
    shut_down: bool,
}

struct Inner<K> {
    state: Mutex<State<K>>,
    ready: Notify,
    base_delay: Duration,
    max_delay: Duration,
}

/// A de-duplicating queue of keys with per-key back-off; cheap to clone.
pub struct WorkQueue<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for WorkQueue<K> {
    fn clone(&self) -> Self {
        WorkQueue { inner: self.inner.clone() }
    }
}

impl<K: Clone + Eq + Hash + Send + Sync + 'static> Default for WorkQueue<K> {
    fn default() -> Self {
        Self::with_backoff(BASE_DELAY, MAX_DELAY)
    }
}

impl<K: Clone + Eq + Hash + Send + Sync + 'static> WorkQueue<K> {
    pub fn new() -> Self {
        Self::default()
    }

    /// A queue whose failing keys wait `base * 2^(failures-1)`, at most `max`.
    pub fn with_backoff(base: Duration, max: Duration) -> Self {
        let state = State {
            queue: VecDeque::new(),
            dirty: HashSet::new(),
            processing: HashSet::new(),
            failures: HashMap::new(),
            waiting: HashMap::new(),
            shut_down: false,
        };
        WorkQueue {
            inner: Arc::new(Inner { state: Mutex::new(state), ready: Notify::new(), base_delay: base, max_delay: max }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<K>> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue `key` unless it is already waiting.
    pub fn add(&self, key: K) {
        let mut state = self.lock();
        if state.shut_down || !state.dirty.insert(key.clone()) {
            return;
        }
        if !state.processing.contains(&key) {
            state.queue.push_back(key);
            drop(state);
            self.inner.ready.notify_one();
        }
    }

    /// Queue `key` once `delay` has passed. Delays fold: while an earlier
    /// deadline for the key is pending, a later one adds nothing (the
    /// reconcile it triggers can ask again), so a controller that requeues
    /// on every pass keeps at most one timer per key.
    pub fn add_after(&self, key: K, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let at = tokio::time::Instant::now() + delay;
        {
            let mut state = self.lock();
            if state.shut_down || state.waiting.get(&key).is_some_and(|pending| *pending <= at) {
                return;
            }
            state.waiting.insert(key.clone(), at);
        }
        let queue = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let due = {
                let mut state = queue.lock();
                // a superseding earlier deadline already fired and removed it
                let due = state.waiting.get(&key) == Some(&at);
                if due {
                    state.waiting.remove(&key);
                }
                due
            };
            if due {
                queue.add(key);
            }
        });
    }

    /// Queue `key` after its back-off, and count one more failure.
    pub fn add_rate_limited(&self, key: K) {
        let delay = {
            let mut state = self.lock();
            let failures = state.failures.entry(key.clone()).or_insert(0);
            *failures = failures.saturating_add(1);
            backoff(self.inner.base_delay, self.inner.max_delay, *failures)
        };
        self.add_after(key, delay);
    }

    /// Reset `key`'s back-off (after a successful reconcile).
    pub fn forget(&self, key: &K) {
        self.lock().failures.remove(key);
    }

    /// How many times `key` failed in a row.
    pub fn failures(&self, key: &K) -> u32 {
        self.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// The next key to process, waiting for one; `None` once shut down and
    /// drained. The caller must call [`WorkQueue::done`] with it.
    pub async fn get(&self) -> Option<K> {
        loop {
            let ready = self.inner.ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            {
                let mut state = self.lock();
                if let Some(key) = state.queue.pop_front() {
                    state.dirty.remove(&key);
                    state.processing.insert(key.clone());
                    return Some(key);
                }
                if state.shut_down {
                    return None;
                }
            }
            ready.await;
        }
    }

    /// Finish processing `key`; if it was added meanwhile, queue it again.
    pub fn done(&self, key: &K) {
        let mut state = self.lock();
        state.processing.remove(key);
        if state.dirty.contains(key) {
            state.queue.push_back(key.clone());
            drop(state);
            self.inner.ready.notify_one();
        }
    }

    /// Stop handing out keys: waiting workers get `None`.
    pub fn shut_down(&self) {
        self.lock().shut_down = true;
        self.inner.ready.notify_waiters();
    }

    /// Keys waiting (not counting those being processed).
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn backoff(base: Duration, max: Duration, failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(31);
    base.saturating_mul(1u32 << exponent).min(max)
}

/// The workqueue metrics of every controller, in Kubernetes' names.
#[derive(Clone)]
pub struct QueueMetrics {
    depth: GaugeVec<1>,
    reconciles: CounterVec<2>,
    duration: HistogramVec<1>,
    retries: CounterVec<1>,
}

impl QueueMetrics {
    pub fn register(registry: &Registry) -> Result<Self, MetricsError> {
        Ok(QueueMetrics {
            depth: registry.gauge_vec("workqueue_depth", "Keys waiting in a controller's queue.", ["name"])?,
            reconciles: registry.counter_vec(
                "capstan_controller_reconcile_total",
                "Reconciles by controller and result (success, requeue, conflict, error).",
                ["controller", "result"],
            )?,
            duration: registry.histogram_vec(
                "capstan_controller_reconcile_duration_seconds",
                "How long one reconcile took.",
                ["controller"],
                &exponential_buckets(0.0005, 2.0, 16),
            )?,
            retries: registry.counter_vec("workqueue_retries_total", "Keys re-queued after a failure.", ["name"])?,
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
/// key's failures and honours the [`Requeue`] it returns.
pub async fn run_workers<K, F, Fut>(workers: Workers, queue: WorkQueue<K>, shutdown: CancellationToken, reconcile: F)
where
    K: Clone + Eq + Hash + Send + Sync + std::fmt::Display + 'static,
    F: Fn(K) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Requeue, ControllerError>> + Send,
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
    let depth = metrics.depth.with([controller]);
    let duration = metrics.duration.with([controller]);
    let retries = metrics.retries.with([controller]);
    let result = |name: &str| metrics.reconciles.with([controller, name]);
    let (success, requeued, conflict, failed) =
        (result("success"), result("requeue"), result("conflict"), result("error"));
    let loops = (0..workers.count.max(1)).map(|_| {
        let (queue, reconcile) = (queue.clone(), reconcile.clone());
        let (depth, duration, retries) = (depth.clone(), duration.clone(), retries.clone());
        let (success, requeued, conflict, failed) = (success.clone(), requeued.clone(), conflict.clone(), failed.clone());
        async move {
            while let Some(key) = queue.get().await {
                depth.set(queue.len() as f64);
                let span = tracing::info_span!("reconcile", controller, key = %key);
                let started = std::time::Instant::now();
                let result = tracing::Instrument::instrument(reconcile(key.clone()), span).await;
                duration.observe_duration(started.elapsed());
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

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_max() {
        let (base, max) = (Duration::from_millis(5), Duration::from_secs(1));
        let delays: Vec<_> = (1..=10).map(|n| backoff(base, max, n).as_millis()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        assert_eq!(backoff(base, max, u32::MAX), max, "no overflow");
    }

    #[tokio::test]
    async fn repeated_adds_fold_into_one_key() {
        let queue = WorkQueue::new();
        for _ in 0..10 {
            queue.add("a");
        }
        queue.add("b");
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.get().await, Some("a"));
        assert_eq!(queue.get().await, Some("b"));
    }

    #[tokio::test]
    async fn a_key_added_while_processing_comes_back_after_done() {
        let queue = WorkQueue::new();
        queue.add("a");
        let key = queue.get().await;
        assert_eq!(key, Some("a"));
        queue.add("a");
        assert!(queue.is_empty(), "not handed out twice at once");
        queue.done(&"a");
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.get().await, Some("a"));
        queue.done(&"a");
        assert!(queue.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_and_forget_resets() {
        let queue = WorkQueue::with_backoff(Duration::from_secs(1), Duration::from_secs(60));
        queue.add_rate_limited("a");
        queue.add_rate_limited("a");
        assert_eq!(queue.failures(&"a"), 2);
        assert!(queue.is_empty(), "not before its delay");
        let started = tokio::time::Instant::now();
        assert_eq!(queue.get().await, Some("a"));
        assert_eq!(started.elapsed(), Duration::from_secs(1), "the first delay fires first");
        queue.forget(&"a");
        assert_eq!(queue.failures(&"a"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_adds_fold_to_the_earliest_deadline() {
        let queue = WorkQueue::new();
        queue.add_after("a", Duration::from_secs(10));
        queue.add_after("a", Duration::from_secs(30));
        queue.add_after("a", Duration::from_secs(5));
        assert_eq!(queue.lock().waiting.len(), 1, "one timer per key");
        let started = tokio::time::Instant::now();
        assert_eq!(queue.get().await, Some("a"));
        assert_eq!(started.elapsed(), Duration::from_secs(5), "the earliest deadline wins");
        queue.done(&"a");
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(queue.is_empty(), "the superseded timers add nothing");
        assert!(queue.lock().waiting.is_empty());
    }

    #[tokio::test]
    async fn shut_down_releases_waiting_workers() {
        let queue: WorkQueue<&str> = WorkQueue::new();
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.get().await }
        });
        tokio::task::yield_now().await;
        queue.shut_down();
        assert_eq!(waiter.await.ok(), Some(None));
        queue.add("late");
        assert!(queue.is_empty(), "a shut-down queue takes nothing");
    }

    #[tokio::test(start_paused = true)]
    async fn workers_retry_failures_and_stop_on_shutdown() {
        let queue = WorkQueue::with_backoff(Duration::from_millis(10), Duration::from_secs(1));
        let attempts = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let shutdown = CancellationToken::new();
        queue.add("k".to_string());
        let run = tokio::spawn({
            let (queue, attempts, shutdown) = (queue.clone(), attempts.clone(), shutdown.clone());
            let metrics = QueueMetrics::register(&Registry::new()).expect("metrics");
            let workers = Workers { controller: "test", count: 2, metrics };
            run_workers(workers, queue, shutdown, move |_key: String| {
                let attempts = attempts.clone();
                async move {
                    // fail twice, then succeed
                    match attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                        0 | 1 => Err(ControllerError::Invalid("not yet".into())),
                        _ => Ok(Requeue::No),
                    }
                }
            })
        });
        while attempts.load(std::sync::atomic::Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 3, "no retry after success");
        assert_eq!(queue.failures(&"k".to_string()), 0, "success forgets");
        shutdown.cancel();
        assert!(run.await.is_ok());
    }
}
