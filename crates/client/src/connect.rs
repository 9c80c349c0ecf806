//! How the client reaches the API server and says who it is: plain HTTP/2 for
//! `http://`, TLS (the kubeconfig's CA, its client certificate) for
//! `https://`, and the user's bearer token as `authorization` metadata on
//! every call, with `impersonate-user` / `impersonate-group` when the
//! credentials ask to act as someone else (kubectl's `--as`, `--as-group`).
//!
//! TLS is done here, by a connector over `tokio-rustls` with the
//! configuration `capstan_pki::tls` builds from the kubeconfig, not by
//! tonic's own TLS: that keeps `insecure-skip-tls-verify` and
//! `tls-server-name` working and lets a failed handshake name the kubeconfig.
//! tonic is handed the address with an `http` scheme, because with any of
//! its TLS features on (feature unification may turn one on) it refuses an
//! `https` address it has no TLS configuration for; the bytes on the wire are
//! TLS all the same.

use crate::error::ClientError;
use capstan_auth::impersonate;
use capstan_pki::{Credentials, Impersonation, Kubeconfig};
use capstan_telemetry::{TraceClient, TraceClientLayer};
use http::HeaderValue;
use hyper_util::rt::TokioIo;
use std::path::Path;
use std::sync::Arc;
use tonic::body::Body;
use tonic::transport::{Channel, Endpoint, Uri};
use tower::{Layer, Service};

/// The API server to call and the credentials to call it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub server: String,
    /// the context's namespace, when it names one
    pub namespace: Option<String>,
    pub credentials: Credentials,
}

/// The address components use when neither a flag nor a kubeconfig names one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:6443";

impl Target {
    /// The current context (or `context`) of the kubeconfig at `path`.
    pub fn from_kubeconfig(path: &Path, context: Option<&str>) -> Result<Target, ClientError> {
        let resolved = Kubeconfig::load(path).and_then(|k| k.resolve(context, path)).map_err(ClientError::from)?;
        Ok(Target { server: resolved.server, namespace: resolved.namespace, credentials: resolved.credentials })
    }

    /// What a component's flags say: the kubeconfig's server and credentials
    /// when one is given, `server` (when given) overriding its address, else
    /// `server` or [`DEFAULT_SERVER`] with no credentials.
    pub fn resolve(kubeconfig: Option<&Path>, server: Option<&str>) -> Result<Target, ClientError> {
        let server = server.map(str::trim).filter(|s| !s.is_empty());
        let mut target = match kubeconfig {
            Some(path) => Target::from_kubeconfig(path, None)?,
            None => Target { server: DEFAULT_SERVER.to_string(), namespace: None, credentials: Credentials::default() },
        };
        if let Some(server) = server {
            target.server = server.to_string();
        }
        Ok(target)
    }
}

impl Target {
    /// A bare tonic channel to the server: TLS with the context's CA and
    /// client certificate for `https://`, plaintext for `http://`. No token
    /// is sent on it and no trace layer wraps it: for callers that speak
    /// the generated gRPC clients themselves (wire-level tests) with a
    /// certificate identity; everyone else uses [`crate::Client::connect_to`].
    pub fn channel(&self) -> Result<Channel, ClientError> {
        let endpoint = endpoint(&self.server)?;
        match endpoint.uri().scheme_str() {
            Some("https") => tls_channel(endpoint, &self.credentials),
            _ => Ok(endpoint.connect_lazy()),
        }
    }
}

/// The channel with the bearer token (and any impersonation) put on every
/// request: below the trace layer, so the headers are set once per call,
/// streams included.
#[derive(Clone)]
pub struct BearerChannel {
    inner: Channel,
    token: Option<HeaderValue>,
    impersonate: Vec<(http::HeaderName, HeaderValue)>,
}

/// The channel every [`crate::Client`] call goes through.
pub type ClientChannel = TraceClient<BearerChannel>;

impl std::fmt::Debug for BearerChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = if self.token.is_some() { "REDACTED" } else { "none" };
        f.debug_struct("BearerChannel")
            .field("token", &token)
            .field("impersonate", &self.impersonate)
            .finish_non_exhaustive()
    }
}

impl BearerChannel {
    /// A channel that sends no token.
    pub(crate) fn anonymous(inner: Channel) -> BearerChannel {
        BearerChannel { inner, token: None, impersonate: Vec::new() }
    }

    pub(crate) fn new(inner: Channel, token: Option<&str>, source: &Path) -> Result<BearerChannel, ClientError> {
        let token = match token {
            None => None,
            Some(token) => {
                let mut value =
                    HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| ClientError::Credentials {
                        message: format!("kubeconfig {}: the token is not printable ASCII", source.display()),
                    })?;
                // kept out of debug output and HPACK's dynamic table
                value.set_sensitive(true);
                Some(value)
            }
        };
        Ok(BearerChannel { inner, token, impersonate: Vec::new() })
    }

    /// Acts as `who` on every call.
    pub(crate) fn impersonating(mut self, who: &Impersonation) -> Result<BearerChannel, ClientError> {
        let value = |text: &str| {
            HeaderValue::try_from(text).map_err(|_| ClientError::Credentials {
                message: format!("cannot impersonate {text:?}: a user or group name travels as printable ASCII"),
            })
        };
        if let Some(user) = &who.user {
            self.impersonate.push((http::HeaderName::from_static(impersonate::USER), value(user)?));
        }
        for group in &who.groups {
            self.impersonate.push((http::HeaderName::from_static(impersonate::GROUP), value(group)?));
        }
        Ok(self)
    }
}

impl Service<http::Request<Body>> for BearerChannel {
    type Response = <Channel as Service<http::Request<Body>>>::Response;
    type Error = <Channel as Service<http::Request<Body>>>::Error;
    type Future = <Channel as Service<http::Request<Body>>>::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        if let Some(token) = &self.token {
            request.headers_mut().insert(http::header::AUTHORIZATION, token.clone());
        }
        for (name, value) in &self.impersonate {
            request.headers_mut().append(name.clone(), value.clone());
        }
        self.inner.call(request)
    }
}

/// A lazily connecting channel to `url` with `credentials`: TLS with the
/// kubeconfig's CA and client certificate for `https://`, plain HTTP/2 for
/// `http://`, the token on every call when there is one.
pub(crate) fn bearer_channel(url: &str, credentials: &Credentials) -> Result<BearerChannel, ClientError> {
    let endpoint = endpoint(url)?;
    let channel = match endpoint.uri().scheme_str() {
        Some("https") => tls_channel(endpoint, credentials)?,
        _ => endpoint.connect_lazy(),
    };
    BearerChannel::new(channel, credentials.token.as_deref(), &credentials.source)
}

/// A traced channel to any Capstan gRPC server at `url` (`http://` or
/// `https://`) with `credentials`, connected on first use: what a component
/// dials a kubelet with (the API server for logs and exec, the autoscaler
/// for pod usage), on the same TLS as its API client.
pub fn channel(url: &str, credentials: &Credentials) -> Result<ClientChannel, ClientError> {
    Ok(TraceClientLayer.layer(bearer_channel(url, credentials)?))
}

/// The tonic endpoint for `url` with the client's timeouts and keep-alives.
pub(crate) fn endpoint(url: &str) -> Result<Endpoint, ClientError> {
    let invalid = |message: String| ClientError::InvalidUrl { url: url.to_string(), message };
    let endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| invalid(e.to_string()))?
        .connect_timeout(std::time::Duration::from_secs(5))
        // a watch on a half-open connection would otherwise wait forever
        .http2_keep_alive_interval(std::time::Duration::from_secs(30))
        .keep_alive_timeout(std::time::Duration::from_secs(10))
        .keep_alive_while_idle(true);
    if endpoint.uri().host().is_none() {
        return Err(invalid("no host".to_string()));
    }
    match endpoint.uri().scheme_str() {
        Some("http") | Some("https") => Ok(endpoint),
        other => Err(invalid(format!("the scheme must be http or https, not {:?}", other.unwrap_or("")))),
    }
}

/// A lazily connecting TLS channel to the `https://` address of `endpoint`.
pub(crate) fn tls_channel(
    endpoint: Endpoint,
    credentials: &Credentials,
) -> Result<tonic::transport::Channel, ClientError> {
    let uri = endpoint.uri().clone();
    let host = uri.host().unwrap_or_default().to_string();
    let port = uri.port_u16().unwrap_or(443);
    let config = capstan_pki::tls::client_config(credentials)?;
    let server_name = capstan_pki::tls::server_name(credentials, &host)?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let dial = format!("{}:{port}", host.trim_start_matches('[').trim_end_matches(']'));
    let source = credentials.source.clone();
    let connect = tower::service_fn(move |_: Uri| {
        let (connector, server_name, dial, source) =
            (connector.clone(), server_name.clone(), dial.clone(), source.clone());
        async move {
            let tcp = tokio::net::TcpStream::connect(&dial).await?;
            tcp.set_nodelay(true)?;
            let tls = connector.connect(server_name, tcp).await.map_err(|e| {
                std::io::Error::other(format!(
                    "TLS handshake with {dial} failed: {e} (check that {} names this cluster's CA \
                     and a certificate it issued)",
                    match source.as_os_str().is_empty() {
                        true => "the kubeconfig".to_string(),
                        false => format!("the kubeconfig {}", source.display()),
                    }
                ))
            })?;
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    });
    // see the module doc: tonic dials `http`, the connector speaks TLS, and
    // requests still carry the `https` origin
    let plain = format!("http://{}{}", uri.authority().map(|a| a.as_str()).unwrap_or_default(), uri.path());
    let endpoint = self::endpoint(&plain)?.origin(uri);
    Ok(endpoint.connect_with_connector_lazy(connect))
}

/// `Arc` so the error stays `Clone` though the PKI error (I/O) is not.
impl From<capstan_pki::PkiError> for ClientError {
    fn from(error: capstan_pki::PkiError) -> Self {
        ClientError::Kubeconfig(Arc::new(error))
    }
}
