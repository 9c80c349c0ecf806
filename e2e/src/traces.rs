//! Reads a trace from the cluster's sink as the test process reaches it: its
//! published port on 127.0.0.1, over TLS, with the admin's client certificate
//! (the sink authenticates every caller, its HTTP face included).

use std::path::Path;

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use capstan_trace_sink::TraceRecord;

/// Bounds one request's hang.
const REQUEST: std::time::Duration = std::time::Duration::from_secs(30);

/// `GET {sink}/traces/{id}` with the credentials of `kubeconfig` (its CA
/// verifies the sink; its client certificate authenticates the test).
pub async fn fetch(sink: &str, id: &str, kubeconfig: &Path) -> Result<TraceRecord, String> {
    let credentials = capstan_pki::Kubeconfig::load(kubeconfig)
        .and_then(|config| config.resolve(None, kubeconfig))
        .map_err(|e| format!("the kubeconfig {}: {e}", kubeconfig.display()))?
        .credentials;
    let mut tls = (*capstan_pki::tls::client_config(&credentials).map_err(|e| e.to_string())?).clone();
    // the kubeconfig's config offers h2 (gRPC); the connector names its own protocols
    tls.alpn_protocols.clear();
    let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_only().enable_http1().build();
    let client = Client::builder(TokioExecutor::new()).build::<_, Empty<bytes::Bytes>>(connector);
    let url = format!("{sink}/traces/{id}");
    let uri: http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let response = tokio::time::timeout(REQUEST, client.get(uri))
        .await
        .map_err(|_| format!("GET {url}: no answer within {REQUEST:?}"))?
        .map_err(|e| format!("GET {url}: {e:?}"))?;
    let status = response.status();
    let body = response.into_body().collect().await.map_err(|e| format!("GET {url}: {e}"))?.to_bytes();
    if !status.is_success() {
        return Err(format!("GET {url}: {status}: {}", String::from_utf8_lossy(&body)));
    }
    serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not a trace: {e}"))
}
