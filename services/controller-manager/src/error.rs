//! The crate's one error type.

use capstan_client::ClientError;

/// What went wrong in a controller, and on what.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("{action}: {source}")]
    Api {
        action: String,
        #[source]
        source: ClientError,
    },
    /// An object the controller cannot act on as written (a bad selector, a
    /// template that does not match its selector, ...).
    #[error("{0}")]
    Invalid(String),
    /// A kubelet did not answer a usage read (the autoscaler's metrics).
    #[error("{action}: {message}")]
    Kubelet { action: String, message: String },
    #[error("unknown controller {name:?}; known controllers: {known}")]
    UnknownController { name: String, known: String },
    #[error("metrics: {0}")]
    Metrics(#[from] capstan_metrics::MetricsError),
    #[error("the controller-manager's port: {0}")]
    Server(#[from] capstan_server::ServerError),
    #[error("cannot serve on {addr}: {source}")]
    Serve {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

impl ControllerError {
    /// An error of the API call described by `action`, for `map_err`.
    pub fn api(action: impl Into<String>) -> impl FnOnce(ClientError) -> ControllerError {
        let action = action.into();
        move |source| ControllerError::Api { action, source }
    }

    /// True when a write lost a race: the next reconcile reads fresher state.
    pub fn is_conflict(&self) -> bool {
        matches!(self, ControllerError::Api { source, .. } if source.is_conflict())
    }

    /// True when the object acted on is gone.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ControllerError::Api { source, .. } if source.is_not_found())
    }
}

impl capstan_runtime::ReconcileError for ControllerError {
    fn is_conflict(&self) -> bool {
        ControllerError::is_conflict(self)
    }
}
