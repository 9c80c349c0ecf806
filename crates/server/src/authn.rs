//! Authentication: who is calling, as a [`capstan_auth::UserInfo`] request
//! extension for everything below (authorization, audit), or a refusal with
//! `UNAUTHENTICATED` "Unauthorized" (Kubernetes' 401) before any handler runs.
//!
//! The methods are Kubernetes': a client certificate the client CA signed
//! (verified in the TLS handshake, read once per connection into
//! [`PeerInfo`]); then a bearer token from the static token file; then, only
//! with `--anonymous-auth=true`, `system:anonymous`. As in kube-apiserver,
//! a bearer token that is not in the file is refused even when anonymous
//! calls are allowed: a caller who tried to authenticate and failed is told so.
//! A request of the HTTP face is refused as kube-apiserver refuses it (401, a
//! `metav1.Status`); its health probes are not authenticated.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};

use capstan_auth::UserInfo;
use http::HeaderMap;
use tower::{Layer, Service};

use crate::audit::AuditRecord;
use crate::config::AuthenticationConfig;
use crate::error::ServerError;
use crate::http::{http_call, refuse, CallKind, Refusal};
use crate::tls::PeerInfo;

/// The message of every authentication refusal, as Kubernetes words its 401.
pub const UNAUTHORIZED: &str = "Unauthorized";

/// The configured methods, loaded.
pub struct Authenticator {
    tokens: HashMap<String, Arc<UserInfo>>,
    anonymous: Option<Arc<UserInfo>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("tokens", &self.tokens.len())
            .field("anonymous", &self.anonymous.is_some())
            .finish()
    }
}

impl Authenticator {
    /// Reads the token file, if any; a malformed line refuses the start.
    pub fn load(config: &AuthenticationConfig) -> Result<Authenticator, ServerError> {
        let tokens = match &config.token_file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ServerError::Read { path: path.clone(), source })?;
                parse_token_file(&text, path)?
            }
            None => HashMap::new(),
        };
        Ok(Authenticator { tokens, anonymous: config.anonymous.then(|| Arc::new(UserInfo::anonymous())) })
    }

    /// Who the call is from, or `None` when it must be refused.
    pub fn authenticate(&self, headers: &HeaderMap, peer: Option<&PeerInfo>) -> Option<Arc<UserInfo>> {
        if let Some(user) = peer.and_then(|p| p.client.clone()) {
            return Some(user);
        }
        if let Some(value) = headers.get(http::header::AUTHORIZATION) {
            let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
            return token.and_then(|t| self.tokens.get(t)).cloned();
        }
        self.anonymous.clone()
    }
}

/// Kubernetes' static token file: one `token,user,uid[,"group1,group2"]` per
/// line (CSV, so a field with commas is quoted); blank lines are skipped.
pub fn parse_token_file(text: &str, path: &Path) -> Result<HashMap<String, Arc<UserInfo>>, ServerError> {
    let mut tokens = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let malformed =
            |message: String| ServerError::TokenFile { path: PathBuf::from(path), line: index + 1, message };
        let fields = csv_fields(line).map_err(|m| malformed(m.to_string()))?;
        if fields.len() < 3 {
            return Err(malformed(format!(
                "expected token,user,uid[,\"group1,group2\"] but found {} field(s)",
                fields.len()
            )));
        }
        let (token, user, uid) = (fields[0].trim(), fields[1].trim(), fields[2].trim());
        if token.is_empty() || user.is_empty() {
            return Err(malformed("the token and the user name must not be empty".into()));
        }
        if token.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(malformed("a token is printable ASCII without spaces (it travels in a header)".into()));
        }
        let groups = match fields.get(3) {
            Some(groups) => groups.split(',').map(str::trim).filter(|g| !g.is_empty()).map(String::from).collect(),
            None => Vec::new(),
        };
        if tokens.insert(token.to_string(), Arc::new(UserInfo::authenticated(user, uid, groups))).is_some() {
            tracing::warn!(path = %path.display(), line = index + 1, "a token appears twice in the token file; the later line wins");
        }
    }
    Ok(tokens)
}

/// One CSV record's fields: comma-separated, `"` quotes a field, `""` inside
/// quotes is a quote.
fn csv_fields(line: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err("a quoted field is not closed"),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => {}
                Some(_) => return Err("text after a closing quote"),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err("a quote inside an unquoted field"),
                    Some(c) => field.push(c),
                }
            }
        }
        fields.push(field);
    }
}

/// Wraps a service in [`Authenticate`].
#[derive(Clone, Debug)]
pub struct AuthenticationLayer(pub Arc<Authenticator>);

impl<S> Layer<S> for AuthenticationLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate { inner, authenticator: self.0.clone() }
    }
}

/// See the [module](self) docs.
#[derive(Clone, Debug)]
pub struct Authenticate<S> {
    inner: S,
    authenticator: Arc<Authenticator>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Authenticate<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default + From<String> + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures::future::Either<S::Future, std::future::Ready<Result<S::Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let http = http_call(&request).map(|call| call.kind);
        // a health probe of the HTTP face is answered to anyone, as gRPC health is
        if http == Some(CallKind::Probe) {
            return futures::future::Either::Left(self.inner.call(request));
        }
        let peer = request.extensions().get::<PeerInfo>();
        match self.authenticator.authenticate(request.headers(), peer) {
            Some(user) => {
                if let Some(record) = request.extensions().get::<AuditRecord>() {
                    record.set_user(user.clone());
                }
                request.extensions_mut().insert(user);
                futures::future::Either::Left(self.inner.call(request))
            }
            None => {
                let refused = match http {
                    Some(_) => refuse(Refusal::Unauthorized),
                    None => tonic::Status::unauthenticated(UNAUTHORIZED).into_http(),
                };
                futures::future::Either::Right(std::future::ready(Ok(refused)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HashMap<String, Arc<UserInfo>>, ServerError> {
        parse_token_file(text, Path::new("/etc/tokens.csv"))
    }

    #[test]
    fn kubernetes_token_lines_parse_with_quoted_groups() {
        let tokens = parse("t1,jane,42,\"dev,ops\"\n\nt2,bob,7\n").expect("parses");
        let jane = &tokens["t1"];
        assert_eq!(jane.name, "jane");
        assert_eq!(jane.uid, "42");
        assert_eq!(jane.groups, ["dev", "ops", "system:authenticated"]);
        assert_eq!(tokens["t2"].groups, ["system:authenticated"]);
    }

    #[test]
    fn a_malformed_line_is_named_by_file_and_number() {
        for (text, line) in [("t1,jane,1\nt2,bob\n", 2), ("t1,jane,1,\"dev\n", 1), ("\n\n,jane,1\n", 3)] {
            let error = parse(text).expect_err(text).to_string();
            assert!(error.contains(&format!("/etc/tokens.csv line {line}")), "{error}");
        }
    }

    #[test]
    fn a_bad_token_is_refused_even_when_anonymous_calls_are_allowed() {
        let auth = Authenticator {
            tokens: parse("good,jane,1\n").expect("parses"),
            anonymous: Some(Arc::new(UserInfo::anonymous())),
        };
        let mut headers = HeaderMap::new();
        assert_eq!(auth.authenticate(&headers, None).map(|u| u.name.clone()).as_deref(), Some("system:anonymous"));
        headers.insert(http::header::AUTHORIZATION, http::HeaderValue::from_static("Bearer good"));
        assert_eq!(auth.authenticate(&headers, None).map(|u| u.name.clone()).as_deref(), Some("jane"));
        headers.insert(http::header::AUTHORIZATION, http::HeaderValue::from_static("Bearer bad"));
        assert!(auth.authenticate(&headers, None).is_none());
    }
}
