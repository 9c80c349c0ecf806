//! The containerd shim's one error type and its one mapping onto gRPC statuses.
//!
//! Every containerd call is wrapped with what was being done and to which object, so
//! a status reads like "creating the task of container 3f2a…: …". containerd answers
//! in gRPC codes already; those pass through (NotFound stays NotFound), except that
//! failing to reach containerd at all is Unavailable.

use tonic::{Code, Status};

/// What went wrong, naming the object it went wrong on.
#[derive(Debug, thiserror::Error)]
pub enum ContainerdError {
    #[error("connecting to containerd at {address}: {source}")]
    Connect {
        address: String,
        #[source]
        source: tonic::transport::Error,
    },

    #[error("{what}: containerd answered {}: {}", .source.code(), .source.message())]
    Containerd {
        what: String,
        #[source]
        source: Status,
    },

    #[error("pod sandbox {id} not found on node {node}")]
    SandboxNotFound { id: String, node: String },

    #[error("container {id} not found on node {node}")]
    ContainerNotFound { id: String, node: String },

    #[error("pod sandbox {id} is not ready: it was stopped")]
    SandboxNotReady { id: String },

    #[error("container {id} is {state}; only a created container can be started")]
    NotCreated { id: String, state: &'static str },

    #[error("container {id} is {state}, not running")]
    NotRunning { id: String, state: &'static str },

    #[error("{request}: {field} is required")]
    MissingField { request: &'static str, field: &'static str },

    #[error("image reference {reference:?} is not valid: {reason}")]
    BadReference { reference: String, reason: &'static str },

    #[error(
        "image {image} is not present on node {node} (namespace {namespace}): pull it, or load an archive \
         with `capstan image load`"
    )]
    ImageNotPresent { image: String, node: String, namespace: String },

    #[error("image {image}: {reason}")]
    BadImage { image: String, reason: String },

    #[error(
        "pulling image {image}: the registry {registry} could not be reached: {detail} (load the image \
         instead with `capstan image load FILE`)"
    )]
    RegistryUnreachable { image: String, registry: String, detail: String },

    #[error("pulling image {image} from registry {registry}: {detail}")]
    Registry { image: String, registry: String, detail: String, code: Code },

    #[error("pulling image {image}: the credentials cannot be used: {reason}")]
    BadAuth { image: String, reason: &'static str },

    #[error("registry CA file {path}: {reason}")]
    RegistryCa { path: String, reason: String },

    #[error("image archive {path}: {reason}")]
    Archive { path: String, reason: String },

    #[error("CNI plugin {plugin} ({command}) for pod sandbox {sandbox}: {detail}")]
    Cni { plugin: String, command: &'static str, sandbox: String, detail: String },

    #[error("network namespace {name}: {detail}")]
    Netns { name: String, detail: String },

    #[error("pod subnet {subnet:?}: {reason}")]
    BadSubnet { subnet: String, reason: &'static str },

    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("decoding {what}: {source}")]
    Decode {
        what: String,
        #[source]
        source: prost::DecodeError,
    },

    #[error("exec {cmd:?} in container {id} did not finish within {seconds}s")]
    ExecTimedOut { id: String, cmd: Vec<String>, seconds: i64 },

    #[error("exec: the first message of the stream must be `start`")]
    ExecNotStarted,

    #[error(transparent)]
    Serve(#[from] capstan_shim_common::ShimCommonError),
}

impl ContainerdError {
    /// Whether containerd said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ContainerdError::Containerd { source, .. } if source.code() == Code::NotFound)
    }

    /// Whether containerd said the object exists already.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, ContainerdError::Containerd { source, .. } if source.code() == Code::AlreadyExists)
    }
}

/// Attaches what was being done to a containerd answer.
pub trait Context<T> {
    fn during(self, what: impl FnOnce() -> String) -> Result<T, ContainerdError>;
}

impl<T> Context<T> for Result<T, Status> {
    fn during(self, what: impl FnOnce() -> String) -> Result<T, ContainerdError> {
        self.map_err(|source| ContainerdError::Containerd { what: what(), source })
    }
}

/// An I/O error on `path`, saying what was being done.
pub fn io(what: &'static str, path: impl AsRef<std::path::Path>) -> impl FnOnce(std::io::Error) -> ContainerdError {
    let path = path.as_ref().display().to_string();
    move |source| ContainerdError::Io { what, path, source }
}

impl From<ContainerdError> for Status {
    fn from(error: ContainerdError) -> Status {
        let code = match &error {
            ContainerdError::Containerd { source, .. } => match source.code() {
                Code::Unknown => Code::Internal,
                code => code,
            },
            ContainerdError::Connect { .. } | ContainerdError::Serve(_) => Code::Unavailable,
            ContainerdError::SandboxNotFound { .. }
            | ContainerdError::ContainerNotFound { .. }
            | ContainerdError::ImageNotPresent { .. } => Code::NotFound,
            ContainerdError::SandboxNotReady { .. }
            | ContainerdError::NotCreated { .. }
            | ContainerdError::NotRunning { .. } => Code::FailedPrecondition,
            ContainerdError::MissingField { .. }
            | ContainerdError::BadReference { .. }
            | ContainerdError::Archive { .. }
            | ContainerdError::BadSubnet { .. }
            | ContainerdError::BadAuth { .. }
            | ContainerdError::RegistryCa { .. }
            | ContainerdError::ExecNotStarted => Code::InvalidArgument,
            ContainerdError::RegistryUnreachable { .. } => Code::Unavailable,
            ContainerdError::Registry { code, .. } => *code,
            ContainerdError::ExecTimedOut { .. } => Code::DeadlineExceeded,
            ContainerdError::BadImage { .. }
            | ContainerdError::Cni { .. }
            | ContainerdError::Netns { .. }
            | ContainerdError::Io { .. }
            | ContainerdError::Json { .. }
            | ContainerdError::Decode { .. } => Code::Internal,
        };
        Status::new(code, error.to_string())
    }
}

impl capstan_shim_common::RuntimeError for ContainerdError {
    fn is_not_found(&self) -> bool {
        ContainerdError::is_not_found(self)
    }
}
