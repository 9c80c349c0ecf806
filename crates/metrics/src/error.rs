//! The crate's one error type.

/// What went wrong registering metrics or writing a scrape, and on what.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("invalid metric name {name:?}: {rule}")]
    InvalidName { name: String, rule: &'static str },
    #[error("metric {0:?} is already registered")]
    Duplicate(String),
    #[error("writing the scrape: a metric failed to encode")]
    Encode(#[from] std::fmt::Error),
}
