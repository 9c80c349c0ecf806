//! The benchmark's one error type.

/// What stopped the benchmark, naming the tool or address involved.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot run {tool}: {source} (install Debian's {tool})")]
    Spawn { tool: &'static str, source: std::io::Error },
    #[error("{tool} failed: {detail}")]
    Tool { tool: &'static str, detail: String },
    #[error("cannot read wrk's output, no {what} in: {output}")]
    WrkOutput { what: &'static str, output: String },
    #[error("{target} never answered on {address}")]
    NotReady { target: String, address: std::net::SocketAddr },
    #[error("i/o on {what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("API server: {0}")]
    Api(String),
}

impl BenchError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
        let what = what.into();
        move |source| BenchError::Io { what, source }
    }
}
