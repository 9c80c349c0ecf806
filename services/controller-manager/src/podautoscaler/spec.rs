//! Reading an HPA and its pods into the plain values the calculation takes:
//! metric goals, normalization bounds, per-pod samples, and back again into
//! the status' conditions and metric figures.

use super::metrics::PodUsage;
use super::normalize::{Bounds, Policy, PolicyKind, Rules, Select};
use super::replicas::{PodSample, Recommendation, Target};
use capstan_proto::autoscaling::v2::{
    HorizontalPodAutoscalerCondition, HorizontalPodAutoscalerSpec, HpaScalingRules, MetricStatus, MetricValueStatus,
    ResourceMetricStatus,
};
use capstan_proto::core::v1::Pod;
use capstan_proto::meta::v1::{Quantity, Time};
use std::collections::HashMap;
use std::time::Duration;

/// One metric the HPA drives: a resource of the pods and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    pub resource: String,
    pub target: Target,
}

impl Goal {
    /// The metric's name in conditions and events, as Kubernetes words it.
    pub fn name(&self) -> String {
        match self.target {
            Target::Utilization(_) => format!("{} resource utilization (percentage of request)", self.resource),
            Target::AverageValue(_) => format!("{} resource", self.resource),
        }
    }

    /// The status figure of this metric.
    pub fn status(&self, recommendation: &Recommendation) -> MetricStatus {
        MetricStatus {
            r#type: "Resource".into(),
            resource: Some(ResourceMetricStatus {
                name: self.resource.clone(),
                current: Some(MetricValueStatus {
                    value: None,
                    average_value: Some(milli_quantity(recommendation.average)),
                    average_utilization: recommendation.utilization,
                }),
            }),
        }
    }
}

/// Each metric of the spec, or why it cannot be used.
pub fn goals(spec: &HorizontalPodAutoscalerSpec) -> Vec<Result<Goal, String>> {
    spec.metrics
        .iter()
        .map(|metric| {
            if metric.r#type != "Resource" {
                return Err(format!(
                    "metric type {:?} is not supported: Capstan scales on Resource metrics",
                    metric.r#type
                ));
            }
            let source = metric.resource.clone().unwrap_or_default();
            let target = source.target.unwrap_or_default();
            let target = match target.r#type.as_str() {
                "Utilization" => Target::Utilization(
                    target.average_utilization.ok_or("a Utilization target needs averageUtilization")?,
                ),
                "AverageValue" => Target::AverageValue(
                    target
                        .average_value
                        .ok_or("an AverageValue target needs averageValue")?
                        .to_milli()
                        .map_err(|e| e.to_string())?,
                ),
                other => {
                    return Err(format!("a Resource metric's target is Utilization or AverageValue, not {other:?}"))
                }
            };
            Ok(Goal { resource: source.name, target })
        })
        .collect()
}

/// Min, max and the stabilization and rate rules; `downscale_window` applies
/// where the HPA names no scale-down window.
pub fn bounds(spec: &HorizontalPodAutoscalerSpec, downscale_window: Duration) -> Bounds {
    let behavior = spec.behavior.as_ref().map(|b| {
        let up =
            rules(b.scale_up.as_ref(), Duration::ZERO, &[(PolicyKind::Pods, 4, 15), (PolicyKind::Percent, 100, 15)]);
        let down = rules(b.scale_down.as_ref(), downscale_window, &[(PolicyKind::Percent, 100, 15)]);
        (up, down)
    });
    Bounds { min: spec.min_replicas.unwrap_or(1), max: spec.max_replicas, behavior, downscale_window }
}

/// One direction's rules, with Kubernetes' defaults for what is left out.
fn rules(rules: Option<&HpaScalingRules>, window: Duration, policies: &[(PolicyKind, i32, u64)]) -> Rules {
    let given = rules.cloned().unwrap_or_default();
    let window = given
        .stabilization_window_seconds
        .map(|s| Duration::from_secs(s.max(0).unsigned_abs().into()))
        .unwrap_or(window);
    let select = match given.select_policy.as_deref() {
        Some("Min") => Select::Min,
        Some("Disabled") => Select::Disabled,
        _ => Select::Max,
    };
    let policies = if given.policies.is_empty() {
        policies
            .iter()
            .map(|(kind, value, period)| Policy { kind: *kind, value: *value, period: Duration::from_secs(*period) })
            .collect()
    } else {
        given
            .policies
            .iter()
            .map(|p| Policy {
                kind: if p.r#type == "Pods" { PolicyKind::Pods } else { PolicyKind::Percent },
                value: p.value,
                period: Duration::from_secs(p.period_seconds.max(0).unsigned_abs().into()),
            })
            .collect()
    };
    Rules { window, select, policies }
}

/// The calculator's view of each pod for `resource`, with `usage` by pod name.
pub fn samples(pods: &[&Pod], usage: &HashMap<String, PodUsage>, resource: &str) -> Vec<PodSample> {
    pods.iter()
        .map(|pod| {
            let meta = pod.metadata.as_ref().cloned().unwrap_or_default();
            let phase = pod.status.as_ref().map(|s| s.phase.as_str()).unwrap_or("");
            let ready = pod
                .status
                .as_ref()
                .is_some_and(|s| s.conditions.iter().any(|c| c.r#type == "Ready" && c.status == "True"));
            let figures = usage.get(&meta.name);
            PodSample {
                ignored: meta.deletion_timestamp.is_some() || phase == "Failed",
                unready: phase == "Pending" || phase.is_empty() || (resource == "cpu" && !ready),
                request: request(pod, resource),
                usage: figures.and_then(|u| if resource == "cpu" { u.cpu } else { u.memory }),
                name: meta.name,
            }
        })
        .collect()
}

/// The pod's request of `resource` in thousandths, or the first container
/// that requests none.
fn request(pod: &Pod, resource: &str) -> Result<i64, String> {
    let containers = pod.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or_default();
    let mut total = 0i64;
    for container in containers {
        let quantity = container.resources.as_ref().and_then(|r| r.requests.get(resource));
        let milli = quantity.and_then(|q| q.to_milli().ok()).ok_or_else(|| container.name.clone())?;
        total = total.saturating_add(milli);
    }
    Ok(total)
}

/// Sets a condition; its transition time moves only when its status does.
pub fn set_condition(
    conditions: &mut Vec<HorizontalPodAutoscalerCondition>,
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
    now: Time,
) {
    let status = if status { "True" } else { "False" };
    let fresh = HorizontalPodAutoscalerCondition {
        r#type: kind.into(),
        status: status.into(),
        last_transition_time: Some(now),
        reason: reason.into(),
        message: message.into(),
    };
    match conditions.iter_mut().find(|c| c.r#type == kind) {
        Some(existing) if existing.status == status => {
            existing.reason = fresh.reason;
            existing.message = fresh.message;
        }
        Some(existing) => *existing = fresh,
        None => conditions.push(fresh),
    }
}

/// Thousandths as a quantity: whole units plainly, the rest with `m`.
pub fn milli_quantity(milli: i64) -> Quantity {
    if milli % 1000 == 0 {
        Quantity::new((milli / 1000).to_string())
    } else {
        Quantity::new(format!("{milli}m"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::autoscaling::v2::{
        HorizontalPodAutoscalerBehavior, HpaScalingPolicy, MetricSpec, MetricTarget, ResourceMetricSource,
    };
    use capstan_proto::core::v1::{Container, PodCondition, PodSpec, PodStatus, ResourceRequirements};
    use capstan_proto::meta::v1::ObjectMeta;

    fn metric(kind: &str, name: &str, target: MetricTarget) -> MetricSpec {
        MetricSpec {
            r#type: kind.into(),
            resource: Some(ResourceMetricSource { name: name.into(), target: Some(target) }),
        }
    }

    #[test]
    fn goals_read_resource_metrics_and_refuse_the_rest() {
        let utilization =
            MetricTarget { r#type: "Utilization".into(), average_utilization: Some(60), ..Default::default() };
        let average = MetricTarget {
            r#type: "AverageValue".into(),
            average_value: Some(Quantity::new("250m")),
            ..Default::default()
        };
        let value = MetricTarget { r#type: "Value".into(), value: Some(Quantity::new("1")), ..Default::default() };
        let spec = HorizontalPodAutoscalerSpec {
            metrics: vec![
                metric("Resource", "cpu", utilization.clone()),
                metric("Resource", "memory", average),
                metric("Resource", "cpu", value),
                metric("Pods", "cpu", utilization),
            ],
            ..Default::default()
        };
        let goals = goals(&spec);
        let cpu = Goal { resource: "cpu".into(), target: Target::Utilization(60) };
        assert_eq!(goals[0], Ok(cpu.clone()));
        assert_eq!(cpu.name(), "cpu resource utilization (percentage of request)");
        assert_eq!(goals[1], Ok(Goal { resource: "memory".into(), target: Target::AverageValue(250) }));
        assert!(goals[2].as_ref().is_err_and(|e| e.contains("not \"Value\"")), "{:?}", goals[2]);
        assert!(goals[3].as_ref().is_err_and(|e| e.contains("\"Pods\" is not supported")), "{:?}", goals[3]);
    }

    #[test]
    fn bounds_use_the_flag_window_unless_the_hpa_names_one() {
        let plain = HorizontalPodAutoscalerSpec { min_replicas: Some(2), max_replicas: 7, ..Default::default() };
        let b = bounds(&plain, Duration::from_secs(9));
        assert_eq!((b.min, b.max, b.behavior.is_none(), b.downscale_window), (2, 7, true, Duration::from_secs(9)));
        let with = HorizontalPodAutoscalerSpec {
            max_replicas: 5,
            behavior: Some(HorizontalPodAutoscalerBehavior {
                scale_up: Some(HpaScalingRules {
                    stabilization_window_seconds: Some(30),
                    select_policy: Some("Min".into()),
                    policies: vec![HpaScalingPolicy { r#type: "Pods".into(), value: 2, period_seconds: 60 }],
                }),
                scale_down: None,
            }),
            ..Default::default()
        };
        let b = bounds(&with, Duration::from_secs(9));
        assert_eq!(b.min, 1, "min defaults to 1");
        let (up, down) = b.behavior.expect("behavior");
        assert_eq!((up.window, up.select), (Duration::from_secs(30), Select::Min));
        assert_eq!(up.policies, [Policy { kind: PolicyKind::Pods, value: 2, period: Duration::from_secs(60) }]);
        assert_eq!((down.window, down.select), (Duration::from_secs(9), Select::Max), "the flag's window");
        assert_eq!(down.policies.len(), 1);
    }

    fn pod(name: &str, phase: &str, ready: bool, cpu_request: Option<&str>) -> Pod {
        let requests = cpu_request.map(|q| ("cpu".to_string(), Quantity::new(q))).into_iter().collect();
        Pod {
            metadata: Some(ObjectMeta { name: name.into(), ..Default::default() }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "app".into(),
                    resources: Some(ResourceRequirements { requests, ..Default::default() }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: phase.into(),
                conditions: vec![PodCondition {
                    r#type: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn samples_classify_pods() {
        let running = pod("a", "Running", true, Some("500m"));
        let starting = pod("b", "Running", false, Some("1"));
        let pending = pod("c", "Pending", false, Some("500m"));
        let failed = pod("d", "Failed", false, None);
        let usage = HashMap::from([("a".to_string(), PodUsage { cpu: Some(250), memory: Some(4_000) })]);
        let cpu = samples(&[&running, &starting, &pending, &failed], &usage, "cpu");
        assert_eq!(
            cpu[0],
            PodSample { name: "a".into(), ignored: false, unready: false, request: Ok(500), usage: Some(250) }
        );
        assert!(cpu[1].unready && cpu[1].request == Ok(1000) && cpu[1].usage.is_none());
        assert!(cpu[2].unready, "pending");
        assert!(cpu[3].ignored && cpu[3].request == Err("app".into()));
        let memory = samples(&[&starting], &usage, "memory");
        assert!(!memory[0].unready, "readiness matters for CPU only");
    }

    #[test]
    fn conditions_keep_their_transition_time_until_the_status_changes() {
        let (t1, t2) = (Time { seconds: 1, nanos: 0 }, Time { seconds: 2, nanos: 0 });
        let mut conditions = Vec::new();
        set_condition(&mut conditions, "AbleToScale", true, "SucceededGetScale", "ok", t1);
        set_condition(&mut conditions, "AbleToScale", true, "ReadyForNewScale", "ready", t2);
        assert_eq!(conditions.len(), 1);
        assert_eq!((conditions[0].reason.as_str(), conditions[0].last_transition_time), ("ReadyForNewScale", Some(t1)));
        set_condition(&mut conditions, "AbleToScale", false, "FailedUpdateScale", "no", t2);
        assert_eq!((conditions[0].status.as_str(), conditions[0].last_transition_time), ("False", Some(t2)));
    }

    #[test]
    fn quantities_print_whole_units_plainly() {
        assert_eq!(milli_quantity(250).string, "250m");
        assert_eq!(milli_quantity(2000).string, "2");
        assert_eq!(milli_quantity(0).string, "0");
    }
}
