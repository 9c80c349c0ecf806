//! The `capstan-dashboard` binary's flags. A module of the binary, in its
//! own file so that `services/capstan/tests/component_flags.rs` compiles
//! every component's flags side by side.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "capstan-dashboard",
    about = "Capstan's web dashboard: people sign in with their own bearer token and see what their RBAC roles let them read"
)]
pub struct Flags {
    /// The API server's URL. The dashboard has no identity of its own:
    /// every call carries the signed-in person's token.
    #[arg(long, env = "CAPSTAN_DASHBOARD_SERVER", default_value = "https://127.0.0.1:6443")]
    pub server: String,
    /// The CA the API server's certificate must chain to (PEM; `certs
    /// init`'s ca.crt). Default: the system's roots.
    #[arg(long, value_name = "FILE", env = "CAPSTAN_DASHBOARD_CERTIFICATE_AUTHORITY")]
    pub certificate_authority: Option<PathBuf>,
    /// Where the page is served. It carries bearer tokens, so off loopback
    /// it needs --tls-cert-file and --tls-private-key-file.
    #[arg(long, env = "CAPSTAN_DASHBOARD_LISTEN", default_value = "127.0.0.1:10280")]
    pub listen: SocketAddr,
    /// Serve HTTPS with this certificate (PEM), with --tls-private-key-file.
    #[arg(long, value_name = "FILE", env = "CAPSTAN_DASHBOARD_TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// The private key of --tls-cert-file (PEM).
    #[arg(long, value_name = "FILE", env = "CAPSTAN_DASHBOARD_TLS_PRIVATE_KEY_FILE")]
    pub tls_private_key_file: Option<PathBuf>,
}

impl Flags {
    /// The configuration the flags describe, or which flag is missing or unreadable.
    pub fn config(&self) -> Result<capstan_dashboard::Config, capstan_dashboard::DashboardError> {
        let mut config = capstan_dashboard::Config::new(self.server.clone());
        if let Some(ca) = &self.certificate_authority {
            config = config.with_ca_file(ca)?;
        }
        config.listen = self.listen;
        let flags = capstan_dashboard::DashboardError::Flags;
        config.tls = match (&self.tls_cert_file, &self.tls_private_key_file) {
            (Some(cert), Some(key)) => Some(capstan_dashboard::TlsFiles { cert: cert.clone(), key: key.clone() }),
            (None, None) => None,
            (Some(_), None) => return Err(flags("--tls-cert-file needs --tls-private-key-file".into())),
            (None, Some(_)) => return Err(flags("--tls-private-key-file needs --tls-cert-file".into())),
        };
        Ok(config)
    }
}
