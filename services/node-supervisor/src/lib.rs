//! The entrypoint of Capstan's node images and the health probe of every image.
//!
//! A node container runs several processes (kubelet, runtime shim, proxy and,
//! on a containerd node, containerd itself), as kind's node image does. A
//! container has one entrypoint, so this supervisor starts them in order,
//! prefixes each line they print with its name (one `docker logs` shows all),
//! forwards the container's stop signal to every one, and exits as soon as any
//! of them exits: a node that lost its kubelet or its runtime must be restarted
//! whole, by Docker's restart policy or the DaemonSet, never limp on.
//!
//! # Layout
//! - [`spec`]: the `NAME=COMMAND` and `NAME=PATH` flags, parsed and checked.
//! - [`supervise`]: set-up commands, then the processes, their output, signals and exit.
//! - [`probe`]: `capstan-probe`, the image health check: a `grpc.health.v1` check of one
//!   server (FROM scratch images have no shell for a `HEALTHCHECK` to run).

pub mod probe;
pub mod spec;
pub mod supervise;

pub use spec::{Process, Readiness};
pub use supervise::{run, Plan};

/// What can go wrong while supervising.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("invalid {flag} {value:?}: {reason}")]
    InvalidFlag { flag: &'static str, value: String, reason: &'static str },

    #[error("starting {name} ({program}): {source}")]
    Spawn {
        name: String,
        program: String,
        #[source]
        source: std::io::Error,
    },

    #[error("set-up command {command:?} failed: {status}")]
    SetupFailed { command: String, status: std::process::ExitStatus },

    #[error("{name} did not create {path} within {waited:?}")]
    NotReady { name: String, path: String, waited: std::time::Duration },

    #[error("installing the signal handler: {0}")]
    Signal(#[source] std::io::Error),

    #[error("health check of {url}: {message}")]
    Probe { url: String, message: String },
}
