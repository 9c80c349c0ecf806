//! The de-duplicating work queue every controller runs on, in the model of
//! client-go's workqueue, with delayed re-queues on one
//! [`DelayQueue`] as kube-runtime's scheduler keeps them.
//!
//! Controllers do not act on events: an event only puts the key of the
//! object to reconcile in the queue, and a worker reconciles from the
//! informer caches. That makes reconciles idempotent and lets bursts fold:
//! a key added ten times before a worker takes it is reconciled once. A key
//! is never handed to two workers at once; a key added while it is being
//! processed is queued again when the worker is done. A failed key is
//! retried after a per-key exponential back-off that success resets.
//!
//! Delayed keys wait in one [`DelayQueue`] inside the queue's state, not in
//! a task per key: workers waiting in [`WorkQueue::get`] poll it, so its
//! timer wakes a waiting worker when a delay runs out. The delay queue wakes
//! only the last task that polled it, so a worker that leaves `get` with a
//! key while delays are pending, and every `add_after`, wake another waiter
//! to poll it again: while a worker waits, one waiting worker holds the
//! timer. (A `get` future dropped while waiting breaks that chain until the
//! next `get`: workers wait in `get` until the queue shuts down.)

use capstan_backoff::Backoff;
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::poll_fn;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::time::delay_queue::{self, DelayQueue};

/// The first retry delay of a failing key, doubled per failure.
pub const BASE_DELAY: Duration = Duration::from_millis(5);
/// The longest retry delay.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

struct State<K> {
    queue: VecDeque<K>,
    /// keys waiting in `queue`, or re-added while being processed
    dirty: HashSet<K>,
    processing: HashSet<K>,
    failures: HashMap<K, u32>,
    /// keys due later; at most one entry per key
    delayed: DelayQueue<K>,
    /// each delayed key's entry in `delayed` and its deadline
    waiting: HashMap<K, (delay_queue::Key, Instant)>,
    shut_down: bool,
}

impl<K: Clone + Eq + Hash> State<K> {
    /// Marks `key` dirty and queues it unless it is being processed; true
    /// when it was queued (a worker should be woken).
    fn add(&mut self, key: K) -> bool {
        if self.shut_down || !self.dirty.insert(key.clone()) {
            return false;
        }
        if self.processing.contains(&key) {
            return false;
        }
        self.queue.push_back(key);
        true
    }

    /// Moves every key whose delay ran out into the queue and registers `cx`
    /// for the next deadline; returns how many keys were queued.
    fn promote_expired(&mut self, cx: &mut Context<'_>) -> usize {
        let mut queued = 0;
        // Ready(None) means no delays; the waker is kept for the next insert
        while let Poll::Ready(Some(expired)) = self.delayed.poll_expired(cx) {
            let key = expired.into_inner();
            self.waiting.remove(&key);
            if self.add(key) {
                queued += 1;
            }
        }
        queued
    }
}

struct Inner<K> {
    state: Mutex<State<K>>,
    ready: Notify,
    backoff: Backoff,
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
        Self::with_backoff(Backoff::new(BASE_DELAY, MAX_DELAY))
    }
}

impl<K: Clone + Eq + Hash + Send + Sync + 'static> WorkQueue<K> {
    pub fn new() -> Self {
        Self::default()
    }

    /// A queue whose key failing for the n-th time in a row waits
    /// `backoff.delay(n)`.
    pub fn with_backoff(backoff: Backoff) -> Self {
        let state = State {
            queue: VecDeque::new(),
            dirty: HashSet::new(),
            processing: HashSet::new(),
            failures: HashMap::new(),
            delayed: DelayQueue::new(),
            waiting: HashMap::new(),
            shut_down: false,
        };
        WorkQueue { inner: Arc::new(Inner { state: Mutex::new(state), ready: Notify::new(), backoff }) }
    }

    fn lock(&self) -> MutexGuard<'_, State<K>> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue `key` unless it is already waiting.
    pub fn add(&self, key: K) {
        let queued = self.lock().add(key);
        if queued {
            self.inner.ready.notify_one();
        }
    }

    /// Queue `key` once `delay` has passed. Delays fold: while an earlier
    /// deadline for the key is pending, a later one adds nothing (the
    /// reconcile it triggers can ask again), and an earlier one moves the
    /// pending deadline forward, so each key has at most one entry.
    pub fn add_after(&self, key: K, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let at = Instant::now() + delay;
        {
            let mut state = self.lock();
            if state.shut_down {
                return;
            }
            match state.waiting.get(&key).copied() {
                Some((_, pending)) if pending <= at => return,
                Some((entry, _)) => {
                    state.delayed.reset_at(&entry, at);
                    state.waiting.insert(key, (entry, at));
                }
                None => {
                    let entry = state.delayed.insert_at(key.clone(), at);
                    state.waiting.insert(key, (entry, at));
                }
            }
        }
        // The delay queue wakes the last task that polled it, which may be
        // busy processing: a waiting worker polls it again to own the timer.
        self.inner.ready.notify_one();
    }

    /// Queue `key` after its back-off, and count one more failure.
    pub fn add_rate_limited(&self, key: K) {
        let delay = {
            let mut state = self.lock();
            let failures = state.failures.entry(key.clone()).or_insert(0);
            *failures = failures.saturating_add(1);
            self.inner.backoff.delay(*failures)
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
            let taken = poll_fn(|cx| Poll::Ready(self.take(cx))).await;
            match taken {
                Take::Key(key) => return Some(key),
                Take::ShutDown => return None,
                Take::Nothing => {}
            }
            // Woken by an add, a done, a shut-down or a delay running out
            // (the delay queue holds this task's waker).
            tokio::select! {
                _ = ready => {}
                _ = poll_fn(|cx| self.poll_delays(cx)) => {}
            }
        }
    }

    /// One attempt to take a key, with due delays promoted first.
    fn take(&self, cx: &mut Context<'_>) -> Take<K> {
        let mut state = self.lock();
        state.promote_expired(cx);
        let Some(key) = state.queue.pop_front() else {
            return if state.shut_down { Take::ShutDown } else { Take::Nothing };
        };
        state.dirty.remove(&key);
        state.processing.insert(key.clone());
        // This task goes off to process, yet the delay queue may hold its
        // waker: another waiter takes over the timer (and the next queued key).
        let more = !state.queue.is_empty() || !state.delayed.is_empty();
        drop(state);
        if more {
            self.inner.ready.notify_one();
        }
        Take::Key(key)
    }

    /// Ready once a delay has run out and its key is queued.
    fn poll_delays(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self.lock().promote_expired(cx) {
            0 => Poll::Pending,
            _ => Poll::Ready(()),
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

    /// Stop handing out keys: waiting workers get `None`, and pending delays
    /// are dropped.
    pub fn shut_down(&self) {
        {
            let mut state = self.lock();
            state.shut_down = true;
            state.delayed.clear();
            state.waiting.clear();
        }
        self.inner.ready.notify_waiters();
    }

    /// Keys ready to process (not counting those being processed or whose
    /// delay has not run out).
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys waiting for a delay to run out.
    pub fn delayed(&self) -> usize {
        self.lock().waiting.len()
    }
}

enum Take<K> {
    Key(K),
    ShutDown,
    Nothing,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let queue = WorkQueue::with_backoff(Backoff::new(Duration::from_secs(1), Duration::from_secs(60)));
        queue.add_rate_limited("a");
        queue.add_rate_limited("a");
        assert_eq!(queue.failures(&"a"), 2);
        assert!(queue.is_empty(), "not before its delay");
        let started = Instant::now();
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
        assert_eq!(queue.delayed(), 1, "one entry per key");
        let started = Instant::now();
        assert_eq!(queue.get().await, Some("a"));
        assert_eq!(started.elapsed(), Duration::from_secs(5), "the earliest deadline wins");
        queue.done(&"a");
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(queue.is_empty(), "the superseded deadlines add nothing");
        assert_eq!(queue.delayed(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn delays_spawn_no_task_per_key() {
        let queue = WorkQueue::new();
        let tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
        for n in 0..1000u32 {
            queue.add_after(n, Duration::from_millis(u64::from(n % 7) + 1));
        }
        assert_eq!(tokio::runtime::Handle::current().metrics().num_alive_tasks(), tasks);
        assert_eq!(queue.delayed(), 1000);
        let mut seen = HashSet::new();
        while seen.len() < 1000 {
            let key = queue.get().await.expect("the queue is running");
            queue.done(&key);
            assert!(seen.insert(key), "{key} handed out twice");
        }
        assert_eq!(queue.delayed(), 0);
    }

    /// The delay queue wakes only the last task that polled it: the worker
    /// that takes "now" polled it last and then stays busy, yet the other
    /// waiting worker must get "later" when it is due.
    #[tokio::test(start_paused = true)]
    async fn a_due_key_reaches_a_waiting_worker_while_the_last_poller_is_busy() {
        let queue = WorkQueue::new();
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let queue = queue.clone();
                tokio::spawn(async move { queue.get().await })
            })
            .collect();
        tokio::task::yield_now().await;
        queue.add_after("later", Duration::from_secs(5));
        tokio::task::yield_now().await;
        queue.add("now");
        let mut taken = Vec::new();
        for worker in workers {
            let key = tokio::time::timeout(Duration::from_secs(60), worker).await;
            taken.push(key.ok().and_then(Result::ok).flatten());
        }
        taken.sort();
        assert_eq!(taken, [Some("later"), Some("now")]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_due_while_processing_waits_for_done() {
        let queue = WorkQueue::new();
        queue.add("a");
        assert_eq!(queue.get().await, Some("a"));
        queue.add_after("a", Duration::from_secs(1));
        let other = tokio::spawn({
            let queue = queue.clone();
            async move { queue.get().await }
        });
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!other.is_finished(), "never the same key twice at once");
        queue.done(&"a");
        assert_eq!(other.await.ok().flatten(), Some("a"));
    }

    #[tokio::test]
    async fn shut_down_releases_waiting_workers() {
        let queue: WorkQueue<&str> = WorkQueue::new();
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.get().await }
        });
        tokio::task::yield_now().await;
        queue.add_after("delayed", Duration::from_secs(1));
        queue.shut_down();
        assert_eq!(waiter.await.ok(), Some(None));
        queue.add("late");
        assert!(queue.is_empty(), "a shut-down queue takes nothing");
        assert_eq!(queue.delayed(), 0, "pending delays are dropped");
    }
}
