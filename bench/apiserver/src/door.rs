//! What the door costs: pod creates through a plaintext, AlwaysAllow API
//! server beside the same creates through one serving TLS, authenticating
//! each call by its client certificate (the admin's, from a PKI made by
//! `capstan_pki::init` in a temp dir), authorizing it with Node,RBAC (the
//! default of a server with certificates) and writing the audit log, in the
//! same run, each secured point right after its plaintext baseline.

use std::time::Duration;

use capstan_apiserver::door::{AuthorizationMode, Security};
use capstan_pki::Layout;
use capstan_server::{AuditConfig, TlsFiles};

use crate::backend::{Backend, FreshStore};
use crate::client::{self, MAX_CREATE_CONNECTIONS};
use crate::creates::create_operation;
use crate::load::{closed_loop, Load};
use crate::report::LoadStats;
use crate::server::BenchServer;
use crate::{pod, BenchError, Options};

/// One concurrency's plaintext and secured figures.
#[derive(Debug, Clone)]
pub struct DoorPoint {
    pub concurrency: usize,
    pub plain: LoadStats,
    pub secured: LoadStats,
}

impl DoorPoint {
    /// Secured creates/s over plaintext creates/s.
    pub fn ratio(&self) -> f64 {
        match self.plain.per_sec() {
            rate if rate > 0.0 => self.secured.per_sec() / rate,
            _ => 0.0,
        }
    }
}

/// Measures both servers at each of `concurrencies` on the embedded store.
pub async fn measure(options: &Options, concurrencies: &[usize]) -> Result<Vec<DoorPoint>, BenchError> {
    let template = pod::template()?;
    let dir = tempfile::Builder::new()
        .prefix("capstan-bench-door-")
        .tempdir()
        .map_err(|e| BenchError::io("create the door benchmark's temp dir", e))?;
    let pki = dir.path().join("pki");
    capstan_pki::init(&capstan_pki::InitOptions::new(&pki))?;
    let layout = Layout::new(&pki);
    let security = Security {
        tls: Some(TlsFiles {
            cert: layout.cert("apiserver"),
            key: layout.key("apiserver"),
            client_ca: Some(layout.ca_cert()),
        }),
        authorization_modes: vec![AuthorizationMode::Node, AuthorizationMode::Rbac],
        audit: Some(AuditConfig { path: dir.path().join("audit.log"), max_size_mb: 100, max_backups: 2 }),
        ..Security::default()
    };
    let admin = capstan_pki::Kubeconfig::load(&layout.kubeconfig("admin"))
        .and_then(|k| k.resolve(None, &layout.kubeconfig("admin")))?;
    let tls = capstan_pki::tls::client_config(&admin.credentials)?;

    let plain_store = FreshStore::start(Backend::Embedded).await?;
    let secured_store = FreshStore::start(Backend::Embedded).await?;
    let plain = BenchServer::start(&plain_store).await?;
    let secured = BenchServer::start_behind(&secured_store, security).await?;
    let mut points = Vec::new();
    for &concurrency in concurrencies {
        let connections = concurrency.clamp(1, MAX_CREATE_CONNECTIONS);
        let load = |cpu| Load { concurrency, warmup: options.warmup, duration: options.duration, cpu };
        eprintln!("door: plaintext creates at concurrency {concurrency} ...");
        let clients = client::connect(plain.url(), connections).await?;
        let plain_stats =
            closed_loop(load(plain_store.cpu_probe()), create_operation(clients, template.clone(), concurrency))
                .await?;
        eprintln!("door: TLS + authentication + Node,RBAC + audit creates at concurrency {concurrency} ...");
        let clients = client::connect_with(secured.url(), Some(tls.clone()), connections).await?;
        let secured_stats =
            closed_loop(load(secured_store.cpu_probe()), create_operation(clients, template.clone(), concurrency))
                .await?;
        points.push(DoorPoint { concurrency, plain: plain_stats, secured: secured_stats });
    }
    plain.stop().await?;
    secured.stop().await?;
    Ok(points)
}

/// The table: creates/s and p99 side by side, and the ratio against the 0.85× target.
pub fn render(points: &[DoorPoint]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut out = String::from(
        "door (embedded): plaintext AlwaysAllow vs TLS + x509 authentication + Node,RBAC + audit\n\
         concurrency  plain creates/s  plain p99 ms  secured creates/s  secured p99 ms  ratio (target >= 0.85)\n",
    );
    for p in points {
        out.push_str(&format!(
            "{:>11}  {:>15.0}  {:>12.2}  {:>17.0}  {:>14.2}  {:>5.2}\n",
            p.concurrency,
            p.plain.per_sec(),
            ms(p.plain.p99),
            p.secured.per_sec(),
            ms(p.secured.p99),
            p.ratio()
        ));
    }
    out
}
