//! Registry credentials and challenges, as plain values: what a PullImage's
//! `auth` says, which registry it is for, and what to answer a registry's
//! `WWW-Authenticate` challenge with.
//!
//! The CRI's `AuthConfig` carries one of: a username and password (or `auth`,
//! their base64 `user:password`), an `identity_token` (an OAuth2 refresh token,
//! traded at the token realm), or a `registry_token` (a bearer token the
//! registry takes as is). A `Basic` challenge is answered with the username
//! and password; a `Bearer` one by fetching a token from its realm, with the
//! credentials when there are some, anonymously otherwise.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use capstan_proto::runtime::v1::AuthConfig;
use capstan_shim_common::registry::registry_host;

/// What the pull may present to the registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token, exchanged at the token realm.
    RefreshToken(String),
    /// A bearer token for the registry itself.
    RegistryToken(String),
}

/// Never print secrets: only which kind of credentials these are.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, <password>)"),
            Credentials::RefreshToken(_) => f.write_str("RefreshToken(<token>)"),
            Credentials::RegistryToken(_) => f.write_str("RegistryToken(<token>)"),
        }
    }
}

/// Why an `AuthConfig` cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthError {
    /// `auth` is not base64 of `user:password`.
    BadAuthField,
}

impl Credentials {
    /// The credentials `auth` gives for a pull from `domain` (an image
    /// reference's registry, e.g. `docker.io` or `localhost:5000`). Credentials
    /// naming another registry in `server_address` are not sent.
    pub fn for_registry(auth: Option<&AuthConfig>, domain: &str) -> Result<Credentials, AuthError> {
        let Some(auth) = auth else { return Ok(Credentials::Anonymous) };
        if !auth.server_address.is_empty() && registry_host(&auth.server_address) != registry_host(domain) {
            tracing::warn!(server = %auth.server_address, registry = %domain,
                "the pull's credentials are for another registry; pulling anonymously");
            return Ok(Credentials::Anonymous);
        }
        if !auth.registry_token.is_empty() {
            return Ok(Credentials::RegistryToken(auth.registry_token.clone()));
        }
        if !auth.identity_token.is_empty() {
            return Ok(Credentials::RefreshToken(auth.identity_token.clone()));
        }
        if !auth.username.is_empty() || !auth.password.is_empty() {
            return Ok(Credentials::Basic { username: auth.username.clone(), password: auth.password.clone() });
        }
        if !auth.auth.is_empty() {
            let decoded = STANDARD.decode(auth.auth.trim()).map_err(|_| AuthError::BadAuthField)?;
            let text = String::from_utf8(decoded).map_err(|_| AuthError::BadAuthField)?;
            let (username, password) = text.split_once(':').ok_or(AuthError::BadAuthField)?;
            return Ok(Credentials::Basic { username: username.to_string(), password: password.to_string() });
        }
        Ok(Credentials::Anonymous)
    }

    /// The `Authorization` value to send before any challenge (a registry token).
    pub fn upfront(&self) -> Option<String> {
        match self {
            Credentials::RegistryToken(token) => Some(format!("Bearer {token}")),
            _ => None,
        }
    }

    /// `Basic …` for a username and password.
    pub fn basic(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => {
                Some(format!("Basic {}", STANDARD.encode(format!("{username}:{password}"))))
            }
            _ => None,
        }
    }
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    /// The token endpoint and the parameters to ask it with (`service`, `scope`).
    Bearer {
        realm: String,
        params: Vec<(String, String)>,
    },
}

impl Challenge {
    /// Reads a challenge header (`Basic realm="…"` or `Bearer realm="…",service="…",scope="…"`).
    pub fn parse(header: &str) -> Option<Challenge> {
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let mut realm = None;
        let mut params = Vec::new();
        for (key, value) in parameters(rest) {
            if key.eq_ignore_ascii_case("realm") {
                realm = Some(value);
            } else {
                params.push((key, value));
            }
        }
        Some(Challenge::Bearer { realm: realm?, params })
    }
}

/// `key="value", key=value` pairs; quoted values may hold commas (scopes do).
fn parameters(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (value, remainder) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(end) => (quoted[..end].to_string(), &quoted[end + 1..]),
                None => (quoted.to_string(), ""),
            },
            None => match after.find(',') {
                Some(end) => (after[..end].trim().to_string(), &after[end..]),
                None => (after.trim().to_string(), ""),
            },
        };
        found.push((key, value));
        rest = remainder.trim_start().trim_start_matches(',');
    }
    found
}

/// The token from a token endpoint's JSON answer (`token`, or OAuth2's `access_token`).
pub fn token_from_answer(body: &[u8]) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    let token = answer["token"].as_str().or_else(|| answer["access_token"].as_str())?;
    (!token.is_empty()).then(|| token.to_string())
}

/// Percent-encodes what a query or form value must not carry raw.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `key=value&…`, each value encoded.
pub fn form(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(f: impl FnOnce(&mut AuthConfig)) -> AuthConfig {
        let mut config = AuthConfig::default();
        f(&mut config);
        config
    }

    #[test]
    fn credentials_come_from_whichever_field_is_set() {
        let cases = [
            (None, Ok(Credentials::Anonymous)),
            (Some(auth(|_| {})), Ok(Credentials::Anonymous)),
            (
                Some(auth(|a| (a.username, a.password) = ("u".into(), "p".into()))),
                Ok(Credentials::Basic { username: "u".into(), password: "p".into() }),
            ),
            (
                Some(auth(|a| a.auth = STANDARD.encode("user:pa:ss"))),
                Ok(Credentials::Basic { username: "user".into(), password: "pa:ss".into() }),
            ),
            (Some(auth(|a| a.auth = "not base64!".into())), Err(AuthError::BadAuthField)),
            (Some(auth(|a| a.auth = STANDARD.encode("no colon"))), Err(AuthError::BadAuthField)),
            (Some(auth(|a| a.identity_token = "refresh".into())), Ok(Credentials::RefreshToken("refresh".into()))),
            (
                Some(auth(|a| (a.registry_token, a.username) = ("tok".into(), "u".into()))),
                Ok(Credentials::RegistryToken("tok".into())),
            ),
        ];
        for (config, want) in cases {
            assert_eq!(Credentials::for_registry(config.as_ref(), "localhost:5000"), want, "{config:?}");
        }
    }

    #[test]
    fn credentials_for_another_registry_are_not_sent() {
        let creds = |server: &str, domain: &str| {
            let config = auth(|a| (a.username, a.password, a.server_address) = ("u".into(), "p".into(), server.into()));
            Credentials::for_registry(Some(&config), domain)
        };
        assert_eq!(creds("other.example:5000", "localhost:5000"), Ok(Credentials::Anonymous));
        assert!(matches!(creds("https://localhost:5000/v2/", "localhost:5000"), Ok(Credentials::Basic { .. })));
        assert!(matches!(creds("https://index.docker.io/v1/", "docker.io"), Ok(Credentials::Basic { .. })));
        assert_eq!(registry_host("registry-1.docker.io"), "docker.io");
    }

    #[test]
    fn secrets_never_print() {
        let basic = Credentials::Basic { username: "alice".into(), password: "s3cret".into() };
        assert_eq!(format!("{basic:?}"), "Basic(alice, <password>)");
        assert!(!format!("{:?}", Credentials::RegistryToken("s3cret".into())).contains("s3cret"));
        assert_eq!(basic.basic().as_deref(), Some("Basic YWxpY2U6czNjcmV0"));
        assert_eq!(Credentials::RegistryToken("t".into()).upfront().as_deref(), Some("Bearer t"));
        assert_eq!(basic.upfront(), None);
    }

    #[test]
    fn challenges_are_read() {
        let header =
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#;
        assert_eq!(
            Challenge::parse(header),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                params: vec![
                    ("service".into(), "registry.example".into()),
                    ("scope".into(), "repository:a/b:pull,push".into())
                ],
            })
        );
        assert_eq!(Challenge::parse(r#"Basic realm="Registry Realm""#), Some(Challenge::Basic));
        assert_eq!(
            Challenge::parse("bearer realm=http://127.0.0.1/t"),
            Some(Challenge::Bearer { realm: "http://127.0.0.1/t".into(), params: vec![] })
        );
        assert_eq!(Challenge::parse("Bearer service=x"), None, "no realm");
        assert_eq!(Challenge::parse("Negotiate abc"), None);
    }

    #[test]
    fn token_answers_and_forms() {
        assert_eq!(token_from_answer(br#"{"token":"a"}"#).as_deref(), Some("a"));
        assert_eq!(token_from_answer(br#"{"access_token":"b","expires_in":60}"#).as_deref(), Some("b"));
        assert_eq!(token_from_answer(br#"{"token":""}"#), None);
        assert_eq!(token_from_answer(b"<html>"), None);
        let pairs = [("scope".to_string(), "repository:a b:pull".to_string()), ("x".to_string(), "&=".to_string())];
        assert_eq!(form(&pairs), "scope=repository%3Aa%20b%3Apull&x=%26%3D");
    }
}
