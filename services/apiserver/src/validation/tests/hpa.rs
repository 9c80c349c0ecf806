//! HorizontalPodAutoscaler rules: replica range, target reference, Resource
//! metrics and their targets, behavior, status counts.

use super::*;
use crate::errs;

fn hpa(spec: &str) -> String {
    format!(
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: web, namespace: default}}\n\
         spec: {spec}"
    )
}

const TARGET: &str = "scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}";

/// A Kubernetes autoscaling/v2 manifest as `kubectl autoscale` and the docs
/// write it.
const KUBERNETES_HPA: &str = r#"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: php-apache, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: php-apache}
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {type: Utilization, averageUtilization: 50}
  - type: Resource
    resource:
      name: memory
      target: {type: AverageValue, averageValue: 500Mi}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
      policies: [{type: Percent, value: 100, periodSeconds: 15}]
    scaleUp:
      stabilizationWindowSeconds: 0
      selectPolicy: Max
      policies:
      - {type: Percent, value: 100, periodSeconds: 15}
      - {type: Pods, value: 4, periodSeconds: 15}
status:
  currentReplicas: 1
  desiredReplicas: 1
  currentMetrics:
  - type: Resource
    resource: {name: cpu, current: {averageUtilization: 0, averageValue: 1m}}
  conditions:
  - {type: AbleToScale, status: "True", reason: ScaleDownStabilized, lastTransitionTime: "2026-01-02T03:04:05Z"}
"#;

#[test]
fn hpa_create() {
    let cases = [
        ("kubernetes manifest", KUBERNETES_HPA.to_string(), errs![]),
        ("minimal", hpa(&format!("{{{TARGET}, maxReplicas: 3}}")), errs![]),
        (
            "nothing",
            hpa("{}"),
            errs![
                "spec.maxReplicas: Invalid value: 0: must be greater than 0",
                "spec.scaleTargetRef.kind: Required value",
                "spec.scaleTargetRef.name: Required value",
            ],
        ),
        (
            "range",
            hpa(&format!("{{{TARGET}, minReplicas: 5, maxReplicas: 3}}")),
            errs!["spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`"],
        ),
        (
            "no scaling to zero",
            hpa(&format!("{{{TARGET}, minReplicas: 0, maxReplicas: -1}}")),
            errs![
                "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
                "spec.maxReplicas: Invalid value: -1: must be greater than 0",
            ],
        ),
        (
            "target reference is a path segment",
            hpa("{scaleTargetRef: {kind: ., name: a/b}, maxReplicas: 1}"),
            errs![
                "spec.scaleTargetRef.kind: Invalid value: \".\": may not be '.'",
                "spec.scaleTargetRef.name: Invalid value: \"a/b\": may not contain '/'",
            ],
        ),
        (
            "metric sources",
            hpa(&format!(
                "{{{TARGET}, maxReplicas: 2, metrics: [{{}}, {{type: Pods}}, {{type: Resource}},
                  {{type: Resource, resource: {{target: {{type: Utilization, averageUtilization: 50}}}}}},
                  {{type: Resource, resource: {{name: gpu, target: {{type: Utilization, averageUtilization: 50}}}}}}]}}"
            )),
            errs![
                "spec.metrics[0].type: Required value: must specify a metric source type",
                "spec.metrics[1].type: Unsupported value: \"Pods\": supported values: \"Resource\"",
                "spec.metrics[2].resource: Required value: must populate information for the given metric source",
                "spec.metrics[3].resource.name: Required value: must specify a resource name",
                "spec.metrics[4].resource.name: Unsupported value: \"gpu\": supported values: \"cpu\", \"memory\"",
            ],
        ),
        (
            "metric targets",
            hpa(&format!(
                "{{{TARGET}, maxReplicas: 2, metrics: [
                  {{type: Resource, resource: {{name: cpu, target: {{averageUtilization: 0}}}}}},
                  {{type: Resource, resource: {{name: cpu, target: {{type: Percent, value: 1}}}}}},
                  {{type: Resource, resource: {{name: memory, target: {{type: AverageValue, averageValue: '-1Mi', averageUtilization: 5}}}}}}]}}"
            )),
            errs![
                "spec.metrics[0].resource.target.type: Required value: must specify a metric target type",
                "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0",
                "spec.metrics[1].resource.target.type: Invalid value: \"Percent\": must be either Utilization, Value, \
                 or AverageValue",
                "spec.metrics[1].resource.target.averageUtilization: Required value: must set either a target raw \
                 value or a target utilization",
                "spec.metrics[2].resource.target.averageValue: Invalid value: \"-1Mi\": must be positive",
                "spec.metrics[2].resource.target.averageValue: Forbidden: may not set both a target raw value and a \
                 target utilization",
            ],
        ),
        (
            "behavior",
            hpa(&format!(
                "{{{TARGET}, maxReplicas: 2, behavior: {{
                  scaleUp: {{stabilizationWindowSeconds: -1, selectPolicy: Random}},
                  scaleDown: {{stabilizationWindowSeconds: 3601, policies: [{{type: Nodes, value: 0, periodSeconds: 0}},
                                                                         {{type: Pods, value: 1, periodSeconds: 1801}}]}}}}}}"
            )),
            errs![
                "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: -1: must be greater than or equal \
                 to zero",
                "spec.behavior.scaleUp.selectPolicy: Unsupported value: \"Random\": supported values: \"Max\", \
                 \"Min\", \"Disabled\"",
                "spec.behavior.scaleUp.policies: Required value: must specify at least one Policy",
                "spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 3601: must be less than or equal \
                 to 3600",
                "spec.behavior.scaleDown.policies[0].type: Unsupported value: \"Nodes\": supported values: \"Pods\", \
                 \"Percent\"",
                "spec.behavior.scaleDown.policies[0].value: Invalid value: 0: must be greater than zero",
                "spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 0: must be greater than zero",
                "spec.behavior.scaleDown.policies[1].periodSeconds: Invalid value: 1801: must be less than or equal \
                 to 1800",
            ],
        ),
        (
            "status counts",
            format!("{}\nstatus: {{currentReplicas: -1, desiredReplicas: -2}}", hpa(&format!("{{{TARGET}, maxReplicas: 1}}"))),
            errs![
                "status.currentReplicas: Invalid value: -1: must be greater than or equal to 0",
                "status.desiredReplicas: Invalid value: -2: must be greater than or equal to 0",
            ],
        ),
        (
            "name",
            hpa(&format!("{{{TARGET}, maxReplicas: 1}}")).replace("name: web, namespace", "name: Web, namespace"),
            errs![format!("metadata.name: Invalid value: \"Web\": {SUBDOMAIN}")],
        ),
    ];
    run_create(&cases);
}

#[test]
fn hpa_update_may_change_everything_but_the_rules() {
    let old = hpa(&format!("{{{TARGET}, maxReplicas: 3}}"));
    let cases = [
        (
            "new target and range",
            hpa("{scaleTargetRef: {apiVersion: apps/v1, kind: ReplicaSet, name: api}, minReplicas: 2, maxReplicas: 9}"),
            errs![],
        ),
        (
            "still validated",
            hpa(&format!("{{{TARGET}, maxReplicas: 0}}")),
            errs!["spec.maxReplicas: Invalid value: 0: must be greater than 0"],
        ),
    ];
    run_update(&old, &cases);
}
