//! `certs init --write-secret`'s Kubernetes client against a Kubernetes API
//! of the test's own over real TLS (Capstan's one server stack serving an
//! axum router of the two calls it makes): the Secret is created once with
//! every file, kept when it exists, and a refusal is reported with the API's
//! message.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use capstan::in_cluster_secret::{secret_data, InCluster, Written};
use capstan_pki::{init, InitOptions, Layout};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const TOKEN: &str = "the-service-account-token";

/// The secrets the fake API holds, by namespace/name; and whether it refuses writes.
#[derive(Clone, Default)]
struct Api {
    secrets: Arc<Mutex<BTreeMap<String, serde_json::Value>>>,
    forbid: bool,
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

async fn read(State(api): State<Api>, Path((ns, name)): Path<(String, String)>, headers: HeaderMap) -> StatusCode {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED;
    }
    let found = api.secrets.lock().expect("lock").contains_key(&format!("{ns}/{name}"));
    if found {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn create(
    State(api): State<Api>,
    Path(ns): Path<String>,
    headers: HeaderMap,
    Json(secret): Json<serde_json::Value>,
) -> (StatusCode, Json<serde_json::Value>) {
    if !authorized(&headers) || api.forbid {
        let status = serde_json::json!({"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403,
            "message": "secrets is forbidden: User \"system:serviceaccount:capstan:capstan-pki\" cannot create resource \"secrets\""});
        return (StatusCode::FORBIDDEN, Json(status));
    }
    let name = secret["metadata"]["name"].as_str().unwrap_or_default().to_string();
    api.secrets.lock().expect("lock").insert(format!("{ns}/{name}"), secret.clone());
    (StatusCode::CREATED, Json(secret))
}

/// The fake API on a loopback port over TLS, and its CA.
async fn serve(pki: &std::path::Path, api: Api) -> (String, String) {
    let layout = Layout::new(pki);
    let router = Router::new()
        .route("/api/v1/namespaces/{ns}/secrets", axum::routing::post(create))
        .route("/api/v1/namespaces/{ns}/secrets/{name}", get(read))
        .with_state(api);
    let config = capstan_server::ServerConfig {
        tls: Some(capstan_server::config::TlsFiles {
            cert: layout.cert("apiserver"),
            key: layout.key("apiserver"),
            client_ca: None,
        }),
        ..Default::default()
    };
    // every call of this fake is a plain request to the stack's layers
    let classify: capstan_server::http::Classify = std::sync::Arc::new(|_, _| capstan_server::http::HttpCall {
        verb: "get",
        resource: "secrets".into(),
        kind: capstan_server::http::CallKind::Request,
    });
    let face = capstan_server::http::HttpFace { router, classify };
    let server =
        capstan_server::Server::new(config, capstan_metrics::Registry::new()).expect("server").serve_http(face);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(server.serve(listener, std::future::pending()));
    let ca = std::fs::read_to_string(layout.ca_cert()).expect("ca");
    (format!("https://127.0.0.1:{port}"), ca)
}

fn pki() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    init(&InitOptions { nodes: vec!["n1".into()], ..InitOptions::new(dir.path()) }).expect("certs init");
    dir
}

#[tokio::test]
async fn the_pki_is_written_once_as_a_secret_and_kept_after() {
    let dir = pki();
    let api = Api::default();
    let (base, ca) = serve(dir.path(), api.clone()).await;
    let client = InCluster::new(base, TOKEN, "capstan", &ca).expect("client");
    let data = secret_data(dir.path()).expect("the files");
    assert!(data.contains_key("ca.crt") && data.contains_key("kubelet-n1.key"), "{:?}", data.keys());
    assert!(data.contains_key("kubeconfig-admin.conf"), "kubeconfigs are flattened: {:?}", data.keys());
    assert!(!data.keys().any(|k| k.contains('/')), "a Secret's key holds no slash");

    assert_eq!(client.write_secret_once("capstan-pki", &data).await.expect("created"), Written::Created);
    let stored = api.secrets.lock().expect("lock").get("capstan/capstan-pki").cloned().expect("stored");
    assert_eq!(stored["type"], "Opaque");
    let engine = base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let ca_key = engine.decode(stored["data"]["ca.key"].as_str().expect("ca.key")).expect("base64");
    assert_eq!(ca_key, std::fs::read(Layout::new(dir.path()).ca_key()).expect("ca.key"));

    // a second install, or the Job retried: the first identities stand
    let other = pki();
    let other_data = secret_data(other.path()).expect("files");
    assert_eq!(client.write_secret_once("capstan-pki", &other_data).await.expect("kept"), Written::Kept);
    let still = api.secrets.lock().expect("lock").get("capstan/capstan-pki").cloned().expect("stored");
    assert_eq!(still, stored);
}

#[tokio::test]
async fn a_refusal_is_reported_with_the_apis_message() {
    let dir = pki();
    let (base, ca) = serve(dir.path(), Api { forbid: true, ..Api::default() }).await;
    let client = InCluster::new(base.clone(), TOKEN, "capstan", &ca).expect("client");
    let data = secret_data(dir.path()).expect("files");
    let error = client.write_secret_once("capstan-pki", &data).await.expect_err("forbidden").to_string();
    assert!(error.contains("creating secret capstan/capstan-pki"), "{error}");
    assert!(error.contains("403") && error.contains("cannot create resource"), "{error}");

    // a token the API does not know
    let stranger = InCluster::new(base, "wrong", "capstan", &ca).expect("client");
    let error = stranger.write_secret_once("capstan-pki", &data).await.expect_err("unauthorized").to_string();
    assert!(error.contains("reading secret capstan/capstan-pki") && error.contains("401"), "{error}");

    // a CA that did not sign the server: the TLS failure names the URL
    let other = pki();
    let (base, _) = serve(other.path(), Api::default()).await;
    let untrusted = InCluster::new(base.clone(), TOKEN, "capstan", &ca).expect("client");
    let error = untrusted.write_secret_once("x", &data).await.expect_err("untrusted").to_string();
    assert!(error.contains(&base), "{error}");
}

#[test]
fn outside_a_pod_the_missing_environment_is_named() {
    // the test runs outside Kubernetes: no KUBERNETES_SERVICE_HOST
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        return;
    }
    let error = InCluster::from_pod(std::path::Path::new("/nonexistent")).err().expect("no API").to_string();
    assert!(error.contains("KUBERNETES_SERVICE_HOST"), "{error}");
}
