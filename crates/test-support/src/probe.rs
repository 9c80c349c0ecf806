//! What every Capstan server must answer, asked as a prober and a scraper
//! would: `grpc.health.v1` over gRPC and `GET /metrics` over HTTP/1.1, on the
//! one port (TCP or a shim's unix socket). One helper, so each service's test
//! says only where its server is.

use std::net::SocketAddr;
use std::path::PathBuf;

use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::http::{http_get, http_get_unix, metric_sample};
use crate::HarnessError;

/// Where a server listens.
#[derive(Clone, Debug)]
pub enum ServerAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// The series the stack's request metrics give one health check that answered.
pub const HEALTH_CHECKS_OK: &str =
    "grpc_server_handled_total{grpc_service=\"grpc.health.v1.Health\",grpc_method=\"Check\",grpc_code=\"OK\"}";

async fn channel(addr: &ServerAddr) -> Result<Channel, HarnessError> {
    let failed = |e: tonic::transport::Error| HarnessError::Http(format!("connecting gRPC to {addr:?}: {e}"));
    match addr {
        ServerAddr::Tcp(addr) => {
            let endpoint = Endpoint::from_shared(format!("http://{addr}")).map_err(failed)?;
            endpoint.connect().await.map_err(failed)
        }
        ServerAddr::Unix(path) => {
            let path = path.clone();
            let connector = tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move { Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(path).await?)) }
            });
            Endpoint::from_static("http://unix.invalid").connect_with_connector(connector).await.map_err(failed)
        }
    }
}

/// Asks `grpc.health.v1` for `service` (`""` is the whole server).
pub async fn health_status(addr: &ServerAddr, service: &str) -> Result<ServingStatus, HarnessError> {
    let mut client = HealthClient::new(channel(addr).await?);
    let reply = client
        .check(HealthCheckRequest { service: service.into() })
        .await
        .map_err(|status| HarnessError::Http(format!("health check of {service:?} at {addr:?}: {status}")))?;
    ServingStatus::try_from(reply.into_inner().status)
        .map_err(|e| HarnessError::Http(format!("health check of {service:?} at {addr:?}: {e}")))
}

/// Checks the whole server's health, then scrapes `GET /metrics` and checks
/// that the stack counted that check; returns the scrape for more checks.
pub async fn probe_server(addr: &ServerAddr) -> Result<String, HarnessError> {
    let status = health_status(addr, "").await?;
    if status != ServingStatus::Serving {
        return Err(HarnessError::Http(format!("{addr:?} reports {status:?}, not SERVING")));
    }
    let response = match addr {
        ServerAddr::Tcp(addr) => http_get(*addr, "/metrics").await?,
        ServerAddr::Unix(path) => http_get_unix(path, "/metrics").await?,
    };
    if response.status_line != "HTTP/1.1 200 OK" {
        return Err(HarnessError::Http(format!("GET /metrics at {addr:?}: {}", response.status_line)));
    }
    match metric_sample(&response.body, HEALTH_CHECKS_OK) {
        Some(checks) if checks >= 1.0 => Ok(response.body),
        _ => Err(HarnessError::Http(format!("GET /metrics at {addr:?} counts no health check:\n{}", response.body))),
    }
}
