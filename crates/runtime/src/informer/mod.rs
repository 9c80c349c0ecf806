//! The informer: a list+watch cache of one kind that the scheduler, the
//! controllers, the kubelet and the proxy all share, so none of them polls
//! the API server or writes its own reconnect logic.
//!
//! ```no_run
//! # async fn demo(client: capstan_client::Client) {
//! use capstan_client::ListParams;
//! use capstan_runtime::informer::Informer;
//! use capstan_proto::core::v1::Pod;
//! let informer = Informer::new(client.api::<Pod>(None), ListParams::default());
//! let store = informer.store();
//! let mut events = informer.subscribe();
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let task = tokio::spawn(informer.run(async { let _ = stopped.await; }));
//! store.wait_synced().await;
//! while let Some(event) = events.recv().await { /* reconcile */ }
//! # let _ = stop.send(()); let _ = task.await;
//! # }
//! ```
//!
//! # Layout
//! - [`store`]: the cache readers see ([`Store`]); one writer, many readers.
//! - `writer`: swapping in lists and applying watch events, with the events
//!   they produce.
//! - `watcher`: the list → watch → re-watch / relist state machine.
//! - [`event`]: [`InformerEvent`] and the per-subscriber queue.

pub mod event;
pub mod store;
mod watcher;
mod writer;

pub use event::{InformerEvent, Subscription};
pub use store::{ObjectKey, Snapshot, Store};

use capstan_backoff::Backoff;
use capstan_client::Api;
use capstan_client::ListParams;
use capstan_proto::Resource;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use store::Shared;
use watcher::ListWatch;

/// A list+watch cache of the objects of kind `K` that match the params.
pub struct Informer<K> {
    api: Api<K>,
    params: ListParams,
    resync: Duration,
    backoff: Backoff,
    shared: Arc<Shared<K>>,
}

impl<K: Resource> Informer<K> {
    /// An informer over `api`'s namespace (or all), filtered by `params`'
    /// selectors. Nothing happens until [`Informer::run`].
    pub fn new(api: Api<K>, params: ListParams) -> Self {
        Informer { api, params, resync: Duration::ZERO, backoff: Backoff::default(), shared: Arc::new(Shared::new()) }
    }

    /// Re-delivers every cached object as [`InformerEvent::Resync`] this
    /// often (zero, the default, turns it off).
    pub fn with_resync(mut self, every: Duration) -> Self {
        self.resync = every;
        self
    }

    /// The delays between attempts after a failed list or watch.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// A reader of the cache; cheap to clone, valid after the informer stops.
    pub fn store(&self) -> Store<K> {
        Store::new(self.shared.clone())
    }

    /// A new queue of events (see [`InformerHandle::subscribe`]).
    pub fn subscribe(&self) -> Subscription<K> {
        self.shared.subscribe()
    }

    /// A handle that stays usable while [`Informer::run`] owns the informer.
    pub fn handle(&self) -> InformerHandle<K> {
        InformerHandle { shared: self.shared.clone() }
    }

    /// Waits for the first list to land: true then, false if the informer
    /// stopped first.
    pub async fn wait_synced(&self) -> bool {
        self.shared.wait_synced().await
    }

    /// Lists, watches and keeps the cache current until `shutdown`
    /// completes; then every subscription ends. Failures are logged and
    /// retried, never returned.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let Informer { api, params, resync, backoff, shared } = self;
        let list_watch = ListWatch { api, params, backoff, shared: shared.clone() };
        tokio::select! {
            _ = shutdown => {}
            _ = list_watch.run() => {}
            _ = resync_loop(&shared, resync) => {}
        }
        shared.close();
    }
}

/// Subscribes to and reads a running informer; cheap to clone.
pub struct InformerHandle<K> {
    shared: Arc<Shared<K>>,
}

impl<K> Clone for InformerHandle<K> {
    fn clone(&self) -> Self {
        InformerHandle { shared: self.shared.clone() }
    }
}

impl<K: Resource> InformerHandle<K> {
    pub fn store(&self) -> Store<K> {
        Store::new(self.shared.clone())
    }

    /// A new queue of events. Subscribing after the first sync replays the
    /// cache as `Added` events and `Synced` first, so a late subscriber sees
    /// the same story as an early one.
    pub fn subscribe(&self) -> Subscription<K> {
        self.shared.subscribe()
    }

    /// True once the first list is in the cache; false if the informer
    /// stopped first.
    pub async fn wait_synced(&self) -> bool {
        self.shared.wait_synced().await
    }
}

/// Re-delivers the cache every `every`, starting one period after the first
/// sync; never returns.
async fn resync_loop<K: Resource>(shared: &Shared<K>, every: Duration) {
    if every.is_zero() || !shared.wait_synced().await {
        return std::future::pending().await;
    }
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        shared.resync();
    }
}
