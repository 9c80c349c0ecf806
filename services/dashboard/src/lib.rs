//! `capstan-dashboard`: a web page that shows the cluster as a person wants
//! to see it — nodes, workloads (Deployments and their rollouts,
//! ReplicaSets, pods), Services with their endpoints, recent events, a pod's
//! logs — by namespace, kept current from watches without a reload.
//!
//! It holds no rights of its own. A person signs in with their bearer token
//! (kept in an `HttpOnly`, `SameSite=Strict` cookie) and every call the
//! dashboard makes for them carries that token, so the API server's RBAC
//! decides what they see: a section they may not list says so, in plain
//! words, and the rest still shows. The dashboard itself needs only the CA
//! to check the API server's certificate. Because it carries tokens it
//! listens on loopback unless it serves TLS.
//!
//! # Layout
//! Start at [`Dashboard::start`].
//! - [`view`]: the pure part — objects in, sections of rows out ([`view::Section`]),
//!   the columns `capstan get` prints (`capstan-printers`) plus the
//!   dashboard's own (rollout state, endpoints, node capacity and requests);
//!   [`view::diff`] turns two renderings into the patches the page applies.
//! - [`html`]: escaping and the page, table and sign-in markup.
//! - `session`: the cookie, and a client per signed-in token.
//! - `fetch`: one view's objects listed with the user's client (page loads).
//! - `live`: one view watched with the user's client (informers), its
//!   changes pushed as server-sent events.
//! - `grpc`: the API server's `PodService` (logs), the one place tonic is used.
//! - `face`: the HTTP routes, served through `capstan-server`'s stack.
//! - `assets/`: the page's script and style sheet, embedded in the binary.

mod error;
mod face;
mod fetch;
mod grpc;
pub mod html;
mod live;
mod session;
pub mod view;

pub use error::DashboardError;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use capstan_lifecycle::Tasks;

/// The component name of the dashboard's server spans and metrics.
pub const COMPONENT: &str = "capstan-dashboard";
/// The port `capstan-dashboard` and `capstan up` listen on by default.
pub const DEFAULT_PORT: u16 = 10280;

/// What the dashboard needs: where the API server is and how to trust it,
/// and where to listen.
#[derive(Debug, Clone)]
pub struct Config {
    /// The API server (`https://127.0.0.1:6443`).
    pub server: String,
    /// The CA the API server's certificate must chain to (PEM); `None`
    /// trusts the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// The name to check the API server's certificate against, when not the URL's host.
    pub tls_server_name: Option<String>,
    /// Where the page is served.
    pub listen: SocketAddr,
    /// Serve HTTPS with these files (required off loopback). No client CA:
    /// people sign in with tokens.
    pub tls: Option<TlsFiles>,
}

/// The dashboard's serving certificate and key (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Config {
    /// The defaults: loopback on [`DEFAULT_PORT`], plaintext, the system's roots.
    pub fn new(server: impl Into<String>) -> Config {
        Config {
            server: server.into(),
            ca_pem: None,
            tls_server_name: None,
            listen: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            tls: None,
        }
    }

    /// The CA from a file (`--certificate-authority`), naming it when it cannot be read.
    pub fn with_ca_file(mut self, path: &std::path::Path) -> Result<Config, DashboardError> {
        let pem = std::fs::read(path).map_err(|source| DashboardError::Ca { path: path.to_owned(), source })?;
        self.ca_pem = Some(pem);
        Ok(self)
    }
}

/// A running dashboard: its listener and the server stack, stopped by
/// [`Dashboard::stop`] (or dropping it).
#[derive(Debug)]
pub struct Dashboard {
    tasks: Tasks<DashboardError>,
    addr: SocketAddr,
    tls: bool,
}

impl Dashboard {
    /// Checks the configuration, binds the listener (so a taken port or a bad
    /// TLS file is an error here), then serves.
    pub async fn start(config: Config) -> Result<Dashboard, DashboardError> {
        if !config.listen.ip().is_loopback() && config.tls.is_none() {
            return Err(DashboardError::NotLoopback(config.listen));
        }
        let tls = config.tls.is_some();
        let stack = capstan_server::ServerConfig {
            component: Some(COMPONENT),
            tls: config.tls.as_ref().map(|files| capstan_server::TlsFiles {
                cert: files.cert.clone(),
                key: files.key.clone(),
                client_ca: None,
            }),
            // nobody is authenticated here: each request's token is the API
            // server's to judge
            authentication: None,
            ..Default::default()
        };
        let server = capstan_server::Server::new(stack, capstan_metrics::Registry::new())?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| DashboardError::Bind { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| DashboardError::Bind { addr: config.listen, source })?;
        let mut tasks = Tasks::new();
        let stopping = tasks.shutdown().clone();
        let state = face::State::new(&config, tls, stopping.clone())?;
        let server = server.serve_http(face::face(state));
        tasks.spawn(async move { Ok(server.serve(listener, stopping.cancelled_owned()).await?) });
        tracing::info!(%addr, api_server = %config.server, "dashboard serving");
        Ok(Dashboard { tasks, addr, tls })
    }

    /// Where the dashboard listens (the port the OS chose for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's address, for people: `http://127.0.0.1:10280/` (a wildcard
    /// listener is reached on loopback).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let ip = match self.addr.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => std::net::Ipv4Addr::LOCALHOST.into(),
            ip if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            ip => ip,
        };
        format!("{scheme}://{}/", SocketAddr::new(ip, self.addr.port()))
    }

    /// Completes when the server has failed; [`Dashboard::stop`] then returns its error.
    pub async fn stopping(&self) {
        self.tasks.stopping().await
    }

    /// Stops serving (open live streams end) and waits for it.
    pub async fn stop(mut self) -> Result<(), DashboardError> {
        std::mem::take(&mut self.tasks).stop().await
    }

    /// Serves until `shutdown` completes or the server fails.
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> Result<(), DashboardError> {
        std::mem::take(&mut self.tasks).run_until(shutdown).await
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.tasks.shutdown().cancel();
    }
}
