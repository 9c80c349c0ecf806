//! The one error type of the storage layer.
//!
//! The API server maps these onto Kubernetes status codes (NotFound → 404, AlreadyExists and
//! Conflict → 409, Compacted → 410 Gone, Unavailable → 503), so the variants are semantic,
//! not per-backend; backend detail travels in the message, which always names the key, the
//! endpoint or the path involved.

use std::path::PathBuf;

use crate::Revision;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("key {key} not found")]
    NotFound { key: String },

    #[error("key {key} already exists")]
    AlreadyExists { key: String },

    #[error("conflict on key {key}: expected mod revision {expected}, found {actual}")]
    Conflict { key: String, expected: Revision, actual: Revision },

    #[error("revision {requested} has been compacted: history is kept only after revision {compacted}")]
    Compacted { requested: Revision, compacted: Revision },

    #[error("revision {requested} is in the future: the store is at revision {current}")]
    FutureRevision { requested: Revision, current: Revision },

    /// The backend cannot be reached (etcd down, embedded writer stopped); retrying may help.
    #[error("store unavailable: {0}")]
    Unavailable(String),

    /// A stored record could not be decoded.
    #[error("corrupt record for key {key}: {detail}")]
    Corrupt { key: String, detail: String },

    /// The embedded database failed (I/O, full disk, lock held by another process).
    #[error("embedded database {}: {what}: {detail}", path.display())]
    Database { path: PathBuf, what: String, detail: String },

    /// etcd answered a request with an error other than "unavailable".
    #[error("etcd {op} on key {key} failed: {detail}")]
    Etcd { op: &'static str, key: String, detail: String },

    #[error("invalid store configuration: {0}")]
    InvalidConfig(String),
}

impl StoreError {
    /// Whether the same request may succeed later without any change (a 503, not a 4xx).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}
