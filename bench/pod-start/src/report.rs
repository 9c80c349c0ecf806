//! What a run found, and the table it prints: each baseline beside the pod
//! figure from the same run, the targets with met / not met, and (for
//! one-at-a-time runs) where the pod's start went.

use std::fmt::Write as _;
use std::time::Duration;

use crate::breakdown::Breakdown;
use crate::stats::{ms, Summary};
use crate::Options;

/// The targets.
pub const TARGET_RATIO: f64 = 1.5;
pub const TARGET_P99: Duration = Duration::from_secs(2);

/// Every figure of one run.
#[derive(Clone, Debug)]
pub struct Report {
    pub options: Options,
    pub node: String,
    pub engine_version: String,
    /// `docker create` + `docker start` through the CLI, on Docker's default network
    pub cli: Summary,
    /// the same, with `--network` the pod network
    pub cli_pod_network: Summary,
    /// create + start of the same container through bollard
    pub bollard: Summary,
    /// a pause container and the app in its network, through bollard
    pub pod_like: Summary,
    /// the pause half of `pod_like`
    pub pause: Summary,
    /// create pod → Running
    pub pods: Summary,
    pub breakdown: Option<Breakdown>,
}

impl Report {
    /// pod p50 ÷ raw docker CLI p50 (Docker's default network).
    pub fn ratio(&self) -> f64 {
        ratio(self.pods.p50, self.cli.p50)
    }

    /// pod p50 ÷ raw docker CLI p50 on the pod network.
    pub fn ratio_on_pod_network(&self) -> f64 {
        ratio(self.pods.p50, self.cli_pod_network.p50)
    }

    /// The printed table.
    pub fn render(&self) -> String {
        let o = &self.options;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "pod-start: {} pods of capstan/test:1 `{}`, {} at a time; node {} on Docker {}, pod network `{}`",
            o.pods,
            o.workload.command().join(" "),
            o.parallel,
            self.node,
            self.engine_version,
            o.network()
        );
        let _ = writeln!(
            out,
            "each line after one unmeasured warm-up; measured in rounds of {} of each kind, back to back\n",
            o.parallel.max(1)
        );
        let _ = writeln!(out, "{:<58} {:>4} {:>9} {:>9} {:>9}", "what", "n", "p50 ms", "p99 ms", "max ms");
        let on_pod_network = format!("raw: the same with --network {} (CLI)", o.network());
        let rows = [
            ("raw: docker create + docker start (CLI)", &self.cli),
            (on_pod_network.as_str(), &self.cli_pod_network),
            ("raw: create + start via bollard", &self.bollard),
            ("raw: pause + app in its netns via bollard (a pod's two)", &self.pod_like),
            ("  of which the pause container (create + start, pod network)", &self.pause),
            ("capstan: create pod bound to the node -> phase Running", &self.pods),
        ];
        for (what, s) in rows {
            let _ = writeln!(out, "{what:<58} {:>4} {:>9} {:>9} {:>9}", s.n, ms(s.p50), ms(s.p99), ms(s.max));
        }
        let (plain, same_network) = (self.ratio(), self.ratio_on_pod_network());
        let pod_like = ratio(self.pods.p50, self.pod_like.p50);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "pod p50 / raw CLI p50 = {plain:.2}x   target <= {TARGET_RATIO}x: {}",
            met(plain <= TARGET_RATIO)
        );
        let _ = writeln!(
            out,
            "pod p50 / raw CLI p50 on the pod network = {same_network:.2}x   target <= {TARGET_RATIO}x: {}",
            met(same_network <= TARGET_RATIO)
        );
        let _ = writeln!(
            out,
            "pod p99 = {} ms           target < {} ms: {}",
            ms(self.pods.p99),
            TARGET_P99.as_millis(),
            met(self.pods.p99 < TARGET_P99)
        );
        let _ = writeln!(
            out,
            "(a pod also starts a pause sandbox: pod p50 / raw pause+app p50 = {pod_like:.2}x, for reference)"
        );
        if let Some(b) = &self.breakdown {
            render_breakdown(&mut out, b);
        }
        out
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE)
}

fn met(yes: bool) -> &'static str {
    if yes {
        "met"
    } else {
        "NOT met"
    }
}

fn render_breakdown(out: &mut String, b: &Breakdown) {
    let _ = writeln!(out, "\nwhere a pod's start goes (median over pods, ms after just before the create call):");
    for m in &b.milestones {
        let _ = writeln!(out, "  {:<48} {:>9}   ({} pods)", m.what, ms(m.median), m.pods);
    }
    let _ = writeln!(
        out,
        "\nruntime calls the shim served in each pod's window (create -> Running), failed ones included; the"
    );
    let _ = writeln!(
        out,
        "list calls include the node-wide 1 s relist ({:.0} calls/s over the measured phase):",
        b.calls_per_second
    );
    let _ = writeln!(out, "  {:<28} {:>10} {:>16}", "method", "calls/pod", "median ms/pod");
    for row in &b.methods {
        let _ = writeln!(out, "  {:<28} {:>10.1} {:>16}", row.method, row.calls_per_pod, ms(row.median_per_pod));
    }
    let _ = writeln!(
        out,
        "  inside runtime calls: {} ms; outside them (kubelet, API server, status write, watch): {} ms (medians per pod)",
        ms(b.in_runtime),
        ms(b.outside_runtime)
    );
}
