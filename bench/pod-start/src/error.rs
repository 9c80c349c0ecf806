//! The benchmark's one error type: what failed, with the underlying cause.

use std::time::Duration;

/// Why a benchmark run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },

    #[error("scripts/images.sh failed ({status}): {stderr}")]
    Images { status: String, stderr: String },

    #[error("starting the API server: {0}")]
    ApiServer(String),

    #[error("starting the Docker shim (is dockerd running and its socket yours?): {0}")]
    Shim(String),

    #[error("the OTLP export measurement: {0}")]
    Otlp(String),

    #[error("starting the kubelet: {0}")]
    Kubelet(String),

    #[error("containerd (is it running on /run/containerd/containerd.sock? scripts/setup.sh starts it): {0}")]
    Containerd(String),

    #[error("API call {call}: {source}")]
    Api {
        call: String,
        #[source]
        source: capstan_client::ClientError,
    },

    #[error("`docker {args}` failed: {detail}")]
    DockerCli { args: String, detail: String },

    #[error("Docker engine call {call}: {source}")]
    Engine {
        call: &'static str,
        #[source]
        source: bollard::errors::Error,
    },

    #[error("{what} did not happen within {waited:?}")]
    Timeout { what: String, waited: Duration },

    #[error("the watch on the benchmark's pods ended: {0}")]
    WatchEnded(String),
}

impl BenchError {
    /// A closure mapping a client error of `call` into this error.
    pub fn api(call: impl Into<String>) -> impl FnOnce(capstan_client::ClientError) -> BenchError {
        let call = call.into();
        move |source| BenchError::Api { call, source }
    }
}
