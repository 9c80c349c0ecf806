//! The crate's one error type.

/// What went wrong in the scheduler, and on what.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("scheduler config {path}: {message}")]
    Config { path: String, message: String },
    #[error("api call {action} failed: {source}")]
    Api {
        action: String,
        #[source]
        source: capstan_client::ClientError,
    },
    #[error("metrics: {0}")]
    Metrics(#[from] capstan_metrics::MetricsError),
    #[error("the scheduler's port: {0}")]
    Server(#[from] capstan_server::ServerError),
    #[error("cannot serve on {addr}: {source}")]
    Serve {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}
