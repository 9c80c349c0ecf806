//! One watch cache per resource: a single store watch feeds an in-memory
//! mirror of every object of the kind plus a bounded log of recent changes,
//! and every client watch is served from here — never one store watch per
//! client.
//!
//! A client watch starting at revision N replays the logged events after N
//! and then follows the live broadcast; subscribing and replaying happen under
//! one lock so nothing falls in between. A watcher that lags behind the
//! broadcast re-reads the log; one that falls off the log is told to relist.
//!
//! Observers (the authorizers' indexes) are told of each change under the
//! cache's lock, before the broadcast: whatever a watcher has heard of, they
//! know of, so a kubelet that learns of a pod bound to it is never refused
//! that pod's status by an index that has not caught up.

use crate::error::ApiError;
use capstan_backoff::Backoff;
use capstan_proto::api::v1::Object;
use capstan_proto::object::decode_body;
use capstan_proto::KindInfo;
use capstan_store::{KeyValue, Revision, Store, StoreError, WatchEvent};
use futures::StreamExt;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change to one object, as every watcher of the kind sees it.
#[derive(Debug)]
pub struct CacheEvent {
    pub kind: EventType,
    pub revision: Revision,
    /// the object after the change (for deletes: as it was last stored)
    pub object: Arc<Object>,
    /// the object before the change, for selector transitions
    pub prev: Option<Arc<Object>>,
}

/// What the broadcast carries: changes, and "nothing changed up to here".
#[derive(Debug, Clone)]
pub enum CacheMessage {
    Event(Arc<CacheEvent>),
    Progress(Revision),
    /// the cache was rebuilt from a fresh list: watchers must relist
    Reset,
}

/// Kept in step with a cache synchronously (see the module doc): called with
/// each change under the cache's lock, so it must only update memory.
pub type Observer = Box<dyn Fn(EventType, &Object) + Send + Sync>;

struct State {
    objects: HashMap<String, Arc<Object>>,
    observers: Vec<Observer>,
    revision: Revision,
    log: VecDeque<Arc<CacheEvent>>,
    /// events after this revision are all in `log`
    log_start: Revision,
}

/// Tuning of a watch cache.
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// how many recent changes a watch can resume from
    pub log_capacity: usize,
    /// how often idle watchers get a bookmark
    pub bookmark_interval: Duration,
    pub broadcast_capacity: usize,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions { log_capacity: 10_000, bookmark_interval: Duration::from_secs(5), broadcast_capacity: 4096 }
    }
}

pub struct WatchCache {
    pub info: &'static KindInfo,
    state: RwLock<State>,
    tx: broadcast::Sender<CacheMessage>,
    options: CacheOptions,
}

/// Where a new client watch starts.
pub struct Subscription {
    /// events to send before following the broadcast (ADDED for the initial
    /// state, or the logged changes after the requested revision)
    pub backlog: Vec<Arc<CacheEvent>>,
    pub receiver: broadcast::Receiver<CacheMessage>,
    /// the revision the backlog brings the watcher to
    pub revision: Revision,
}

impl WatchCache {
    /// Lists the kind and starts following the store. The returned task ends
    /// when `shutdown` fires.
    pub async fn start(
        info: &'static KindInfo,
        store: Arc<dyn Store>,
        options: CacheOptions,
        shutdown: CancellationToken,
    ) -> Result<Arc<WatchCache>, ApiError> {
        let (tx, _) = broadcast::channel(options.broadcast_capacity);
        let cache = Arc::new(WatchCache {
            info,
            state: RwLock::new(State {
                objects: HashMap::new(),
                observers: Vec::new(),
                revision: 0,
                log: VecDeque::new(),
                log_start: 0,
            }),
            tx,
            options,
        });
        let revision = cache.relist(store.as_ref()).await?;
        let runner = cache.clone();
        tokio::spawn(async move { runner.follow(store, revision, shutdown).await });
        Ok(cache)
    }

    fn prefix(&self) -> String {
        format!("/registry/{}/", self.info.resource)
    }

    /// Replaces the mirror with a fresh list; returns its revision.
    async fn relist(&self, store: &dyn Store) -> Result<Revision, ApiError> {
        let listed = store.list(&self.prefix(), None, 0).await.map_err(|e| ApiError::from_store(e, self.info, ""))?;
        let mut objects = HashMap::with_capacity(listed.items.len());
        for kv in &listed.items {
            if let Some(object) = self.decode(kv) {
                objects.insert(kv.key.clone(), Arc::new(object));
            }
        }
        let mut state = self.write_state();
        // observers see the relist as the changes it amounts to
        for (key, old) in &state.objects {
            if !objects.contains_key(key) {
                state.observers.iter().for_each(|observer| observer(EventType::Deleted, old));
            }
        }
        for (key, new) in &objects {
            let kind = if state.objects.contains_key(key) { EventType::Modified } else { EventType::Added };
            state.observers.iter().for_each(|observer| observer(kind, new));
        }
        state.objects = objects;
        state.revision = listed.revision;
        state.log.clear();
        state.log_start = listed.revision;
        Ok(listed.revision)
    }

    fn decode(&self, kv: &KeyValue) -> Option<Object> {
        match decode_body(self.info, &kv.value) {
            Ok(mut object) => {
                if let Some(meta) = capstan_proto::ObjectExt::meta_mut(&mut object) {
                    meta.resource_version = kv.mod_revision.to_string();
                }
                Some(object)
            }
            Err(err) => {
                tracing::error!(key = %kv.key, error = %err, "skipping undecodable object in the store");
                None
            }
        }
    }

    async fn follow(self: Arc<Self>, store: Arc<dyn Store>, mut revision: Revision, shutdown: CancellationToken) {
        let mut bookmarks = tokio::time::interval(self.options.bookmark_interval);
        // a failing store watch is retried after 50 ms doubling to 5 s, with no
        // jitter: there is one store watch per kind, not a crowd of clients
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(5)).with_jitter(0.0);
        loop {
            let mut stream = match store.watch(&self.prefix(), revision).await {
                Ok(s) => s,
                Err(err) => {
                    tracing::warn!(resource = self.info.resource, error = %err, "watch cache: store watch failed, retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff.next_delay()) => {}
                        _ = shutdown.cancelled() => return,
                    }
                    continue;
                }
            };
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = bookmarks.tick() => {
                        let _ = self.tx.send(CacheMessage::Progress(self.revision()));
                    }
                    item = stream.next() => match item {
                        Some(Ok(event)) => {
                            backoff.reset();
                            revision = event.revision().max(revision);
                            self.apply(event);
                        }
                        Some(Err(StoreError::Compacted { .. })) => {
                            tracing::warn!(resource = self.info.resource, "watch cache fell behind compaction; relisting");
                            match self.relist(store.as_ref()).await {
                                Ok(r) => { revision = r; let _ = self.tx.send(CacheMessage::Reset); }
                                Err(err) => tracing::warn!(error = %err, "watch cache relist failed"),
                            }
                            break;
                        }
                        Some(Err(err)) => {
                            tracing::warn!(resource = self.info.resource, error = %err, "watch cache: store watch broke, resuming");
                            break;
                        }
                        None => break,
                    }
                }
            }
        }
    }

    fn apply(&self, event: WatchEvent) {
        let mut state = self.write_state();
        let message = match event {
            WatchEvent::Progress { revision } => {
                state.revision = state.revision.max(revision);
                CacheMessage::Progress(state.revision)
            }
            WatchEvent::Put { kv, .. } => {
                let Some(object) = self.decode(&kv) else { return };
                let object = Arc::new(object);
                let prev = state.objects.insert(kv.key.clone(), object.clone());
                let kind = if prev.is_some() { EventType::Modified } else { EventType::Added };
                self.record(&mut state, CacheEvent { kind, revision: kv.mod_revision, object, prev })
            }
            WatchEvent::Delete { key, revision, prev } => {
                let last = state.objects.remove(&key).or_else(|| self.decode(&prev).map(Arc::new));
                let Some(last) = last else { return };
                let mut object = (*last).clone();
                if let Some(meta) = capstan_proto::ObjectExt::meta_mut(&mut object) {
                    meta.resource_version = revision.to_string();
                }
                self.record(
                    &mut state,
                    CacheEvent { kind: EventType::Deleted, revision, object: Arc::new(object), prev: Some(last) },
                )
            }
        };
        drop(state);
        // no receivers is fine: nobody is watching this kind right now
        let _ = self.tx.send(message);
    }

    fn record(&self, state: &mut State, event: CacheEvent) -> CacheMessage {
        state.revision = state.revision.max(event.revision);
        let event = Arc::new(event);
        state.observers.iter().for_each(|observer| observer(event.kind, &event.object));
        state.log.push_back(event.clone());
        while state.log.len() > self.options.log_capacity {
            if let Some(old) = state.log.pop_front() {
                state.log_start = old.revision;
            }
        }
        CacheMessage::Event(event)
    }

    pub fn revision(&self) -> Revision {
        self.read_state().revision
    }

    /// Waits until the cache has seen `revision` (true), or `timeout` passed
    /// or the cache stopped (false). Writers call it where a client's next
    /// request must see their write through the cache.
    pub async fn wait_for_revision(&self, revision: Revision, timeout: Duration) -> bool {
        // subscribe before looking, so a change between the two is not missed
        let mut changes = self.tx.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.revision() >= revision {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.recv()).await {
                Err(_) | Ok(Err(broadcast::error::RecvError::Closed)) => return false,
                Ok(_) => {}
            }
        }
    }

    /// Adds an observer: told of every cached object now (as ADDED), then of
    /// each change before any watcher is.
    pub fn observe(&self, observer: Observer) {
        let mut state = self.write_state();
        state.objects.values().for_each(|object| observer(EventType::Added, object));
        state.observers.push(observer);
    }

    /// Every cached object, for a watch that starts from "now".
    pub fn snapshot(&self) -> (Vec<Arc<Object>>, Revision) {
        let state = self.read_state();
        (state.objects.values().cloned().collect(), state.revision)
    }

    /// Looks one object up by its store key.
    pub fn get(&self, key: &str) -> Option<Arc<Object>> {
        self.read_state().objects.get(key).cloned()
    }

    /// Starts a client watch. `from` None means the current state as ADDED
    /// events; `Some(n)` means every change after revision n.
    pub fn subscribe(&self, from: Option<Revision>) -> Result<Subscription, ApiError> {
        let state = self.read_state();
        let receiver = self.tx.subscribe();
        match from {
            None => {
                let backlog = state
                    .objects
                    .values()
                    .map(|o| {
                        let revision = o.meta_revision();
                        Arc::new(CacheEvent { kind: EventType::Added, revision, object: o.clone(), prev: None })
                    })
                    .collect();
                Ok(Subscription { backlog, receiver, revision: state.revision })
            }
            Some(after) => {
                let backlog = Self::events_after(&state, after)?;
                Ok(Subscription { backlog, receiver, revision: state.revision.max(after) })
            }
        }
    }

    /// The logged events after `after`, for a watcher that lagged behind the
    /// broadcast.
    pub fn catch_up(&self, after: Revision) -> Result<Vec<Arc<CacheEvent>>, ApiError> {
        Self::events_after(&self.read_state(), after)
    }

    fn events_after(state: &State, after: Revision) -> Result<Vec<Arc<CacheEvent>>, ApiError> {
        if after < state.log_start {
            return Err(ApiError::Expired { requested: after, oldest: state.log_start });
        }
        let start = state.log.partition_point(|e| e.revision <= after);
        Ok(state.log.iter().skip(start).cloned().collect())
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

trait MetaRevision {
    fn meta_revision(&self) -> Revision;
}

impl MetaRevision for Object {
    fn meta_revision(&self) -> Revision {
        capstan_proto::ObjectExt::meta(self).resource_version.parse().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::object::wrap;
    use capstan_proto::{kinds, ObjectExt};
    use capstan_store::{EmbeddedOptions, EmbeddedStore};
    use std::collections::BTreeSet;
    use std::sync::Mutex;

    fn pod_body(name: &str) -> bytes::Bytes {
        wrap(capstan_testkit::objects::pod(name).build()).encode_body().into()
    }

    #[tokio::test]
    async fn observers_know_every_change_before_a_watcher_hears_of_it() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store: Arc<dyn Store> =
            Arc::new(EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).expect("the store"));
        store.create("/registry/pods/default/before", pod_body("before")).await.expect("create");
        let shutdown = CancellationToken::new();
        let cache = WatchCache::start(&kinds::POD, store.clone(), CacheOptions::default(), shutdown.clone())
            .await
            .expect("the cache");

        let known = Arc::new(Mutex::new(BTreeSet::new()));
        let seen = known.clone();
        cache.observe(Box::new(move |change, object| {
            let name = object.meta().name.clone();
            let mut names = seen.lock().expect("the names");
            match change {
                EventType::Deleted => names.remove(&name),
                EventType::Added | EventType::Modified => names.insert(name),
            };
        }));
        let names = |known: &Mutex<BTreeSet<String>>| known.lock().expect("the names").clone();
        assert_eq!(names(&known), BTreeSet::from(["before".to_string()]), "told of what the cache held");

        let mut watcher = cache.subscribe(Some(cache.revision())).expect("a watch").receiver;
        let revision = store.create("/registry/pods/default/after", pod_body("after")).await.expect("create");
        loop {
            match watcher.recv().await.expect("the broadcast") {
                CacheMessage::Event(event) if event.revision == revision => break,
                _ => continue,
            }
        }
        assert!(names(&known).contains("after"), "the observer knew before the watcher heard");

        let (deleted, _) = store.delete("/registry/pods/default/before", None).await.expect("delete");
        loop {
            match watcher.recv().await.expect("the broadcast") {
                CacheMessage::Event(event) if event.revision == deleted => break,
                _ => continue,
            }
        }
        assert_eq!(names(&known), BTreeSet::from(["after".to_string()]));

        // with the store watch stopped, a relist is told as the changes it amounts to
        shutdown.cancel();
        tokio::task::yield_now().await;
        store.create("/registry/pods/default/third", pod_body("third")).await.expect("create");
        store.delete("/registry/pods/default/after", None).await.expect("delete");
        cache.relist(store.as_ref()).await.expect("relist");
        assert_eq!(names(&known), BTreeSet::from(["third".to_string()]));
    }
}
