//! `capstan certs init`: the cluster CA, every component's and node's
//! certificate and a kubeconfig per identity, in one directory (layout in
//! `capstan_pki::layout`). A second run keeps what is there and adds what is
//! missing; `--force` replaces the CA and so everything.

use crate::errors::CliError;
use crate::in_cluster_secret;
use capstan_pki::{Action, InitOptions};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CertsArgs {
    #[command(subcommand)]
    pub command: CertsCommand,
}

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Make the CA, certificates and kubeconfigs that are missing in DIR
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The PKI directory (made 0700 when missing)
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// A node to make a kubelet identity and serving certificate for (repeatable)
    #[arg(long = "node", value_name = "NAME")]
    pub nodes: Vec<String>,
    /// An extra name or IP of the API server's certificate (repeatable)
    #[arg(long = "san", value_name = "HOST|IP")]
    pub sans: Vec<String>,
    /// Replace the CA, and issue every certificate again
    #[arg(long)]
    pub force: bool,
    /// The API server's service range; its first address is a SAN
    #[arg(long, value_name = "CIDR", default_value = capstan_pki::identity::DEFAULT_SERVICE_CIDR)]
    pub service_cluster_ip_range: String,
    /// Issue with the CA (ca.crt, ca.key) in this directory when DIR has none,
    /// instead of making a new one: a node that learns its name only when it
    /// starts gets its identity from the cluster's mounted CA
    #[arg(long, value_name = "CA_DIR")]
    pub ca_dir: Option<PathBuf>,
    /// Then write DIR's files into this Secret of the pod's own namespace
    /// through the Kubernetes API (the pod's service account), unless it
    /// exists; kubeconfigs/NAME.conf become keys kubeconfig-NAME.conf
    #[arg(long, value_name = "NAME")]
    pub write_secret: Option<String>,
}

/// Runs `certs init`; `server` (the global `--server`) is the address the
/// kubeconfigs point at, `https://127.0.0.1:6443` by default.
pub async fn run(args: &CertsArgs, server: Option<&str>, out: &mut (dyn Write + Send + Sync)) -> Result<(), CliError> {
    let CertsCommand::Init(args) = &args.command;
    let mut options = InitOptions::new(&args.dir);
    options.nodes = args.nodes.clone();
    options.sans = args.sans.clone();
    options.force = args.force;
    options.service_cidr = args.service_cluster_ip_range.clone();
    options.ca_from = args.ca_dir.clone();
    if let Some(server) = server.map(str::trim).filter(|s| !s.is_empty()) {
        options.server = server.to_string();
    }
    let report = capstan_pki::init(&options)?;
    for (path, action) in &report.files {
        let verb = match action {
            Action::Created => "created",
            Action::Kept => "kept",
            Action::Renewed => "renewed",
        };
        writeln!(out, "[certs] {verb} {}", path.display())?;
    }
    if let Some(name) = &args.write_secret {
        let api = in_cluster_secret::InCluster::from_pod(std::path::Path::new(in_cluster_secret::SERVICE_ACCOUNT_DIR))?;
        let verb = match api.write_secret_once(name, &in_cluster_secret::secret_data(&args.dir)?).await? {
            in_cluster_secret::Written::Created => "created",
            in_cluster_secret::Written::Kept => "kept (it exists; its identities stand)",
        };
        writeln!(out, "[certs] secret {name} {verb}")?;
    }
    out.flush()?;
    Ok(())
}
