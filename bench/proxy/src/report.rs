//! Aggregates the rounds (medians) and prints figures, ratios and targets.

use crate::wrk::WrkResult;

/// One target's figures over all rounds.
#[derive(Debug, Default)]
pub struct Series {
    pub name: &'static str,
    pub wrk: Vec<WrkResult>,
    pub connect_p50_us: Vec<f64>,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

impl Series {
    fn rps(&self) -> f64 {
        median(self.wrk.iter().map(|w| w.requests_per_sec).collect())
    }
    fn p50_us(&self) -> f64 {
        median(self.wrk.iter().map(|w| w.p50.as_secs_f64() * 1e6).collect())
    }
    fn p99_us(&self) -> f64 {
        median(self.wrk.iter().map(|w| w.p99.as_secs_f64() * 1e6).collect())
    }
    fn connect_us(&self) -> f64 {
        median(self.connect_p50_us.clone())
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

/// Prints the table; `series` is direct, haproxy, then the capstan modes.
pub fn print(series: &[Series], rounds: usize) {
    println!("\n== wrk (median of {rounds} alternated rounds) ==");
    println!("{:<22} {:>12} {:>10} {:>10} {:>16}", "target", "req/s", "p50 µs", "p99 µs", "connect p50 µs");
    for s in series {
        println!("{:<22} {:>12.0} {:>10.0} {:>10.0} {:>16.1}", s.name, s.rps(), s.p50_us(), s.p99_us(), s.connect_us());
    }
    let (Some(direct), Some(haproxy)) = (series.first(), series.get(1)) else { return };
    println!("\n== ratios ==");
    println!("haproxy vs direct: req/s {:.2}x", haproxy.rps() / direct.rps());
    println!("haproxy added connection latency at p50: {:.1} µs", haproxy.connect_us() - direct.connect_us());
    for s in &series[2..] {
        let rps = s.rps() / haproxy.rps();
        let p99 = s.p99_us() / haproxy.p99_us();
        let added = s.connect_us() - direct.connect_us();
        println!("{}:", s.name);
        println!("  req/s vs haproxy   {:>6.2}x  (target >= 0.90: {})", rps, verdict(rps >= 0.90));
        println!("  p99 vs haproxy     {:>6.2}x  (target <= 1.20: {})", p99, verdict(p99 <= 1.20));
        println!("  req/s vs direct    {:>6.2}x", s.rps() / direct.rps());
        println!("  added connection latency at p50 {:>7.1} µs  (target < 100: {})", added, verdict(added < 100.0));
    }
}
