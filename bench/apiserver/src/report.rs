//! The figures a run produced, and the table they are printed as.
//!
//! Every API figure is printed on the same line as its baseline from the same run (the
//! raw backend's puts at the same concurrency), with their ratio; the targets are
//! printed beside the figures with whether this run met them — information, never an
//! assertion.

use std::fmt::Write as _;
use std::time::Duration;

use crate::cpu::CpuUse;
use crate::Backend;

/// The API server should reach at least this share of etcd's own puts/s at the highest
/// concurrency.
pub const TARGET_RATIO: f64 = 0.5;
/// Every watch should see a change within this long.
pub const TARGET_FANOUT: Duration = Duration::from_millis(100);

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub backends: Vec<BackendReport>,
}

#[derive(Debug, Clone)]
pub struct BackendReport {
    pub backend: Backend,
    pub points: Vec<Point>,
    pub fanout: Option<FanoutReport>,
    /// the REST face's JSON creates beside the gRPC ones: (concurrency, gRPC, REST)
    pub rest: Vec<(usize, LoadStats, LoadStats)>,
    /// the 1,000-pod LIST as a Table and as JSON
    pub list: Option<crate::rest::ListReport>,
}

/// One concurrency level: the raw store beside the API server.
#[derive(Debug, Clone)]
pub struct Point {
    pub concurrency: usize,
    pub raw: LoadStats,
    /// etcd only: the store's own create transaction (compare, then put)
    pub create_txn: Option<LoadStats>,
    pub api: LoadStats,
}

/// A closed-loop load's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadStats {
    /// Requests completed in the measured window.
    pub ops: u64,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    /// Who used the CPU during the window.
    pub cpu: CpuUse,
}

impl LoadStats {
    pub fn per_sec(&self) -> f64 {
        match self.elapsed.as_secs_f64() {
            secs if secs > 0.0 => self.ops as f64 / secs,
            _ => 0.0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FanoutReport {
    pub watchers: usize,
    pub rounds: Vec<FanoutRound>,
}

/// One change fanned out: the create's own latency and, over all watches, when they saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FanoutRound {
    pub create: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl FanoutRound {
    /// Summarizes per-watch latencies (from just before the create to the event's arrival).
    pub fn new(create: Duration, mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        FanoutRound {
            create,
            p50: quantile(&latencies, 0.50),
            p99: quantile(&latencies, 0.99),
            max: latencies.last().copied().unwrap_or_default(),
        }
    }
}

impl FanoutReport {
    /// The round whose max is the median of the rounds' maxes.
    pub fn median_round(&self) -> Option<FanoutRound> {
        let mut rounds = self.rounds.clone();
        rounds.sort_by_key(|r| r.max);
        rounds.get(rounds.len().saturating_sub(1) / 2).copied()
    }
}

/// The value at `q` of sorted `values` (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Report {
    /// The table, the targets and the fan-out rounds, as printed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<9} {:>5} {:>11} {:>14} {:>6} {:>11} {:>11} {:>11} {:>11}",
            "backend",
            "conc",
            "raw puts/s",
            "api creates/s",
            "ratio",
            "raw p50 ms",
            "raw p99 ms",
            "api p50 ms",
            "api p99 ms"
        );
        for backend in &self.backends {
            for p in &backend.points {
                let ratio = match p.raw.per_sec() {
                    raw if raw > 0.0 => p.api.per_sec() / raw,
                    _ => 0.0,
                };
                let _ = writeln!(
                    out,
                    "{:<9} {:>5} {:>11.0} {:>14.0} {:>6.2} {:>11.2} {:>11.2} {:>11.2} {:>11.2}",
                    backend.backend.name(),
                    p.concurrency,
                    p.raw.per_sec(),
                    p.api.per_sec(),
                    ratio,
                    ms(p.raw.p50),
                    ms(p.raw.p99),
                    ms(p.api.p50),
                    ms(p.api.p99),
                );
            }
        }
        for backend in &self.backends {
            render_ratio_target(&mut out, backend);
        }
        render_cpu(&mut out, &self.backends);
        for backend in &self.backends {
            if !backend.rest.is_empty() || backend.list.is_some() {
                let _ = write!(out, "{}: ", backend.backend.name());
                out.push_str(&crate::rest::render(&backend.rest, backend.list.as_ref()));
            }
        }
        for backend in &self.backends {
            if let Some(fanout) = &backend.fanout {
                render_fanout(&mut out, backend.backend, fanout);
            }
        }
        out
    }
}

/// The API/raw ratio at the highest concurrency, against the target.
fn render_ratio_target(out: &mut String, backend: &BackendReport) {
    let Some(top) = backend.points.iter().max_by_key(|p| p.concurrency) else {
        return;
    };
    let raw = top.raw.per_sec();
    let ratio = if raw > 0.0 { top.api.per_sec() / raw } else { 0.0 };
    let target = match backend.backend {
        Backend::Etcd if ratio >= TARGET_RATIO => format!("target >= {TARGET_RATIO:.2}: met"),
        Backend::Etcd => format!("target >= {TARGET_RATIO:.2}: not met"),
        Backend::Embedded => "no target: the issue sets one for etcd".to_string(),
    };
    let _ = writeln!(
        out,
        "{} at concurrency {}: API creates/s / raw puts/s = {ratio:.2} ({target})",
        backend.backend.name(),
        top.concurrency,
    );
    if let Some(txn) = top.create_txn.filter(|t| t.per_sec() > 0.0) {
        let _ = writeln!(
            out,
            "{} at concurrency {}: the store's own create transaction {:.0}/s = {:.2} x raw puts; \
             API creates/s / store creates/s = {:.2}",
            backend.backend.name(),
            top.concurrency,
            txn.per_sec(),
            if raw > 0.0 { txn.per_sec() / raw } else { 0.0 },
            top.api.per_sec() / txn.per_sec(),
        );
    }
}

/// CPU per component during each window, in % of one core.
fn render_cpu(out: &mut String, backends: &[BackendReport]) {
    let _ = writeln!(
        out,
        "CPU during each window, % of one core (client = load generator; store = etcd process or \
         embedded writer thread; other = the rest of the machine, e.g. other processes):"
    );
    let _ = writeln!(
        out,
        "{:<9} {:>5}  {:<5} {:>7} {:>10} {:>7} {:>7} {:>7}",
        "backend", "conc", "load", "client", "apiserver", "store", "other", "total"
    );
    for backend in backends {
        for p in &backend.points {
            for (load, stats) in [("raw", &p.raw), ("api", &p.api)] {
                let c = stats.cpu;
                let _ = writeln!(
                    out,
                    "{:<9} {:>5}  {:<5} {:>7.0} {:>10.0} {:>7.0} {:>7.0} {:>7.0}",
                    backend.backend.name(),
                    p.concurrency,
                    load,
                    c.client * 100.0,
                    c.server * 100.0,
                    c.store * 100.0,
                    c.other * 100.0,
                    (c.client + c.server + c.store + c.other) * 100.0,
                );
            }
        }
    }
}

fn render_fanout(out: &mut String, backend: Backend, fanout: &FanoutReport) {
    let _ = writeln!(out, "watch fan-out ({} watchers, {backend}):", fanout.watchers);
    for (index, round) in fanout.rounds.iter().enumerate() {
        let _ = writeln!(
            out,
            "  round {}: create {:.2} ms  p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
            index + 1,
            ms(round.create),
            ms(round.p50),
            ms(round.p99),
            ms(round.max),
        );
    }
    if let Some(median) = fanout.median_round() {
        let verdict = if median.max <= TARGET_FANOUT { "met" } else { "not met" };
        let _ = writeln!(
            out,
            "watch fan-out ({} watchers, {backend}), median round: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  (target: all within {} ms: {verdict})",
            fanout.watchers,
            ms(median.p50),
            ms(median.p99),
            ms(median.max),
            TARGET_FANOUT.as_millis(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let round = FanoutRound::new(Duration::ZERO, values);
        assert_eq!(round.p50, Duration::from_millis(50));
        assert_eq!(round.p99, Duration::from_millis(99));
        assert_eq!(round.max, Duration::from_millis(100));
        assert_eq!(FanoutRound::new(Duration::ZERO, Vec::new()).max, Duration::ZERO);
    }

    #[test]
    fn the_median_round_is_the_median_of_maxes() {
        let round = |max| FanoutRound {
            create: Duration::ZERO,
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            max: Duration::from_millis(max),
        };
        let report = FanoutReport { watchers: 3, rounds: vec![round(30), round(10), round(20)] };
        assert_eq!(report.median_round().map(|r| r.max), Some(Duration::from_millis(20)));
    }
}
