//! What a component may tune in its server: the limits of [`crate::stack`],
//! with defaults sized for Kubernetes objects so that most components set none.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// How long a handler may take, how many may run at once and how large a
/// message may be. `Default` suits every component but the runtime shims,
/// which name their long-running calls.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// How long a call may take to answer: a unary call's whole handling, a
    /// stream's set-up (its messages are never timed). kube-apiserver's
    /// `--request-timeout` is 60 s too.
    pub request_timeout: Duration,
    /// How many handlers may run at once before a call is refused with
    /// `RESOURCE_EXHAUSTED` (kube-apiserver's max-in-flight is 400 reads plus
    /// 200 writes). An open stream holds no slot once it has answered.
    pub max_concurrent_requests: usize,
    /// The largest request message a service decodes. gRPC's default; a
    /// Kubernetes object is at most 1.5 MiB in etcd and a kube-apiserver
    /// request body at most 3 MiB.
    pub max_receive_message_bytes: usize,
    /// The largest response message a service encodes: a list of thousands of
    /// pods must fit.
    pub max_send_message_bytes: usize,
    /// Calls exempt from the timeout and the concurrency limit, by gRPC path
    /// (`/package.Service/Method`): unary calls whose own arguments bound how
    /// long they take (an image pull, a stop with a grace period), as
    /// kube-apiserver exempts its long-running requests.
    pub long_running: LongRunning,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            request_timeout: Duration::from_secs(60),
            max_concurrent_requests: 1024,
            max_receive_message_bytes: 4 * 1024 * 1024,
            max_send_message_bytes: 256 * 1024 * 1024,
            long_running: LongRunning::default(),
        }
    }
}

/// The set of gRPC paths exempt from the timeout and the concurrency limit.
#[derive(Clone, Debug, Default)]
pub struct LongRunning(Arc<HashSet<String>>);

impl LongRunning {
    /// The calls named by their gRPC paths, `/package.Service/Method`.
    pub fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        LongRunning(Arc::new(paths.into_iter().map(Into::into).collect()))
    }

    /// Whether the call at `path` is long-running.
    pub fn contains(&self, path: &str) -> bool {
        self.0.contains(path)
    }
}
