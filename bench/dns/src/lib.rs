//! `capstan-bench-dns`: the same dnsperf load against capstan-dns and against
//! unbound serving the same records from a static local zone, alternated
//! round by round in one run; then the time from a Service's create until
//! capstan-dns resolves it. Targets are printed, never asserted.
//!
//! The logic is here so that a smoke test runs it briefly in CI (figures
//! exist, no speed asserted); `main.rs` parses the flags. capstan-dns runs as
//! a child process (the binary's `serve-dns`), so that it has a runtime of its
//! own as unbound has its own process.

pub mod cluster;
mod dnsperf;
pub mod error;
mod query;
mod unbound;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use crate::error::BenchError;

pub const ZONE: &str = "cluster.local.";

/// What one run does.
#[derive(Debug, Clone)]
pub struct Options {
    /// Services in the catalogue (each queried in turn)
    pub services: usize,
    /// dnsperf's time per target per run
    pub duration: Duration,
    /// alternated rounds over both targets
    pub rounds: usize,
    /// dnsperf clients (sockets) in the throughput run
    pub clients: u32,
    /// queries/s of the latency run (a rate both servers sustain)
    pub latency_rate: u32,
    /// Services created one by one, each timed until it resolves
    pub new_services: usize,
    /// unbound's threads (capstan-dns uses one tokio worker per core)
    pub unbound_threads: usize,
    /// the `capstan-bench-dns` binary, whose `serve-dns` runs capstan-dns
    pub bench_binary: PathBuf,
}

impl Options {
    /// A run of a few seconds, for the smoke test: every figure, none meaningful.
    pub fn quick(bench_binary: PathBuf) -> Options {
        Options {
            services: 10,
            duration: Duration::from_secs(1),
            rounds: 1,
            clients: 1,
            latency_rate: 200,
            new_services: 2,
            unbound_threads: 1,
            bench_binary,
        }
    }
}

/// One target's figures in one round.
#[derive(Debug, Clone)]
pub struct Round {
    pub round: usize,
    pub target: &'static str,
    pub qps: f64,
    pub lost: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub options: Options,
    pub rounds: Vec<Round>,
    /// medians over the rounds
    pub capstan_qps: f64,
    pub unbound_qps: f64,
    /// over every latency sample of the run
    pub capstan_p99_ms: f64,
    pub unbound_p99_ms: f64,
    pub resolvable_p50_ms: f64,
    pub resolvable_max_ms: f64,
}

pub const CAPSTAN: &str = "capstan-dns";
pub const UNBOUND: &str = "unbound (static local-zone)";

/// Runs the benchmark: an API server with the Services, capstan-dns and
/// unbound answering the same names, dnsperf against both.
pub async fn run(options: &Options) -> Result<Report, BenchError> {
    let cluster = cluster::Cluster::start().await?;
    let mut records = Vec::with_capacity(options.services);
    for i in 0..options.services {
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
    let _dns = cluster::spawn_dns(&options.bench_binary, &cluster.url(), dns_port)?;
    let capstan = SocketAddr::from(([127, 0, 0, 1], dns_port));
    let unbound = unbound::Unbound::start(ZONE, &records, options.unbound_threads).await?;
    let last = &records[records.len().saturating_sub(1)].0;
    query::wait_answering(CAPSTAN, capstan, last).await?;
    query::wait_answering("unbound", unbound.address, last).await?;

    let targets = [(CAPSTAN, capstan), (UNBOUND, unbound.address)];
    let mut rounds = Vec::new();
    let mut qps: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut latencies: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 1..=options.rounds {
        for (i, (target, address)) in targets.iter().enumerate() {
            let run = dnsperf::throughput(*address, &queries, options.duration, options.clients).await?;
            let mut lat = dnsperf::latencies(*address, &queries, options.duration, options.latency_rate).await?;
            rounds.push(Round {
                round,
                target,
                qps: run.qps,
                lost: run.lost,
                p50_ms: dnsperf::percentile(&mut lat, 50.0) * 1e3,
                p99_ms: dnsperf::percentile(&mut lat, 99.0) * 1e3,
            });
            qps[i].push(run.qps);
            latencies[i].extend(lat);
        }
    }

    // a new Service, from just before its create to the first answer naming it
    let mut until_resolvable = Vec::with_capacity(options.new_services);
    for i in 0..options.new_services {
        let name = format!("new-{i}");
        let fqdn = format!("{name}.default.svc.{ZONE}");
        let started = Instant::now();
        let ip = cluster.service(&name).await?;
        loop {
            if query::resolve_a(capstan, &fqdn, Duration::from_millis(100)).await? == Some(ip) {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(BenchError::NotReady { target: CAPSTAN, name: fqdn, address: capstan });
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        until_resolvable.push(started.elapsed().as_secs_f64());
    }

    let [capstan_qps, unbound_qps] = qps.map(|mut v| dnsperf::percentile(&mut v, 50.0));
    let [capstan_p99_ms, unbound_p99_ms] = latencies.map(|mut v| dnsperf::percentile(&mut v, 99.0) * 1e3);
    Ok(Report {
        options: options.clone(),
        rounds,
        capstan_qps,
        unbound_qps,
        capstan_p99_ms,
        unbound_p99_ms,
        resolvable_p50_ms: dnsperf::percentile(&mut until_resolvable.clone(), 50.0) * 1e3,
        resolvable_max_ms: dnsperf::percentile(&mut until_resolvable, 100.0) * 1e3,
    })
}

impl Report {
    /// capstan-dns's queries/s over unbound's.
    pub fn ratio(&self) -> f64 {
        self.capstan_qps / self.unbound_qps
    }

    /// The run as the bench prints it: the setting, each round, the summary
    /// and the targets.
    pub fn render(&self) -> String {
        let o = &self.options;
        let mut out = format!(
            "dnsperf: {} service names, {} s per run, {} clients; latency at {} q/s; unbound with {} threads\n",
            o.services,
            o.duration.as_secs_f64(),
            o.clients,
            o.latency_rate,
            o.unbound_threads
        );
        for r in &self.rounds {
            out += &format!(
                "round {} {:<28} {:>9.0} q/s (lost {})  at {} q/s: p50 {:>6.3} ms  p99 {:>6.3} ms\n",
                r.round, r.target, r.qps, r.lost, o.latency_rate, r.p50_ms, r.p99_ms
            );
        }
        let ratio = self.ratio();
        let met = |ok: bool| if ok { "met" } else { "MISSED" };
        out += &format!("\nsummary (medians over {} rounds)\n", o.rounds);
        out += &format!(
            "  capstan-dns {:>9.0} q/s   unbound {:>9.0} q/s   ratio {ratio:.2}\n",
            self.capstan_qps, self.unbound_qps
        );
        out += &format!(
            "  p99 at {} q/s: capstan-dns {:.3} ms   unbound {:.3} ms\n",
            o.latency_rate, self.capstan_p99_ms, self.unbound_p99_ms
        );
        out += &format!(
            "  new Service resolvable after: p50 {:.1} ms  max {:.1} ms ({} Services)\n",
            self.resolvable_p50_ms, self.resolvable_max_ms, o.new_services
        );
        out += "targets\n";
        out += &format!("  queries/s >= 0.8x unbound's:      {ratio:.2}x  {}\n", met(ratio >= 0.8));
        out += &format!(
            "  p99 < 2 ms:                       {:.3} ms  {}\n",
            self.capstan_p99_ms,
            met(self.capstan_p99_ms < 2.0)
        );
        out += &format!(
            "  new Service resolvable within 1 s: {:.1} ms  {}\n",
            self.resolvable_max_ms,
            met(self.resolvable_max_ms < 1000.0)
        );
        out
    }
}

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
