//! HorizontalPodAutoscalers: NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS
//! AGE, with TARGETS in kubectl's `cpu: 12%/50%` form (current over target,
//! `<unknown>` until the autoscaler has measured).

use super::age::age;
use capstan_proto::autoscaling::v2::{HorizontalPodAutoscaler, MetricSpec, MetricStatus};
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

pub const HEADER: [&str; 7] = ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"];

/// kubectl shows the first two metrics and counts the rest.
const SHOWN_METRICS: usize = 2;

pub fn row(hpa: &HorizontalPodAutoscaler, now: DateTime<Utc>) -> Vec<String> {
    let meta = hpa.meta();
    let spec = hpa.spec.clone().unwrap_or_default();
    let status = hpa.status.clone().unwrap_or_default();
    let target = spec.scale_target_ref.unwrap_or_default();
    vec![
        meta.name.clone(),
        format!("{}/{}", target.kind, target.name),
        targets(&spec.metrics, &status.current_metrics),
        spec.min_replicas.map(|m| m.to_string()).unwrap_or_else(|| "<unset>".into()),
        spec.max_replicas.to_string(),
        status.current_replicas.to_string(),
        age(meta.creation_timestamp.as_ref(), now),
    ]
}

/// `cpu: 12%/50%, memory: 80Mi/100Mi + 1 more...`; the status of metric
/// `i` is the i-th current metric, as the autoscaler writes them.
pub fn targets(specs: &[MetricSpec], current: &[MetricStatus]) -> String {
    if specs.is_empty() {
        return "<none>".to_string();
    }
    let shown: Vec<String> =
        specs.iter().take(SHOWN_METRICS).enumerate().map(|(i, spec)| metric(spec, current.get(i))).collect();
    let text = shown.join(", ");
    match specs.len().saturating_sub(SHOWN_METRICS) {
        0 => text,
        more => format!("{text} + {more} more..."),
    }
}

/// One metric: `name: current/target`.
pub fn metric(spec: &MetricSpec, current: Option<&MetricStatus>) -> String {
    let Some(resource) = &spec.resource else {
        return format!("<unknown {} metric>", spec.r#type);
    };
    let target = resource.target.clone().unwrap_or_default();
    let current = current.and_then(|c| c.resource.as_ref()).and_then(|r| r.current.clone()).unwrap_or_default();
    let (now, want) = match &target.average_value {
        Some(value) => (current.average_value.map(|v| v.string), value.string.clone()),
        None => (
            current.average_utilization.map(|u| format!("{u}%")),
            target.average_utilization.map(|u| format!("{u}%")).unwrap_or_else(|| "<auto>".into()),
        ),
    };
    format!("{}: {}/{want}", resource.name, now.unwrap_or_else(|| "<unknown>".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::object::parse_manifests;

    fn hpa(spec: &str, status: &str) -> HorizontalPodAutoscaler {
        let yaml = format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: web}}\n\
             spec: {spec}\nstatus: {status}\n"
        );
        let obj = parse_manifests("t", &yaml).expect("hpa").remove(0);
        HorizontalPodAutoscaler::try_from_object(obj).expect("an HPA")
    }

    const REF: &str = "scaleTargetRef: {kind: Deployment, name: web}";
    const CPU50: &str = "{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}";
    const MEM: &str = "{type: Resource, resource: {name: memory, target: {type: AverageValue, averageValue: 100Mi}}}";

    #[test]
    fn targets_read_like_kubectl() {
        let cpu_now = "{type: Resource, resource: {name: cpu, current: {averageUtilization: 12}}}";
        let mem_now = "{type: Resource, resource: {name: memory, current: {averageValue: 80Mi}}}";
        let cases = [
            ("no metrics", format!("{{{REF}, maxReplicas: 3}}"), "{}".to_string(), "<none>"),
            ("not measured yet", format!("{{{REF}, maxReplicas: 3, metrics: [{CPU50}]}}"), "{}".into(), "cpu: <unknown>/50%"),
            (
                "measured",
                format!("{{{REF}, maxReplicas: 3, metrics: [{CPU50}]}}"),
                format!("{{currentMetrics: [{cpu_now}]}}"),
                "cpu: 12%/50%",
            ),
            (
                "average value",
                format!("{{{REF}, maxReplicas: 3, metrics: [{CPU50}, {MEM}]}}"),
                format!("{{currentMetrics: [{cpu_now}, {mem_now}]}}"),
                "cpu: 12%/50%, memory: 80Mi/100Mi",
            ),
            (
                "utilization target without a number",
                format!("{{{REF}, maxReplicas: 3, metrics: [{{type: Resource, resource: {{name: cpu, target: {{type: Utilization}}}}}}]}}"),
                "{}".into(),
                "cpu: <unknown>/<auto>",
            ),
            (
                "more than two",
                format!("{{{REF}, maxReplicas: 3, metrics: [{CPU50}, {MEM}, {MEM}, {CPU50}]}}"),
                "{}".into(),
                "cpu: <unknown>/50%, memory: <unknown>/100Mi + 2 more...",
            ),
        ];
        for (name, spec, status, want) in cases {
            let h = hpa(&spec, &status);
            let spec = h.spec.unwrap_or_default();
            let status = h.status.unwrap_or_default();
            assert_eq!(targets(&spec.metrics, &status.current_metrics), want, "{name}");
        }
    }

    #[test]
    fn row_has_reference_bounds_and_replicas() {
        let now = DateTime::from_timestamp(0, 0).expect("time");
        let h = hpa(&format!("{{{REF}, minReplicas: 2, maxReplicas: 10, metrics: [{CPU50}]}}"), "{currentReplicas: 4}");
        assert_eq!(row(&h, now), ["web", "Deployment/web", "cpu: <unknown>/50%", "2", "10", "4", "<unknown>"]);
        let unset = hpa(&format!("{{{REF}, maxReplicas: 1}}"), "{}");
        assert_eq!(row(&unset, now)[3..6], ["<unset>", "1", "0"]);
    }
}
