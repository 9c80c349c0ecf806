//! What an informer tells its subscribers, and the subscription itself.
//!
//! Each subscriber has its own unbounded queue (as client-go's shared
//! informer gives each handler its own growing buffer): the informer never
//! waits on a slow subscriber, and a subscriber never misses an event. A
//! subscriber must therefore keep reading, or drop its subscription.

use futures::Stream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// One change to the informer's cache, delivered after the cache has it.
#[derive(Debug)]
pub enum InformerEvent<K> {
    Added(Arc<K>),
    Modified {
        old: Arc<K>,
        new: Arc<K>,
    },
    /// Also synthesised for objects that vanished while the watch was down.
    Deleted(Arc<K>),
    /// The initial list is in the cache: every object has been delivered.
    Synced,
    /// The periodic resync re-delivers a cached object unchanged.
    Resync(Arc<K>),
}

impl<K> Clone for InformerEvent<K> {
    fn clone(&self) -> Self {
        match self {
            InformerEvent::Added(o) => InformerEvent::Added(o.clone()),
            InformerEvent::Modified { old, new } => InformerEvent::Modified { old: old.clone(), new: new.clone() },
            InformerEvent::Deleted(o) => InformerEvent::Deleted(o.clone()),
            InformerEvent::Synced => InformerEvent::Synced,
            InformerEvent::Resync(o) => InformerEvent::Resync(o.clone()),
        }
    }
}

impl<K> InformerEvent<K> {
    /// The object the event is about (the new one for a modification).
    pub fn object(&self) -> Option<&Arc<K>> {
        match self {
            InformerEvent::Added(o) | InformerEvent::Deleted(o) | InformerEvent::Resync(o) => Some(o),
            InformerEvent::Modified { new, .. } => Some(new),
            InformerEvent::Synced => None,
        }
    }
}

/// A subscriber's queue of events; ends when the informer stops.
#[derive(Debug)]
pub struct Subscription<K> {
    rx: mpsc::UnboundedReceiver<InformerEvent<K>>,
}

impl<K> Subscription<K> {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<InformerEvent<K>>) -> Self {
        Subscription { rx }
    }

    /// The next event, or `None` once the informer has stopped.
    pub async fn recv(&mut self) -> Option<InformerEvent<K>> {
        self.rx.recv().await
    }

    /// The next event if one is queued.
    pub fn try_recv(&mut self) -> Option<InformerEvent<K>> {
        self.rx.try_recv().ok()
    }
}

impl<K> Stream for Subscription<K> {
    type Item = InformerEvent<K>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}
