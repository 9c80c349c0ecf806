//! The node's runtime state per pod, shared by the relist and the pod workers, so a
//! worker reads its pod from memory instead of asking the runtime on every sync
//! (Kubernetes' pod cache behind its PLEG).
//!
//! Two writers feed it: the node-wide [`crate::relist`] and each worker, which
//! re-reads what it just acted on. Every snapshot carries the instant its read
//! *began*, and the cache keeps the most recently begun read: a relist that listed
//! before a worker's action but finished after it can never replace the worker's
//! newer view (which would make the worker start a container twice). A worker is
//! woken only when its pod's records actually changed.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;
use tokio::time::Instant;

use crate::model::PodRuntime;

/// What the runtime held for one pod, as read at `read_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cached {
    pub runtime: PodRuntime,
    /// when the read that produced `runtime` began
    pub read_at: Instant,
}

/// Pod uid → its latest runtime snapshot; see the module docs.
#[derive(Default)]
pub struct RuntimeCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    pods: HashMap<String, watch::Sender<Option<Cached>>>,
    /// when the latest complete relist began: a pod it did not see had nothing then
    listed_at: Option<Instant>,
}

impl RuntimeCache {
    /// The latest snapshot of pod `uid`: its own entry, else an empty pod as of the
    /// latest complete relist; `None` before any relist completed.
    pub fn get(&self, uid: &str) -> Option<Cached> {
        let inner = self.lock();
        match inner.pods.get(uid).and_then(|entry| entry.borrow().clone()) {
            Some(cached) => Some(cached),
            None => inner.listed_at.map(|read_at| Cached { runtime: PodRuntime::default(), read_at }),
        }
    }

    /// A receiver that changes whenever pod `uid`'s records change.
    pub fn subscribe(&self, uid: &str) -> watch::Receiver<Option<Cached>> {
        self.lock().pods.entry(uid.to_string()).or_insert_with(|| watch::channel(None).0).subscribe()
    }

    /// Offers a snapshot of pod `uid`: kept when its read began after the one held;
    /// subscribers are woken when the records differ. Returns whether it was kept.
    pub fn offer(&self, uid: &str, cached: Cached) -> bool {
        let mut inner = self.lock();
        let entry = inner.pods.entry(uid.to_string()).or_insert_with(|| watch::channel(None).0);
        let mut kept = false;
        entry.send_if_modified(|held| {
            let newer = held.as_ref().is_none_or(|h| cached.read_at > h.read_at);
            if !newer {
                return false;
            }
            kept = true;
            let changed = held.as_ref().is_none_or(|h| h.runtime != cached.runtime);
            *held = Some(cached);
            changed
        });
        kept
    }

    /// Records a complete relist that began at `read_at` and saw `seen` pods: every
    /// other pod held is offered as empty (its containers are gone).
    pub fn relisted(&self, read_at: Instant, seen: &[&str]) {
        let gone: Vec<String> = {
            let mut inner = self.lock();
            if inner.listed_at.is_none_or(|at| read_at > at) {
                inner.listed_at = Some(read_at);
            }
            inner.pods.keys().filter(|uid| !seen.contains(&uid.as_str())).cloned().collect()
        };
        for uid in gone {
            self.offer(&uid, Cached { runtime: PodRuntime::default(), read_at });
        }
    }

    /// Drops pod `uid` once its worker is done, unless the runtime still holds
    /// something of it (the next relist would bring it back anyway).
    pub fn forget(&self, uid: &str) {
        let mut inner = self.lock();
        let empty =
            inner.pods.get(uid).is_some_and(|e| e.borrow().as_ref().is_none_or(|c| c.runtime == PodRuntime::default()));
        if empty {
            inner.pods.remove(uid);
        }
    }

    /// The uids held, for tests and diagnostics.
    pub fn pods(&self) -> Vec<String> {
        self.lock().pods.keys().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::{ContainerRecord, RunState};

    fn with(id: &str, state: RunState) -> PodRuntime {
        PodRuntime {
            containers: vec![ContainerRecord { id: id.into(), name: "app".into(), state, ..Default::default() }],
            ..Default::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_older_read_never_replaces_a_newer_one() {
        let cache = RuntimeCache::default();
        let t0 = Instant::now();
        let (t1, t2) = (t0 + Duration::from_millis(1), t0 + Duration::from_millis(2));
        // a worker read after starting the container ...
        assert!(cache.offer("p", Cached { runtime: with("c", RunState::Running), read_at: t2 }));
        // ... and a relist that listed before the start finishes later
        assert!(!cache.offer("p", Cached { runtime: PodRuntime::default(), read_at: t1 }));
        assert_eq!(cache.get("p").map(|c| c.runtime), Some(with("c", RunState::Running)));
        // an empty relist that began before cannot drop it either
        cache.relisted(t1, &[]);
        assert_eq!(cache.get("p").map(|c| c.runtime), Some(with("c", RunState::Running)));
    }

    #[tokio::test(start_paused = true)]
    async fn subscribers_wake_only_on_change() {
        let cache = RuntimeCache::default();
        let mut updates = cache.subscribe("p");
        let t0 = Instant::now();
        cache.offer("p", Cached { runtime: with("c", RunState::Running), read_at: t0 });
        assert!(updates.has_changed().unwrap_or(false));
        updates.borrow_and_update();
        // the same records read later: kept (newer), nobody woken
        assert!(
            cache.offer("p", Cached { runtime: with("c", RunState::Running), read_at: t0 + Duration::from_secs(1) })
        );
        assert!(!updates.has_changed().unwrap_or(true));
        // the container exited
        cache.offer("p", Cached { runtime: with("c", RunState::Exited), read_at: t0 + Duration::from_secs(2) });
        assert!(updates.has_changed().unwrap_or(false));
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_pods_are_empty_as_of_the_last_relist() {
        let cache = RuntimeCache::default();
        assert_eq!(cache.get("new"), None, "no relist yet: nothing is known");
        let t0 = Instant::now();
        cache.offer("p", Cached { runtime: with("c", RunState::Running), read_at: t0 });
        let updates = cache.subscribe("p");
        let t1 = t0 + Duration::from_secs(1);
        cache.relisted(t1, &[]);
        assert_eq!(cache.get("new"), Some(Cached { runtime: PodRuntime::default(), read_at: t1 }));
        assert_eq!(cache.get("p").map(|c| c.runtime), Some(PodRuntime::default()), "p's containers are gone");
        assert!(updates.has_changed().unwrap_or(false));
        drop(updates);
        cache.forget("p");
        assert!(cache.pods().is_empty());
    }
}
