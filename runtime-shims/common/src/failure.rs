//! The failures every shim shares, and the one place a shim's failure becomes a
//! gRPC status.
//!
//! The Docker, containerd and in-memory shims refuse the same requests for the same
//! reasons (an unknown sandbox, a stopped one, a container in the wrong state, a
//! missing field, a caller of another node), so those reasons are one enum,
//! [`RuntimeError`], with one gRPC code each; a shim's own error wraps it and adds
//! only what is particular to its backend. [`RuntimeFailure`] is what the gRPC face
//! needs of any shim's error: its code; [`status`] pairs it with the message.

use tonic::{Code, Status};

/// What every runtime refuses or fails alike, naming the object concerned.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
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

    #[error("exec: the first message of the stream must be `start`")]
    ExecNotStarted,

    #[error("exec {cmd:?} in container {id} did not finish within {seconds}s")]
    ExecTimedOut { id: String, cmd: Vec<String>, seconds: i64 },

    #[error("pulling image {image}: the credentials cannot be used: {reason}")]
    BadAuth { image: String, reason: &'static str },

    #[error(
        "this runtime shim serves only node {served} (it was started with --node-name {served}), but a caller \
         for node {caller} called it: start the shim without --node-name (it then serves whichever node each \
         kubelet names) or with --node-name {caller}, or start the kubelet with --node-name {served}"
    )]
    OtherNode { served: String, caller: String },

    #[error("the {key} metadata of the call is not valid text")]
    BadNodeMetadata { key: &'static str },
}

impl RuntimeError {
    /// The gRPC code the runtime interface answers this failure with.
    pub fn code(&self) -> Code {
        match self {
            RuntimeError::SandboxNotFound { .. } | RuntimeError::ContainerNotFound { .. } => Code::NotFound,
            RuntimeError::SandboxNotReady { .. }
            | RuntimeError::NotCreated { .. }
            | RuntimeError::NotRunning { .. }
            | RuntimeError::OtherNode { .. } => Code::FailedPrecondition,
            RuntimeError::MissingField { .. }
            | RuntimeError::ExecNotStarted
            | RuntimeError::BadAuth { .. }
            | RuntimeError::BadNodeMetadata { .. } => Code::InvalidArgument,
            RuntimeError::ExecTimedOut { .. } => Code::DeadlineExceeded,
        }
    }
}

/// What the gRPC face (and the trait's provided methods) need of a shim's error.
pub trait RuntimeFailure: std::error::Error + Send + 'static {
    /// The gRPC code the runtime interface answers this failure with.
    fn code(&self) -> Code;

    /// Whether the runtime said the object does not exist.
    fn is_not_found(&self) -> bool {
        self.code() == Code::NotFound
    }
}

impl RuntimeFailure for RuntimeError {
    fn code(&self) -> Code {
        RuntimeError::code(self)
    }
}

/// The status a failure is answered with: its code and its whole message.
pub fn status(failure: &(impl RuntimeFailure + ?Sized)) -> Status {
    Status::new(failure.code(), failure.to_string())
}

impl From<RuntimeError> for Status {
    fn from(error: RuntimeError) -> Status {
        status(&error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shared_failure_has_its_code() {
        let cases = [
            (RuntimeError::SandboxNotFound { id: "s".into(), node: "n".into() }, Code::NotFound),
            (RuntimeError::ContainerNotFound { id: "c".into(), node: "n".into() }, Code::NotFound),
            (RuntimeError::SandboxNotReady { id: "s".into() }, Code::FailedPrecondition),
            (RuntimeError::NotCreated { id: "c".into(), state: "running".into() }, Code::FailedPrecondition),
            (RuntimeError::NotRunning { id: "c".into(), state: "exited".into() }, Code::FailedPrecondition),
            (RuntimeError::OtherNode { served: "a".into(), caller: "b".into() }, Code::FailedPrecondition),
            (RuntimeError::MissingField { request: "CreateContainer", field: "config" }, Code::InvalidArgument),
            (RuntimeError::ExecNotStarted, Code::InvalidArgument),
            (RuntimeError::BadAuth { image: "a:1".into(), reason: "r" }, Code::InvalidArgument),
            (RuntimeError::BadNodeMetadata { key: "k" }, Code::InvalidArgument),
            (RuntimeError::ExecTimedOut { id: "c".into(), cmd: vec![], seconds: 1 }, Code::DeadlineExceeded),
        ];
        for (error, code) in cases {
            let described = error.to_string();
            let status = Status::from(error);
            assert_eq!(status.code(), code, "{described}");
            assert_eq!(status.message(), described);
        }
    }

    #[test]
    fn a_caller_of_another_node_is_told_which_flags_to_fix() {
        let message = RuntimeError::OtherNode { served: "n1".into(), caller: "n2".into() }.to_string();
        for words in ["node n1", "node n2", "--node-name n1", "--node-name n2", "without --node-name"] {
            assert!(message.contains(words), "{words:?} missing from {message}");
        }
    }
}
