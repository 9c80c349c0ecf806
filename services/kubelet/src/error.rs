//! The kubelet's one error type: each variant says what failed and on which
//! object, so a log line or a failed `run` tells the operator what to fix.

use capstan_client::ClientError;

#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    #[error("connecting to the API server at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: ClientError,
    },

    #[error("connecting to the runtime at {endpoint}: {source}")]
    Runtime {
        endpoint: String,
        #[source]
        source: capstan_cri::CriError,
    },

    #[error(
        "the runtime at {endpoint} refuses node {node}: {message} (the kubelet's --node-name is {node}; \
         a shim started with --node-name serves that node only)"
    )]
    RuntimeRefusesNode { endpoint: String, node: String, message: String },

    #[error(
        "runtime endpoint memory:// runs the in-memory runtime inside the kubelet, and this kubelet was \
         built without it: rebuild with `--features memory-runtime`, or run capstan-memory-shim and point \
         --runtime-endpoint at its socket"
    )]
    NoMemoryRuntime,

    #[error("starting the in-memory runtime: {0}")]
    MemoryRuntime(String),

    #[error("runtime call {call} for {object}: {status}")]
    RuntimeCall { call: &'static str, object: String, status: tonic::Status },

    #[error("API call {call} for {object}: {source}")]
    Api {
        call: &'static str,
        object: String,
        #[source]
        source: ClientError,
    },

    #[error("image {image} is not present and imagePullPolicy is Never")]
    ImageNeverPull { image: String },

    #[error("pulling image {image}: {status}")]
    ImagePull { image: String, status: tonic::Status },

    #[error("listening for the kubelet service on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "the kubelet would listen on {addr} without authenticating its callers, and anyone who reaches it \
         could exec into every container: pass --tls-cert-file, --tls-private-key-file and --client-ca-file, \
         or listen on 127.0.0.1 (--address)"
    )]
    Unauthenticated { addr: std::net::SocketAddr },

    #[error("registering the kubelet's metrics: {0}")]
    Metrics(#[from] capstan_metrics::MetricsError),

    #[error("serving the kubelet service: {0}")]
    Serve(#[from] capstan_server::ServerError),

    #[error("pod {pod} has no container named {container}")]
    NoSuchContainer { pod: String, container: String },

    #[error("pod {pod} is not on this node")]
    NoSuchPod { pod: String },

    #[error("a container name must be specified for pod {pod}, choose one of: [{}]", choices.join(" "))]
    AmbiguousContainer { pod: String, choices: Vec<String> },

    #[error("the first message of an exec stream must name its target")]
    ExecWithoutTarget,

    #[error("reading the node's resolver configuration {} (--resolv-conf; \"\" for none): {source}", path.display())]
    ResolvConf {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "the Services have not been listed yet, so a container's Service environment variables cannot be \
         formed (the kubelet needs list and watch on services: the system:node role)"
    )]
    ServicesNotSynced,
}

impl KubeletError {
    /// A runtime error for `call` on `object`.
    pub(crate) fn runtime(call: &'static str, object: impl Into<String>) -> impl FnOnce(tonic::Status) -> KubeletError {
        let object = object.into();
        move |status| KubeletError::RuntimeCall { call, object, status }
    }

    /// An API error for `call` on `object`.
    pub(crate) fn api(call: &'static str, object: impl Into<String>) -> impl FnOnce(ClientError) -> KubeletError {
        let object = object.into();
        move |source| KubeletError::Api { call, object, source }
    }
}
