//! Why the kubelet could not reach its runtime.

/// The one error of this crate, naming the endpoint involved.
#[derive(Debug, thiserror::Error)]
pub enum CriError {
    #[error(transparent)]
    Endpoint(#[from] capstan_shim_common::ShimCommonError),

    #[error("connecting to the runtime at {endpoint} (is its shim running?): {source}")]
    Connect {
        endpoint: String,
        #[source]
        source: tonic::transport::Error,
    },

    #[error("starting the in-memory runtime: {0}")]
    Memory(#[from] capstan_memory_shim::MemoryError),
}
