//! The `capstan-node-supervisor` binary: flags in, [`capstan_node_supervisor::run`] out,
//! its answer the container's exit code.

use anyhow::Context;
use capstan_node_supervisor::{Plan, Process, Readiness};
use clap::Parser;

/// Runs a node's processes in one container and stops them together.
#[derive(Parser, Debug)]
#[command(name = "capstan-node-supervisor", version)]
struct Flags {
    /// A command run to success before any process starts (repeatable, in order).
    #[arg(long = "setup", value_name = "COMMAND")]
    setup: Vec<String>,
    /// NAME=COMMAND: a process to run (repeatable, started in order).
    #[arg(long = "process", value_name = "NAME=COMMAND", required = true)]
    processes: Vec<String>,
    /// NAME=PATH: start the processes after NAME only once PATH exists (e.g. a socket).
    #[arg(long = "ready", value_name = "NAME=PATH")]
    ready: Vec<String>,
    /// NAME=COMMAND: a command run to success once NAME is ready, before the next process starts.
    #[arg(long = "after-ready", value_name = "NAME=COMMAND")]
    after_ready: Vec<String>,
    /// How long a process may take to create its --ready path.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    ready_timeout: std::time::Duration,
    /// How long the processes may take to stop before they are killed.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    grace_period: std::time::Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let flags = Flags::parse();
    let setup = flags
        .setup
        .iter()
        .map(|command| shlex::split(command).with_context(|| format!("--setup {command:?}: unbalanced quotes")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let plan = Plan {
        setup,
        processes: flags.processes.iter().map(|p| Process::parse(p)).collect::<Result<_, _>>()?,
        ready: flags.ready.iter().map(|r| Readiness::parse(r)).collect::<Result<_, _>>()?,
        after_ready: flags
            .after_ready
            .iter()
            .map(|a| Process::parse(a).map(|p| (p.name, std::iter::once(p.program).chain(p.args).collect())))
            .collect::<Result<_, _>>()?,
        ready_timeout: flags.ready_timeout,
        grace: flags.grace_period,
    };
    let code = capstan_node_supervisor::run(plan).await?;
    Ok(std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
