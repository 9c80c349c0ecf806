//! Where a pod's start went, measured: for each pod (created one at a time),
//! the runtime calls the shim served between the create call and the watch
//! seeing Running, as milestones from the create call and as time per method.
//! Whatever lies outside runtime calls is the kubelet, the API server and the
//! watch (dispatch, decisions, the status write, event delivery).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::calls::{Call, CallLog};
use crate::pods::PodSample;
use crate::stats::median;

/// One milestone: its median offset from just before the create call.
#[derive(Clone, Debug)]
pub struct Milestone {
    pub what: &'static str,
    pub median: Duration,
    /// how many pods had it
    pub pods: usize,
}

/// Time spent in one runtime method per pod.
#[derive(Clone, Debug)]
pub struct MethodRow {
    pub method: String,
    pub calls_per_pod: f64,
    pub median_per_pod: Duration,
}

/// When, for one pod and the calls in its window, a milestone happened.
type PointFn = dyn Fn(&PodSample, &[Call]) -> Option<Instant>;

/// The analysis of one sequential run.
#[derive(Clone, Debug)]
pub struct Breakdown {
    pub milestones: Vec<Milestone>,
    pub methods: Vec<MethodRow>,
    /// median per pod of the time inside at least one runtime call
    pub in_runtime: Duration,
    /// median per pod of the rest: kubelet, API server, watch
    pub outside_runtime: Duration,
    /// runtime calls per second over the whole measured phase (every pod's,
    /// including the periodic resyncs of the pods already running)
    pub calls_per_second: f64,
}

/// Analyses `samples` (taken one at a time) against the shim's call log.
pub fn analyse(samples: &[PodSample], log: &CallLog) -> Breakdown {
    let windows: Vec<(&PodSample, Vec<Call>)> = samples.iter().map(|s| (s, log.between(s.start, s.running))).collect();
    // the first call of `method` that succeeded (failed attempts are retried)
    let first = |calls: &[Call], method: &str| calls.iter().find(|c| c.method == method && c.ok).cloned();
    let points: [(&'static str, Box<PointFn>); 9] = [
        ("create call returned", Box::new(|s, _| Some(s.created))),
        ("ADDED seen by the bench's watch", Box::new(|s, _| s.added)),
        (
            "RunPodSandbox begins (the kubelet has decided)",
            Box::new(move |_, c| first(c, "RunPodSandbox").map(|c| c.start)),
        ),
        ("RunPodSandbox ends (pause container up)", Box::new(move |_, c| first(c, "RunPodSandbox").map(|c| c.end))),
        ("CreateContainer begins", Box::new(move |_, c| first(c, "CreateContainer").map(|c| c.start))),
        ("CreateContainer ends", Box::new(move |_, c| first(c, "CreateContainer").map(|c| c.end))),
        ("StartContainer ends (app container up)", Box::new(move |_, c| first(c, "StartContainer").map(|c| c.end))),
        ("last runtime call ends", Box::new(|_, c| c.iter().map(|c| c.end).max())),
        ("phase Running seen by the bench's watch", Box::new(|s, _| Some(s.running))),
    ];
    let milestones = points
        .iter()
        .map(|(what, at)| {
            let offsets: Vec<Duration> = windows
                .iter()
                .filter_map(|(s, calls)| at(s, calls).map(|t| t.saturating_duration_since(s.start)))
                .collect();
            Milestone { what, median: median(&offsets), pods: offsets.len() }
        })
        .collect();
    let busy: Vec<Duration> = windows.iter().map(|(s, calls)| union(calls, s.running)).collect();
    let rest: Vec<Duration> = windows.iter().zip(&busy).map(|((s, _), b)| s.latency().saturating_sub(*b)).collect();
    let calls_per_second = match (samples.iter().map(|s| s.start).min(), samples.iter().map(|s| s.running).max()) {
        (Some(from), Some(to)) if to > from => log.between(from, to).len() as f64 / (to - from).as_secs_f64(),
        _ => 0.0,
    };
    Breakdown {
        milestones,
        methods: methods(&windows),
        in_runtime: median(&busy),
        outside_runtime: median(&rest),
        calls_per_second,
    }
}

fn methods(windows: &[(&PodSample, Vec<Call>)]) -> Vec<MethodRow> {
    let mut per_method: BTreeMap<String, (usize, Vec<Duration>)> = BTreeMap::new();
    for (index, (_, calls)) in windows.iter().enumerate() {
        for call in calls {
            let (count, totals) = per_method.entry(call.method.clone()).or_default();
            *count += 1;
            totals.resize(windows.len(), Duration::ZERO);
            totals[index] += call.end.saturating_duration_since(call.start);
        }
    }
    let pods = windows.len().max(1) as f64;
    let mut rows: Vec<MethodRow> = per_method
        .into_iter()
        .map(|(method, (count, totals))| MethodRow {
            method,
            calls_per_pod: count as f64 / pods,
            median_per_pod: median(&totals),
        })
        .collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.median_per_pod));
    rows
}

/// The time covered by at least one of `calls` (cut at `until`).
fn union(calls: &[Call], until: Instant) -> Duration {
    let mut spans: Vec<(Instant, Instant)> = calls.iter().map(|c| (c.start, c.end.min(until))).collect();
    spans.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (start, end) in spans {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += e.saturating_duration_since(s);
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(Duration::ZERO, |(s, e)| e.saturating_duration_since(s))
}
