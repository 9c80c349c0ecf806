//! A registry client just big enough to pull: the distribution API's manifest
//! and blob GETs, over TLS or (where [`transport`](crate::images::transport)
//! allows it) plain HTTP, answering the registry's `Basic` or `Bearer`
//! challenge with the pull's [`Credentials`], and following redirects (blob
//! stores) without carrying the credentials to another host.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;

use crate::images::auth::{form, Challenge, Credentials};
use crate::images::transport::{self, RegistryConfig, Scheme, CONNECT_TIMEOUT};

/// How many redirects one request may follow.
const MAX_REDIRECTS: usize = 5;

/// Why a registry request failed.
#[derive(Debug)]
pub enum Failure {
    /// The registry could not be reached.
    Unreachable(String),
    /// It answered, with this status.
    Status(StatusCode, String),
    /// TLS was needed and failed, or plain HTTP was asked for where it is not allowed.
    Tls(String),
}

/// One registry, e.g. `https://registry.example` or `http://localhost:5000`.
pub struct Registry {
    base: String,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    config: RegistryConfig,
    credentials: Credentials,
    /// What the last answered challenge earned (or a registry token from the start).
    authorization: Option<String>,
}

/// A response, read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Registry {
    /// A client of the registry at `host:port`, over TLS when it speaks it.
    pub async fn connect(
        host: &str,
        port: u16,
        config: &RegistryConfig,
        tls: &Arc<ClientConfig>,
        credentials: Credentials,
    ) -> Result<Registry, Failure> {
        let scheme = transport::choose(config, tls, host, port).await?;
        if scheme == Scheme::Http {
            tracing::debug!(registry = %format!("{host}:{port}"), "the registry does not speak TLS: plain HTTP");
        }
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(ClientConfig::clone(tls))
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Registry {
            base: format!("{}://{host}:{port}", scheme.as_str()),
            client,
            config: config.clone(),
            authorization: credentials.upfront(),
            credentials,
        })
    }

    /// GETs `path` (under `/v2/`); a challenge is answered once per request.
    pub async fn get(&mut self, path: &str, accept: &[&str]) -> Result<Bytes, Failure> {
        let url = format!("{}/v2/{path}", self.base);
        let mut answer = self.fetch(Method::GET, &url, accept, self.authorization.clone(), None).await?;
        if answer.status == StatusCode::UNAUTHORIZED {
            let challenge = answer.headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).map(str::to_string);
            self.authorization = Some(self.answer(&url, challenge.as_deref()).await?);
            answer = self.fetch(Method::GET, &url, accept, self.authorization.clone(), None).await?;
        }
        if !answer.status.is_success() {
            let body = String::from_utf8_lossy(&answer.body);
            return Err(Failure::Status(answer.status, format!("GET {url}: {}", body.trim())));
        }
        Ok(answer.body)
    }

    /// The `Authorization` that answers `challenge` (the header of a 401 for `url`).
    async fn answer(&self, url: &str, challenge: Option<&str>) -> Result<String, Failure> {
        let refused = |why: String| Failure::Status(StatusCode::UNAUTHORIZED, format!("GET {url}: {why}"));
        if let Credentials::RegistryToken(_) = self.credentials {
            return Err(refused("the registry refused the pull's registry token".to_string()));
        }
        match challenge.and_then(Challenge::parse) {
            Some(Challenge::Basic) => self.credentials.basic().ok_or_else(|| {
                refused("the registry asks for a username and password, and the pull has none".to_string())
            }),
            Some(Challenge::Bearer { realm, params }) => Ok(format!("Bearer {}", self.token(&realm, &params).await?)),
            None => Err(refused(format!("the registry's challenge {challenge:?} is not one this shim answers"))),
        }
    }

    /// A token from the challenge's `realm`: with the username and password,
    /// for the refresh token (OAuth2's POST), or anonymously.
    async fn token(&self, realm: &str, params: &[(String, String)]) -> Result<String, Failure> {
        let answer = match &self.credentials {
            Credentials::RefreshToken(refresh) => {
                let mut fields = vec![
                    ("grant_type".to_string(), "refresh_token".to_string()),
                    ("refresh_token".to_string(), refresh.clone()),
                    ("client_id".to_string(), "capstan".to_string()),
                ];
                fields.extend(params.iter().cloned());
                self.fetch(Method::POST, realm, &[], None, Some(form(&fields))).await?
            }
            credentials => {
                let separator = if realm.contains('?') { '&' } else { '?' };
                let url =
                    if params.is_empty() { realm.to_string() } else { format!("{realm}{separator}{}", form(params)) };
                self.fetch(Method::GET, &url, &[], credentials.basic(), None).await?
            }
        };
        if !answer.status.is_success() {
            return Err(Failure::Status(answer.status, format!("a token from {realm} was refused")));
        }
        crate::images::auth::token_from_answer(&answer.body)
            .ok_or_else(|| Failure::Status(answer.status, format!("the answer from {realm} holds no token")))
    }

    /// One request, following redirects; `authorization` is dropped when a
    /// redirect leaves the host, and plain HTTP is refused where not allowed.
    async fn fetch(
        &self,
        method: Method,
        url: &str,
        accept: &[&str],
        mut authorization: Option<String>,
        form_body: Option<String>,
    ) -> Result<Answer, Failure> {
        let mut uri: Uri = url.parse().map_err(|e| Failure::Unreachable(format!("{url} is not a URL: {e}")))?;
        for _ in 0..=MAX_REDIRECTS {
            self.check_plain_http(&uri)?;
            let mut request = Request::builder().method(method.clone()).uri(uri.clone());
            if !accept.is_empty() {
                request = request.header(ACCEPT, accept.join(", "));
            }
            if let Some(value) = &authorization {
                request = request.header(AUTHORIZATION, value);
            }
            let body = match &form_body {
                Some(text) => {
                    request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
                    Full::new(Bytes::from(text.clone()))
                }
                None => Full::new(Bytes::new()),
            };
            let request = request.body(body).map_err(|e| Failure::Unreachable(format!("{uri}: {e}")))?;
            let response = self.client.request(request).await.map_err(|e| Failure::Unreachable(describe(&uri, &e)))?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|e| Failure::Unreachable(format!("{uri}: {e}")))?.to_bytes();
            let location = parts.headers.get(LOCATION).and_then(|l| l.to_str().ok());
            match location.filter(|_| parts.status.is_redirection() && method == Method::GET) {
                Some(location) => {
                    let next = follow(&uri, location)?;
                    if next.authority() != uri.authority() {
                        authorization = None;
                    }
                    uri = next;
                }
                None => return Ok(Answer { status: parts.status, headers: parts.headers, body }),
            }
        }
        Err(Failure::Unreachable(format!("{url}: more than {MAX_REDIRECTS} redirects")))
    }

    /// Plain HTTP goes only where the configuration allows it (a token realm or
    /// a redirect may name another host).
    fn check_plain_http(&self, uri: &Uri) -> Result<(), Failure> {
        if uri.scheme_str() != Some("http") {
            return Ok(());
        }
        let host = uri.host().unwrap_or_default();
        let port = uri.port_u16().unwrap_or(80);
        if self.config.allows_plain_http(host, port) {
            Ok(())
        } else {
            Err(Failure::Tls(format!("refusing plain HTTP to {host}:{port} ({uri}); it is not an insecure registry")))
        }
    }
}

/// The URL a `Location` header leads to from `from` (absolute, or a path on the same host).
fn follow(from: &Uri, location: &str) -> Result<Uri, Failure> {
    let bad = |e: String| Failure::Unreachable(format!("{from} redirected to {location:?}: {e}"));
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.parse().map_err(|e: http::uri::InvalidUri| bad(e.to_string()));
    }
    if !location.starts_with('/') {
        return Err(bad("only absolute URLs and paths are followed".to_string()));
    }
    let mut parts = from.clone().into_parts();
    parts.path_and_query = Some(location.parse().map_err(|e: http::uri::InvalidUri| bad(e.to_string()))?);
    Uri::from_parts(parts).map_err(|e| bad(e.to_string()))
}

/// A client error with its causes (hyper's own message is only "client error (Connect)").
fn describe(uri: &Uri, error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{uri}: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_resolve_against_the_request() {
        let from: Uri = "https://registry.example/v2/a/blobs/sha256:1".parse().expect("uri");
        let cases = [
            ("https://blobs.example/x?sig=1", Some("https://blobs.example/x?sig=1")),
            ("/v2/a/blobs/uploads/2", Some("https://registry.example/v2/a/blobs/uploads/2")),
            ("relative/path", None),
        ];
        for (location, want) in cases {
            assert_eq!(follow(&from, location).ok().map(|u| u.to_string()).as_deref(), want, "{location}");
        }
    }
}
