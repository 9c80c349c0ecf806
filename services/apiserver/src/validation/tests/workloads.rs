//! Deployment and ReplicaSet rules: selector, template, strategy.

use super::*;
use crate::errs;

fn deployment(spec: &str) -> String {
    format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: default}}\nspec: {spec}")
}

const TEMPLATE: &str = "{metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: web}]}}";

#[test]
fn deployment_create() {
    let cases = [
        ("valid", deployment(&format!("{{selector: {{matchLabels: {{app: web}}}}, template: {TEMPLATE}}}")), errs![]),
        (
            "nothing",
            deployment("{}"),
            errs!["spec.selector: Required value", "spec.template: Required value"],
        ),
        (
            "empty selector, bad template",
            deployment("{replicas: -1, minReadySeconds: -2, selector: {},
                         template: {metadata: {labels: {'-a': b}}, spec: {restartPolicy: OnFailure, activeDeadlineSeconds: 5}}}"),
            errs![
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.minReadySeconds: Invalid value: -2: must be greater than or equal to 0",
                "spec.selector: Invalid value: {}: empty selector is invalid for deployment",
                format!("spec.template.metadata.labels: Invalid value: \"-a\": {NAME_PART}"),
                "spec.template.spec.containers: Required value",
                "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
                "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in Deployment is not supported",
            ],
        ),
        (
            "selector does not match template",
            deployment(&format!("{{selector: {{matchLabels: {{app: api}}, matchExpressions: [{{key: tier, operator: Exists}}]}}, template: {TEMPLATE}}}")),
            errs!["spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`"],
        ),
        (
            "invalid selector is reported, not matched",
            deployment(&format!("{{selector: {{matchExpressions: [{{key: app, operator: Like}}]}}, template: {TEMPLATE}}}")),
            errs!["spec.selector.matchExpressions[0].operator: Unsupported value: \"Like\": supported values: \"In\", \
                   \"NotIn\", \"Exists\", \"DoesNotExist\""],
        ),
        (
            "strategy",
            deployment(&format!("{{selector: {{matchLabels: {{app: web}}}}, template: {TEMPLATE},
                revisionHistoryLimit: -1, minReadySeconds: 10, progressDeadlineSeconds: 10,
                strategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: 0%, maxUnavailable: 0}}}}}}")),
            errs![
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
                "spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
                "spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds",
            ],
        ),
        (
            "strategy values",
            deployment(&format!("{{selector: {{matchLabels: {{app: web}}}}, template: {TEMPLATE},
                strategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: lots, maxUnavailable: 150%}}}}}}")),
            errs![
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"150%\": must not be greater than 100%",
                "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"lots\": a valid percent string must be a \
                 numeric string followed by an ending '%' (e.g. '1%', or '93%')",
            ],
        ),
        (
            "negative surge; surge above 100% is fine as in Kubernetes",
            deployment(&format!("{{selector: {{matchLabels: {{app: web}}}}, template: {TEMPLATE},
                strategy: {{rollingUpdate: {{maxSurge: 200%, maxUnavailable: -1}}}}}}")),
            errs!["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: -1: must be greater than or equal to 0"],
        ),
        (
            "recreate",
            deployment(&format!("{{selector: {{matchLabels: {{app: web}}}}, template: {TEMPLATE},
                strategy: {{type: Recreate, rollingUpdate: {{maxSurge: 1}}}}}}")),
            errs!["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"],
        ),
        (
            "unknown strategy",
            deployment(&format!("{{selector: {{matchLabels: {{app: web}}}}, template: {TEMPLATE}, strategy: {{type: BlueGreen}}}}")),
            errs!["spec.strategy.type: Unsupported value: \"BlueGreen\": supported values: \"Recreate\", \"RollingUpdate\""],
        ),
        (
            "template pod spec errors carry the template path",
            deployment("{selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}},
                         spec: {containers: [{name: web, image: web, ports: [{containerPort: 0}]}]}}}"),
            errs!["spec.template.spec.containers[0].ports[0].containerPort: Required value"],
        ),
    ];
    run_create(&cases);
}

#[test]
fn workload_selectors_are_immutable() {
    let old = deployment(&format!("{{selector: {{matchLabels: {{app: web}}}}, template: {TEMPLATE}}}"));
    let scaled = deployment(&format!("{{replicas: 5, selector: {{matchLabels: {{app: web}}}}, template: {TEMPLATE}}}"));
    let retargeted = deployment(
        "{selector: {matchLabels: {app: web, v: '2'}}, template: {metadata: {labels: {app: web, v: '2'}}, \
         spec: {containers: [{name: web, image: web}]}}}",
    );
    run_update(
        &old,
        &[
            ("scaled", scaled, errs![]),
            (
                "new selector",
                retargeted,
                errs![
                    "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\",\"v\":\"2\"}}: field is immutable"
                ],
            ),
        ],
    );
    let rs = |labels: &str| {
        format!(
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {{name: web-1, namespace: default}}\nspec: \
             {{selector: {{matchLabels: {labels}}}, template: {{metadata: {{labels: {labels}}}, spec: \
             {{containers: [{{name: web, image: web}}]}}}}}}"
        )
    };
    run_update(
        &rs("{app: web}"),
        &[
            ("same", rs("{app: web}"), errs![]),
            (
                "changed",
                rs("{app: api}"),
                errs!["spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"api\"}}: field is immutable"],
            ),
        ],
    );
}

#[test]
fn replica_set_create() {
    let cases = [(
        "replica set",
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web-1, namespace: default}\nspec: {replicas: -3, \
         selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: db}}, spec: {restartPolicy: Never, \
         containers: [{name: web, image: web}]}}}"
            .to_string(),
        errs![
            "spec.replicas: Invalid value: -3: must be greater than or equal to 0",
            "spec.template.metadata.labels: Invalid value: {\"app\":\"db\"}: `selector` does not match template `labels`",
            "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
        ],
    )];
    run_create(&cases);
}
