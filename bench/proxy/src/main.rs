//! `capstan-bench-proxy`: the same `wrk` load sent directly to one backend,
//! through haproxy (`mode tcp`, `balance roundrobin`) and through
//! capstan-proxy in round-robin and random mode, alternated round by round;
//! then a new connection's added latency. Targets are printed, not asserted.
//!
//! With `--cluster-ip-interface NAME` (root), the round-robin Service is also
//! measured at its cluster IP, on the proxy's interface.
//!
//! `capstan-bench-proxy serve-proxy URL` is the proxy child process.

mod backend;
mod connect;
mod error;
mod haproxy;
mod proxy;
mod report;
mod wrk;

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::BenchError;
use crate::report::Series;

#[derive(Parser, Debug)]
#[command(name = "capstan-bench-proxy")]
struct Flags {
    /// seconds of wrk per target per round
    #[arg(long, default_value_t = 5)]
    duration_secs: u64,
    /// alternated rounds over all targets
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// wrk threads
    #[arg(long, default_value_t = 1)]
    threads: u32,
    /// wrk connections
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// connect+request+close samples per target per round
    #[arg(long, default_value_t = 1000)]
    connect_samples: usize,
    /// also measure the round-robin Service at its cluster IP, the proxy
    /// holding it on this interface (needs CAP_NET_ADMIN)
    #[arg(long)]
    cluster_ip_interface: Option<String>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// run capstan-proxy against the API server at URL (the bench's child)
    ServeProxy {
        server: String,
        #[arg(long)]
        cluster_ip_interface: Option<String>,
    },
}

/// A port on 127.0.0.1 free a moment ago.
pub async fn free_port() -> Result<SocketAddr, BenchError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(BenchError::io("free port"))?;
    listener.local_addr().map_err(BenchError::io("free port"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    if let Some(Cmd::ServeProxy { server, cluster_ip_interface }) = flags.command {
        proxy::serve(server, cluster_ip_interface).await?;
        return Ok(());
    }
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let backends = backend::start(3, &mut tasks, &stop).await?;
    let haproxy = haproxy::Haproxy::start(&backends).await?;
    let capstan = proxy::CapstanProxy::start(&backends, flags.cluster_ip_interface.as_deref()).await?;
    let mut targets: Vec<(&'static str, SocketAddr)> = vec![
        ("direct (one backend)", backends[0]),
        ("haproxy roundrobin", haproxy.address),
        ("capstan round-robin", capstan.round_robin),
        ("capstan random", capstan.random),
    ];
    if flags.cluster_ip_interface.is_some() {
        targets.push(("capstan rr clusterIP", capstan.round_robin_cluster_ip));
    }
    for &(name, address) in &targets {
        connect::ready(name, address).await?;
    }
    println!(
        "wrk -t{} -c{} -d{}s, {} rounds, 3 HTTP backends on loopback",
        flags.threads, flags.connections, flags.duration_secs, flags.rounds
    );
    let mut series: Vec<Series> = targets.iter().map(|(name, _)| Series { name, ..Default::default() }).collect();
    for round in 1..=flags.rounds {
        for ((name, address), s) in targets.iter().zip(series.iter_mut()) {
            let result =
                wrk::run(*address, flags.threads, flags.connections, Duration::from_secs(flags.duration_secs)).await?;
            let connect = connect::p50_micros(*address, flags.connect_samples).await?;
            println!(
                "round {round} {name:<22} {:>9.0} req/s  p50 {:>7.0} µs  p99 {:>7.0} µs  connect p50 {:>6.1} µs",
                result.requests_per_sec,
                result.p50.as_secs_f64() * 1e6,
                result.p99.as_secs_f64() * 1e6,
                connect
            );
            s.wrk.push(result);
            s.connect_p50_us.push(connect);
        }
    }
    report::print(&series, flags.rounds);
    stop.cancel();
    while tasks.join_next().await.is_some() {}
    Ok(())
}
