//! `capstan-bench-scheduler`: flags, then [`capstan_bench_scheduler`].

use clap::Parser;
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "capstan-bench-scheduler", about = "Pods bound per second beside the API server's update rate")]
struct Flags {
    /// Node counts, one point each.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,5000")]
    nodes: Vec<usize>,
    /// Pending pods per point.
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
    /// Give up on a point after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    /// A smoke run: 50 nodes, 500 pods.
    #[arg(long)]
    quick: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let (nodes, pods) = if flags.quick { (vec![50], 500) } else { (flags.nodes, flags.pods) };
    let mut points = Vec::new();
    for n in nodes {
        let point = capstan_bench_scheduler::run_point(n, pods, Duration::from_secs(flags.timeout_secs)).await?;
        eprintln!("done: {n} nodes");
        points.push(point);
    }
    capstan_bench_scheduler::print_table(&points);
    Ok(())
}
