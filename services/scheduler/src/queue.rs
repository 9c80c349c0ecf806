//! The scheduling queue: pods waiting for a decision, highest priority
//! first and oldest first within a priority.
//!
//! A pod that fit nowhere is *parked*: it waits for a cluster change that
//! could help ([`Queue::move_all_to_active`]) and then for its back-off
//! (1 s doubling to 10 s) to run out. A pod whose bind failed only waits
//! for its back-off. Time is passed in, so the tests need no clock.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use tokio::time::Instant;

const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Where a pod sorts: priority (high first), then creation time, then key.
pub type Order = (Reverse<i32>, (i64, i32), String);

#[derive(Debug)]
struct Entry {
    order: Order,
    attempts: u32,
    not_before: Option<Instant>,
    parked: bool,
}

/// Pods by key ("namespace/name") with their place in line.
#[derive(Debug, Default)]
pub struct Queue {
    entries: HashMap<String, Entry>,
    ready: BTreeSet<Order>,
    /// Whether any entry has a back-off deadline (skips scans when none has).
    delayed: bool,
}

fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(8);
    (INITIAL_BACKOFF * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

impl Queue {
    /// Queue a pod (no-op when it is already queued, parked or in flight).
    pub fn add(&mut self, key: &str, priority: i32, created: (i64, i32)) {
        if self.entries.contains_key(key) {
            return;
        }
        let order = (Reverse(priority), created, key.to_string());
        self.ready.insert(order.clone());
        self.entries.insert(key.to_string(), Entry { order, attempts: 0, not_before: None, parked: false });
    }

    /// Forget a pod: bound, deleted, or no longer ours.
    pub fn remove(&mut self, key: &str) {
        if let Some(e) = self.entries.remove(key) {
            self.ready.remove(&e.order);
        }
    }

    /// The next pod whose turn it is, or `None`; the pod stays known (in
    /// flight) until it is removed, parked or retried.
    pub fn pop(&mut self, now: Instant) -> Option<String> {
        if self.delayed {
            for e in self.entries.values_mut() {
                if !e.parked && e.not_before.is_some_and(|t| t <= now) {
                    e.not_before = None;
                    self.ready.insert(e.order.clone());
                }
            }
            self.delayed = self.entries.values().any(|e| e.not_before.is_some());
        }
        let order = self.ready.pop_first()?;
        Some(order.2)
    }

    /// The pod fit nowhere: wait for a cluster change, then the back-off.
    pub fn park(&mut self, key: &str, now: Instant) {
        self.delay(key, now, true);
    }

    /// The bind failed: try again after the back-off.
    pub fn retry(&mut self, key: &str, now: Instant) {
        self.delay(key, now, false);
    }

    fn delay(&mut self, key: &str, now: Instant, parked: bool) {
        if let Some(e) = self.entries.get_mut(key) {
            e.attempts += 1;
            e.not_before = Some(now + backoff(e.attempts));
            e.parked = parked;
            self.delayed = true;
        }
    }

    /// Something changed that may let parked pods fit.
    pub fn move_all_to_active(&mut self) {
        for e in self.entries.values_mut() {
            e.parked = false;
        }
    }

    /// When the next backing-off pod becomes due.
    pub fn next_due(&self) -> Option<Instant> {
        if !self.delayed {
            return None;
        }
        self.entries.values().filter(|e| !e.parked).filter_map(|e| e.not_before).min()
    }

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
        let delays: Vec<u64> = (1..=6).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 10, 10]);
    }
}
