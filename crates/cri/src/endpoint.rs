//! Runtime endpoints as the kubelet's `--runtime-endpoint` and a shim's `--listen`
//! name them: `unix:///run/capstan/docker-shim.sock` or `memory://`.
//!
//! One parser so that a shim listens exactly where a kubelet given the same string
//! connects.

use std::path::PathBuf;

use crate::CriError;

/// A parsed runtime endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeEndpoint {
    /// A gRPC server on a unix socket at this path.
    Unix(PathBuf),
    /// The in-memory runtime, started in-process.
    Memory,
}

/// Parses `unix:///abs/path.sock` (or a bare absolute path) and `memory://`.
pub fn parse_endpoint(endpoint: &str) -> Result<RuntimeEndpoint, CriError> {
    let bad = || CriError::BadEndpoint { endpoint: endpoint.to_string() };
    let trimmed = endpoint.trim();
    if trimmed == "memory://" || trimmed == "memory" {
        return Ok(RuntimeEndpoint::Memory);
    }
    let path = match trimmed.strip_prefix("unix://") {
        Some(path) => path,
        None if trimmed.starts_with('/') => trimmed,
        None => return Err(bad()),
    };
    if !path.starts_with('/') || path.len() < 2 {
        return Err(bad());
    }
    Ok(RuntimeEndpoint::Unix(PathBuf::from(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_supported_forms() {
        let sock = PathBuf::from("/run/capstan/docker-shim.sock");
        assert_eq!(
            parse_endpoint("unix:///run/capstan/docker-shim.sock").ok(),
            Some(RuntimeEndpoint::Unix(sock.clone()))
        );
        assert_eq!(parse_endpoint("/run/capstan/docker-shim.sock").ok(), Some(RuntimeEndpoint::Unix(sock)));
        assert_eq!(parse_endpoint("memory://").ok(), Some(RuntimeEndpoint::Memory));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in ["", "unix://", "unix://relative.sock", "tcp://127.0.0.1:1", "http://x", "relative.sock"] {
            let error = parse_endpoint(bad).expect_err(bad);
            assert!(error.to_string().contains("not supported"), "{error}");
        }
    }
}
