//! The crate's one error type.

/// What went wrong registering metrics, and on what.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("invalid {what} {name:?}: {rule}")]
    InvalidName { what: &'static str, name: String, rule: &'static str },
    #[error("metric {0:?} is already registered")]
    Duplicate(String),
    #[error("histogram {name:?}: bad buckets: {message}")]
    Buckets { name: String, message: String },
}
