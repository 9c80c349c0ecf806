//! The `capstan-node-supervisor` binary: flags in, [`capstan_node_supervisor::run`] out,
//! its answer the container's exit code.

use anyhow::Context;
use capstan_node_supervisor::{Plan, Process, Readiness};
use clap::Parser;
use flags::Flags;

mod flags;

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
