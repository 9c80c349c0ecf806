//! `capstan-bench-pod-start`: parses flags, runs the benchmark, prints the table.
//! Set `RUST_LOG` (e.g. `capstan_kubelet=debug`) to see the components' logs.

use anyhow::Context;
use capstan_bench_pod_start::{run, Options, Workload};
use clap::Parser;

/// Time from creating a pod bound to a Docker-backed node until it is Running,
/// beside raw `docker create` + `docker start` of the same image in the same run.
#[derive(Debug, Parser)]
struct Flags {
    /// measured pods (and raw pairs of each kind)
    #[arg(long, default_value_t = 30)]
    pods: usize,
    /// pods (and raw pairs) started at once
    #[arg(long, default_value_t = 1)]
    parallel: usize,
    /// what the containers run
    #[arg(long, value_enum, default_value_t = Workload::Sleep)]
    workload: Workload,
    /// the Docker network pod sandboxes go on (default: the shim's default)
    #[arg(long)]
    network: Option<String>,
    /// smoke run: 3 pods, one at a time
    #[arg(long)]
    quick: bool,
    /// the node's runtime: docker (beside raw docker create+start) or containerd
    /// (beside raw `ctr run`)
    #[arg(long, value_enum, default_value_t = Runtime::Docker)]
    runtime: Runtime,
    /// measure instead what exporting every component's spans to a trace sink costs a pod's
    /// start, beside exporting nothing (Docker)
    #[arg(long)]
    otlp: bool,
}

/// The runtime the measured node runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Runtime {
    Docker,
    Containerd,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // one half of --otlp, run by the parent in a process of its own (it installs its own telemetry)
    let raw: Vec<String> = std::env::args().collect();
    if raw.get(1).map(String::as_str) == Some(capstan_bench_pod_start::otlp::POINT_FLAG) {
        return capstan_bench_pod_start::otlp::run_point(&raw[2..]).await.context("an --otlp child failed");
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let flags = Flags::parse();
    let options = if flags.quick {
        Options { workload: flags.workload, network: flags.network, ..Options::quick() }
    } else {
        Options { pods: flags.pods, parallel: flags.parallel, workload: flags.workload, network: flags.network }
    };
    if flags.otlp {
        let report =
            capstan_bench_pod_start::otlp::measure(&options).await.context("the OTLP pod-start benchmark failed")?;
        print!("{}", report.render());
        return Ok(());
    }
    if flags.runtime == Runtime::Containerd {
        let report = tokio::select! {
            report = capstan_bench_pod_start::containerd::run(&options) => report.context("the containerd pod-start benchmark failed")?,
            _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted"),
        };
        print!("{}", report.render());
        return Ok(());
    }
    let report = tokio::select! {
        report = run(&options) => report.context("the pod-start benchmark failed")?,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted (leftover containers were removed)"),
    };
    print!("{}", report.render());
    Ok(())
}
