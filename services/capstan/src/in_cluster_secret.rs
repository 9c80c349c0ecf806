//! `certs init --write-secret NAME`: the PKI directory as a Kubernetes
//! Secret, written through the Kubernetes API of the cluster the command runs
//! in, as its pod's service account. The Helm chart's pre-install Job uses it:
//! the Job's pod is the one place that both makes the PKI and may write a
//! Secret, and Capstan's images carry no kubectl.
//!
//! The Secret is written once: when it exists already (a reinstall, a Job
//! retried), it is kept, so the cluster's identities never change under the
//! components that hold them.

use crate::errors::CliError;
use base64::Engine;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Where a pod finds its service account's token, CA and namespace.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The Kubernetes API of the cluster this process runs in.
pub struct InCluster {
    /// `https://HOST:PORT`
    base: String,
    token: String,
    namespace: String,
    tls: rustls::ClientConfig,
}

/// What writing the Secret did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    /// it existed already: left as it was
    Kept,
}

impl InCluster {
    /// The API as a pod sees it: `KUBERNETES_SERVICE_HOST`/`_PORT` and the
    /// service account's files in `account_dir`.
    pub fn from_pod(account_dir: &Path) -> Result<InCluster, CliError> {
        let env = |name: &str| {
            std::env::var(name).ok().filter(|v| !v.is_empty()).ok_or_else(|| {
                CliError::Usage(format!(
                    "--write-secret works inside a Kubernetes pod: ${name} is not set, \
                     so no Kubernetes API is known"
                ))
            })
        };
        let (host, port) = (env("KUBERNETES_SERVICE_HOST")?, env("KUBERNETES_SERVICE_PORT")?);
        // an IPv6 service address needs brackets in a URL
        let host = if host.contains(':') { format!("[{host}]") } else { host };
        let read = |name: &str| {
            let path = account_dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| CliError::Io { path: path.display().to_string(), source })
        };
        InCluster::new(
            format!("https://{host}:{port}"),
            read("token")?.trim(),
            read("namespace")?.trim(),
            &read("ca.crt")?,
        )
    }

    /// The API at `base`, trusted by `ca_pem`, called with `token`.
    pub fn new(base: String, token: &str, namespace: &str, ca_pem: &str) -> Result<InCluster, CliError> {
        let mut roots = rustls::RootCertStore::empty();
        let certs = capstan_pki::cert::parse_pem_certs(ca_pem.as_bytes(), "the service account's ca.crt")?;
        for cert in certs {
            roots.add(cert).map_err(|e| CliError::Usage(format!("the service account's ca.crt: {e}")))?;
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| CliError::Usage(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(InCluster { base, token: token.to_string(), namespace: namespace.to_string(), tls })
    }

    /// Writes Secret `name` (type Opaque) holding `data`, in this pod's
    /// namespace, unless it exists.
    pub async fn write_secret_once(&self, name: &str, data: &BTreeMap<String, Vec<u8>>) -> Result<Written, CliError> {
        let collection = format!("{}/api/v1/namespaces/{}/secrets", self.base, self.namespace);
        let (status, body) = self.call(Method::GET, &format!("{collection}/{name}"), None).await?;
        match status {
            StatusCode::OK => return Ok(Written::Kept),
            StatusCode::NOT_FOUND => {}
            _ => return Err(refused("reading", &self.namespace, name, status, &body)),
        }
        let engine = base64::engine::general_purpose::STANDARD;
        let secret = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "labels": {"app.kubernetes.io/managed-by": "capstan-certs-init"},
            },
            "type": "Opaque",
            "data": data.iter().map(|(k, v)| (k.clone(), engine.encode(v))).collect::<BTreeMap<_, _>>(),
        });
        let (status, body) = self.call(Method::POST, &collection, Some(secret.to_string())).await?;
        match status {
            StatusCode::CREATED | StatusCode::OK => Ok(Written::Created),
            // made meanwhile by another run: the first one's identities stand
            StatusCode::CONFLICT => Ok(Written::Kept),
            _ => Err(refused("creating", &self.namespace, name, status, &body)),
        }
    }

    async fn call(&self, method: Method, url: &str, body: Option<String>) -> Result<(StatusCode, Bytes), CliError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(self.tls.clone())
            .https_only()
            .enable_http1()
            .build();
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
        let request = Request::builder()
            .method(method)
            .uri(url)
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| CliError::Usage(format!("{url}: {e}")))?;
        let unreachable = |message: String| CliError::Unreachable { message: format!("{url}: {message}") };
        let response = client.request(request).await.map_err(|e| unreachable(error_chain(&e)))?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(|e| unreachable(e.to_string()))?.to_bytes();
        Ok((status, body))
    }
}

/// The files of a PKI directory as a Secret's keys: each file at the top by
/// its name, each kubeconfig as `kubeconfig-NAME.conf` (a key holds no slash).
pub fn secret_data(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, CliError> {
    let mut data = BTreeMap::new();
    let kubeconfigs = capstan_pki::Layout::new(dir).kubeconfig_dir();
    for (folder, prefix) in [(dir.to_path_buf(), ""), (kubeconfigs, "kubeconfig-")] {
        let io = |source| CliError::Io { path: folder.display().to_string(), source };
        for entry in std::fs::read_dir(&folder).map_err(io)? {
            let entry = entry.map_err(io)?;
            if !entry.file_type().map_err(io)?.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let bytes =
                std::fs::read(&path).map_err(|source| CliError::Io { path: path.display().to_string(), source })?;
            data.insert(format!("{prefix}{name}"), bytes);
        }
    }
    Ok(data)
}

/// The API's refusal, with the reason its Status gives.
fn refused(doing: &str, namespace: &str, name: &str, status: StatusCode, body: &[u8]) -> CliError {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|status| status.get("message").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    CliError::Usage(format!("{doing} secret {namespace}/{name}: the Kubernetes API answered {status}: {message}"))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
