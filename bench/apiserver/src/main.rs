//! `capstan-bench-apiserver`: parses flags and runs the benchmark (see the library docs).

use std::time::Duration;

use anyhow::Context as _;
use capstan_bench_apiserver::{run, Backend, Options};
use clap::{Parser, ValueEnum};

/// The API server runs in this process, so it gets this binary's allocator: the same one
/// `capstan-apiserver` ships with, or the bench would measure a different server.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Pod creates/s and latency through the API server beside the raw store's puts/s, at
/// several concurrencies, and the time to fan one change out to many open watches.
#[derive(Debug, Parser)]
#[command(name = "capstan-bench-apiserver", version)]
struct Args {
    /// Which storage backend(s) to measure [default: both; embedded with --quick].
    #[arg(long, value_enum)]
    backend: Option<Which>,
    /// Measured seconds per point (after a warm-up of a third of it, at most 1 s).
    #[arg(long)]
    duration_secs: Option<f64>,
    /// Open watches for the fan-out measurement (0 skips it).
    #[arg(long)]
    watchers: Option<usize>,
    /// Measured fan-out rounds.
    #[arg(long)]
    rounds: Option<usize>,
    /// A smoke run: small counts and short points (embedded only unless --backend says).
    #[arg(long)]
    quick: bool,
    /// Measure the door instead: plaintext AlwaysAllow beside TLS + authentication + Node,RBAC + audit,
    /// at concurrency 16 and 64 (embedded store).
    #[arg(long)]
    door: bool,
    /// Measure instead what exporting traces costs: creates with every span sent over OTLP to a
    /// capstan-trace-sink beside the same creates exporting nothing, at concurrency 16 and 64.
    #[arg(long)]
    otlp: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    Embedded,
    Etcd,
    Both,
}

fn options(args: &Args) -> anyhow::Result<Options> {
    let mut options = if args.quick { Options::quick() } else { Options::default() };
    if let Some(which) = args.backend {
        options.backends = match which {
            Which::Embedded => vec![Backend::Embedded],
            Which::Etcd => vec![Backend::Etcd],
            Which::Both => vec![Backend::Embedded, Backend::Etcd],
        };
    }
    if let Some(secs) = args.duration_secs {
        options.duration = Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
            .context("--duration-secs must be a positive number of seconds")?;
        options.warmup = (options.duration / 3).min(Duration::from_secs(1));
    }
    if let Some(watchers) = args.watchers {
        options.watchers = watchers;
    }
    if let Some(rounds) = args.rounds {
        options.rounds = rounds.max(1);
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // one point of --otlp, run by the parent in a process of its own
    let raw: Vec<String> = std::env::args().collect();
    if raw.get(1).map(String::as_str) == Some(capstan_bench_apiserver::otlp::POINT_FLAG) {
        return capstan_bench_apiserver::otlp::run_point(&raw[2..]).await.context("an --otlp point failed");
    }
    let args = Args::parse();
    let options = options(&args)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "capstan-bench-apiserver: {cores} cores; {:?} measured per point after {:?} warm-up; \
         API server in-process on its own runtime, client on this one",
        options.duration, options.warmup
    );
    if args.door {
        let concurrencies = if args.quick { vec![2, 4] } else { vec![16, 64] };
        let points = capstan_bench_apiserver::door::measure(&options, &concurrencies)
            .await
            .context("the door benchmark failed")?;
        print!("{}", capstan_bench_apiserver::door::render(&points));
        return Ok(());
    }
    if args.otlp {
        let concurrencies = if args.quick { vec![2, 4] } else { vec![16, 64] };
        let (points, traces) = capstan_bench_apiserver::otlp::measure(&options, &concurrencies)
            .await
            .context("the OTLP export benchmark failed")?;
        print!("{}", capstan_bench_apiserver::otlp::render(&points, traces));
        return Ok(());
    }
    let report = run(&options).await.context("the benchmark failed")?;
    print!("{}", report.render());
    Ok(())
}
