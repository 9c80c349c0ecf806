//! The containerd shim's one error type and its one mapping onto gRPC codes.
//!
//! The failures every shim shares are `capstan_shim_common::RuntimeError`, wrapped
//! and coded there; this module codes only what is particular to containerd.
//!
//! Every containerd call is wrapped with what was being done and to which object, so
//! a status reads like "creating the task of container 3f2a…: …". containerd answers
//! in gRPC codes already; those pass through (NotFound stays NotFound), except that
//! failing to reach containerd at all is Unavailable.

use capstan_shim_common::{PathIoError, RuntimeError, RuntimeFailure};
use tonic::{Code, Status};

/// What went wrong, naming the object it went wrong on.
#[derive(Debug, thiserror::Error)]
pub enum ContainerdError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),

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

    #[error(transparent)]
    Io(PathIoError),

    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("building {what} of an OCI runtime spec: {source}")]
    OciSpec {
        what: &'static str,
        #[source]
        source: oci_spec::OciSpecError,
    },

    #[error("decoding {what}: {source}")]
    Decode {
        what: String,
        #[source]
        source: prost::DecodeError,
    },

    #[error(transparent)]
    Serve(#[from] capstan_shim_common::ShimCommonError),

    #[error("registering the shim's metrics: {0}")]
    Metrics(#[from] capstan_metrics::MetricsError),
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
    move |source| ContainerdError::Io(PathIoError { what, path, source })
}

impl RuntimeFailure for ContainerdError {
    fn code(&self) -> Code {
        match self {
            ContainerdError::Runtime(shared) => shared.code(),
            ContainerdError::Containerd { source, .. } => match source.code() {
                Code::Unknown => Code::Internal,
                code => code,
            },
            ContainerdError::Connect { .. } | ContainerdError::Serve(_) => Code::Unavailable,
            ContainerdError::Metrics(_) => Code::Internal,
            ContainerdError::ImageNotPresent { .. } => Code::NotFound,
            ContainerdError::BadReference { .. }
            | ContainerdError::Archive { .. }
            | ContainerdError::BadSubnet { .. }
            | ContainerdError::RegistryCa { .. } => Code::InvalidArgument,
            ContainerdError::RegistryUnreachable { .. } => Code::Unavailable,
            ContainerdError::Registry { code, .. } => *code,
            ContainerdError::BadImage { .. }
            | ContainerdError::Cni { .. }
            | ContainerdError::Netns { .. }
            | ContainerdError::Io(_)
            | ContainerdError::Json { .. }
            | ContainerdError::OciSpec { .. }
            | ContainerdError::Decode { .. } => Code::Internal,
        }
    }

    /// Whether containerd said the object does not exist.
    fn is_not_found(&self) -> bool {
        ContainerdError::is_not_found(self)
    }
}

impl From<ContainerdError> for Status {
    fn from(error: ContainerdError) -> Status {
        capstan_shim_common::status(&error)
    }
}
