//! `capstan-probe`: asks one Capstan server's `grpc.health.v1` whether it
//! serves, over plain HTTP/2 or over TLS with the cluster's CA. Health is
//! open to anonymous callers on every Capstan server, so the probe needs no
//! identity, only the CA to trust the server it asks.

use std::path::Path;
use std::time::Duration;

use capstan_client::Credentials;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::SupervisorError;

/// Checks the server at `url` (`http://` or `https://`, trusting `ca_file`);
/// `Ok` only when it answers SERVING within `timeout`.
pub async fn check(url: &str, ca_file: Option<&Path>, timeout: Duration) -> Result<(), SupervisorError> {
    let failed = |message: String| SupervisorError::Probe { url: url.to_string(), message };
    let ca_pem = match ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|e| failed(format!("reading {}: {e}", path.display())))?),
        None => None,
    };
    let credentials =
        Credentials { ca_pem, source: ca_file.map(Path::to_path_buf).unwrap_or_default(), ..Credentials::default() };
    let channel = capstan_client::connect::channel(url, &credentials).map_err(|e| failed(e.to_string()))?;
    let mut client = HealthClient::new(channel);
    let request = client.check(HealthCheckRequest { service: String::new() });
    let reply = tokio::time::timeout(timeout, request)
        .await
        .map_err(|_| failed(format!("no answer within {timeout:?}")))?
        .map_err(|status| failed(status.to_string()))?;
    match ServingStatus::try_from(reply.into_inner().status) {
        Ok(ServingStatus::Serving) => Ok(()),
        other => Err(failed(format!("status {other:?}, not SERVING"))),
    }
}
