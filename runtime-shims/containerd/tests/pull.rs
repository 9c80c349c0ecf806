//! Pulling from a registry: a small registry on the loopback (the distribution
//! API's manifest and blob GETs, blobs behind a redirect) serves an image built
//! here; the shim pulls it into containerd, unpacks it and reports it by its
//! config digest.
//!
//! - Plain HTTP behind an anonymous bearer challenge; a tag the registry lacks
//!   is NotFound; an image pulled again while its removal is being collected.
//! - HTTPS with a self-signed certificate (made here with rcgen), trusted
//!   through the shim's extra CA files, behind credentials: Basic auth, a
//!   bearer token fetched with the username and password, or a registry token.
//!   Missing or wrong credentials are PermissionDenied; without the CA file the
//!   certificate is refused (and the shim does not fall back to plain HTTP).

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use capstan_containerd_shim::{ContainerdRuntime, RegistryConfig};
use capstan_cri::ContainerRuntime;
use capstan_proto::runtime::v1::AuthConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

const USER: &str = "alice";
const PASSWORD: &str = "s3cret";
const TOKEN: &str = "t0k";

fn digest(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

/// A one-file layer, its config and an OCI manifest: (manifest, blobs by digest, image ID).
fn image() -> (Vec<u8>, HashMap<String, Vec<u8>>, String) {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    let text = b"pulled\n";
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, "hello.txt", &text[..]).expect("append");
    let layer = builder.into_inner().expect("a tar");
    let config = json!({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [digest(&layer)]}})
    .to_string()
    .into_bytes();
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(&layer), "size": layer.len()}]})
    .to_string()
    .into_bytes();
    let id = digest(&config);
    let blobs = HashMap::from([(digest(&layer), layer), (digest(&config), config)]);
    (manifest, blobs, id)
}

/// What the registry asks of a client before it serves an image.
#[derive(Clone, Copy, Debug)]
enum Guard {
    /// A bearer challenge whose token endpoint gives anyone a token.
    AnonymousBearer,
    /// A bearer challenge whose token endpoint wants the username and password.
    CredentialedBearer,
    /// A Basic challenge: the username and password on every request.
    Basic,
}

struct Registry {
    guard: Guard,
    /// `https` or `http`, for the token realm.
    scheme: &'static str,
    port: u16,
    manifest: Vec<u8>,
    blobs: HashMap<String, Vec<u8>>,
}

fn basic() -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}")))
}

impl Registry {
    /// The status line, extra headers and body for one request.
    fn answer(&self, path: &str, authorization: Option<&str>) -> (&'static str, String, Vec<u8>) {
        let challenge = match self.guard {
            Guard::Basic => "WWW-Authenticate: Basic realm=\"capstan-test\"\r\n".to_string(),
            Guard::AnonymousBearer | Guard::CredentialedBearer => format!(
                "WWW-Authenticate: Bearer realm=\"{}://127.0.0.1:{}/token\",service=\"test\",scope=\"repository:any:pull\"\r\n",
                self.scheme, self.port
            ),
        };
        if path.starts_with("/token") {
            return match self.guard {
                Guard::CredentialedBearer if authorization != Some(basic().as_str()) => {
                    ("401 Unauthorized", String::new(), br#"{"errors":[{"code":"UNAUTHORIZED"}]}"#.to_vec())
                }
                _ => ("200 OK", String::new(), json!({ "token": TOKEN }).to_string().into_bytes()),
            };
        }
        // blobs redirect to a store that needs no credentials, as registries' blob stores do
        if let Some(blob) = path.strip_prefix("/store/").and_then(|d| self.blobs.get(d)) {
            return ("200 OK", String::new(), blob.clone());
        }
        let authorized = match self.guard {
            Guard::Basic => authorization == Some(basic().as_str()),
            Guard::AnonymousBearer | Guard::CredentialedBearer => authorization == Some(&format!("Bearer {TOKEN}")),
        };
        if !authorized {
            return ("401 Unauthorized", challenge, br#"{"errors":[{"code":"UNAUTHORIZED"}]}"#.to_vec());
        }
        let under_v2 = path.strip_prefix("/v2/").unwrap_or_default();
        if under_v2.ends_with("/manifests/1") {
            ("200 OK", "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n".into(), self.manifest.clone())
        } else if let Some(d) = under_v2.split("/blobs/").nth(1).filter(|d| self.blobs.contains_key(*d)) {
            ("307 Temporary Redirect", format!("Location: /store/{d}\r\n"), Vec::new())
        } else {
            ("404 Not Found", String::new(), br#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#.to_vec())
        }
    }

    /// Reads one request from `stream` and answers it (HTTP/1.1, one request a connection).
    async fn serve_one<S: AsyncRead + AsyncWrite + Unpin>(&self, mut stream: S) {
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buffer[..n]),
            }
            if request.first() == Some(&0x16) {
                // a TLS ClientHello on the plain port: answer as an HTTP server would
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n").await;
                return;
            }
        }
        let text = String::from_utf8_lossy(&request).to_string();
        let path = text.split_whitespace().nth(1).unwrap_or_default().to_string();
        let authorization = text.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("authorization").then(|| value.trim().to_string())
        });
        let (status, extra, body) = self.answer(&path, authorization.as_deref());
        let head = format!("HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len());
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(&body).await;
        let _ = stream.shutdown().await;
    }
}

/// A registry guarded by `guard` on 127.0.0.1, over TLS with `tls`; its port.
async fn registry(guard: Guard, tls: Option<tokio_rustls::TlsAcceptor>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (manifest, blobs, _) = image();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let registry = Arc::new(Registry { guard, scheme, port, manifest, blobs });
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (registry, tls) = (Arc::clone(&registry), tls.clone());
            tokio::spawn(async move {
                match tls {
                    // a client that refuses the certificate ends the handshake: nothing to serve
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            registry.serve_one(stream).await;
                        }
                    }
                    None => registry.serve_one(stream).await,
                }
            });
        }
    });
    port
}

/// A self-signed certificate for 127.0.0.1 and localhost: the acceptor that
/// serves it, and a PEM file of it for the shim to trust.
fn self_signed(dir: &std::path::Path) -> (tokio_rustls::TlsAcceptor, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("a self-signed certificate");
    let pem = dir.join("registry-ca.pem");
    std::fs::write(&pem, certified.cert.pem()).expect("write the CA file");
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("the server's certificate");
    (tokio_rustls::TlsAcceptor::from(Arc::new(config)), pem)
}

/// Pulls `name` with `auth`: the image ID or the gRPC status the kubelet would see.
async fn pull(runtime: &ContainerdRuntime, name: &str, auth: Option<AuthConfig>) -> Result<String, tonic::Status> {
    runtime.pull_image(name, auth).await.map_err(tonic::Status::from)
}

async fn remove(runtime: &ContainerdRuntime, name: &str) {
    runtime.remove_image(name).await.map_err(tonic::Status::from).expect("remove");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_is_pulled_from_a_registry_and_unpacked() {
    let Some(()) = support::require_containerd() else { return };
    let (_, _, id) = image();
    let port = registry(Guard::AnonymousBearer, None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let node = support::node_name("pull");
    let runtime = ContainerdRuntime::connect(support::config(&node, dir.path())).await.expect("connect");
    let name = format!("localhost:{port}/capstan/pulled:1");

    let pulled = pull(&runtime, &name, None).await.expect("the pull");
    assert_eq!(pulled, id, "an image's ID is its config digest");
    let status = runtime.image_status(&name).await.map_err(tonic::Status::from).expect("status");
    assert_eq!(status.map(|i| i.id), Some(id.clone()));
    assert_eq!(pull(&runtime, &name, None).await.ok(), Some(id), "a present image is not fetched again");

    let missing = format!("localhost:{port}/capstan/pulled:2");
    let error = pull(&runtime, &missing, None).await.expect_err("no tag 2");
    assert_eq!(error.code(), tonic::Code::NotFound, "{error:?}");
    assert!(error.message().contains(&missing) && error.message().contains("registry"), "{error:?}");

    remove(&runtime, &name).await;
}

/// A removed image's blobs and snapshots belong to nothing until the collector
/// takes them; a pull at that moment reuses them and must keep them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_pulled_again_right_after_its_removal_is_whole() {
    let Some(()) = support::require_containerd() else { return };
    let (_, _, id) = image();
    let port = registry(Guard::AnonymousBearer, None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime =
        ContainerdRuntime::connect(support::config(&support::node_name("repull"), dir.path())).await.expect("connect");
    let name = format!("localhost:{port}/capstan/repulled:1");
    for round in 0..10 {
        assert_eq!(pull(&runtime, &name, None).await.expect("a pull"), id, "round {round}");
        remove(&runtime, &name).await;
    }
}

fn password(user: &str, password: &str) -> Option<AuthConfig> {
    Some(AuthConfig { username: user.into(), password: password.into(), ..Default::default() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_is_pulled_over_tls_with_credentials() {
    let Some(()) = support::require_containerd() else { return };
    let (_, _, id) = image();
    let dir = tempfile::tempdir().expect("tempdir");
    let (acceptor, ca) = self_signed(dir.path());
    let node = support::node_name("pull-tls");
    let mut config = support::config(&node, dir.path());
    config.registries = RegistryConfig { ca_files: vec![ca], ..Default::default() };
    let runtime = ContainerdRuntime::connect(config).await.expect("connect");

    // Basic auth: none, wrong, then right (as `auth`, base64 of user:password)
    let port = registry(Guard::Basic, Some(acceptor.clone())).await;
    let name = format!("127.0.0.1:{port}/capstan/basic:1");
    for (auth, why) in [(None, "no credentials"), (password(USER, "wrong"), "a wrong password")] {
        let refused = pull(&runtime, &name, auth).await.expect_err(why);
        assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{why}: {refused:?}");
        assert!(refused.message().contains(&name), "{refused:?}");
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let auth = AuthConfig { auth: encoded, server_address: format!("https://127.0.0.1:{port}"), ..Default::default() };
    assert_eq!(pull(&runtime, &name, Some(auth)).await.expect("a pull with basic auth"), id);
    remove(&runtime, &name).await;

    // a bearer token fetched with the username and password; then a registry token
    let port = registry(Guard::CredentialedBearer, Some(acceptor.clone())).await;
    let name = format!("127.0.0.1:{port}/capstan/bearer:1");
    let refused = pull(&runtime, &name, password(USER, "wrong")).await.expect_err("a wrong password");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert_eq!(pull(&runtime, &name, password(USER, PASSWORD)).await.expect("a pull with a token"), id);
    remove(&runtime, &name).await;
    let token = AuthConfig { registry_token: TOKEN.into(), ..Default::default() };
    assert_eq!(pull(&runtime, &name, Some(token)).await.expect("a pull with a registry token"), id);
    remove(&runtime, &name).await;

    // credentials for another registry are not sent
    let elsewhere =
        AuthConfig { server_address: "registry.example".into(), ..password(USER, PASSWORD).unwrap_or_default() };
    let refused = pull(&runtime, &name, Some(elsewhere)).await.expect_err("credentials for another registry");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");

    // without the CA file, the certificate is refused and plain HTTP is not tried instead
    let untrusting = ContainerdRuntime::connect(support::config(&node, dir.path())).await.expect("connect");
    let refused = pull(&untrusting, &name, password(USER, PASSWORD)).await.expect_err("an untrusted certificate");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains("invalid peer certificate"), "{refused:?}");
    assert!(refused.message().contains("--registry-ca"), "says how to trust it: {refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_file_that_is_not_one_stops_the_shim_from_starting() {
    let Some(()) = support::require_containerd() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let bogus = dir.path().join("bogus.pem");
    std::fs::write(&bogus, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
        .expect("write");
    let mut config = support::config(&support::node_name("bad-ca"), dir.path());
    config.registries = RegistryConfig { ca_files: vec![bogus], ..Default::default() };
    let error = ContainerdRuntime::connect(config).await.map(|_| ()).expect_err("a bogus CA file");
    assert!(error.to_string().contains("bogus.pem"), "{error}");
}
