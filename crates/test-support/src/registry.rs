//! A container registry on the loopback for pull tests: no real registry is
//! reachable from these machines, yet both runtime shims must show that a pull
//! presents the kubelet's credentials and that a registry's refusals come back
//! as the right gRPC codes.
//!
//! It speaks just enough of the distribution API for containerd and Docker: the
//! `/v2/` ping, manifest and blob GETs (blobs behind a redirect to a store that
//! needs no credentials, as registries' blob stores do), behind an anonymous or
//! credentialed bearer challenge or a Basic one, over plain HTTP or TLS. It
//! serves one image ([`RegistryImage`]) under every repository name, at tag
//! [`REGISTRY_TAG`] only; any other tag is `MANIFEST_UNKNOWN`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The username the registry accepts.
pub const REGISTRY_USER: &str = "alice";
/// The password the registry accepts.
pub const REGISTRY_PASSWORD: &str = "s3cret";
/// The bearer token the registry's token endpoint hands out and its API accepts.
pub const REGISTRY_TOKEN: &str = "t0k";
/// The one tag the registry serves.
pub const REGISTRY_TAG: &str = "1";

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const UNAUTHORIZED: &[u8] = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
const MANIFEST_UNKNOWN: &[u8] = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;

fn digest(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

/// The image the registry serves: a one-file layer (`hello.txt`), its config
/// and an OCI manifest.
#[derive(Clone, Debug)]
pub struct RegistryImage {
    pub manifest: Vec<u8>,
    /// The config and the layer, by digest.
    pub blobs: HashMap<String, Vec<u8>>,
    /// The image's ID, as runtimes report it: its config digest.
    pub id: String,
}

impl RegistryImage {
    pub fn build() -> RegistryImage {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        let text = b"pulled\n";
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, "hello.txt", &text[..]).expect("a tar entry in memory");
        let layer = builder.into_inner().expect("a tar in memory");
        let config = json!({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [digest(&layer)]}})
        .to_string()
        .into_bytes();
        let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(&config), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(&layer), "size": layer.len()}]})
        .to_string()
        .into_bytes();
        let id = digest(&config);
        let blobs = HashMap::from([(digest(&layer), layer), (digest(&config), config)]);
        RegistryImage { manifest, blobs, id }
    }
}

/// What the registry asks of a client before it serves an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistryGuard {
    /// A bearer challenge whose token endpoint gives anyone a token.
    AnonymousBearer,
    /// A bearer challenge whose token endpoint wants the username and password.
    CredentialedBearer,
    /// A Basic challenge: the username and password on every request.
    Basic,
}

/// `Basic …` for [`REGISTRY_USER`] and [`REGISTRY_PASSWORD`].
fn basic() -> String {
    let pair = format!("{REGISTRY_USER}:{REGISTRY_PASSWORD}");
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

/// One answer: status line, extra header lines (each ending in CRLF) and body.
struct Answer {
    status: &'static str,
    headers: String,
    body: Vec<u8>,
}

impl Answer {
    fn new(status: &'static str, headers: impl Into<String>, body: impl Into<Vec<u8>>) -> Answer {
        Answer { status, headers: headers.into(), body: body.into() }
    }
}

struct Registry {
    guard: RegistryGuard,
    /// `https` or `http`, for the token realm.
    scheme: &'static str,
    port: u16,
    image: RegistryImage,
}

impl Registry {
    fn answer(&self, path: &str, authorization: Option<&str>) -> Answer {
        let challenge = match self.guard {
            RegistryGuard::Basic => "WWW-Authenticate: Basic realm=\"capstan-test\"\r\n".to_string(),
            RegistryGuard::AnonymousBearer | RegistryGuard::CredentialedBearer => format!(
                "WWW-Authenticate: Bearer realm=\"{}://127.0.0.1:{}/token\",service=\"test\",scope=\"repository:any:pull\"\r\n",
                self.scheme, self.port
            ),
        };
        if path.starts_with("/token") {
            return match self.guard {
                RegistryGuard::CredentialedBearer if authorization != Some(basic().as_str()) => {
                    Answer::new("401 Unauthorized", "", UNAUTHORIZED)
                }
                _ => Answer::new("200 OK", "", json!({ "token": REGISTRY_TOKEN }).to_string()),
            };
        }
        if let Some(blob) = path.strip_prefix("/store/").and_then(|d| self.image.blobs.get(d)) {
            return Answer::new("200 OK", "", blob.clone());
        }
        let authorized = match self.guard {
            RegistryGuard::Basic => authorization == Some(basic().as_str()),
            RegistryGuard::AnonymousBearer | RegistryGuard::CredentialedBearer => {
                authorization == Some(&format!("Bearer {REGISTRY_TOKEN}"))
            }
        };
        if !authorized {
            return Answer::new("401 Unauthorized", challenge, UNAUTHORIZED);
        }
        let Some(under_v2) = path.strip_prefix("/v2/") else {
            return Answer::new("404 Not Found", "", Vec::new());
        };
        let manifest_digest = digest(&self.image.manifest);
        if under_v2.is_empty() {
            Answer::new("200 OK", "Content-Type: application/json\r\n", "{}")
        } else if under_v2.ends_with(&format!("/manifests/{REGISTRY_TAG}"))
            || under_v2.ends_with(&format!("/manifests/{manifest_digest}"))
        {
            let headers = format!("Content-Type: {OCI_MANIFEST}\r\nDocker-Content-Digest: {manifest_digest}\r\n");
            Answer::new("200 OK", headers, self.image.manifest.clone())
        } else if let Some(d) = under_v2.split("/blobs/").nth(1).filter(|d| self.image.blobs.contains_key(*d)) {
            Answer::new("307 Temporary Redirect", format!("Location: /store/{d}\r\nDocker-Content-Digest: {d}\r\n"), "")
        } else {
            Answer::new("404 Not Found", "Content-Type: application/json\r\n", MANIFEST_UNKNOWN)
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
                // (Docker tries HTTPS first, then plain HTTP for an insecure registry)
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n").await;
                return;
            }
        }
        let text = String::from_utf8_lossy(&request).to_string();
        let mut words = text.split_whitespace();
        let method = words.next().unwrap_or_default().to_string();
        let path = words.next().unwrap_or_default().to_string();
        let authorization = text.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("authorization").then(|| value.trim().to_string())
        });
        let answer = self.answer(&path, authorization.as_deref());
        let head = format!(
            "HTTP/1.1 {}\r\n{}Docker-Distribution-API-Version: registry/2.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            answer.status,
            answer.headers,
            answer.body.len()
        );
        let _ = stream.write_all(head.as_bytes()).await;
        if method != "HEAD" {
            let _ = stream.write_all(&answer.body).await;
        }
        let _ = stream.shutdown().await;
    }
}

/// Serves [`RegistryImage::build`] on 127.0.0.1 behind `guard`, over TLS with
/// `tls`; returns the port. The registry lives as long as the test's runtime.
pub async fn serve_registry(guard: RegistryGuard, tls: Option<TlsAcceptor>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding the registry on the loopback");
    let port = listener.local_addr().expect("the registry's address").port();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let registry = Arc::new(Registry { guard, scheme, port, image: RegistryImage::build() });
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
/// serves it, and a PEM file of it in `dir` for a client to trust.
pub fn self_signed_registry_tls(dir: &Path) -> (TlsAcceptor, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("a self-signed certificate");
    let pem = dir.join("registry-ca.pem");
    std::fs::write(&pem, certified.cert.pem()).expect("writing the registry's CA file");
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("the registry's certificate");
    (TlsAcceptor::from(Arc::new(config)), pem)
}
