//! The in-memory runtime's one error type, and its one mapping onto gRPC statuses.

use tonic::{Code, Status};

/// What went wrong, naming the object it went wrong on.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("pod sandbox {id} not found")]
    SandboxNotFound { id: String },

    #[error("container {id} not found")]
    ContainerNotFound { id: String },

    #[error("pod sandbox {id} is not ready: it was stopped")]
    SandboxNotReady { id: String },

    #[error("a pod sandbox for {pod} (attempt {attempt}) already exists: {id}")]
    SandboxExists { pod: String, attempt: u32, id: String },

    #[error("a container {name} (attempt {attempt}) already exists in pod sandbox {sandbox}: {id}")]
    ContainerExists { name: String, attempt: u32, sandbox: String, id: String },

    #[error("container {id} is {state}; only a created container can be started")]
    NotCreated { id: String, state: &'static str },

    #[error("container {id} is {state}, not running")]
    NotRunning { id: String, state: &'static str },

    #[error("image {image} is not present on node {node}: pull it first")]
    ImageNotPresent { image: String, node: String },

    #[error("{request}: {field} is required")]
    MissingField { request: &'static str, field: &'static str },

    #[error("exec: the first message of the stream must be `start`")]
    ExecNotStarted,

    #[error("exec {cmd:?} in container {id} did not finish within {seconds}s")]
    ExecTimedOut { id: String, cmd: Vec<String>, seconds: i64 },

    #[error("pod subnet {subnet}: {reason}")]
    BadSubnet { subnet: String, reason: &'static str },

    #[error("pod subnet {subnet} has no free address left")]
    SubnetExhausted { subnet: String },

    #[error(transparent)]
    Serve(#[from] capstan_shim_common::ShimCommonError),
}

impl From<MemoryError> for Status {
    fn from(error: MemoryError) -> Status {
        let code = match &error {
            MemoryError::SandboxNotFound { .. }
            | MemoryError::ContainerNotFound { .. }
            | MemoryError::ImageNotPresent { .. } => Code::NotFound,
            MemoryError::SandboxExists { .. } | MemoryError::ContainerExists { .. } => Code::AlreadyExists,
            MemoryError::SandboxNotReady { .. } | MemoryError::NotCreated { .. } | MemoryError::NotRunning { .. } => {
                Code::FailedPrecondition
            }
            MemoryError::MissingField { .. } | MemoryError::ExecNotStarted | MemoryError::BadSubnet { .. } => {
                Code::InvalidArgument
            }
            MemoryError::ExecTimedOut { .. } => Code::DeadlineExceeded,
            MemoryError::SubnetExhausted { .. } => Code::ResourceExhausted,
            MemoryError::Serve(_) => Code::Unavailable,
        };
        Status::new(code, error.to_string())
    }
}

impl capstan_shim_common::RuntimeError for MemoryError {
    fn is_not_found(&self) -> bool {
        matches!(self, MemoryError::SandboxNotFound { .. } | MemoryError::ContainerNotFound { .. })
    }
}
