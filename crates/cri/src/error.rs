//! Why the kubelet could not reach its runtime.

/// The one error of this crate, naming the endpoint involved.
#[derive(Debug, thiserror::Error)]
pub enum CriError {
    #[error("runtime endpoint {endpoint:?} is not supported: expected unix:///path/to.sock or memory://")]
    BadEndpoint { endpoint: String },

    #[error(
        "runtime endpoint {endpoint} is an in-process runtime: it is started by whoever starts the kubelet \
         (capstan up, a test, or a kubelet built with the memory-runtime feature), not connected to"
    )]
    InProcessOnly { endpoint: String },

    #[error("connecting to the runtime at {endpoint} (is its shim running?): {source}")]
    Connect {
        endpoint: String,
        #[source]
        source: tonic::transport::Error,
    },

    #[error("node name {name:?} cannot be sent to the runtime: it is not plain ASCII text")]
    BadNodeName { name: String },
}
