//! The Docker shim's one error type and its one mapping onto gRPC codes.
//!
//! The failures every shim shares are `capstan_shim_common::RuntimeError`, wrapped
//! and coded there; this module codes only what is particular to Docker.
//!
//! Every engine call is wrapped with what was being done ([`Op`]) and to which
//! object, so a status reads like "stopping container 3f2a…: Docker responded with
//! status code 500: …". The engine's HTTP status decides the gRPC code: 404 is
//! NotFound, 409 is AlreadyExists when creating and FailedPrecondition otherwise,
//! 400 is InvalidArgument, other engine answers are Internal, and failing to reach
//! the engine at all is Unavailable.
//!
//! A failed pull is coded as the containerd shim codes a registry's answer:
//! refused credentials are PermissionDenied, a repository or tag the registry
//! lacks is NotFound, anything else (the registry unreachable or failing) is
//! Unavailable. The engine says which only partly by its HTTP status (404 for
//! an unknown manifest); it answers refused credentials with a 500 whose
//! message says so, so [`PullRefusal::of`] reads the message too.

use bollard::errors::Error as DockerError;
use capstan_shim_common::{RuntimeError, RuntimeFailure};
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

    #[error(transparent)]
    Runtime(#[from] RuntimeError),

    #[error("pulling image {image}: {refusal}: {source}")]
    Pull {
        image: String,
        refusal: PullRefusal,
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

    #[error("exec in container {id}: the engine started the process detached")]
    ExecDetached { id: String },

    #[error("exec in container {id}: writing stdin: {source}")]
    Stdin {
        id: String,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Serve(#[from] capstan_shim_common::ShimCommonError),

    #[error("registering the shim's metrics: {0}")]
    Metrics(#[from] capstan_metrics::MetricsError),
}

impl ShimError {
    /// Whether this is the engine saying the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ShimError::Docker { source, .. } if http_status(source) == Some(404))
    }
}

/// Why the engine could not pull an image, as far as its answer tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullRefusal {
    /// The registry wants credentials, or other ones.
    Credentials,
    /// The registry has no such repository or tag.
    NoSuchImage,
    /// The registry could not be reached, or failed otherwise.
    Unavailable,
}

impl PullRefusal {
    /// Reads the engine's answer to a pull. Docker 20.10 asks for a tag's
    /// manifest with a HEAD, whose refusals carry no body, and answers them with
    /// a 500: "…: no basic auth credentials" when it had none for a Basic
    /// challenge, "unauthorized" when they were wrong, "manifest unknown" for a
    /// missing tag. A GET's refusals carry the registry's error code: an unknown
    /// manifest or repository is a 404, `UNAUTHORIZED` reads "unauthorized: …".
    pub fn of(error: &DockerError) -> PullRefusal {
        let (status, message) = match error {
            DockerError::DockerResponseServerError { status_code, message } => (Some(*status_code), message.as_str()),
            DockerError::DockerStreamError { error } => (None, error.as_str()),
            _ => return PullRefusal::Unavailable,
        };
        let message = message.to_ascii_lowercase();
        let refused = ["unauthorized", "authentication required", "no basic auth credentials"];
        match status {
            Some(401 | 403) => PullRefusal::Credentials,
            Some(404) => PullRefusal::NoSuchImage,
            _ if refused.iter().any(|words| message.contains(words)) => PullRefusal::Credentials,
            _ if message.contains("manifest unknown") => PullRefusal::NoSuchImage,
            _ => PullRefusal::Unavailable,
        }
    }
}

impl std::fmt::Display for PullRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PullRefusal::Credentials => "the registry refused the credentials (none, or wrong ones, were given)",
            PullRefusal::NoSuchImage => "the registry has no such repository or tag",
            PullRefusal::Unavailable => {
                "the registry could not be reached or failed (build the image locally, e.g. with \
                 scripts/images.sh, or load it with docker load)"
            }
        })
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

pub(crate) fn http_status(error: &DockerError) -> Option<u16> {
    match error {
        DockerError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

impl RuntimeFailure for ShimError {
    fn code(&self) -> Code {
        match self {
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
            ShimError::Runtime(shared) => shared.code(),
            ShimError::Pull { refusal: PullRefusal::Credentials, .. } => Code::PermissionDenied,
            ShimError::Pull { refusal: PullRefusal::NoSuchImage, .. } => Code::NotFound,
            ShimError::Pull { refusal: PullRefusal::Unavailable, .. } => Code::Unavailable,
            ShimError::Stdin { .. } => Code::Aborted,
            ShimError::Build { .. }
            | ShimError::Metrics(_)
            | ShimError::Busybox { .. }
            | ShimError::ExecDetached { .. } => Code::Internal,
            ShimError::Serve(_) | ShimError::NetworkVanished { .. } => Code::Unavailable,
        }
    }
}

impl From<ShimError> for Status {
    fn from(error: ShimError) -> Status {
        capstan_shim_common::status(&error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status_code: u16, message: &str) -> DockerError {
        DockerError::DockerResponseServerError { status_code, message: message.to_string() }
    }

    fn pull_status(source: DockerError) -> Status {
        let refusal = PullRefusal::of(&source);
        Status::from(ShimError::Pull { image: "127.0.0.1:5000/app:1".into(), refusal, source })
    }

    /// The engine's answers as Docker 20.10 gives them (the first three seen
    /// against the test registry, the last from a node without DNS).
    #[test]
    fn pull_refusals_are_coded_as_the_containerd_shim_codes_them() {
        let cases = [
            (
                answered(500, "Head \"http://127.0.0.1:5000/v2/app/manifests/1\": no basic auth credentials"),
                Code::PermissionDenied,
            ),
            (answered(500, "unauthorized"), Code::PermissionDenied),
            (answered(500, "manifest unknown"), Code::NotFound),
            (answered(500, "unauthorized: authentication required"), Code::PermissionDenied),
            (answered(401, "Unauthorized"), Code::PermissionDenied),
            (answered(403, "forbidden"), Code::PermissionDenied),
            (
                answered(404, "manifest for 127.0.0.1:5000/app:2 not found: manifest unknown: manifest unknown"),
                Code::NotFound,
            ),
            (
                answered(404, "pull access denied for app, repository does not exist or may require 'docker login'"),
                Code::NotFound,
            ),
            (
                DockerError::DockerStreamError { error: "unauthorized: authentication required".into() },
                Code::PermissionDenied,
            ),
            (
                answered(
                    500,
                    "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host",
                ),
                Code::Unavailable,
            ),
        ];
        for (source, code) in cases {
            let described = source.to_string();
            let status = pull_status(source);
            assert_eq!(status.code(), code, "{described}");
            assert!(status.message().contains("127.0.0.1:5000/app:1"), "names the image: {status:?}");
            assert!(status.message().contains("registry"), "says who refused: {status:?}");
        }
    }

    #[test]
    fn unusable_credentials_are_the_callers_mistake() {
        let error = ShimError::from(RuntimeError::BadAuth {
            image: "app:1".into(),
            reason: "auth is not base64 of user:password",
        });
        let status = Status::from(error);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("app:1"), "{status:?}");
    }
}
