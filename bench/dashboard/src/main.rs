//! `capstan-bench-dashboard`: how long the dashboard takes to serve the pods
//! view of 1,000 pods in one namespace — time to the first byte and to the
//! whole HTML — beside the baseline measured in the same run, alternated
//! round by round: the raw API LIST of the same pods over gRPC, with the
//! same token over the same TLS. The target (page load < 300 ms) is
//! printed beside the figures, never asserted.
//!
//! The cluster is as `capstan up` locks it: the API server serves TLS,
//! authenticates a static token and authorizes with RBAC; the dashboard
//! calls it with the signed-in person's token (`system:masters` here).

mod cluster;
mod measure;

use clap::Parser;
use measure::{percentile, Timed};

#[derive(Parser, Debug)]
#[command(name = "capstan-bench-dashboard")]
struct Flags {
    /// pods in the namespace the page shows
    #[arg(long, default_value_t = 1000)]
    pods: usize,
    /// measured rounds (each: one LIST, one page load), after one unmeasured warm-up
    #[arg(long, default_value_t = 30)]
    rounds: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let cluster = cluster::Cluster::start().await?;
    cluster.create_pods(flags.pods).await?;
    let dashboard = cluster.dashboard().await?;
    let path = format!("/workloads?namespace={}", cluster::NAMESPACE);
    println!(
        "{} pods in namespace {}; {} rounds, LIST and page alternated",
        flags.pods,
        cluster::NAMESPACE,
        flags.rounds
    );

    // warm-up: connections made, the dashboard's client for the token made
    cluster.list().await?;
    let first = measure::page(dashboard.addr(), &path, cluster::TOKEN).await?;
    let rows = first.body.matches(&format!("data-key=\"{}/", cluster::NAMESPACE)).count();
    anyhow::ensure!(rows >= flags.pods, "the page shows {rows} rows, not the {} pods", flags.pods);
    println!("the page: {} bytes of HTML, {rows} rows", first.body.len());

    let (mut lists, mut firsts, mut wholes) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..flags.rounds {
        lists.push(cluster.list().await?);
        let Timed { first_byte, whole, .. } = measure::page(dashboard.addr(), &path, cluster::TOKEN).await?;
        firsts.push(first_byte);
        wholes.push(whole);
    }
    let show = |name: &str, samples: &mut Vec<std::time::Duration>| {
        samples.sort();
        let ms = |q: f64| percentile(samples, q).as_secs_f64() * 1e3;
        println!("{name:<44} p50 {:>7.1} ms   p90 {:>7.1} ms   max {:>7.1} ms", ms(0.5), ms(0.9), ms(1.0));
    };
    show("baseline: gRPC LIST of the pods (API client)", &mut lists);
    show("dashboard: pods view, first byte", &mut firsts);
    show("dashboard: pods view, whole page", &mut wholes);
    let p50 = percentile(&wholes, 0.5).as_secs_f64() * 1e3;
    let base = percentile(&lists, 0.5).as_secs_f64() * 1e3;
    println!(
        "target: page load of {} pods < 300 ms: p50 {p50:.1} ms ({}); the page costs {:.1}x the LIST",
        flags.pods,
        if p50 < 300.0 { "met" } else { "NOT met" },
        p50 / base.max(f64::EPSILON)
    );
    dashboard.stop().await?;
    Ok(())
}
