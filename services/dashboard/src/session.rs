//! Who is asking: the bearer token a person signed in with, kept in a
//! cookie the page's script cannot read (`HttpOnly`) and no other site can
//! make the browser send (`SameSite=Strict`), and a client that calls the
//! API server with exactly that token. The dashboard adds no credential of
//! its own: what a person sees is what their token may read.

use std::collections::HashMap;
use std::sync::Mutex;

use capstan_client::{Client, Credentials};
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

/// The cookie's name.
pub const COOKIE_NAME: &str = "capstan_dashboard_token";
/// How many signed-in tokens keep a connection to the API server; past it
/// the oldest connections are dropped (and made again on their next page).
const KEPT_CLIENTS: usize = 256;

/// Makes and keeps one API client per signed-in token.
#[derive(Debug)]
pub struct Sessions {
    server: String,
    ca_pem: Option<Vec<u8>>,
    tls_server_name: Option<String>,
    /// The cookie is `Secure` when the dashboard serves HTTPS.
    secure: bool,
    clients: Mutex<HashMap<String, Client>>,
}

impl Sessions {
    pub fn new(server: String, ca_pem: Option<Vec<u8>>, tls_server_name: Option<String>, secure: bool) -> Sessions {
        Sessions { server, ca_pem, tls_server_name, secure, clients: Mutex::new(HashMap::new()) }
    }

    fn credentials(&self, token: Option<&str>) -> Credentials {
        Credentials {
            ca_pem: self.ca_pem.clone(),
            token: token.map(str::to_owned),
            tls_server_name: self.tls_server_name.clone(),
            ..Default::default()
        }
    }

    /// Whether a client can be made for the server with the CA (a usable
    /// URL, a CA that parses); nothing is dialled.
    pub fn check(&self) -> Result<(), capstan_client::ClientError> {
        Client::connect_with(&self.server, &self.credentials(None)).map(drop)
    }

    /// A client that calls the API server as the holder of `token`.
    pub fn client(&self, token: &str) -> Result<Client, String> {
        check_token(token)?;
        let mut clients = self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(token) {
            return Ok(client.clone());
        }
        let client = Client::connect_with(&self.server, &self.credentials(Some(token))).map_err(|e| e.to_string())?;
        if clients.len() >= KEPT_CLIENTS {
            clients.clear();
        }
        clients.insert(token.to_owned(), client.clone());
        Ok(client)
    }

    /// Forgets `token`'s client (its holder signed out, or the API server refused it).
    pub fn forget(&self, token: &str) {
        self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(token);
    }

    /// The `Set-Cookie` that signs `token` in.
    pub fn sign_in_cookie(&self, token: &str) -> Result<HeaderValue, String> {
        check_token(token)?;
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::try_from(format!("{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"))
            .map_err(|_| "the token cannot travel in a cookie".to_owned())
    }

    /// The `Set-Cookie` that signs out.
    pub fn sign_out_cookie(&self) -> HeaderValue {
        HeaderValue::from_static("capstan_dashboard_token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }
}

/// The token in the request's cookie, if it carries one.
pub fn token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

/// A token travels in a cookie and an `authorization` header: visible
/// ASCII without the characters a cookie cannot hold.
pub fn check_token(token: &str) -> Result<(), String> {
    if token.is_empty() {
        return Err("the token is empty".to_owned());
    }
    if token.len() > 4096 {
        return Err("the token is longer than 4096 characters".to_owned());
    }
    match token.chars().find(|c| !c.is_ascii_graphic() || matches!(c, ';' | ',' | '"' | '\\')) {
        Some(c) => Err(format!(
            "the token holds {c:?}: a bearer token is visible ASCII without spaces, quotes, commas, semicolons or backslashes"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_and_same_site_strict() {
        let plain = Sessions::new("https://127.0.0.1:6443".into(), None, None, false);
        let cookie = plain.sign_in_cookie("abc-123").expect("a cookie");
        assert_eq!(cookie, "capstan_dashboard_token=abc-123; Path=/; HttpOnly; SameSite=Strict");
        let tls = Sessions::new("https://127.0.0.1:6443".into(), None, None, true);
        assert!(tls.sign_in_cookie("abc").expect("a cookie").to_str().expect("ascii").ends_with("; Secure"));
    }

    #[test]
    fn the_token_is_read_back_from_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("theme=dark; capstan_dashboard_token=t0k; x=y"));
        assert_eq!(token(&headers).as_deref(), Some("t0k"));
        headers.insert(COOKIE, HeaderValue::from_static("capstan_dashboard_token="));
        assert_eq!(token(&headers), None, "a signed-out cookie is no token");
        assert_eq!(token(&HeaderMap::new()), None);
    }

    #[test]
    fn tokens_that_cannot_travel_are_refused_with_the_reason() {
        assert!(check_token("jane-token").is_ok());
        for (token, says) in [("", "empty"), ("a b", "' '"), ("a;b", "';'"), ("é", "'é'")] {
            let error = check_token(token).expect_err(token);
            assert!(error.contains(says), "{token:?}: {error}");
        }
    }
}
