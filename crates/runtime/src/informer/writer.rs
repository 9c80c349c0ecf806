//! The single writer's side of the cache: swapping in a list, applying watch
//! events, and telling subscribers what changed, all under one lock so the
//! cache and the event queues never disagree.

use super::event::{InformerEvent, Subscription};
use super::store::{ObjectKey, Shared, State, SyncState};
use capstan_client::WatchEvent;
use capstan_proto::Resource;
use std::collections::BTreeMap;
use std::sync::{Arc, MutexGuard, PoisonError, RwLockWriteGuard};
use tokio::sync::mpsc;

type Subscribers<K> = Vec<mpsc::UnboundedSender<InformerEvent<K>>>;

impl<K: Resource> Shared<K> {
    fn write(&self) -> (RwLockWriteGuard<'_, State<K>>, MutexGuard<'_, Subscribers<K>>) {
        let state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let subscribers = self.subscribers.lock().unwrap_or_else(PoisonError::into_inner);
        (state, subscribers)
    }

    /// Replaces the whole cache with a fresh list, atomically. Subscribers
    /// get the difference: deletes for vanished objects, adds, and
    /// modifications where the resourceVersion moved; then `Synced` the
    /// first time.
    pub(crate) fn replace(&self, items: Vec<K>, resource_version: String) {
        let (mut state, mut subscribers) = self.write();
        let mut fresh = BTreeMap::new();
        for item in items {
            fresh.insert(ObjectKey::of(&item), Arc::new(item));
        }
        let mut events = Vec::new();
        for (key, old) in &state.objects {
            if !fresh.contains_key(key) {
                events.push(InformerEvent::Deleted(old.clone()));
            }
        }
        for (key, new) in &fresh {
            match state.objects.get(key) {
                None => events.push(InformerEvent::Added(new.clone())),
                Some(old) if old.meta().resource_version != new.meta().resource_version => {
                    events.push(InformerEvent::Modified { old: old.clone(), new: new.clone() })
                }
                Some(_) => {}
            }
        }
        state.objects = fresh;
        state.resource_version = resource_version;
        let first = *self.sync.borrow() == SyncState::Pending;
        if first {
            events.push(InformerEvent::Synced);
            // before the events go out: a subscriber that reacts to `Synced` by
            // reading `is_synced()` must see true
            self.sync.send_replace(SyncState::Synced);
        }
        broadcast(&mut subscribers, events);
    }

    /// Applies one watch event and queues what it changed.
    pub(crate) fn apply(&self, event: WatchEvent<K>) {
        let (mut state, mut subscribers) = self.write();
        let event = match event {
            WatchEvent::Bookmark { resource_version } => {
                if !resource_version.is_empty() {
                    state.resource_version = resource_version;
                }
                return;
            }
            WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                let new = Arc::new(o);
                advance(&mut state, &new);
                match state.objects.insert(ObjectKey::of(new.as_ref()), new.clone()) {
                    None => InformerEvent::Added(new),
                    Some(old) if old.meta().resource_version == new.meta().resource_version => return,
                    Some(old) => InformerEvent::Modified { old, new },
                }
            }
            WatchEvent::Deleted(o) => {
                let gone = Arc::new(o);
                advance(&mut state, &gone);
                state.objects.remove(&ObjectKey::of(gone.as_ref()));
                InformerEvent::Deleted(gone)
            }
        };
        broadcast(&mut subscribers, vec![event]);
    }

    /// Re-delivers every cached object as a `Resync` event.
    pub(crate) fn resync(&self) {
        let state = self.read();
        let mut subscribers = self.subscribers.lock().unwrap_or_else(PoisonError::into_inner);
        let events = state.objects.values().map(|o| InformerEvent::Resync(o.clone())).collect();
        broadcast(&mut subscribers, events);
    }

    /// A new subscriber. Once the cache is synced, it first gets an `Added`
    /// for every cached object and `Synced`, then the changes after them.
    pub(crate) fn subscribe(&self) -> Subscription<K> {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = self.read();
        let mut subscribers = self.subscribers.lock().unwrap_or_else(PoisonError::into_inner);
        if *self.sync.borrow() == SyncState::Synced {
            for object in state.objects.values() {
                let _ = tx.send(InformerEvent::Added(object.clone()));
            }
            let _ = tx.send(InformerEvent::Synced);
        }
        subscribers.push(tx);
        Subscription::new(rx)
    }

    /// The informer stopped: subscriptions end, and waiters for the first
    /// sync give up if it never came.
    pub(crate) fn close(&self) {
        self.subscribers.lock().unwrap_or_else(PoisonError::into_inner).clear();
        self.sync.send_if_modified(|s| {
            let pending = *s == SyncState::Pending;
            if pending {
                *s = SyncState::Stopped;
            }
            pending
        });
    }
}

/// Moves the cache's resourceVersion to the object's.
fn advance<K: Resource>(state: &mut State<K>, object: &K) {
    let rv = &object.meta().resource_version;
    if !rv.is_empty() {
        state.resource_version = rv.clone();
    }
}

/// Queues `events` for every subscriber, forgetting those that went away.
fn broadcast<K>(subscribers: &mut Subscribers<K>, events: Vec<InformerEvent<K>>) {
    if events.is_empty() {
        return;
    }
    subscribers.retain(|tx| events.iter().all(|e| tx.send(e.clone()).is_ok()));
}
