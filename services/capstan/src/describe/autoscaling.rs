//! The HorizontalPodAutoscaler page: what it scales, each metric as current
//! over target, the replica bounds, its behavior and its conditions, laid
//! out as `kubectl describe hpa` does.

use super::doc::Doc;
use super::{metadata, when};
use capstan_proto::autoscaling::v2::{HorizontalPodAutoscaler, HpaScalingRules, MetricSpec, MetricStatus};
use capstan_proto::Resource;

pub fn hpa(doc: &mut Doc, hpa: &HorizontalPodAutoscaler) {
    let meta = hpa.meta();
    let spec = hpa.spec.clone().unwrap_or_default();
    let status = hpa.status.clone().unwrap_or_default();
    let target = spec.scale_target_ref.clone().unwrap_or_default();
    metadata(doc, meta, true);
    doc.field("CreationTimestamp", when(meta.creation_timestamp.as_ref()));
    doc.field("Reference", format!("{}/{}", target.kind, target.name));
    doc.field("Metrics", "( current / target )");
    for (i, metric) in spec.metrics.iter().enumerate() {
        let (label, value) = metric_line(metric, status.current_metrics.get(i));
        doc.field_at(2, &label, value);
    }
    doc.field("Min replicas", spec.min_replicas.map(|m| m.to_string()).unwrap_or_else(|| "<unset>".into()));
    doc.field("Max replicas", spec.max_replicas.to_string());
    if let Some(behavior) = &spec.behavior {
        doc.heading(0, "Behavior");
        direction(doc, "Scale Up", behavior.scale_up.as_ref());
        direction(doc, "Scale Down", behavior.scale_down.as_ref());
    }
    doc.field(
        &format!("{} pods", target.kind),
        format!("{} current / {} desired", status.current_replicas, status.desired_replicas),
    );
    if !status.conditions.is_empty() {
        doc.heading(0, "Conditions");
        let rows: Vec<Vec<String>> = status
            .conditions
            .iter()
            .map(|c| vec![c.r#type.clone(), c.status.clone(), c.reason.clone(), c.message.clone()])
            .collect();
        doc.table(2, &["Type", "Status", "Reason", "Message"], &rows);
    }
}

/// `resource cpu on pods  (as a percentage of request)` and
/// `12% (60m) / 50%`.
fn metric_line(metric: &MetricSpec, current: Option<&MetricStatus>) -> (String, String) {
    let Some(resource) = &metric.resource else {
        return (format!("{} metric", metric.r#type), "<unknown>".into());
    };
    let target = resource.target.clone().unwrap_or_default();
    let current = current.and_then(|c| c.resource.as_ref()).and_then(|r| r.current.clone());
    if let Some(value) = &target.average_value {
        let now = current.and_then(|c| c.average_value).map(|v| v.string).unwrap_or_else(|| "<unknown>".into());
        return (format!("resource {} on pods", resource.name), format!("{now} / {}", value.string));
    }
    let now = current
        .and_then(|c| {
            let value = c.average_value.map(|v| v.string).unwrap_or_else(|| "0".into());
            c.average_utilization.map(|u| format!("{u}% ({value})"))
        })
        .unwrap_or_else(|| "<unknown>".into());
    let want = target.average_utilization.map(|u| format!("{u}%")).unwrap_or_else(|| "<auto>".into());
    (format!("resource {} on pods  (as a percentage of request)", resource.name), format!("{now} / {want}"))
}

fn direction(doc: &mut Doc, label: &str, rules: Option<&HpaScalingRules>) {
    let Some(rules) = rules else { return };
    doc.heading(2, label);
    if let Some(window) = rules.stabilization_window_seconds {
        doc.field_at(4, "Stabilization Window", format!("{window} seconds"));
    }
    if rules.policies.is_empty() {
        return;
    }
    doc.field_at(4, "Select Policy", rules.select_policy.clone().unwrap_or_else(|| "Max".into()));
    doc.heading(4, "Policies");
    for p in &rules.policies {
        doc.text(6, &format!("- Type: {}  Value: {}  Period: {} seconds", p.r#type, p.value, p.period_seconds));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{page, Related};
    use capstan_proto::object::parse_manifests;
    use chrono::DateTime;

    #[test]
    fn hpa_page_shows_metrics_bounds_behavior_and_conditions() {
        let obj = parse_manifests(
            "t",
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web, namespace: default}\n\
             spec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  minReplicas: 1\n  maxReplicas: 10\n\
             \x20 metrics:\n\
             \x20 - {type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}\n\
             \x20 - {type: Resource, resource: {name: memory, target: {type: AverageValue, averageValue: 100Mi}}}\n\
             \x20 behavior:\n    scaleDown: {stabilizationWindowSeconds: 300, policies: [{type: Percent, value: 100, periodSeconds: 15}]}\n\
             status:\n  currentReplicas: 2\n  desiredReplicas: 3\n\
             \x20 currentMetrics: [{type: Resource, resource: {name: cpu, current: {averageUtilization: 12, averageValue: 60m}}}]\n\
             \x20 conditions: [{type: ScalingActive, status: 'True', reason: ValidMetricFound, message: ok}]\n",
        )
        .expect("hpa")
        .remove(0);
        let text = page(&obj, &Related::default(), DateTime::from_timestamp(0, 0).expect("time")).render();
        for want in [
            "Reference:                                             Deployment/web\n",
            "Metrics:                                               ( current / target )\n",
            "  resource cpu on pods  (as a percentage of request):  12% (60m) / 50%\n",
            "  resource memory on pods:                             <unknown> / 100Mi\n",
            "Min replicas:                                          1\n",
            "Max replicas:                                          10\n",
            "Behavior:\n  Scale Down:\n    Stabilization Window:  300 seconds\n    Select Policy:         Max\n    Policies:\n",
            "      - Type: Percent  Value: 100  Period: 15 seconds\n",
            "Deployment pods:  2 current / 3 desired\n",
            "  Type            Status   Reason             Message\n",
            "  ScalingActive   True     ValidMetricFound   ok\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }
}
