//! What a component may tune in its server: the limits of [`crate::stack`],
//! with defaults sized for Kubernetes objects so that most components set
//! none, and the API server's door (TLS, authentication, audit), off unless
//! a component names its files.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long a handler may take, how many may run at once and how large a
/// message may be. `Default` suits every component but the runtime shims,
/// which name their long-running calls, and the API server, which also
/// serves TLS, authenticates and audits.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// How long a call may take to answer: a unary call's whole handling, a
    /// stream's set-up (its messages are never timed). kube-apiserver's
    /// `--request-timeout` is 60 s too.
    pub request_timeout: Duration,
    /// How many handlers of calls not in `mutating` may run at once before a
    /// call is refused with `RESOURCE_EXHAUSTED` (kube-apiserver's
    /// `--max-requests-inflight` is 400). An open stream holds no slot once
    /// it has answered.
    pub max_concurrent_requests: usize,
    /// How many handlers of the calls in `mutating` may run at once
    /// (kube-apiserver's `--max-mutating-requests-inflight`, 200): writes
    /// have a pool of their own, so a flood of reads cannot starve them.
    pub max_mutating_requests: usize,
    /// The calls that count against `max_mutating_requests`, by gRPC path;
    /// none by default (every call shares the one pool).
    pub mutating: Methods,
    /// The largest request message a service decodes. gRPC's default; a
    /// Kubernetes object is at most 1.5 MiB in etcd and a kube-apiserver
    /// request body at most 3 MiB. tonic reads a message's length first and
    /// refuses a larger one before reading its body.
    pub max_receive_message_bytes: usize,
    /// The largest response message a service encodes: a list of thousands of
    /// pods must fit.
    pub max_send_message_bytes: usize,
    /// Calls exempt from the timeout and the concurrency limit, by gRPC path
    /// (`/package.Service/Method`): unary calls whose own arguments bound how
    /// long they take (an image pull, a stop with a grace period), and
    /// watches, as kube-apiserver exempts its long-running requests.
    pub long_running: LongRunning,
    /// Serve TLS on TCP listeners with these files (plaintext when `None`).
    pub tls: Option<TlsFiles>,
    /// Authenticate every call to the component's services; `None` lets
    /// every caller in as the anonymous user (today's components on loopback).
    pub authentication: Option<AuthenticationConfig>,
    /// Write one audit event per call to the component's services.
    pub audit: Option<AuditConfig>,
    /// The component serving (`capstan-kubelet`): each call's `grpc.server`
    /// span is its, so that in one process hosting several components
    /// (`capstan up`) each server's calls show under its own `service.name`.
    /// `None`: the process's service name.
    pub component: Option<&'static str>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            request_timeout: Duration::from_secs(60),
            max_concurrent_requests: 1024,
            max_mutating_requests: 512,
            mutating: Methods::default(),
            max_receive_message_bytes: 4 * 1024 * 1024,
            max_send_message_bytes: 256 * 1024 * 1024,
            long_running: LongRunning::default(),
            tls: None,
            authentication: None,
            audit: None,
            component: None,
        }
    }
}

/// The files of a TLS server (`--tls-cert-file`, `--tls-private-key-file`,
/// `--client-ca-file`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Client certificates signed by this CA are verified and authenticate
    /// their holder (CN the user, each O a group); presenting one is optional.
    pub client_ca: Option<PathBuf>,
}

/// Who may call: x509 client certificates (when [`TlsFiles::client_ca`] is
/// set), bearer tokens from a static token file, and whether a caller with
/// neither gets in as `system:anonymous`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthenticationConfig {
    /// Kubernetes' static token CSV (`--token-auth-file`).
    pub token_file: Option<PathBuf>,
    /// `--anonymous-auth`: a call without credentials is `system:anonymous`
    /// rather than refused.
    pub anonymous: bool,
}

/// Where audit events go (`--audit-log-path`), and when the file rotates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditConfig {
    pub path: PathBuf,
    /// Rotate once the file would pass this many megabytes (0: never).
    pub max_size_mb: u64,
    /// How many rotated files to keep (0: all).
    pub max_backups: usize,
}

/// A set of gRPC paths (`/package.Service/Method`).
#[derive(Clone, Debug, Default)]
pub struct Methods(Arc<HashSet<String>>);

/// The calls exempt from the timeout and the concurrency limit.
pub type LongRunning = Methods;

impl Methods {
    /// The calls named by their gRPC paths, `/package.Service/Method`.
    pub fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Methods(Arc::new(paths.into_iter().map(Into::into).collect()))
    }

    /// Whether the call at `path` is in the set.
    pub fn contains(&self, path: &str) -> bool {
        self.0.contains(path)
    }
}
