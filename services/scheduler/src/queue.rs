//! The scheduling queue: pods waiting for a decision, highest priority
//! first and oldest first within a priority.
//!
//! As in Kubernetes, a pod is in one of three queues or in flight:
//! *active* (its turn may come now), *backoff* (a bind failed, or it was
//! unschedulable and the cluster has changed since; it waits out its
//! back-off, 1 s doubling to 10 s), or *unschedulable* (it fit nowhere and
//! waits for a cluster change that could help, [`Queue::move_all_to_active`]).
//! A change the scheduler does not watch for could also help, so, as Kubernetes
//! does, a pod parked for [`MAX_UNSCHEDULABLE_WAIT`] is tried again anyway
//! ([`Queue::flush_leftovers`]). Every move but that periodic sweep costs
//! O(log n), so popping never scans the queue. Time is passed in, so the tests
//! need no clock.

use capstan_backoff::Backoff;
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;
use tokio::time::Instant;

/// A pod's n-th failed attempt waits `BACKOFF.delay(n)`: 1 s doubling to 10 s
/// (Kubernetes' `podInitialBackoffSeconds`, `podMaxBackoffSeconds`).
const BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
/// How long a pod waits in *unschedulable* before it is tried again without a
/// change (Kubernetes' `podMaxInUnschedulablePodsDuration`).
pub const MAX_UNSCHEDULABLE_WAIT: Duration = Duration::from_secs(300);
/// How often the scheduling loop looks for such pods (Kubernetes: 30 s).
pub const FLUSH_LEFTOVERS_EVERY: Duration = Duration::from_secs(30);

/// Where a pod sorts: priority (high first), then creation time, then key.
pub type Order = (Reverse<i32>, (i64, i32), String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Active,
    InFlight,
    /// Due again at this instant.
    Backoff(Instant),
    /// Waiting for a cluster change since `parked`; its back-off ends at `due`.
    Unschedulable {
        due: Instant,
        parked: Instant,
    },
}

#[derive(Debug)]
struct Entry {
    order: Order,
    attempts: u32,
    state: State,
}

/// How many pods wait in each queue (pods in flight are in none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lengths {
    pub active: usize,
    pub backoff: usize,
    pub unschedulable: usize,
}

/// Pods by key ("namespace/name") with their place in line.
#[derive(Debug, Default)]
pub struct Queue {
    entries: HashMap<String, Entry>,
    active: BTreeSet<Order>,
    backoff: BTreeSet<(Instant, String)>,
    unschedulable: HashSet<String>,
}

impl Queue {
    /// Queue a pod (no-op when it is already queued or in flight).
    pub fn add(&mut self, key: &str, priority: i32, created: (i64, i32)) {
        if self.entries.contains_key(key) {
            return;
        }
        let order = (Reverse(priority), created, key.to_string());
        self.active.insert(order.clone());
        self.entries.insert(key.to_string(), Entry { order, attempts: 0, state: State::Active });
    }

    /// Take a pod out of whichever queue holds it.
    fn leave(&mut self, key: &str, state: State, order: &Order) {
        match state {
            State::Active => {
                self.active.remove(order);
            }
            State::Backoff(due) => {
                self.backoff.remove(&(due, key.to_string()));
            }
            State::Unschedulable { .. } => {
                self.unschedulable.remove(key);
            }
            State::InFlight => {}
        }
    }

    /// Forget a pod: bound, deleted, or no longer ours.
    pub fn remove(&mut self, key: &str) {
        if let Some(e) = self.entries.remove(key) {
            self.leave(key, e.state, &e.order);
        }
    }

    /// The next pod whose turn it is, or `None`; the pod is then in flight
    /// until it is removed, parked or retried.
    pub fn pop(&mut self, now: Instant) -> Option<String> {
        while let Some((due, key)) = self.backoff.first().cloned() {
            if due > now {
                break;
            }
            self.backoff.pop_first();
            if let Some(e) = self.entries.get_mut(&key) {
                e.state = State::Active;
                self.active.insert(e.order.clone());
            }
        }
        let order = self.active.pop_first()?;
        if let Some(e) = self.entries.get_mut(&order.2) {
            e.state = State::InFlight;
        }
        Some(order.2)
    }

    /// The pod fit nowhere: wait for a cluster change, then the back-off.
    pub fn park(&mut self, key: &str, now: Instant) {
        if let Some(e) = self.entries.get_mut(key) {
            let (state, order) = (e.state, e.order.clone());
            e.attempts += 1;
            e.state = State::Unschedulable { due: now + BACKOFF.delay(e.attempts), parked: now };
            self.leave(key, state, &order);
            self.unschedulable.insert(key.to_string());
        }
    }

    /// The bind failed: try again after the back-off.
    pub fn retry(&mut self, key: &str, now: Instant) {
        if let Some(e) = self.entries.get_mut(key) {
            let (state, order) = (e.state, e.order.clone());
            e.attempts += 1;
            let due = now + BACKOFF.delay(e.attempts);
            e.state = State::Backoff(due);
            self.leave(key, state, &order);
            self.backoff.insert((due, key.to_string()));
        }
    }

    /// Something changed that may let unschedulable pods fit: each moves
    /// to the back-off queue (and on to active once its back-off is over).
    pub fn move_all_to_active(&mut self) {
        for key in std::mem::take(&mut self.unschedulable) {
            self.unpark(key);
        }
    }

    /// Pods parked for `max_wait` or longer by `now` move on as after a change.
    pub fn flush_leftovers(&mut self, now: Instant, max_wait: Duration) {
        let stale: Vec<String> = self
            .unschedulable
            .iter()
            .filter(|key| {
                let parked = self.entries.get(*key).and_then(|e| match e.state {
                    State::Unschedulable { parked, .. } => Some(parked),
                    _ => None,
                });
                parked.is_some_and(|parked| now.saturating_duration_since(parked) >= max_wait)
            })
            .cloned()
            .collect();
        for key in stale {
            self.unschedulable.remove(&key);
            self.unpark(key);
        }
    }

    /// A pod leaves *unschedulable* (already taken out of its set) for *backoff*.
    fn unpark(&mut self, key: String) {
        if let Some(e) = self.entries.get_mut(&key) {
            if let State::Unschedulable { due, .. } = e.state {
                e.state = State::Backoff(due);
                self.backoff.insert((due, key));
            }
        }
    }

    /// When the next backing-off pod becomes due.
    pub fn next_due(&self) -> Option<Instant> {
        self.backoff.first().map(|(due, _)| *due)
    }

    pub fn lengths(&self) -> Lengths {
        Lengths { active: self.active.len(), backoff: self.backoff.len(), unschedulable: self.unschedulable.len() }
    }

    /// Pods known to the queue, in flight included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_then_age() {
        let mut q = Queue::default();
        q.add("ns/old-low", 0, (1, 0));
        q.add("ns/new-high", 10, (5, 0));
        q.add("ns/new-low", 0, (3, 0));
        q.add("ns/old-low", 99, (0, 0));
        let now = Instant::now();
        let order: Vec<String> = std::iter::from_fn(|| q.pop(now)).collect();
        assert_eq!(order, ["ns/new-high", "ns/old-low", "ns/new-low"]);
    }

    #[test]
    fn parked_pods_wait_for_a_change_and_their_backoff() {
        let mut q = Queue::default();
        let t0 = Instant::now();
        q.add("ns/p", 0, (0, 0));
        assert_eq!(q.pop(t0).as_deref(), Some("ns/p"));
        q.park("ns/p", t0);
        assert_eq!(q.pop(t0 + Duration::from_secs(30)), None, "parked until a change");
        q.move_all_to_active();
        assert_eq!(q.next_due(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(q.pop(t0).as_deref(), None, "still backing off");
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(q.pop(t1).as_deref(), Some("ns/p"));
        q.retry("ns/p", t1);
        assert_eq!(q.next_due(), Some(t1 + Duration::from_secs(2)));
        let delays: Vec<u64> = (1..=6).map(|a| BACKOFF.delay(a).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn pods_parked_too_long_are_tried_without_a_change() {
        let mut q = Queue::default();
        let t0 = Instant::now();
        for key in ["ns/early", "ns/late"] {
            q.add(key, 0, (0, 0));
        }
        let (early, late) = (q.pop(t0), q.pop(t0));
        q.park(early.as_deref().unwrap_or_default(), t0);
        let t1 = t0 + Duration::from_secs(60);
        q.park(late.as_deref().unwrap_or_default(), t1);
        q.flush_leftovers(t0 + MAX_UNSCHEDULABLE_WAIT - Duration::from_secs(1), MAX_UNSCHEDULABLE_WAIT);
        assert_eq!(q.lengths().unschedulable, 2, "neither has waited long enough");
        let t2 = t0 + MAX_UNSCHEDULABLE_WAIT;
        q.flush_leftovers(t2, MAX_UNSCHEDULABLE_WAIT);
        assert_eq!((q.lengths().unschedulable, q.lengths().backoff), (1, 1));
        assert_eq!(q.pop(t2).as_deref(), Some("ns/early"), "its back-off ended long ago");
        assert_eq!(q.pop(t2), None, "the later one still waits for a change");
        q.flush_leftovers(t1 + MAX_UNSCHEDULABLE_WAIT, MAX_UNSCHEDULABLE_WAIT);
        assert_eq!(q.pop(t1 + MAX_UNSCHEDULABLE_WAIT).as_deref(), Some("ns/late"));
    }

    #[test]
    fn lengths_follow_every_move() {
        let mut q = Queue::default();
        let t0 = Instant::now();
        let lengths = |q: &Queue| {
            let l = q.lengths();
            (l.active, l.backoff, l.unschedulable)
        };
        for name in ["a", "b", "c"] {
            q.add(name, 0, (0, 0));
        }
        assert_eq!(lengths(&q), (3, 0, 0));
        let (a, b) = (q.pop(t0), q.pop(t0));
        assert_eq!((a.as_deref(), b.as_deref()), (Some("a"), Some("b")));
        assert_eq!((lengths(&q), q.len()), ((1, 0, 0), 3), "in flight counts in no queue");
        q.park("a", t0);
        q.retry("b", t0);
        assert_eq!(lengths(&q), (1, 1, 1));
        q.move_all_to_active();
        assert_eq!(lengths(&q), (1, 2, 0));
        q.remove("a");
        assert_eq!(lengths(&q), (1, 1, 0));
        let later = t0 + Duration::from_secs(5);
        let popped: Vec<String> = std::iter::from_fn(|| q.pop(later)).collect();
        assert_eq!(popped, ["b", "c"]);
        assert_eq!((lengths(&q), q.len()), ((0, 0, 0), 2));
    }
}
