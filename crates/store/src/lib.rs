//! Capstan's storage layer: what the API server persists API objects into.
//!
//! The API server only needs a handful of etcd-like operations — point reads, ordered prefix
//! lists, create / compare-and-swap / delete on a revision, and a watch that can replay history
//! from a revision. [`Store`] is exactly that, so the API server is written once and runs
//! either on a single machine with no extra daemon ([`EmbeddedStore`], a redb file in the data
//! directory) or against an HA etcd cluster ([`EtcdStore`]). Both pass the same conformance
//! suite (`tests/conformance/`), which is what keeps their semantics identical.
//!
//! Values are opaque bytes (protobuf-encoded API objects); keys are strings such as
//! `/registry/pods/default/web-1`. Every write bumps one store-wide revision by one.

mod config;
mod embedded;
mod error;
mod etcd;
mod keys;

use bytes::Bytes;
use futures::stream::BoxStream;

pub use config::{open_store, StoreConfig};
pub use embedded::{EmbeddedOptions, EmbeddedStats, EmbeddedStore};
pub use error::StoreError;
pub use etcd::{EtcdOptions, EtcdStore};

/// A store-wide, strictly increasing version number (etcd's "revision").
pub type Revision = i64;

/// One key as stored, with the revisions that created and last modified it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    pub create_revision: Revision,
    pub mod_revision: Revision,
}

/// One change seen by a watch.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// A create (`prev` is `None`) or an update.
    Put {
        kv: KeyValue,
        prev: Option<KeyValue>,
    },
    Delete {
        key: String,
        revision: Revision,
        prev: KeyValue,
    },
    /// Nothing changed under the watched prefix up to `revision`: lets a watcher (and the API
    /// server's watch cache) advance its resource version while its prefix is idle.
    Progress {
        revision: Revision,
    },
}

impl WatchEvent {
    /// The revision this event brings the watcher up to.
    pub fn revision(&self) -> Revision {
        match self {
            WatchEvent::Put { kv, .. } => kv.mod_revision,
            WatchEvent::Delete { revision, .. } | WatchEvent::Progress { revision } => *revision,
        }
    }

    /// The key that changed (`None` for progress notifications).
    pub fn key(&self) -> Option<&str> {
        match self {
            WatchEvent::Put { kv, .. } => Some(&kv.key),
            WatchEvent::Delete { key, .. } => Some(key),
            WatchEvent::Progress { .. } => None,
        }
    }
}

/// One page of a prefix listing.
#[derive(Debug, Clone, PartialEq)]
pub struct ListResult {
    pub items: Vec<KeyValue>,
    /// The store revision the page was read at: a watch from here misses nothing.
    pub revision: Revision,
    /// More keys under the prefix follow the last item (ask again with `start_after`).
    pub more: bool,
}

/// The stream a watch returns: changes in revision order, forever, until an error item.
pub type WatchStream = BoxStream<'static, Result<WatchEvent, StoreError>>;

/// The API server's storage contract; see the crate docs.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError>;

    /// Keys with `prefix`, in key order, strictly after `start_after` if given, at most
    /// `limit` of them (0 = no limit).
    async fn list(&self, prefix: &str, start_after: Option<&str>, limit: usize) -> Result<ListResult, StoreError>;

    /// Fails `AlreadyExists` if the key exists; returns the new revision.
    async fn create(&self, key: &str, value: Bytes) -> Result<Revision, StoreError>;

    /// Compare-and-swap: succeeds only if the key's `mod_revision == expected`; `NotFound` if
    /// the key is absent, `Conflict` otherwise.
    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision, StoreError>;

    /// Delete, optionally only if `mod_revision == expected`; returns the revision of the
    /// delete and the deleted key-value.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue), StoreError>;

    async fn current_revision(&self) -> Result<Revision, StoreError>;

    /// Every change under `prefix` with revision > `after`, in revision order, then live
    /// changes, forever. If `after` is older than the compacted revision the stream's first
    /// item is `Err(Compacted)`. Emits `Progress` at least about every progress interval
    /// while the prefix is idle.
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError>;

    /// Drop change history at or below `revision`: a later watch from an older revision fails
    /// `Compacted`. Compacting to an already compacted revision is a no-op; compacting past
    /// the current revision fails `FutureRevision`.
    async fn compact(&self, revision: Revision) -> Result<(), StoreError>;
}
