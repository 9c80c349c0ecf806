//! The in-memory runtime's one error type, and its one mapping onto gRPC codes: the
//! failures every shim shares are `capstan_shim_common::RuntimeError`, coded there.

use capstan_shim_common::{RuntimeError, RuntimeFailure};
use tonic::{Code, Status};

/// What went wrong, naming the object it went wrong on.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),

    #[error("a pod sandbox for {pod} (attempt {attempt}) already exists: {id}")]
    SandboxExists { pod: String, attempt: u32, id: String },

    #[error("a container {name} (attempt {attempt}) already exists in pod sandbox {sandbox}: {id}")]
    ContainerExists { name: String, attempt: u32, sandbox: String, id: String },

    #[error("image {image} is not present on node {node}: pull it first")]
    ImageNotPresent { image: String, node: String },

    #[error("pod subnet {subnet}: {reason}")]
    BadSubnet { subnet: String, reason: &'static str },

    #[error("pod subnet {subnet} has no free address left")]
    SubnetExhausted { subnet: String },

    #[error(transparent)]
    Serve(#[from] capstan_shim_common::ShimCommonError),
}

impl RuntimeFailure for MemoryError {
    fn code(&self) -> Code {
        match self {
            MemoryError::Runtime(shared) => shared.code(),
            MemoryError::ImageNotPresent { .. } => Code::NotFound,
            MemoryError::SandboxExists { .. } | MemoryError::ContainerExists { .. } => Code::AlreadyExists,
            MemoryError::BadSubnet { .. } => Code::InvalidArgument,
            MemoryError::SubnetExhausted { .. } => Code::ResourceExhausted,
            MemoryError::Serve(_) => Code::Unavailable,
        }
    }
}

impl From<MemoryError> for Status {
    fn from(error: MemoryError) -> Status {
        capstan_shim_common::status(&error)
    }
}
