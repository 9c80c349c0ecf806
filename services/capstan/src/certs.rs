//! `capstan certs init`: the cluster CA, every component's and node's
//! certificate and a kubeconfig per identity, in one directory (layout in
//! `capstan_pki::layout`). A second run keeps what is there and adds what is
//! missing; `--force` replaces the CA and so everything.

use crate::errors::CliError;
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
}

/// Runs `certs init`; `server` (the global `--server`) is the address the
/// kubeconfigs point at, `https://127.0.0.1:6443` by default.
pub fn run(args: &CertsArgs, server: Option<&str>, out: &mut (dyn Write + Send + Sync)) -> Result<(), CliError> {
    let CertsCommand::Init(args) = &args.command;
    let mut options = InitOptions::new(&args.dir);
    options.nodes = args.nodes.clone();
    options.sans = args.sans.clone();
    options.force = args.force;
    options.service_cidr = args.service_cluster_ip_range.clone();
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
    out.flush()?;
    Ok(())
}
