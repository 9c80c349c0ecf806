//! The dashboard under `capstan up`: served on loopback beside the cluster
//! (port 10280, or an ephemeral one when the API server's port is), started
//! after the proxy and stopped first, and a way to sign in to it: an admin
//! bearer token (`system:masters`), made once at random and kept in the
//! PKI directory (0600) across restarts, which `up` hands the API server as
//! its token file. The dashboard itself holds no credential; the person
//! pastes that token (or any other the API server accepts) into its form.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use capstan_pki::Layout;
use rand::Rng;

use crate::errors::CliError;

/// The token alone, for the person to paste (0600, in the PKI directory).
pub const TOKEN_FILE: &str = "dashboard-admin.token";
/// The API server's static token file (Kubernetes' CSV), made from it.
pub const TOKENS_CSV: &str = "tokens.csv";
/// Who the token signs in as.
pub const USER: &str = "dashboard-admin";

/// Where the dashboard listens: loopback (it serves plain HTTP and carries
/// tokens), on its usual port beside a fixed API server port, else ephemeral.
pub fn listen(apiserver: SocketAddr) -> SocketAddr {
    let port = if apiserver.port() == 0 { 0 } else { capstan_dashboard::DEFAULT_PORT };
    SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port)
}

/// Points the API server at the token file [`ensure_admin_token`] writes.
pub fn accept_admin_token(apiserver: &mut capstan_apiserver::Config, pki: &Layout) {
    apiserver.security.token_file = Some(pki.dir().join(TOKENS_CSV));
}

/// Makes the admin token unless a usable one is kept, and (re)writes the
/// API server's token file from it; the token file's path.
pub fn ensure_admin_token(pki: &Layout) -> Result<PathBuf, CliError> {
    let path = pki.dir().join(TOKEN_FILE);
    let kept = std::fs::read_to_string(&path).ok().map(|t| t.trim().to_owned());
    let token = match kept.filter(|t| t.len() >= 32 && t.bytes().all(|b| b.is_ascii_hexdigit())) {
        Some(token) => token,
        None => {
            let bytes: [u8; 32] = rand::rng().random();
            let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            capstan_pki::files::write_private(&path, format!("{token}\n").as_bytes())?;
            token
        }
    };
    let line = format!("{token},{USER},{USER},\"system:masters\"\n");
    capstan_pki::files::write_private(&pki.dir().join(TOKENS_CSV), line.as_bytes())?;
    Ok(path)
}

/// Starts the dashboard for the API server at `url`, trusting the PKI's CA.
pub async fn start(url: &str, pki: &Layout, listen: SocketAddr) -> Result<capstan_dashboard::Dashboard, CliError> {
    let mut config = capstan_dashboard::Config::new(url).with_ca_file(&pki.ca_cert())?;
    config.listen = listen;
    Ok(capstan_dashboard::Dashboard::start(config).await?)
}

/// The line `up` prints.
pub fn line(url: &str, token_file: &Path) -> String {
    format!("Dashboard: {url} (sign in with the token in {})", token_file.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_token_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let pki = Layout::new(dir.path());
        let path = ensure_admin_token(&pki).expect("made");
        let token = std::fs::read_to_string(&path).expect("written");
        assert_eq!(token.trim().len(), 64);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let csv = std::fs::read_to_string(dir.path().join(TOKENS_CSV)).expect("the token file");
        assert_eq!(csv, format!("{},dashboard-admin,dashboard-admin,\"system:masters\"\n", token.trim()));
        ensure_admin_token(&pki).expect("kept");
        assert_eq!(std::fs::read_to_string(&path).expect("still there"), token, "a restart keeps the token");
    }

    #[test]
    fn the_port_is_fixed_beside_a_fixed_api_server_port() {
        assert_eq!(listen("0.0.0.0:6443".parse().expect("addr")), "127.0.0.1:10280".parse().expect("addr"));
        assert_eq!(listen("127.0.0.1:0".parse().expect("addr")), "127.0.0.1:0".parse().expect("addr"));
    }
}
