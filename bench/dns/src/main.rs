//! `capstan-bench-dns`: the same dnsperf load against capstan-dns and against
//! unbound serving the same records from a static local zone, alternated
//! round by round in one run; then the time from a Service's create until
//! capstan-dns resolves it. Targets are printed, never asserted.
//!
//! `capstan-bench-dns serve-dns URL PORT` is the capstan-dns child process.

mod cluster;
mod dnsperf;
mod error;
mod query;
mod unbound;

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use crate::error::BenchError;

#[derive(Parser, Debug)]
#[command(name = "capstan-bench-dns")]
struct Flags {
    /// Services in the catalogue (each queried in turn)
    #[arg(long, default_value_t = 200)]
    services: usize,
    /// seconds of dnsperf per target per run
    #[arg(long, default_value_t = 5)]
    duration_secs: u64,
    /// alternated rounds over both targets
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// dnsperf clients (sockets) in the throughput run
    #[arg(long, default_value_t = 4)]
    clients: u32,
    /// queries/s of the latency run (a rate both servers sustain)
    #[arg(long, default_value_t = 5000)]
    latency_rate: u32,
    /// Services created one by one, each timed until it resolves
    #[arg(long, default_value_t = 20)]
    new_services: usize,
    /// unbound's threads (capstan-dns uses one tokio worker per core)
    #[arg(long, default_value_t = 2)]
    unbound_threads: usize,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// run capstan-dns against the API server at URL on 127.0.0.1:PORT (the bench's child)
    ServeDns { server: String, port: u16 },
}

const ZONE: &str = "cluster.local.";

/// A UDP port on 127.0.0.1 free a moment ago (and its TCP twin, as both servers bind both).
pub fn free_udp_port() -> Result<u16, BenchError> {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").map_err(BenchError::io("a free port"))?;
        let port = udp.local_addr().map_err(BenchError::io("a free port"))?.port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    if let Some(Cmd::ServeDns { server, port }) = flags.command {
        cluster::serve(server, port).await?;
        return Ok(());
    }
    let cluster = cluster::Cluster::start().await?;
    let mut records = Vec::with_capacity(flags.services);
    for i in 0..flags.services {
        let name = format!("web-{i}");
        let ip = cluster.service(&name).await?;
        records.push((format!("{name}.default.svc.{ZONE}"), ip));
    }
    let scratch = tempfile::tempdir().map_err(BenchError::io("the bench's temp dir"))?;
    let queries = scratch.path().join("queries.txt");
    let mut file = std::fs::File::create(&queries).map_err(BenchError::io("queries.txt"))?;
    for (name, _) in &records {
        writeln!(file, "{name} A").map_err(BenchError::io("queries.txt"))?;
    }
    drop(file);

    let dns_port = free_udp_port()?;
    let _dns = cluster::spawn_dns(&cluster.url(), dns_port)?;
    let capstan = SocketAddr::from(([127, 0, 0, 1], dns_port));
    let unbound = unbound::Unbound::start(ZONE, &records, flags.unbound_threads).await?;
    let last = &records[records.len().saturating_sub(1)].0;
    query::wait_answering("capstan-dns", capstan, last).await?;
    query::wait_answering("unbound", unbound.address, last).await?;

    let duration = Duration::from_secs(flags.duration_secs);
    println!(
        "dnsperf: {} service names, {} s per run, {} clients; latency at {} q/s; unbound with {} threads",
        flags.services, flags.duration_secs, flags.clients, flags.latency_rate, flags.unbound_threads
    );
    let targets = [("capstan-dns", capstan), ("unbound (static local-zone)", unbound.address)];
    let mut qps: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut latencies: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 1..=flags.rounds {
        for (i, (name, address)) in targets.iter().enumerate() {
            let run = dnsperf::throughput(*address, &queries, duration, flags.clients).await?;
            let mut lat = dnsperf::latencies(*address, &queries, duration, flags.latency_rate).await?;
            println!(
                "round {round} {name:<28} {:>9.0} q/s (lost {})  at {} q/s: p50 {:>6.3} ms  p99 {:>6.3} ms",
                run.qps,
                run.lost,
                flags.latency_rate,
                dnsperf::percentile(&mut lat, 50.0) * 1e3,
                dnsperf::percentile(&mut lat, 99.0) * 1e3,
            );
            qps[i].push(run.qps);
            latencies[i].extend(lat);
        }
    }

    // a new Service, from just before its create to the first answer naming it
    let mut until_resolvable = Vec::with_capacity(flags.new_services);
    for i in 0..flags.new_services {
        let name = format!("new-{i}");
        let fqdn = format!("{name}.default.svc.{ZONE}");
        let started = Instant::now();
        let ip = cluster.service(&name).await?;
        loop {
            if query::resolve_a(capstan, &fqdn, Duration::from_millis(100)).await? == Some(ip) {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(BenchError::NotReady { target: "capstan-dns", name: fqdn, address: capstan }.into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        until_resolvable.push(started.elapsed().as_secs_f64());
    }

    let median = |v: &mut Vec<f64>| dnsperf::percentile(v, 50.0);
    let capstan_qps = median(&mut qps[0]);
    let unbound_qps = median(&mut qps[1]);
    let ratio = capstan_qps / unbound_qps;
    let capstan_p99 = dnsperf::percentile(&mut latencies[0], 99.0) * 1e3;
    let unbound_p99 = dnsperf::percentile(&mut latencies[1], 99.0) * 1e3;
    let resolvable_p50 = dnsperf::percentile(&mut until_resolvable, 50.0) * 1e3;
    let resolvable_max = dnsperf::percentile(&mut until_resolvable, 100.0) * 1e3;
    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    println!();
    println!("summary (medians over {} rounds)", flags.rounds);
    println!("  capstan-dns {capstan_qps:>9.0} q/s   unbound {unbound_qps:>9.0} q/s   ratio {ratio:.2}");
    println!("  p99 at {} q/s: capstan-dns {capstan_p99:.3} ms   unbound {unbound_p99:.3} ms", flags.latency_rate);
    println!(
        "  new Service resolvable after: p50 {resolvable_p50:.1} ms  max {resolvable_max:.1} ms ({} Services)",
        flags.new_services
    );
    println!("targets");
    println!("  queries/s >= 0.8x unbound's:      {:.2}x  {}", ratio, met(ratio >= 0.8));
    println!("  p99 < 2 ms:                       {capstan_p99:.3} ms  {}", met(capstan_p99 < 2.0));
    println!("  new Service resolvable within 1 s: {resolvable_max:.1} ms  {}", met(resolvable_max < 1000.0));
    Ok(())
}
