//! What a ReplicaSet is still waiting to see (Kubernetes'
//! `UIDTrackingControllerExpectations`).
//!
//! A reconcile that creates three pods returns before the pod informer
//! delivers them; a reconcile that runs in between would count too few pods
//! and create three more. So before creating or deleting, a reconcile
//! records what it expects, the informer's events count it down, and the
//! ReplicaSet does not manage its pods again until they have all been seen
//! — or until the record is too old to trust (a lost event must not stall
//! the ReplicaSet forever).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// How long an unmet expectation holds the ReplicaSet back (Kubernetes' 5 minutes).
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Record {
    /// creations not yet seen by the informer
    adds: i64,
    /// keys of pods being deleted whose deletion is not yet seen
    deletes: HashSet<String>,
    set_at: Instant,
}

/// The expectations of every ReplicaSet, by its `namespace/name` key.
#[derive(Debug)]
pub struct Expectations {
    records: Mutex<HashMap<String, Record>>,
    timeout: Duration,
}

impl Default for Expectations {
    fn default() -> Self {
        Expectations::new(EXPECTATIONS_TIMEOUT)
    }
}

impl Expectations {
    pub fn new(timeout: Duration) -> Self {
        Expectations { records: Mutex::new(HashMap::new()), timeout }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Record>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when `key` may manage its pods: nothing is expected, everything
    /// expected has been seen, or the record has timed out.
    pub fn satisfied(&self, key: &str) -> bool {
        match self.lock().get(key) {
            None => true,
            Some(r) => (r.adds <= 0 && r.deletes.is_empty()) || r.set_at.elapsed() > self.timeout,
        }
    }

    /// How long until `key`'s unmet expectations time out (`None` if met
    /// or already timed out): when to look again if no event comes.
    pub fn time_left(&self, key: &str) -> Option<Duration> {
        let records = self.lock();
        let r = records.get(key)?;
        if r.adds <= 0 && r.deletes.is_empty() {
            return None;
        }
        self.timeout.checked_sub(r.set_at.elapsed()).filter(|left| !left.is_zero())
    }

    /// `key` is about to create `count` pods.
    pub fn expect_creations(&self, key: &str, count: usize) {
        let mut records = self.lock();
        let record = records.entry(key.to_string()).or_insert_with(|| Record {
            adds: 0,
            deletes: HashSet::new(),
            set_at: Instant::now(),
        });
        // a fresh expectation replaces a met or stale one, as Kubernetes' SetExpectations does
        record.adds = count as i64;
        record.deletes.clear();
        record.set_at = Instant::now();
    }

    /// `key` is about to delete the pods with these `namespace/name` keys.
    pub fn expect_deletions(&self, key: &str, pods: impl IntoIterator<Item = String>) {
        let mut records = self.lock();
        let record = records.entry(key.to_string()).or_insert_with(|| Record {
            adds: 0,
            deletes: HashSet::new(),
            set_at: Instant::now(),
        });
        record.adds = 0;
        record.deletes = pods.into_iter().collect();
        record.set_at = Instant::now();
    }

    /// The informer saw a pod created by `key`, or a create failed.
    pub fn creation_observed(&self, key: &str) {
        if let Some(r) = self.lock().get_mut(key) {
            r.adds -= 1;
        }
    }

    /// The informer saw the pod `pod` of `key` deleted (or being deleted),
    /// or its deletion failed. Pods `key` did not ask to delete don't count.
    pub fn deletion_observed(&self, key: &str, pod: &str) {
        if let Some(r) = self.lock().get_mut(key) {
            r.deletes.remove(pod);
        }
    }

    /// Drop `key`'s record (its ReplicaSet is gone).
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_expected_is_satisfied() {
        assert!(Expectations::default().satisfied("ns/rs"));
    }

    #[test]
    fn creations_hold_until_each_is_seen() {
        let e = Expectations::default();
        e.expect_creations("ns/rs", 2);
        assert!(!e.satisfied("ns/rs"));
        assert!(e.satisfied("ns/other"), "per ReplicaSet");
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"), "an extra adoption does not un-satisfy");
        assert_eq!(e.time_left("ns/rs"), None);
    }

    #[test]
    fn deletions_count_only_the_pods_asked_for() {
        let e = Expectations::default();
        e.expect_deletions("ns/rs", ["ns/a".to_string(), "ns/b".to_string()]);
        e.deletion_observed("ns/rs", "ns/zzz");
        e.deletion_observed("ns/rs", "ns/a");
        e.deletion_observed("ns/rs", "ns/a");
        assert!(!e.satisfied("ns/rs"), "b is still expected");
        e.deletion_observed("ns/rs", "ns/b");
        assert!(e.satisfied("ns/rs"));
    }

    #[test]
    fn forget_drops_the_record() {
        let e = Expectations::default();
        e.expect_creations("ns/rs", 3);
        e.forget("ns/rs");
        assert!(e.satisfied("ns/rs"));
    }

    #[tokio::test(start_paused = true)]
    async fn unmet_expectations_expire() {
        let e = Expectations::new(Duration::from_secs(10));
        e.expect_creations("ns/rs", 1);
        assert_eq!(e.time_left("ns/rs"), Some(Duration::from_secs(10)));
        tokio::time::advance(Duration::from_secs(4)).await;
        assert!(!e.satisfied("ns/rs"));
        assert_eq!(e.time_left("ns/rs"), Some(Duration::from_secs(6)));
        tokio::time::advance(Duration::from_secs(7)).await;
        assert!(e.satisfied("ns/rs"), "a lost event does not stall the ReplicaSet");
        assert_eq!(e.time_left("ns/rs"), None, "nothing left to wait for");
    }
}
