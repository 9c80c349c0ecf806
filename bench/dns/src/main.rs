//! `capstan-bench-dns`: the flags, then [`capstan_bench_dns::run`].
//! `capstan-bench-dns serve-dns URL PORT` is the capstan-dns child process.

use std::time::Duration;

use capstan_bench_dns::Options;
use clap::{Parser, Subcommand};

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    if let Some(Cmd::ServeDns { server, port }) = flags.command {
        capstan_bench_dns::cluster::serve(server, port).await?;
        return Ok(());
    }
    let options = Options {
        services: flags.services,
        duration: Duration::from_secs(flags.duration_secs),
        rounds: flags.rounds,
        clients: flags.clients,
        latency_rate: flags.latency_rate,
        new_services: flags.new_services,
        unbound_threads: flags.unbound_threads,
        bench_binary: std::env::current_exe()?,
    };
    let report = capstan_bench_dns::run(&options).await?;
    print!("{}", report.render());
    Ok(())
}
