//! The benchmark's one error type.

/// What stopped the benchmark, naming the tool or address involved.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot run {tool}: {source} (install Debian's {package}; scripts/setup.sh does)")]
    Spawn { tool: &'static str, package: &'static str, source: std::io::Error },
    #[error("{tool} failed: {detail}")]
    Tool { tool: &'static str, detail: String },
    #[error("cannot read dnsperf's output, no {what} in: {output}")]
    DnsperfOutput { what: &'static str, output: String },
    #[error("{target} never answered {name} on {address}")]
    NotReady { target: &'static str, name: String, address: std::net::SocketAddr },
    #[error("i/o on {what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("API server: {0}")]
    Api(String),
    #[error("capstan-dns: {0}")]
    Dns(#[from] capstan_dns::DnsError),
}

impl BenchError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
        let what = what.into();
        move |source| BenchError::Io { what, source }
    }
}
