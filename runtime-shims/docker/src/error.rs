//! The Docker shim's one error type and its one mapping onto gRPC statuses.
//!
//! Every engine call is wrapped with what was being done ([`Op`]) and to which
//! object, so a status reads like "stopping container 3f2a…: Docker responded with
//! status code 500: …". The engine's HTTP status decides the gRPC code: 404 is
//! NotFound, 409 is AlreadyExists when creating and FailedPrecondition otherwise,
//! 400 is InvalidArgument, other engine answers are Internal, and failing to reach
//! the engine at all is Unavailable.

use bollard::errors::Error as DockerError;
use tonic::{Code, Status};

/// What the shim was doing when the engine failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Connect,
    EnsureNetwork,
    BuildPauseImage,
    CreateSandbox,
    CreateContainer,
    Start,
    Stop,
    Remove,
    Inspect,
    List,
    Exec,
    Logs,
    Stats,
    InspectImage,
    ListImages,
    RemoveImage,
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Op::Connect => "connecting to Docker at",
            Op::EnsureNetwork => "setting up the Docker network",
            Op::BuildPauseImage => "building the pause image",
            Op::CreateSandbox => "creating the pod sandbox of",
            Op::CreateContainer => "creating container",
            Op::Start => "starting container",
            Op::Stop => "stopping container",
            Op::Remove => "removing container",
            Op::Inspect => "inspecting container",
            Op::List => "listing the containers of node",
            Op::Exec => "exec in container",
            Op::Logs => "reading the logs of container",
            Op::Stats => "reading the stats of container",
            Op::InspectImage => "inspecting image",
            Op::ListImages => "listing images",
            Op::RemoveImage => "removing image",
        })
    }
}

/// What went wrong, naming the object it went wrong on.
#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    #[error("{op} {target}: {source}")]
    Docker {
        op: Op,
        target: String,
        #[source]
        source: DockerError,
    },

    #[error("the Docker network {name} disappeared while it was being set up")]
    NetworkVanished { name: String },

    #[error("pod sandbox {id} not found on node {node}")]
    SandboxNotFound { id: String, node: String },

    #[error("container {id} not found on node {node}")]
    ContainerNotFound { id: String, node: String },

    #[error("pod sandbox {id} is not ready: it was stopped")]
    SandboxNotReady { id: String },

    #[error("container {id} is {state}; only a created container can be started")]
    NotCreated { id: String, state: String },

    #[error("container {id} is {state}, not running")]
    NotRunning { id: String, state: String },

    #[error("{request}: {field} is required")]
    MissingField { request: &'static str, field: &'static str },

    #[error(
        "pulling image {image}: it is not present and no registry is reachable from this node \
         (build it locally, e.g. with scripts/images.sh, or load it with docker load): {source}"
    )]
    Pull {
        image: String,
        #[source]
        source: DockerError,
    },

    #[error("building the pause image {image}: {message}")]
    Build { image: String, message: String },

    #[error("reading {path} for the pause image: {source}")]
    Busybox {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("exec {cmd:?} in container {id} did not finish within {seconds}s")]
    ExecTimedOut { id: String, cmd: Vec<String>, seconds: i64 },

    #[error("exec in container {id}: the engine started the process detached")]
    ExecDetached { id: String },

    #[error("exec: the first message of the stream must be `start`")]
    ExecNotStarted,

    #[error("exec in container {id}: writing stdin: {source}")]
    Stdin {
        id: String,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Serve(#[from] capstan_shim_common::ShimCommonError),
}

impl ShimError {
    /// Whether this is the engine saying the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ShimError::Docker { source, .. } if http_status(source) == Some(404))
    }
}

/// Attaches what was being done, and to what, to an engine result.
pub trait Context<T> {
    fn during(self, op: Op, target: impl std::fmt::Display) -> Result<T, ShimError>;
}

impl<T> Context<T> for Result<T, DockerError> {
    fn during(self, op: Op, target: impl std::fmt::Display) -> Result<T, ShimError> {
        self.map_err(|source| ShimError::Docker { op, target: target.to_string(), source })
    }
}

fn http_status(error: &DockerError) -> Option<u16> {
    match error {
        DockerError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

impl From<ShimError> for Status {
    fn from(error: ShimError) -> Status {
        let code = match &error {
            ShimError::Docker { op, source, .. } => match (http_status(source), op) {
                (Some(404), _) => Code::NotFound,
                (Some(409), Op::CreateSandbox | Op::CreateContainer) => Code::AlreadyExists,
                (Some(409), _) => Code::FailedPrecondition,
                (Some(400), _) => Code::InvalidArgument,
                (Some(_), _) => Code::Internal,
                (None, _) => match source {
                    DockerError::JsonDataError { .. } | DockerError::JsonSerdeError { .. } => Code::Internal,
                    _ => Code::Unavailable,
                },
            },
            ShimError::SandboxNotFound { .. } | ShimError::ContainerNotFound { .. } => Code::NotFound,
            ShimError::Pull { source, .. } if http_status(source) == Some(404) => Code::NotFound,
            ShimError::Pull { .. } => Code::Unavailable,
            ShimError::SandboxNotReady { .. } | ShimError::NotCreated { .. } | ShimError::NotRunning { .. } => {
                Code::FailedPrecondition
            }
            ShimError::MissingField { .. } | ShimError::ExecNotStarted => Code::InvalidArgument,
            ShimError::ExecTimedOut { .. } => Code::DeadlineExceeded,
            ShimError::Stdin { .. } => Code::Aborted,
            ShimError::Build { .. } | ShimError::Busybox { .. } | ShimError::ExecDetached { .. } => Code::Internal,
            ShimError::Serve(_) | ShimError::NetworkVanished { .. } => Code::Unavailable,
        };
        Status::new(code, error.to_string())
    }
}

impl capstan_shim_common::RuntimeError for ShimError {
    fn is_not_found(&self) -> bool {
        ShimError::is_not_found(self)
    }
}
