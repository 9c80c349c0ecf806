//! How many replicas one resource metric asks for, computed as Kubernetes'
//! replica calculator does.
//!
//! The ratio of usage to target decides: within a 10 % tolerance of 1 the
//! count stays; otherwise it is the ready pods' count times the ratio,
//! rounded up. Pods without a metric, and pods not ready yet, must not tip
//! the result: on a second pass a missing pod counts as using its whole
//! request (or the target, if higher) when scaling down and nothing when
//! scaling up, an unready pod counts as using nothing when scaling up, and
//! if that pass flips the direction or lands within tolerance the count
//! stays. Units are thousandths (millicores; bytes × 1000) throughout.

/// How far from the target usage may drift before the count changes.
pub const TOLERANCE: f64 = 0.1;

/// One pod of the scale target, as the calculator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSample {
    pub name: String,
    /// deleting or failed: left out entirely
    pub ignored: bool,
    /// pending, or (for CPU) not Ready: its usage is not yet representative
    pub unready: bool,
    /// the sum of its containers' requests of the resource (thousandths);
    /// `Err(container)` names a container that requests none
    pub request: Result<i64, String>,
    /// measured usage (thousandths), if any
    pub usage: Option<i64>,
}

/// What the metric drives usage towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// percent of the pods' requests, averaged
    Utilization(i32),
    /// an average per pod, in thousandths
    AverageValue(i64),
}

/// One metric's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recommendation {
    pub replicas: i32,
    /// current average utilization (percent of request), for `Utilization` targets
    pub utilization: Option<i32>,
    /// current average usage per pod, in thousandths
    pub average: i64,
}

/// Why no count could be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalcError {
    #[error("no pods returned by selector while calculating replica count")]
    NoPods,
    #[error("missing request for {resource} in container {container} of Pod {pod}")]
    MissingRequest { resource: String, container: String, pod: String },
    #[error("did not receive metrics for targeted pods (pods might be unready)")]
    NoMetrics,
    #[error("the target utilization must be positive, not {0}")]
    BadTarget(i64),
}

/// The replica count `pods` ask for under `target`, from `current` replicas.
pub fn desired_replicas(
    resource: &str,
    current: i32,
    pods: &[PodSample],
    target: Target,
) -> Result<Recommendation, CalcError> {
    if pods.is_empty() {
        return Err(CalcError::NoPods);
    }
    let target_value = match target {
        Target::Utilization(t) => i64::from(t),
        Target::AverageValue(v) => v,
    };
    if target_value <= 0 {
        return Err(CalcError::BadTarget(target_value));
    }
    // (usage, request) of each pod that counts
    let mut requests = Vec::with_capacity(pods.len());
    for pod in pods {
        match (&pod.request, target) {
            (Err(container), Target::Utilization(_)) => {
                return Err(CalcError::MissingRequest {
                    resource: resource.into(),
                    container: container.clone(),
                    pod: pod.name.clone(),
                })
            }
            (Ok(request), _) => requests.push(*request),
            (Err(_), Target::AverageValue(_)) => requests.push(0),
        }
    }
    let mut measured: Vec<(i64, i64)> = Vec::new();
    let (mut missing, mut unready) = (Vec::new(), Vec::new());
    for (pod, request) in pods.iter().zip(&requests) {
        if pod.ignored {
            continue;
        }
        match pod.usage {
            _ if pod.unready => unready.push(*request),
            None => missing.push(*request),
            Some(usage) => measured.push((usage, *request)),
        }
    }
    if measured.is_empty() {
        return Err(CalcError::NoMetrics);
    }
    let ready = measured.len();
    let first = ratio(&measured, target, target_value)?;
    let answer = |replicas: i32| Recommendation { replicas, utilization: first.utilization, average: first.average };
    let scale_up_with_unready = !unready.is_empty() && first.ratio > 1.0;
    if !scale_up_with_unready && missing.is_empty() {
        if (1.0 - first.ratio).abs() <= TOLERANCE {
            return Ok(answer(current));
        }
        return Ok(answer(ceil(first.ratio * ready as f64)));
    }
    // Second pass: assume the worst for the direction the measured pods point.
    let mut assumed = measured.clone();
    if first.ratio < 1.0 {
        for request in &missing {
            let fallback = match target {
                // a whole request, or the target when it is above 100 %
                Target::Utilization(t) => request * i64::from(t.max(100)) / 100,
                Target::AverageValue(v) => v,
            };
            assumed.push((fallback, *request));
        }
    } else if first.ratio > 1.0 {
        assumed.extend(missing.iter().map(|request| (0, *request)));
    }
    if scale_up_with_unready {
        assumed.extend(unready.iter().map(|request| (0, *request)));
    }
    let second = ratio(&assumed, target, target_value)?.ratio;
    let flipped = (first.ratio < 1.0 && second > 1.0) || (first.ratio > 1.0 && second < 1.0);
    if (1.0 - second).abs() <= TOLERANCE || flipped {
        return Ok(answer(current));
    }
    let replicas = ceil(second * assumed.len() as f64);
    if (second < 1.0 && replicas > current) || (second > 1.0 && replicas < current) {
        return Ok(answer(current));
    }
    Ok(answer(replicas))
}

struct Ratio {
    ratio: f64,
    utilization: Option<i32>,
    average: i64,
}

/// Usage over target for `(usage, request)` pairs; utilization is truncated
/// to a whole percent first, as Kubernetes does.
fn ratio(pairs: &[(i64, i64)], target: Target, target_value: i64) -> Result<Ratio, CalcError> {
    let usage: i64 = pairs.iter().map(|(u, _)| *u).sum();
    let count = i64::try_from(pairs.len()).unwrap_or(i64::MAX).max(1);
    let average = usage / count;
    match target {
        Target::Utilization(_) => {
            let requested: i64 = pairs.iter().map(|(_, r)| *r).sum();
            if requested <= 0 {
                return Err(CalcError::NoMetrics);
            }
            let utilization = i32::try_from(usage.saturating_mul(100) / requested).unwrap_or(i32::MAX);
            Ok(Ratio { ratio: f64::from(utilization) / target_value as f64, utilization: Some(utilization), average })
        }
        Target::AverageValue(_) => {
            Ok(Ratio { ratio: average as f64 / target_value as f64, utilization: None, average })
        }
    }
}

fn ceil(value: f64) -> i32 {
    let rounded = value.ceil();
    if rounded >= f64::from(i32::MAX) {
        i32::MAX
    } else {
        rounded as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pod requesting 1000m: `usage` in millicores, or missing.
    fn pod(name: &str, usage: Option<i64>) -> PodSample {
        PodSample { name: name.into(), ignored: false, unready: false, request: Ok(1000), usage }
    }

    fn unready(mut p: PodSample) -> PodSample {
        p.unready = true;
        p
    }

    fn ignored(mut p: PodSample) -> PodSample {
        p.ignored = true;
        p
    }

    fn replicas(current: i32, pods: Vec<PodSample>, target: Target) -> Result<i32, CalcError> {
        desired_replicas("cpu", current, &pods, target).map(|r| r.replicas)
    }

    #[test]
    fn utilization_table() {
        use Target::Utilization as U;
        let cases: Vec<(&str, i32, Vec<PodSample>, Target, i32)> = vec![
            ("on target", 2, vec![pod("a", Some(500)), pod("b", Some(500))], U(50), 2),
            ("within 10 % above", 2, vec![pod("a", Some(540)), pod("b", Some(540))], U(50), 2),
            ("within 10 % below", 2, vec![pod("a", Some(460)), pod("b", Some(460))], U(50), 2),
            ("just past tolerance", 2, vec![pod("a", Some(560)), pod("b", Some(560))], U(50), 3),
            ("double the target doubles", 2, vec![pod("a", Some(1000)), pod("b", Some(1000))], U(50), 4),
            ("rounds up", 3, vec![pod("a", Some(700)), pod("b", Some(700)), pod("c", Some(700))], U(50), 5),
            (
                "quiet pods scale down",
                4,
                vec![pod("a", Some(100)), pod("b", Some(100)), pod("c", Some(100)), pod("d", Some(100))],
                U(80),
                1,
            ),
            ("counts ready pods, not the spec", 5, vec![pod("a", Some(1000)), pod("b", Some(1000))], U(50), 4),
        ];
        for (name, current, pods, target, want) in cases {
            assert_eq!(replicas(current, pods, target), Ok(want), "{name}");
        }
    }

    #[test]
    fn missing_metrics_never_tip_the_direction() {
        use Target::Utilization as U;
        // scale up: the missing pod counts as idle; 2000+0 over 2 pods at 50 % -> 2.0 -> 4
        assert_eq!(replicas(2, vec![pod("a", Some(2000)), pod("b", None)], U(50)), Ok(4));
        // scale down: the missing pod counts as its whole request; (0+1000)/2 = 50 % of 50 % -> 1.0: stays
        assert_eq!(replicas(2, vec![pod("a", Some(0)), pod("b", None)], U(50)), Ok(2));
        // down without the assumption would be 1; with it, 200+1000 over 3 requests at 80 % -> 0.5 -> 2
        assert_eq!(replicas(3, vec![pod("a", Some(100)), pod("b", Some(100)), pod("c", None)], U(80)), Ok(2));
        // a target above 100 % is the fallback instead: (0 + 1500) / 2 = 75 % of 150 % -> 0.5 -> 1
        assert_eq!(replicas(2, vec![pod("a", Some(0)), pod("b", None)], U(150)), Ok(1));
        // the assumption flips the direction: stay
        assert_eq!(replicas(2, vec![pod("a", Some(600)), pod("b", None)], U(50)), Ok(2));
    }

    #[test]
    fn unready_pods_count_as_idle_on_scale_up_only() {
        use Target::Utilization as U;
        // 1000m on one ready pod at 50 %: 2.0; with an idle unready pod: 1.0 -> stay
        assert_eq!(replicas(2, vec![pod("a", Some(1000)), unready(pod("b", Some(900)))], U(50)), Ok(2));
        // strong enough load still scales up: (3000 + 0) / 2 at 50 % = 3.0 -> 6
        assert_eq!(replicas(2, vec![pod("a", Some(3000)), unready(pod("b", None))], U(50)), Ok(6));
        // on a scale-down the unready pod is simply left out: 100/1000 at 50 % = 0.2 -> 1
        assert_eq!(replicas(2, vec![pod("a", Some(100)), unready(pod("b", Some(0)))], U(50)), Ok(1));
    }

    #[test]
    fn ignored_pods_and_errors() {
        use Target::Utilization as U;
        assert_eq!(replicas(3, vec![pod("a", Some(1000)), ignored(pod("b", Some(0)))], U(50)), Ok(2));
        assert_eq!(replicas(1, vec![], U(50)), Err(CalcError::NoPods));
        assert_eq!(replicas(1, vec![pod("a", None)], U(50)), Err(CalcError::NoMetrics));
        assert_eq!(replicas(1, vec![unready(pod("a", Some(5)))], U(50)), Err(CalcError::NoMetrics));
        let mut no_request = pod("a", Some(5));
        no_request.request = Err("app".into());
        let err = replicas(1, vec![no_request.clone()], U(50)).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("missing request for cpu in container app of Pod a"));
        assert_eq!(replicas(1, vec![no_request], Target::AverageValue(100)), Ok(1), "average values need no request");
        assert_eq!(replicas(1, vec![pod("a", Some(5))], U(0)), Err(CalcError::BadTarget(0)));
    }

    #[test]
    fn average_value_targets_and_reported_usage() {
        let r = desired_replicas("cpu", 2, &[pod("a", Some(300)), pod("b", Some(500))], Target::AverageValue(200));
        assert_eq!(r, Ok(Recommendation { replicas: 4, utilization: None, average: 400 }));
        let r = desired_replicas("cpu", 2, &[pod("a", Some(300)), pod("b", Some(500))], Target::Utilization(20));
        assert_eq!(r, Ok(Recommendation { replicas: 4, utilization: Some(40), average: 400 }));
        // missing on scale down: the target is the fallback -> (0 + 200) / 2 = 100 of 200 -> 0.5 -> 1
        assert_eq!(replicas(2, vec![pod("a", Some(0)), pod("b", None)], Target::AverageValue(200)), Ok(1));
    }
}
