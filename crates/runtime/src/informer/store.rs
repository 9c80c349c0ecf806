//! The informer's cache as readers see it: one writer (the informer), any
//! number of cheap, cloneable readers. Reads never wait on the network; they
//! take a short lock that is never held across an `.await`.

use super::event::InformerEvent;
use capstan_proto::Resource;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};
use tokio::sync::{mpsc, watch};

/// Where an object lives: its namespace ("" for cluster-scoped kinds) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: &str, name: &str) -> Self {
        ObjectKey { namespace: namespace.to_string(), name: name.to_string() }
    }

    pub fn of<K: Resource>(object: &K) -> Self {
        let meta = object.meta();
        ObjectKey::new(&meta.namespace, &meta.name)
    }
}

/// Whether the first list has landed in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyncState {
    Pending,
    Synced,
    /// the informer stopped before its first list completed
    Stopped,
}

pub(crate) struct State<K> {
    pub(crate) objects: BTreeMap<ObjectKey, Arc<K>>,
    /// the last resourceVersion the cache has caught up to
    pub(crate) resource_version: String,
}

/// What the writer and the readers share. Lock order: `state`, then
/// `subscribers`; the writer holds both while it applies a change and queues
/// its events, so a new subscriber sees each change exactly once.
pub(crate) struct Shared<K> {
    pub(crate) state: RwLock<State<K>>,
    pub(crate) subscribers: Mutex<Vec<mpsc::UnboundedSender<InformerEvent<K>>>>,
    pub(crate) sync: watch::Sender<SyncState>,
}

impl<K> Shared<K> {
    pub(crate) fn new() -> Self {
        Shared {
            state: RwLock::new(State { objects: BTreeMap::new(), resource_version: String::new() }),
            subscribers: Mutex::new(Vec::new()),
            sync: watch::Sender::new(SyncState::Pending),
        }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State<K>> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// True once synced; false if the informer stopped first.
    pub(crate) async fn wait_synced(&self) -> bool {
        let mut rx = self.sync.subscribe();
        let synced = match rx.wait_for(|s| *s != SyncState::Pending).await {
            Ok(state) => *state == SyncState::Synced,
            Err(_) => false,
        };
        synced
    }
}

/// A point-in-time copy of the cache.
#[derive(Debug, Clone)]
pub struct Snapshot<K> {
    pub objects: BTreeMap<ObjectKey, Arc<K>>,
    pub resource_version: String,
}

/// A reader of an informer's cache.
pub struct Store<K> {
    shared: Arc<Shared<K>>,
}

impl<K> Clone for Store<K> {
    fn clone(&self) -> Self {
        Store { shared: self.shared.clone() }
    }
}

impl<K> std::fmt::Debug for Store<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.read();
        f.debug_struct("Store")
            .field("objects", &state.objects.len())
            .field("resource_version", &state.resource_version)
            .finish()
    }
}

impl<K> Store<K> {
    pub(crate) fn new(shared: Arc<Shared<K>>) -> Self {
        Store { shared }
    }

    /// The cached object; `namespace` is "" for cluster-scoped kinds.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.shared.read().objects.get(&ObjectKey::new(namespace, name)).cloned()
    }

    /// Every cached object, ordered by namespace and name.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.shared.read().objects.values().cloned().collect()
    }

    /// The cached objects of one namespace.
    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        let state = self.shared.read();
        state.objects.iter().filter(|(k, _)| k.namespace == namespace).map(|(_, v)| v.clone()).collect()
    }

    /// The whole cache and its resourceVersion, read at one instant.
    pub fn snapshot(&self) -> Snapshot<K> {
        let state = self.shared.read();
        Snapshot { objects: state.objects.clone(), resource_version: state.resource_version.clone() }
    }

    pub fn len(&self) -> usize {
        self.shared.read().objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The resourceVersion the cache has caught up to.
    pub fn resource_version(&self) -> String {
        self.shared.read().resource_version.clone()
    }

    /// True once the first list is in the cache.
    pub fn is_synced(&self) -> bool {
        *self.shared.sync.borrow() == SyncState::Synced
    }

    /// Waits for the first list to land: true then, false if the informer
    /// stopped first.
    pub async fn wait_synced(&self) -> bool {
        self.shared.wait_synced().await
    }
}
