//! `capstan`: the kubectl-style CLI and the all-in-one local cluster.
//!
//! Start at [`run`]: it parses the arguments and runs one command, writing
//! to the given output, so tests drive the CLI in-process exactly as a user
//! would. `main.rs` only sets up telemetry and calls it.
//!
//! # Layout
//! - [`cli`]: the flags; [`config`]: which server, namespace and credentials
//!   to use (the kubeconfig); [`config_cmd`]: `config view|get-contexts|use-context`;
//!   [`certs`]: `certs init` (and [`in_cluster_secret`] for its
//!   `--write-secret`: the one call this crate makes to a Kubernetes API
//!   rather than Capstan's, from the Helm chart's pre-install Job).
//! - One module per command: [`apply`], [`get`] (and [`watch`] for `-w`),
//!   [`describe`], [`delete`], [`replace`], [`create`] (and [`create_rbac`]
//!   for `create role|clusterrole|rolebinding|clusterrolebinding`),
//!   [`auth`] (`whoami`, `can-i`, asked of the review service), [`api_resources`],
//!   [`logs`] and [`exec`] (through the API server's [`pod_service`]), [`up`];
//!   the workload commands [`scale`], [`rollout`], [`autoscale`], and
//!   [`cordon`] and [`drain`] for nodes; [`trace`] (`capstan trace ID`, and
//!   `--trace`'s `trace: ID`).
//! - [`printers`]: the tables, one module per kind (`capstan-printers`, which the API server answers kubectl's Tables from too); [`output`]: JSON, YAML
//!   and names; [`names`]: how kinds and objects are named.
//! - [`manifest`]: reading `-f`; [`merge`]: how apply lays a manifest over
//!   the live object; [`errors`]: [`CliError`] and how each
//!   failure reads.
//!
//! # Invariants
//! - Every call to Capstan's server goes through `capstan-client`, inside a root span
//!   named after the command, so one command is one trace; `--as` and
//!   `--as-group` ride on the client's credentials, so every call of the
//!   command impersonates alike.
//! - Commands never panic on input; every failure is a [`CliError`].

pub mod api_resources;
pub mod apply;
pub mod auth;
pub mod autoscale;
pub mod certs;
pub mod cli;
pub mod config;
pub mod config_cmd;
pub mod cordon;
pub mod create;
pub mod create_rbac;
pub mod delete;
pub mod describe;
pub mod drain;
pub mod errors;
pub mod exec;
pub mod explain;
pub mod get;
pub mod image;
pub mod in_cluster_secret;
pub mod logs;
pub mod manifest;
pub mod merge;
pub mod names;
pub mod output;
pub mod pod_for;
pub mod pod_service;
pub use capstan_printers as printers;
pub mod replace;
pub mod rollout;
pub mod scale;
pub mod trace;
pub mod up;
pub mod watch;

pub use cli::{Cli, Command};
pub use errors::CliError;

use capstan_client::{Client, ClientError};
use clap::error::ErrorKind;
use clap::Parser;
use config::{Inputs, Settings};
use errors::Subject;
use std::ffi::OsString;
use std::io::Write;
use tracing::Instrument;

/// What a command works with.
pub struct Context<'a> {
    pub client: Client,
    pub settings: Settings,
    pub out: &'a mut (dyn Write + Send + Sync),
}

impl Context<'_> {
    /// A client error as the user should read it.
    pub fn fail(&self, error: ClientError, subject: Option<Subject<'_>>) -> CliError {
        CliError::from_client(error, subject, &self.settings.server)
    }
}

/// Parses `args` (the program name first) and runs the command. Help and
/// version go to `out`; bad arguments come back as [`CliError::Args`].
pub async fn run<I, T>(args: I, out: &mut (dyn Write + Send + Sync)) -> Result<(), CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            write!(out, "{}", e.render())?;
            return Ok(());
        }
        Err(e) => return Err(CliError::Args(e.render().to_string().trim_end().to_string())),
    };
    execute(cli, out).await
}

/// Runs a parsed command. `up` runs until SIGTERM or Ctrl-C.
pub async fn execute(cli: Cli, out: &mut (dyn Write + Send + Sync)) -> Result<(), CliError> {
    execute_with(cli, None, out).await
}

/// `up --trace-sink`'s receiver, bound before telemetry starts, so that the
/// process's telemetry can be told where it listens
/// ([`capstan_telemetry::init_with_endpoint`]); `None` for any other command.
pub async fn bind_trace_sink(cli: &Cli) -> Result<Option<capstan_trace_sink::BoundSink>, CliError> {
    match &cli.command {
        Command::Up(cli::UpArgs { trace_sink: Some(addr), .. }) => {
            Ok(Some(capstan_trace_sink::bind(*addr, capstan_trace_sink::DEFAULT_MAX_TRACES).await?))
        }
        _ => Ok(None),
    }
}

/// As [`execute`], `up` serving `sink` (from [`bind_trace_sink`]); when `up
/// --trace-sink` comes without one, `up` binds it itself (and the process's
/// spans go wherever its telemetry already sends them).
pub async fn execute_with(
    cli: Cli,
    sink: Option<capstan_trace_sink::BoundSink>,
    out: &mut (dyn Write + Send + Sync),
) -> Result<(), CliError> {
    if let Command::Up(args) = &cli.command {
        let config = up::UpConfig::from_args(args)?;
        let sink = match sink {
            Some(sink) => Some(sink),
            None => bind_trace_sink(&cli).await?,
        };
        // boxed, as the commands below are: a cluster's start is a large future, and
        // inline it would make every command's future as large (a caller polling
        // `run` on a 2 MiB thread overflowed its stack)
        return Box::pin(up::up_with_sink(config, sink, capstan_lifecycle::shutdown_signal(), out)).await;
    }
    match &cli.command {
        Command::Trace(args) => return trace::run(args, cli.kubeconfig.as_deref(), cli.context.as_deref(), out).await,
        // these work on files, not on a cluster
        Command::Certs(args) => return certs::run(args, cli.server.as_deref(), out).await,
        Command::Config(args) => {
            return config_cmd::run(args, cli.kubeconfig.as_deref(), cli.context.as_deref(), out);
        }
        _ => {}
    }
    let inputs = Inputs {
        flag_server: cli.server.as_deref(),
        flag_namespace: cli.namespace.as_deref(),
        flag_context: cli.context.as_deref(),
        env_server: None,
    };
    let mut settings = Settings::from_env(inputs, cli.kubeconfig.as_deref())?;
    // the flags win over the kubeconfig user's `as` and `as-groups`, as in kubectl
    if let Some(user) = &cli.as_user {
        settings.credentials.impersonate.user = Some(user.clone());
    }
    if !cli.as_groups.is_empty() {
        settings.credentials.impersonate.groups = cli.as_groups.clone();
    }
    let client = Client::connect_with(&settings.server, &settings.credentials)
        .map_err(|e| CliError::from_client(e, None, &settings.server))?;
    let name = cli.command.name();
    let span = tracing::info_span!("capstan", otel.name = %format!("capstan {name}"), command = name);
    let mut ctx = Context { client, settings, out };
    let done = Box::pin(dispatch(&cli.command, &mut ctx)).instrument(span.clone()).await;
    if cli.trace {
        // printed whether the command succeeded or not: a failure's trace is
        // the one most worth reading
        trace::print_trace_id(&span, ctx.out)?;
    }
    done
}

async fn dispatch(command: &Command, ctx: &mut Context<'_>) -> Result<(), CliError> {
    match command {
        Command::Apply(args) => apply::run(ctx, args).await,
        Command::Get(args) => get::run(ctx, args).await,
        Command::Describe(args) => describe::run(ctx, args).await,
        Command::Delete(args) => delete::run(ctx, args).await,
        Command::Replace(args) => replace::run(ctx, args).await,
        Command::Create(args) => create::run(ctx, args).await,
        Command::ApiResources => api_resources::run(ctx).await,
        Command::Logs(args) => logs::run(ctx, args).await,
        Command::Exec(args) => exec::run(ctx, args).await,
        Command::Cordon { nodes } => cordon::run(ctx, nodes, true).await,
        Command::Uncordon { nodes } => cordon::run(ctx, nodes, false).await,
        Command::Drain(args) => drain::run(ctx, args).await,
        Command::Scale(args) => scale::run(ctx, args).await,
        Command::Rollout(args) => rollout::run(ctx, args).await,
        Command::Autoscale(args) => autoscale::run(ctx, args).await,
        Command::Explain(args) => explain::run(ctx, args).await,
        Command::Image(args) => image::run(ctx, args).await,
        Command::Auth(args) => auth::run(ctx, args).await,
        Command::Up(_) | Command::Certs(_) | Command::Config(_) | Command::Trace(_) => {
            Err(CliError::Usage(format!("{} runs on its own", command.name())))
        }
    }
}
