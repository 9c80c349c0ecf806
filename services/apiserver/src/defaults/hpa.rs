//! HorizontalPodAutoscaler defaults, as Kubernetes' autoscaling/v2 sets them.
//!
//! The autoscaler reads only stored objects, so a stored HPA says what it
//! means: a minimum of one replica, an 80 % CPU utilization target when no
//! metric is named, and — once any `behavior` is given — both directions'
//! rules filled in field by field. The scale-down stabilization window is
//! left unset on purpose: the controller's own flag (5 minutes by default)
//! then applies, as in Kubernetes.

use capstan_proto::autoscaling::v2::{
    HorizontalPodAutoscaler, HpaScalingPolicy, HpaScalingRules, MetricSpec, MetricTarget, ResourceMetricSource,
};

/// The CPU utilization target of an HPA that names no metric.
pub const DEFAULT_CPU_UTILIZATION: i32 = 80;

pub fn hpa(hpa: &mut HorizontalPodAutoscaler) {
    let spec = hpa.spec.get_or_insert_with(Default::default);
    spec.min_replicas.get_or_insert(1);
    if spec.metrics.is_empty() {
        spec.metrics.push(MetricSpec {
            r#type: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: "cpu".into(),
                target: Some(MetricTarget {
                    r#type: "Utilization".into(),
                    average_utilization: Some(DEFAULT_CPU_UTILIZATION),
                    ..Default::default()
                }),
            }),
        });
    }
    if let Some(behavior) = &mut spec.behavior {
        fill(behavior.scale_up.get_or_insert_with(Default::default), &scale_up_rules());
        fill(behavior.scale_down.get_or_insert_with(Default::default), &scale_down_rules());
    }
}

/// Copies each field of `defaults` that `rules` leaves unset.
fn fill(rules: &mut HpaScalingRules, defaults: &HpaScalingRules) {
    if rules.stabilization_window_seconds.is_none() {
        rules.stabilization_window_seconds = defaults.stabilization_window_seconds;
    }
    if rules.select_policy.is_none() {
        rules.select_policy.clone_from(&defaults.select_policy);
    }
    if rules.policies.is_empty() {
        rules.policies.clone_from(&defaults.policies);
    }
}

fn policy(kind: &str, value: i32, period_seconds: i32) -> HpaScalingPolicy {
    HpaScalingPolicy { r#type: kind.into(), value, period_seconds }
}

/// Up at once, by 4 pods or doubling every 15 s, whichever adds more.
fn scale_up_rules() -> HpaScalingRules {
    HpaScalingRules {
        stabilization_window_seconds: Some(0),
        select_policy: Some("Max".into()),
        policies: vec![policy("Pods", 4, 15), policy("Percent", 100, 15)],
    }
}

/// Down to the recommendation in one step, after the controller's window.
fn scale_down_rules() -> HpaScalingRules {
    HpaScalingRules {
        stabilization_window_seconds: None,
        select_policy: Some("Max".into()),
        policies: vec![policy("Percent", 100, 15)],
    }
}

#[cfg(test)]
mod tests {
    use crate::defaults::apply_defaults;
    use capstan_proto::object::parse_manifests;
    use capstan_proto::ObjectExt;
    use serde_json::{json, Value};

    fn defaulted(spec: &str) -> Value {
        let yaml = format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: web, namespace: default}}\n\
             spec: {spec}"
        );
        let mut objects = parse_manifests("hpa.yaml", &yaml).expect("test manifest decodes");
        apply_defaults(&mut objects[0]);
        let once = objects[0].clone();
        apply_defaults(&mut objects[0]);
        assert_eq!(objects[0], once, "defaulting twice changes nothing: {spec}");
        objects[0].to_json()["spec"].clone()
    }

    /// (name, spec, [(JSON pointer under spec, expected value)])
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, Value)>);

    #[test]
    fn hpa_defaults() {
        let up = json!({"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ]});
        let down = json!({"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]});
        let cpu80 = json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 80}}}]);
        let cases: Vec<Case> = vec![
            (
                "bare",
                "{maxReplicas: 5}",
                vec![("/minReplicas", json!(1)), ("/metrics", cpu80.clone()), ("/behavior", Value::Null)],
            ),
            (
                "named metric kept",
                "{maxReplicas: 5, minReplicas: 2, metrics: [{type: Resource, resource: {name: memory, \
                 target: {type: AverageValue, averageValue: 100Mi}}}]}",
                vec![
                    ("/minReplicas", json!(2)),
                    ("/metrics/0/resource/name", json!("memory")),
                    ("/metrics/1", Value::Null),
                ],
            ),
            (
                "empty behavior gets both directions",
                "{maxReplicas: 5, behavior: {}}",
                vec![("/behavior/scaleUp", up.clone()), ("/behavior/scaleDown", down.clone())],
            ),
            (
                "given fields win, the rest is filled",
                "{maxReplicas: 5, behavior: {scaleDown: {stabilizationWindowSeconds: 30}, \
                 scaleUp: {selectPolicy: Min, policies: [{type: Pods, value: 1, periodSeconds: 60}]}}}",
                vec![
                    ("/behavior/scaleDown/stabilizationWindowSeconds", json!(30)),
                    ("/behavior/scaleDown/policies", down["policies"].clone()),
                    (
                        "/behavior/scaleUp",
                        json!({"stabilizationWindowSeconds": 0, "selectPolicy": "Min",
                            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}),
                    ),
                ],
            ),
        ];
        for (name, spec, expectations) in cases {
            let json = defaulted(spec);
            for (pointer, want) in expectations {
                assert_eq!(json.pointer(pointer).cloned().unwrap_or(Value::Null), want, "{name}: {pointer}");
            }
        }
    }
}
